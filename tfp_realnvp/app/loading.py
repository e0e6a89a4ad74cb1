"""A trained flow from a training run directory or a SavedModel, one interface.

bin/sample.py, bin/evaluate.py and the latent-space tools take either a
`--model_dir` of bin/train.py (the model is rebuilt from config.json and its
latest checkpoint) or a SavedModel written by `tfp_realnvp.app.export` (a
version directory, or its base directory: the newest version is used). Either
way `load_flow` returns an object with the flows' evaluation interface (see
`tfp_realnvp.Flow`): `log_prob`, `bits_per_dim`, `sample_values`, `encode`,
`decode` with keyword-only `labels`, and `event_shape`, `num_dims`,
`num_scales`, `num_classes`.
"""

import os

import numpy as np
import tensorflow as tf

from tfp_realnvp import data
from tfp_realnvp import flows
from tfp_realnvp import training
from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import export
from tfp_realnvp.app import figures
from tfp_realnvp.app import precision
from tfp_realnvp.app import weight_choice
from tfp_realnvp.app.saved_flow import SavedFlow

__all__ = [
    'SavedFlow',
    'describe_weights',
    'evaluation_data',
    'evaluation_dataset_name',
    'evaluation_split',
    'examples',
    'load_distribution',
    'load_flow',
    'run_config',
    'run_results',
    'sample_grid',
    'weights_kept',
]


def run_config(path):
  """The config.json of the training run in `path` as a dict, else `None`."""
  config_path = os.path.join(path, 'config.json')
  if not tf.io.gfile.exists(config_path):
    return None
  return config_lib.read_json(config_path)


WEIGHTS = ('best',) + weight_choice.WEIGHTS


def load_distribution(model_dir, image_shape=None, weights='best',
                      compute_dtype='float32'):
  """Rebuilds the model of a run and restores its latest checkpoint.

  Args:
    model_dir: a `run` output directory (with config.json and checkpoints).
    image_shape: `None`, or another `(H, W, C)` to build the trained image
      model at (paper App. C: the couplings are fully convolutional and batch
      norm is per channel, so the weights fit any size the scales divide).
    weights: `'best'`: the weights the run chose on validation when it
      ended (`results.json`; `'averaged'` before that); `'averaged'`: the
      Polyak averages of a run that kept them (`--polyak_decay`), with the
      batch-norm statistics computed for them (a checkpoint from before
      0.4 has none: the raw weights' then), else the trained weights;
      `'averaged_raw_statistics'`: the averages with the raw weights'
      statistics; `'raw'`: the trained weights.
    compute_dtype: what the networks compute in. `'float32'` (default):
      `encode`/`decode` invert each other to float32's rounding, whatever
      precision the run trained in (a bfloat16 network rounds its inputs: a
      bfloat16 run's flow decodes its own encodings to within pixel levels,
      not ulps). `None`: the run's own precision (e.g. `'bfloat16'` where
      it trained so, faster on hardware with native bfloat16). The
      variables are float32 either way.

  Returns:
    `(distribution, config_dict)`, the distribution in the state of the last
    checkpoint.

  Raises:
    ValueError: when `model_dir` has no config.json or no checkpoint, or
      for an `image_shape` the model cannot take.
  """
  config = run_config(model_dir)
  if config is None:
    raise ValueError(f'No config.json in {model_dir!r}: not a training run '
                     'directory (pass the --model_dir of bin/train.py).')
  checkpoint = tf.train.latest_checkpoint(config_lib.checkpoint_dir(model_dir))
  if checkpoint is None:
    raise ValueError(f'No checkpoint in {model_dir!r}: train first.')
  description = dict(config['model'])
  if image_shape is not None:
    if 'image_shape' not in description:
      raise ValueError('Only image models can be built at another size.')
    trained_shape = tuple(description['image_shape'])
    image_shape = tuple(int(n) for n in image_shape)
    if len(image_shape) != 3 or image_shape[2] != trained_shape[2]:
      raise ValueError(f'The model was trained on {trained_shape} images: '
                       f'another size needs (H, W, {trained_shape[2]}), got '
                       f'{image_shape}.')
    if description.get('num_scales') is None:
      description['num_scales'] = flows.default_num_scales(trained_shape)
    description['image_shape'] = list(image_shape)
  if weights not in WEIGHTS:
    raise ValueError(f'`weights` must be one of {WEIGHTS}, got {weights!r}.')
  precision.check_float32_or_own(compute_dtype, "the run's own")
  if compute_dtype == 'float32' and 'compute_dtype' in description:
    description['compute_dtype'] = None  # The flows' name for float32.
  distribution = flows.flow_from_config(description)
  flow_model = training.FlowModel(
      distribution, polyak_decay=config.get('polyak_decay') or None)
  status = tf.train.Checkpoint(model=flow_model).restore(checkpoint)
  # Every variable of the model must come from the checkpoint; only the
  # optimizer state, not needed here, is left unread.
  status.assert_existing_objects_matched().expect_partial()
  if weights == 'best':
    weights = weights_kept(model_dir)
  if weights in ('averaged', 'averaged_raw_statistics'):
    flow_model.use_polyak_averages(own_statistics=weights == 'averaged')
  return distribution, config


