"""tf.data pipelines for Real NVP: TFDS images, an embedded dataset, 2-D toys.

Images come out as dequantized float pixels in [0, 256) (paper §4.1: uniform
noise added to the integer values), which is the event space of
`tfp_realnvp.RealNVP`, or with `dequantized=False` as their uint8 pixels,
which `FlowModel` and `training.evaluate_discrete_bits_per_dim` dequantize
themselves. The 2-D toys live in `toy_data.py`.
"""

import difflib
import os
import re

import numpy as np
import tensorflow as tf

from tfp_realnvp.dequantization.uniform import dequantize
from tfp_realnvp.toy_data import TOY_DATASETS
from tfp_realnvp.toy_data import toy_dataset
from tfp_realnvp.toy_data import toy_samples


# TFDS and scikit-learn load slowly and pull in much; a library import of
# tfp_realnvp should not, so the helpers that need them import them here.
def _tfds():
  import tensorflow_datasets  # pylint: disable=g-import-not-at-top
  return tensorflow_datasets


def _sklearn_datasets():
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  return datasets

__all__ = [
    'EMBEDDED_DATASET',
    'TOY_DATASETS',
    'dequantize',
    'digits_dataset',
    'evaluation_dataset',
    'image_dataset',
    'is_vector_dataset',
    'num_classes',
    'paper_defaults',
    'toy_dataset',
    'toy_samples',
    'training_dataset',
]

# Needs no download: the default of the binaries.
EMBEDDED_DATASET = 'digits'


def _did_you_mean(name, tfds):
  """`' (did you mean 'mnist'?)'` for a near miss of a known name, or ''."""
  known = [EMBEDDED_DATASET, *TOY_DATASETS,
           *tfds.list_builders(with_community_datasets=False)]
  close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.75)
  return f' (did you mean {close[0]!r}?)' if close else ''


def _celeba_recipe(image):
  # Paper §4.1: an approximately central 148 x 148 crop, resized to 64 x 64.
  image = tf.image.crop_to_bounding_box(image, 40, 15, 148, 148)
  return tf.image.resize(image, [64, 64], method='area')


def _lsun_recipe(image):
  # Paper §4.1: downsample so the shorter side is 96, then random 64 x 64 crops.
  shape = tf.cast(tf.shape(image)[:2], tf.float32)
  scale = 96. / tf.reduce_min(shape)
  new_size = tf.cast(tf.round(shape * scale), tf.int32)
  image = tf.image.resize(image, new_size, method='area')
  return tf.image.random_crop(image, [64, 64, 3])


_RECIPES = {'celeba': _celeba_recipe, 'lsun': _lsun_recipe}


def _prepare(examples, batch_size, shuffle, flip, seed, drop_remainder,
             shuffle_buffer, dequantized=True):
  """Shuffles, flips, dequantizes (or not) and batches images or pairs."""
  if shuffle:
    examples = examples.shuffle(shuffle_buffer, seed=seed,
                                reshuffle_each_iteration=True)
  # Each element gets its own seed from a seeded stream that changes every
  # epoch, so the noise and flips are fresh each epoch yet reproducible: a
  # stateful random op in a parallel map would depend on thread scheduling.
  element_seeds = tf.data.Dataset.random(seed=seed,
                                         rerandomize_each_iteration=True)

  def augment(example, element_seed):
    image = example[0] if isinstance(example, tuple) else example
    if flip:
      image = tf.image.stateless_random_flip_left_right(
          image, seed=tf.stack([element_seed, 1]))
    if dequantized:
      image = dequantize(image, seed=tf.stack([element_seed, 0]))
    else:
      # A recipe's resize gives non-integer values: back on the 256 levels.
      image = tf.cast(tf.clip_by_value(tf.round(tf.cast(image, tf.float32)),
                                       0., 255.), tf.uint8)
    return (image,) + example[1:] if isinstance(example, tuple) else image

  examples = tf.data.Dataset.zip((examples, element_seeds)).map(
      augment, num_parallel_calls=tf.data.AUTOTUNE)
  return examples.batch(batch_size, drop_remainder=drop_remainder).prefetch(
      tf.data.AUTOTUNE)


