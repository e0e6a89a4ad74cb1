"""Scoring data with a trained flow: per-image and per-scale bits/dim.

The exact likelihood is what anomaly and out-of-distribution detection use
(Nalisnick et al. 2019, https://arxiv.org/abs/1810.09136; Kirichenko et al.
2020, https://arxiv.org/abs/2006.08545), and the multi-scale latents make a
per-scale breakdown exact: with `z(1)..z(L)` the per-scale latents of `x`,

  log p(x) = sum_i log N(z(i); 0, I) + log |det df/dx|

so in bits/dim (each term divided by `-D ln 2`) the columns `scale_i` and
`log_det` add up to `bits_per_dim`. `latent_norm` is `||z||_2`.

Integer pixels (what `load_images` reads, a TFDS split's uint8 images) are
dequantized by the flow's own `q(u | x)`, one seeded draw each, and scored as
the flow trains on them: `bits_per_dim` is `-(log p(x + u) - log q(u | x)) /
(D ln 2)`, and the column `dequantization` (0 for uniform noise) is the `log
q` term, so the columns still add up. With `dequantization_samples=K > 1`,
`discrete_bits_per_dim` is each image's `K`-draw estimate.
"""

import csv
import io
import math
import os

import numpy as np
import tensorflow as tf

from tfp_realnvp.bijectors import factor_out
from tfp_realnvp.dequantization import estimate
from tfp_realnvp.dequantization import noise
from tfp_realnvp.dequantization import pixels as pixels_lib
from tfp_realnvp.dequantization import units

__all__ = ['COLUMNS', 'load_images', 'score', 'write_csv', 'write_histogram']

_IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')


def _image_paths(pattern):
  """The PNG/JPEG files a folder or a glob names, sorted."""
  if tf.io.gfile.isdir(pattern):
    pattern = os.path.join(pattern, '*')
  paths = sorted(path for path in tf.io.gfile.glob(pattern)
                 if path.lower().endswith(_IMAGE_SUFFIXES))
  if not paths:
    raise ValueError(f'No PNG or JPEG images match {pattern!r}.')
  return paths


def load_images(pattern, event_shape):
  """The uint8 pixels of every PNG/JPEG in a folder or glob.

  Args:
    pattern: a folder, or a glob such as `'samples/*.png'` (any TF
      filesystem).
    event_shape: the flow's `(H, W, C)`; every image must have it.

  Returns:
    `(paths, pixels)`: the file names and a uint8 `(N, H, W, C)` array,
    which `score` dequantizes with the flow's own noise.

  Raises:
    ValueError: for no images, or an image whose shape differs from
      `event_shape` (naming both, and saying when only the channel count,
      grayscale or colour, differs).
  """
  event_shape = tuple(int(n) for n in event_shape)
  if len(event_shape) != 3:
    raise ValueError(f'Scoring images needs an image model; this one has '
                     f'event shape {event_shape}.')
  paths = _image_paths(pattern)
  images = []
  for path in paths:
    image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    shape = tuple(image.shape)
    if shape != event_shape:
      reason = ''
      if shape[:2] == event_shape[:2]:
        kinds = {1: 'grayscale', 3: 'RGB', 4: 'RGBA'}
        reason = (f': the model takes {kinds.get(event_shape[2], "?")} '
                  f'images, this one is {kinds.get(shape[2], "?")}')
      raise ValueError(f'{path} has shape {shape}, the model takes '
                       f'{event_shape}{reason}.')
    images.append(image)
  return paths, tf.cast(tf.stack(images), tf.uint8).numpy()


COLUMNS = ('bits_per_dim', 'log_det', 'latent_norm')