def run_results(model_dir):
  """The results.json of the run in `model_dir` as a dict, or `None`."""
  path = os.path.join(model_dir, 'results.json')
  if not tf.io.gfile.exists(path):
    return None
  return config_lib.read_json(path)


def weights_kept(model_dir):
  """What the run in `model_dir` chose on validation (`weight_choice.WEIGHTS`).

  `'averaged'` (the default during training) until the run has ended and
  written its choice to results.json; `'raw'` for a run without an average.
  """
  if not (run_config(model_dir) or {}).get('polyak_decay'):
    return 'raw'
  return (run_results(model_dir) or {}).get('weights', 'averaged')


def describe_weights(path, weights='best'):
  """Which weights `load_flow(path, weights=weights)` holds, in words."""
  if run_config(path) is None:
    return 'the exported weights'
  if weights == 'best' or weights_kept(path) == 'raw':
    # A run without an average has its raw weights only.
    weights = weights_kept(path)
  return 'the ' + weight_choice.describe(weights)


def load_flow(path, image_shape=None, weights='best',
              compute_dtype='float32'):
  """Loads a flow from a run directory or a SavedModel.

  Args:
    path: a bin/train.py `--model_dir` (config.json + checkpoints), a
      SavedModel directory, or a directory of numbered SavedModel versions.
    image_shape: `None`, or another `(H, W, C)` to build a run directory's
      image model at (e.g. twice the trained size, paper App. C); a
      SavedModel's functions have their trained shape.
    weights: a run directory's `'best'` (chosen on validation), `'averaged'`
      (Polyak, if the run kept an average) or `'raw'` weights; see
      `load_distribution`. A SavedModel holds the weights it was exported
      with (a run exports its `'best'`).
    compute_dtype: a run directory's networks compute in float32 by default
      (exact inference), or in the run's own precision with `None`; see
      `load_distribution`. A SavedModel computes in what it was exported
      with (float32 unless exported otherwise).

  Returns:
    The restored `tfp_realnvp` model (a run directory) or a `SavedFlow`;
    both answer the same evaluation methods.

  Raises:
    ValueError: when `path` is none of these, saying what was looked for.
  """
  _check_is_directory(path)
  if run_config(path) is not None:
    return load_distribution(path, image_shape, weights, compute_dtype)[0]
  if weights != 'best':
    raise ValueError(
        f'{path!r} is not a training run directory: a SavedModel holds the '
        f'weights it was exported with; --weights={weights} needs the run '
        'directory.')
  if image_shape is not None:
    raise ValueError(
        f'{path!r} is not a training run directory: only a run directory '
        '(config.json + checkpoint) can be rebuilt at another image size; a '
        'SavedModel keeps its trained shape.')
  if tf.io.gfile.exists(os.path.join(path, 'saved_model.pb')):
    return SavedFlow(path)
  newest = export.newest_version_dir(path)
  if newest and tf.io.gfile.exists(os.path.join(newest, 'saved_model.pb')):
    return SavedFlow(newest)
  raise ValueError(
      f'{path!r} holds neither config.json (a training run) nor '
      'saved_model.pb (a SavedModel), nor numbered SavedModel versions.')


def _check_is_directory(path):
  if not tf.io.gfile.isdir(path):
    raise ValueError(f'{path!r} is not a directory: pass a bin/train.py '
                     '--model_dir or a SavedModel directory.')


def evaluation_dataset_name(path, dataset=None):
  """`dataset`, else the one the run in `path` trained on.

  Raises:
    ValueError: when `path` is no directory, or when neither says (`path`
      is not a training run and no dataset is given); a binary can ask
      before it spends seconds loading the model.
  """
  _check_is_directory(path)
  dataset = dataset or (run_config(path) or {}).get('dataset')
  if dataset is None:
    raise ValueError(f'{path!r} holds no training run (config.json) that '
                     'names its dataset: pass --dataset.')
  return dataset