def image_dataset(name,
                  split,
                  data_dir=None,
                  batch_size=64,
                  shuffle=True,
                  flip=False,
                  recipe=None,
                  download=True,
                  seed=None,
                  drop_remainder=False,
                  shuffle_buffer=10000,
                  with_labels=False,
                  dequantized=True):
  """A batched dataset of dequantized pixels from any TFDS image dataset.

  Args:
    name: TFDS name, e.g. `'mnist'`, `'cifar10'`, `'celeb_a'`.
    split: TFDS split, e.g. `'train'`, `'test'`, `'train[:90%]'`.
    data_dir: TFDS data directory (`None`: TFDS's default).
    batch_size: examples per batch.
    shuffle: Python `bool`.
    flip: random horizontal flips (paper §4.1 uses them in training);
      `None` flips colour (3-channel) images only: a mirrored digit is
      another shape.
    recipe: `None`, `'celeba'` or `'lsun'`: the paper's resize and crop.
    download: let TFDS download and prepare missing data; `False` for
      offline use of a prepared `data_dir`.
    seed: seed of the shuffle, the dequantization noise and the flips
      (`None`: not reproducible).
    drop_remainder: drop a last, smaller batch.
    shuffle_buffer: examples in the shuffle buffer.
    with_labels: also yield the dataset's `label` feature (for a
      class-conditional model).
    dequantized: `False` yields the uint8 pixels instead, for a model or
      evaluation that draws its own noise (`FlowModel`,
      `training.evaluate_discrete_bits_per_dim`).

  Returns:
    A `tf.data.Dataset` of float32 `(batch, H, W, C)` pixels in [0, 256) (or
    uint8 ones), or with `with_labels` of `(pixels, int64 labels (batch,))`
    pairs.

  Raises:
    ValueError: for an unknown recipe, or data that is missing or has no
      `image` (or, with `with_labels`, `label`) feature, with where TFDS
      looked.
  """
  if recipe is not None and recipe not in _RECIPES:
    raise ValueError(
        f'Unknown recipe {recipe!r}; choose one of {sorted(_RECIPES)}.')
  tfds = _tfds()
  where = data_dir or tfds.core.constants.DATA_DIR

  def unknown():
    # Built only when raised: the near-miss search lists every builder.
    return ValueError(
        f'Unknown dataset {name!r}{_did_you_mean(name, tfds)}: not a TFDS '
        f'dataset name (see `tfds.list_builders()`), nor prepared under '
        f'{where!r}.')

  builder_name = name.split('/')[0].split(':')[0]
  if (builder_name not in tfds.list_builders(with_community_datasets=False)
      and not tf.io.gfile.exists(os.path.join(where, builder_name))):
    # Said before TFDS looks for it on GCS, which warns on a machine
    # without Google credentials.
    raise unknown()
  try:
    images = tfds.load(name, split=split, data_dir=data_dir,
                       download=download, shuffle_files=shuffle)
  except tfds.core.registered.DatasetNotFoundError as error:
    raise unknown() from error
  except (AssertionError, FileNotFoundError,
          tf.errors.NotFoundError) as error:
    how = (f'Prepare it on a machine with network access: `tfds build {name} '
           f'--data_dir=DIR` (or `tfds.builder({name!r}, '
           'data_dir=DIR).download_and_prepare()`), then copy DIR to this '
           'machine and pass it as the data directory'
           + ('.' if download else ', or allow downloads.'))
    raise ValueError(
        f'Could not load TFDS dataset {name!r} split {split!r} from '
        f'{where!r} (download={download}): {error}\n{how}') from error
  except Exception as error:  # pylint: disable=broad-except
    # TFDS reports an empty split or unreadable metadata with assorted types
    # (ValueError, protobuf ParseError, ...): name the dataset and place.
    raise ValueError(
        f'Could not read TFDS dataset {name!r} split {split!r} from '
        f'{where!r}: {error}. An empty split, or a corrupt or partly prepared '
        f'dataset directory ({where}/{name}); prepare it again with `tfds '
        f'build {name} --data_dir=DIR`.') from error
  if 'image' not in images.element_spec:
    raise ValueError(f'TFDS dataset {name!r} has no "image" feature; it has '
                     f'{sorted(images.element_spec)}.')
  if with_labels and 'label' not in images.element_spec:
    raise ValueError(f'TFDS dataset {name!r} has no "label" feature for a '
                     'class-conditional model; it has '
                     f'{sorted(images.element_spec)}.')
  if flip is None:
    flip = images.element_spec['image'].shape[-1] == 3
  if with_labels:
    recipe_fn = _RECIPES[recipe] if recipe is not None else tf.identity
    images = images.map(
        lambda example: (recipe_fn(example['image']),
                         tf.cast(example['label'], tf.int64)),
        num_parallel_calls=tf.data.AUTOTUNE)
  else:
    images = images.map(lambda example: example['image'],
                        num_parallel_calls=tf.data.AUTOTUNE)
    if recipe is not None:
      images = images.map(_RECIPES[recipe],
                          num_parallel_calls=tf.data.AUTOTUNE)
  return _prepare(images, batch_size, shuffle, flip, seed, drop_remainder,
                  shuffle_buffer, dequantized)