def score(flow, values, labels=None, batch_size=256, dequantization_samples=1,
          seed=0):
  """Per-example bits/dim, its per-scale shares and the latent norm.

  Args:
    flow: a flow with the evaluation interface (a model, or
      `loading.load_flow`'s result).
    values: `(N,) + event_shape`: integer pixels (dequantized here by the
      flow's `dequantizer`), or values (dequantized pixels in [0, 256), or
      vectors).
    labels: `(N,)` classes for a class-conditional flow.
    batch_size: examples per call.
    dequantization_samples: `K`; above 1 (integer pixels only), also each
      image's `K`-draw estimate of its bits/dim.
    seed: seed of the dequantization draws: an example's depend on it and
      its position only (`noise.seed_pair`); `bits_per_dim` is the first
      of the `K` draws.

  Returns:
    A dict of `(N,)` numpy arrays: `bits_per_dim`, `scale_1`..`scale_L` (the
    prior term of each factored-out latent, finest first), `log_det`,
    `latent_norm`, for integer pixels `dequantization`, and for `K > 1`
    `discrete_bits_per_dim`; the scales, `log_det` and `dequantization` add
    up to `bits_per_dim`.

  Raises:
    TypeError: for `K > 1` with float values, or integer values for a flow
      over continuous values.
  """
  integer = pixels_lib.is_integer(values)
  if dequantization_samples > 1:
    pixels_lib.require_pixels(values, 'score(dequantization_samples > 1)')
  if not integer:
    # In the flow's own dtype: a float64 flow scores float64 values.
    values = np.asarray(values, tf.as_dtype(flow.dtype).as_numpy_dtype)
  elif flow.dequantizer is None:
    pixels_lib.require_values(values, 'score', flow)
  values = np.asarray(values)
  num_dims = int(np.prod(values.shape[1:]))
  num_scales = flow.num_scales or 1
  event_ndims = len(values.shape) - 1
  columns = {}

  def bits(log_prob):
    return units.log_prob_to_bits_per_dim(log_prob, num_dims)

  evaluate = tf.function(
      lambda batch, **kwargs: (flow.log_prob(batch, **kwargs),
                               flow.encode(batch, **kwargs)),
      autograph=False)
  k_draw = tf.function(
      lambda pixels, first_example, **kwargs: (
          estimate.importance_weighted_log_prob(
              flow, pixels, dequantization_samples, seed=seed_pair,
              first_example=first_example, **kwargs)),
      autograph=False)
  seed_pair = noise.seed_pair(seed)
  for start in range(0, len(values), batch_size):
    batch = values[start:start + batch_size]
    first_example = tf.constant(start, tf.int64)
    kwargs = {}
    if labels is not None:
      kwargs['labels'] = np.asarray(labels)[start:start + batch_size]
    log_q = np.zeros(len(batch))
    if integer:
      # The K-draw estimate's first draw.
      batch, log_q = flow.dequantizer(
          batch, flow.dtype, seed=noise.draw_seed(seed_pair, 0),
          first_example=first_example)
      log_q = log_q.numpy().astype(np.float64)
    log_prob, latents = evaluate(batch, **kwargs)
    log_prob = log_prob.numpy().astype(np.float64)
    parts = factor_out.split_multiscale_latents(
        latents, num_scales, event_ndims=event_ndims)
    prior_terms = [_standard_normal_log_prob(part.numpy()) for part in parts]
    batch_columns = {'bits_per_dim': bits(log_prob - log_q)}
    for index, term in enumerate(prior_terms):
      batch_columns[f'scale_{index + 1}'] = bits(term)
    batch_columns['log_det'] = bits(log_prob - sum(prior_terms))
    if integer:
      batch_columns['dequantization'] = bits(-log_q)
    flat = tf.reshape(latents, [len(batch), -1]).numpy()
    batch_columns['latent_norm'] = np.linalg.norm(flat, axis=1)
    if dequantization_samples > 1:
      batch_columns['discrete_bits_per_dim'] = bits(k_draw(
          values[start:start + batch_size], first_example,
          **kwargs).numpy().astype(np.float64))
    for name, column in batch_columns.items():
      columns.setdefault(name, []).append(column)
  return {name: np.concatenate(chunks) for name, chunks in columns.items()}


def _standard_normal_log_prob(part):
  flat = part.reshape(len(part), -1).astype(np.float64)
  return -0.5 * np.sum(flat ** 2, axis=1) - 0.5 * flat.shape[1] * math.log(
      2. * math.pi)


def _make_parent(path):
  directory = os.path.dirname(path)
  if directory:
    tf.io.gfile.makedirs(directory)


def write_csv(path, names, scores):
  """One row per example: its name, then every column of `score`'s result.

  The folder of `path` is made if missing.
  """
  columns = ['bits_per_dim'] + sorted(
      name for name in scores if name.startswith('scale_')) + ['log_det'] + [
          name for name in ('dequantization', 'latent_norm',
                            'discrete_bits_per_dim') if name in scores]
  buffer = io.StringIO()
  writer = csv.writer(buffer)
  writer.writerow(['example'] + columns)
  for row, name in enumerate(names):
    writer.writerow([name] + [f'{scores[c][row]:.6f}' for c in columns])
  _make_parent(path)
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(buffer.getvalue())
  return path


def write_histogram(path, sources, bins=40):
  """A PNG histogram of bits/dim, one colour per source.

  Args:
    path: the PNG to write (any TF filesystem).
    sources: `{label: bits_per_dim array}`, e.g. in-distribution test images
      against another set.
    bins: histogram bins over the range of all sources.

  Returns:
    `path`.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top

  everything = np.concatenate([np.asarray(v) for v in sources.values()])
  edges = np.linspace(everything.min(), everything.max(), bins + 1)
  figure, axis = pyplot.subplots(figsize=(6, 4))
  for label, values in sources.items():
    axis.hist(values, bins=edges, alpha=0.5, density=True,
              label=f'{label} (n={len(values)}, mean {np.mean(values):.3f})')
  axis.set_xlabel('bits/dim')
  axis.set_ylabel('density')
  axis.legend()
  figure.tight_layout()
  buffer = io.BytesIO()
  figure.savefig(buffer, format='png', dpi=100)
  pyplot.close(figure)
  _make_parent(path)
  with tf.io.gfile.GFile(path, 'wb') as f:
    f.write(buffer.getvalue())
  return path