def evaluation_split(path, split=None):
  """`split`, else the test split of the run in `path`, else `'test'`."""
  return split or (run_config(path) or {}).get('test_split') or 'test'


def evaluation_data(path, flow, dataset=None, split=None, data_dir=None,
                    batch_size=256, download=True, seed=0, dequantized=True):
  """The evaluation data for a loaded flow, defaulting to its run's.

  Args:
    path: what the flow was loaded from; a training run's config.json gives
      the defaults of `dataset`, `split` (its test split), `data_dir`
      and the recipe.
    flow: the loaded flow (its labels decide whether batches carry them).
    dataset: a dataset name, needed for a SavedModel.
    split: the split (default: the run's test split, or `'test'`).
    data_dir: the TFDS data directory (default: the run's).
    batch_size: examples per batch.
    download: let TFDS download missing data.
    seed: seed of the dequantization noise.
    dequantized: `False` yields the integer pixels (for
      `training.evaluate_discrete_bits_per_dim`).

  Returns:
    `(batched tf.data.Dataset, dataset name, split)`.

  Raises:
    ValueError: when no dataset is given for a SavedModel.
  """
  config = run_config(path) or {}
  dataset = evaluation_dataset_name(path, dataset)
  split = evaluation_split(path, split)
  batches = data.evaluation_dataset(
      dataset, split, data_dir or config.get('data_dir'), batch_size,
      recipe=config.get('recipe'), download=download, seed=seed,
      with_labels=flow.num_classes is not None, dequantized=dequantized)
  return batches, dataset, split


def examples(path, flow, indices, **kwargs):
  """`(values, labels or None)` at `indices` of `evaluation_data`'s split.

  Args:
    path: what the flow was loaded from (see `evaluation_data`).
    flow: the loaded flow.
    indices: example indices in the split.
    **kwargs: `evaluation_data`'s options.

  Raises:
    ValueError: for an index past the split's end, or images of another
      shape than the flow's.
  """
  batches, dataset, split = evaluation_data(
      path, flow, batch_size=max(indices) + 1, **kwargs)
  batch = next(iter(batches.take(1)))
  values, labels = batch if flow.num_classes is not None else (batch, None)
  if values.shape[0] <= max(indices):
    raise ValueError(f'{dataset} {split} has {values.shape[0]} examples; '
                     f'--examples asks for index {max(indices)}.')
  values = values.numpy()[indices]
  if tuple(values.shape[1:]) != tuple(flow.event_shape):
    raise ValueError(f'{dataset} images have shape {values.shape[1:]}, the '
                     f'model expects {tuple(flow.event_shape)}.')
  return values, None if labels is None else labels.numpy()[indices]


def sample_grid(flow, num_samples, temperatures=(1.0,), seed=0,
                return_samples=False):
  """A uint8 image grid of samples, one row per temperature (and class).

  Args:
    flow: a loaded flow (or model) of images.
    num_samples: samples per temperature (with one temperature, the grid is
      about square); for a class-conditional flow, samples per class and
      temperature, each class in its own row.
    temperatures: standard-deviation scales of the prior, one row each.
    seed: the same seed for every row, so rows differ only by temperature
      (and class).
    return_samples: also return the samples, row by row.

  Returns:
    A uint8 `(height, width, channels)` numpy array; with `return_samples`,
    `(grid, samples)`, the samples pixels in [0, 256), `(N, H, W, C)`.
  """
  if len(flow.event_shape) != 3:
    raise ValueError('Sample grids need an image model, got event shape '
                     f'{flow.event_shape}.')
  if min(temperatures) < 0:
    raise ValueError(f'Temperatures must be >= 0, got {list(temperatures)}.')
  sample = flow.sample_values
  if isinstance(flow, flows.Flow):
    # One graph for every row: eager sampling would run op by op.
    sample = tf.function(flow.sample_values, autograph=False)
  classes = [None] if flow.num_classes is None else range(flow.num_classes)
  rows = []
  for temperature in temperatures:
    for label in classes:
      kwargs = {} if label is None else {'labels': tf.constant([label])}
      rows.append(sample(num_samples, tf.constant(temperature), seed=seed,
                         **kwargs).numpy())
  num_rows = len(rows) if len(rows) > 1 else None
  samples = np.concatenate(rows, axis=0)
  grid = figures.image_grid(samples, num_rows=num_rows)
  if return_samples:
    return grid, samples
  return grid