def num_classes(name, data_dir=None):
  """The number of classes of a TFDS dataset's `label` feature (10 for digits).

  Raises:
    ValueError: when the dataset has no class label.
  """
  if name == 'digits':
    return 10
  features = _tfds().builder(name, data_dir=data_dir).info.features
  label = features['label'] if 'label' in features.keys() else None
  classes = getattr(label, 'num_classes', None)
  if not classes:
    raise ValueError(f'TFDS dataset {name!r} has no class "label" feature '
                     'for a class-conditional model.')
  return int(classes)


# The embedded digits' splits, as [start, stop) of scikit-learn's 1797 images.
_DIGITS_SPLITS = {'train': (0, 1500), 'test': (1500, 1797)}
# `name`, `name[a:b]`, with a and b counts or percentages, as in TFDS.
_SPLIT_SLICE = re.compile(r'^(\w+)(?:\[(-?\d+%?)?:(-?\d+%?)?\])?$')


def _digits_indices(split):
  """Indices of the embedded digits' `split`, e.g. `'train[:90%]'`."""
  match = _SPLIT_SLICE.match(split.replace(' ', ''))
  if not match or match.group(1) not in _DIGITS_SPLITS:
    raise ValueError(
        f'`split` must be one of {sorted(_DIGITS_SPLITS)}, optionally sliced '
        f"as in TFDS ('train[:90%]', 'test[:64]'), got {split!r}.")
  start, stop = _DIGITS_SPLITS[match.group(1)]

  def bound(text):
    if text is None:
      return None
    if text.endswith('%'):  # Rounded to the closest example, as TFDS does.
      return int(round(int(text[:-1]) * (stop - start) / 100.))
    return int(text)

  indices = np.arange(start, stop)[bound(match.group(2)):bound(match.group(3))]
  if not len(indices):  # pylint: disable=g-explicit-length-test
    raise ValueError(f'Split {split!r} of the embedded digits is empty.')
  return indices


def digits_dataset(split='train', batch_size=64, shuffle=True, seed=None,
                   with_labels=False, dequantized=True):
  """The embedded default: scikit-learn's bundled 8x8 handwritten digits.

  1797 images of 17 grey levels, shipped inside scikit-learn, so it needs no
  network. Levels `0..16` map to `round(level * 255 / 16)`, the 8-bit range the
  models expect. `'train'` is the first 1500 images, `'test'` the remaining 297.

  Args:
    split: `'train'` or `'test'`, optionally sliced as in TFDS
      (`'train[:90%]'`, `'train[90%:]'`, `'test[:64]'`).
    batch_size: examples per batch.
    shuffle: Python `bool`.
    seed: seed of the shuffle and the dequantization noise.
    with_labels: also yield the digit (0-9) as an int64 label.
    dequantized: `False` yields the uint8 pixels instead.

  Returns:
    A `tf.data.Dataset` of float32 `(batch, 8, 8, 1)` pixels in [0, 256) (or
    uint8 ones), or with `with_labels` of `(pixels, labels)` pairs.

  Raises:
    ValueError: for an unknown or empty split.
  """
  indices = _digits_indices(split)
  digits = _sklearn_datasets().load_digits()
  levels = digits.images[indices]
  images = np.round(levels * (255. / 16.)).astype(np.uint8)[..., np.newaxis]
  examples = images
  if with_labels:
    examples = (images, digits.target[indices].astype(np.int64))
  return _prepare(tf.data.Dataset.from_tensor_slices(examples), batch_size,
                  shuffle, False, seed, False, len(images), dequantized)


# TFDS names whose paper preprocessing and configuration differ from their
# name: (recipe, preset).
_PAPER_DATASETS = {'celeb_a': ('celeba', 'celeba'), 'lsun': ('lsun', 'lsun')}


def paper_defaults(name):
  """`(recipe, preset)` the paper used for dataset `name`, or `(None, None)`."""
  return _PAPER_DATASETS.get(name.split('/')[0], (None, None))


def is_vector_dataset(name):
  """Whether `name` is a 2-D toy dataset (vectors, not images)."""
  return name in TOY_DATASETS


def _require_images(name, dequantized):
  if not dequantized:
    raise ValueError(f'{name!r} is continuous 2-D data, not integer pixels: '
                     'there is nothing to dequantize.')


def training_dataset(name, data_dir=None, batch_size=64, recipe=None,
                     download=True, seed=0, flip=None, with_labels=False,
                     split='train', dequantized=True):
  """The shuffled, repeatable training data of dataset `name`.

  Args:
    name: `'digits'` (embedded), a 2-D toy name or a TFDS image dataset name.
    data_dir: TFDS data directory.
    batch_size: examples per batch.
    recipe: `None` (the paper's for celeb_a and lsun/*), `'celeba'`,
      `'lsun'`.
    download: let TFDS download missing data.
    seed: seed of the shuffle and the dequantization noise.
    flip: random horizontal flips; `None`: for colour images only.
    with_labels: yield `(images, labels)` (for a class-conditional model).
    split: the split to train on, e.g. `'train[:90%]'` (ignored for toy
      data).
    dequantized: `False` yields uint8 pixels (images only).

  Returns:
    A batched `tf.data.Dataset`: its `split` (10000 fresh points for toy
    data).
  """
  if name == EMBEDDED_DATASET:
    return digits_dataset(split, batch_size, seed=seed,
                          with_labels=with_labels, dequantized=dequantized)
  if is_vector_dataset(name):
    _require_images(name, dequantized)
    return toy_dataset(name, 10000, batch_size, seed=seed)
  return image_dataset(name, split, data_dir, batch_size, flip=flip,
                       recipe=recipe or paper_defaults(name)[0],
                       download=download, seed=seed, with_labels=with_labels,
                       dequantized=dequantized)


def evaluation_dataset(name, split, data_dir=None, batch_size=64,
                       recipe=None, download=True, seed=0, with_labels=False,
                       dequantized=True):
  """A fixed-order dataset of `name`'s `split` for validation or testing.

  Args:
    name: `'digits'`, a 2-D toy name or a TFDS image dataset name.
    split: for TFDS, any split string; for digits `'train'` or `'test'`,
      optionally sliced (`'train[90%:]'`); ignored for toy data (a fresh sample of 2000 points from `seed`).
    data_dir: TFDS data directory.
    batch_size: examples per batch.
    recipe: `None` (the paper's for celeb_a and lsun/*), `'celeba'`,
      `'lsun'`.
    download: let TFDS download missing data.
    seed: seed of the dequantization noise (or of the toy points).
    with_labels: yield `(images, labels)` (for a class-conditional model).
    dequantized: `False` yields uint8 pixels (images only), e.g. for
      `training.evaluate_discrete_bits_per_dim`.

  Returns:
    A batched `tf.data.Dataset`, unshuffled.
  """
  if name == EMBEDDED_DATASET:
    return digits_dataset(split, batch_size, shuffle=False, seed=seed,
                          with_labels=with_labels, dequantized=dequantized)
  if is_vector_dataset(name):
    _require_images(name, dequantized)
    return toy_dataset(name, 2000, batch_size, shuffle=False, seed=seed)
  return image_dataset(name, split, data_dir, batch_size, shuffle=False,
                       recipe=recipe or paper_defaults(name)[0],
                       download=download, seed=seed, with_labels=with_labels,
                       dequantized=dequantized)
