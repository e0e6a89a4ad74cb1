"""The paper's latent-space experiments: manifolds (§4.2, eq. 19) and
conceptual compression (App. D).

Both work on any flow with the flows' evaluation interface: a
`tfp_realnvp.RealNVP` (or `ConditionalRealNVP`), or one from
`tfp_realnvp.app.loading.load_flow` (a training run directory or a
SavedModel). Encoding and decoding run in evaluation mode.
"""

import math

import numpy as np
import tensorflow as tf

from tfp_realnvp.app import figures
from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp.bijectors import factor_out

__all__ = [
    'COMPRESSION_FRACTIONS',
    'compression_figure',
    'conceptual_compression',
    'manifold',
    'manifold_latents',
    'resample_latents',
]

# Paper App. D: the share of latent dimensions kept, coarsest scales first.
COMPRESSION_FRACTIONS = (1., 0.5, 0.25, 0.125, 0.0625)


def _label_kwargs(labels):
  return {} if labels is None else {'labels': labels}


class _PlainFlow:
  """`encode`/`decode` of a user's own `tfd.TransformedDistribution`.

  Its bijector may be a plain `tfb.Chain`, which cannot route `training=`;
  `training_mode(False)` reaches its stateful links instead.
  """

  def __init__(self, distribution):
    self._bijector = distribution.bijector
    self.dtype = distribution.dtype
    self.num_scales = None
    self.num_classes = None

  def encode(self, values):
    with rnvp_bijectors.training_mode(False):
      return self._bijector.inverse(tf.identity(values))

  def decode(self, latents):
    with rnvp_bijectors.training_mode(False):
      return self._bijector.forward(tf.identity(latents))


def _as_flow(flow):
  """`flow` if it has the flows' interface, else a view of its bijector."""
  if hasattr(flow, 'encode') and hasattr(flow, 'decode'):
    return flow
  if hasattr(flow, 'bijector'):
    return _PlainFlow(flow)
  raise TypeError('`flow` must be a tfp_realnvp flow (RealNVP, ...), a '
                  'loaded one or a tfd.TransformedDistribution, got '
                  f'{flow!r}.')


def _as_pixels(values):
  """Clips decoded values to [0, 256) as numpy (decoding may overshoot)."""
  values = np.asarray(values)
  below_256 = np.nextafter(values.dtype.type(256.), values.dtype.type(0.))
  return np.clip(values, 0., below_256)


def manifold_latents(corners, num_rows=8, num_cols=8):
  """Paper eq. 19: a 2-D sheet of latents spanned by four latents.

  ```none
  z(phi, phi') = cos(phi)  (cos(phi') z1 + sin(phi') z2)
               + sin(phi)  (cos(phi') z3 + sin(phi') z4)
  ```

  with `phi` (rows) and `phi'` (columns) evenly spaced in [0, pi/2], so the
  corners are `z1` (top left), `z2` (top right), `z3` (bottom left) and `z4`
  (bottom right). For Gaussian latents the sheet keeps their typical norm.

  Args:
    corners: `(4, ...)` latents `z1..z4`.
    num_rows: Python `int` >= 1, values of `phi`.
    num_cols: Python `int` >= 1, values of `phi'`.

  Returns:
    `(num_rows * num_cols, ...)` latents, row by row.

  Raises:
    ValueError: for a first axis other than 4 or fewer than one row/column.
  """
  corners = tf.convert_to_tensor(corners)
  if corners.shape.rank is None or corners.shape[0] != 4:
    raise ValueError('`corners` must hold 4 latents (first axis 4), got '
                     f'shape {corners.shape}.')
  if num_rows < 1 or num_cols < 1:
    raise ValueError(f'Need at least one row and column, got {num_rows} x '
                     f'{num_cols}.')

  def angles(count):
    if count == 1:
      return tf.zeros([1], corners.dtype)
    return tf.linspace(tf.zeros([], corners.dtype),
                       tf.constant(math.pi / 2, corners.dtype), count)

  event_ones = [1] * (corners.shape.rank - 1)
  phi = tf.reshape(angles(num_rows), [num_rows, 1] + event_ones)
  phi_prime = tf.reshape(angles(num_cols), [1, num_cols] + event_ones)
  z1, z2, z3, z4 = tf.unstack(corners[:, tf.newaxis, tf.newaxis], axis=0)
  sheet = (tf.cos(phi) * (tf.cos(phi_prime) * z1 + tf.sin(phi_prime) * z2) +
           tf.sin(phi) * (tf.cos(phi_prime) * z3 + tf.sin(phi_prime) * z4))
  return tf.reshape(sheet, [num_rows * num_cols] + corners.shape[1:].as_list())


def manifold(flow, examples, num_rows=8, num_cols=8, labels=None):
  """Decodes the eq. 19 sheet through the latents of four examples.

  Args:
    flow: a `RealNVP`, a flow from `loading.load_flow`, or any
      `tfd.TransformedDistribution` of these bijectors.
    examples: `(4, H, W, C)` pixels in [0, 256): the corners, in the order
      top left, top right, bottom left, bottom right.
    num_rows: Python `int`, values of `phi`.
    num_cols: Python `int`, values of `phi'`.
    labels: for a class-conditional flow, the class used to encode all four
      examples and decode the sheet (a scalar).

  Returns:
    `(num_rows * num_cols, H, W, C)` numpy pixels in [0, 256), row by row.
  """
  flow = _as_flow(flow)
  examples = tf.convert_to_tensor(examples, flow.dtype)
  if examples.shape[0] != 4:
    raise ValueError('`examples` must be 4 images (the corners), got shape '
                     f'{examples.shape}.')
  corner_labels = None if labels is None else np.full([4], labels, np.int32)
  corners = flow.encode(examples, **_label_kwargs(corner_labels))
  sheet = manifold_latents(corners, num_rows, num_cols)
  sheet_labels = (None if labels is None
                  else np.full([num_rows * num_cols], labels, np.int32))
  return _as_pixels(flow.decode(sheet, **_label_kwargs(sheet_labels)))


def _kept_masks(part_shapes, keep_fraction):
  """Per-part 0/1 masks keeping `keep_fraction` of all units, coarsest first.

  Whole scales are kept from the coarsest down; the one scale kept in part
  is kept channel by channel (all positions of a channel before the next),
  so a fraction between scale boundaries keeps whole feature maps.
  """
  sizes = [int(np.prod(shape)) for shape in part_shapes]
  remaining = int(round(keep_fraction * sum(sizes)))
  masks = [None] * len(part_shapes)
  for index in reversed(range(len(part_shapes))):
    height, width, channels = part_shapes[index]
    kept = min(remaining, sizes[index])
    remaining -= kept
    order = np.arange(sizes[index]).reshape(channels, height, width)
    masks[index] = (order < kept).transpose(1, 2, 0).astype(np.float32)
  return masks


def resample_latents(latents, num_scales, keep_fraction, fill='sample',
                     temperature=1.0, seed=0):
  """Keeps the coarsest `keep_fraction` of a latent and redraws the rest.

  Paper App. D: the latent dimensions are ordered by scale (the last, coarsest
  scale first, as factored out by `FactorOut`); the first
  `keep_fraction` of them are kept and the others replaced.

  Args:
    latents: `(N, H, W, C)` latents of an image model (`bijector.inverse`).
    num_scales: the model's number of scales.
    keep_fraction: float in [0, 1]; 1 keeps everything, 0.5 drops the finest
      scale's factored-out half, 0.25 the next as well, and so on.
    fill: `'sample'` (fresh draws from the standard normal prior, scaled by
      `temperature`) or `'zero'` (the prior's mode).
    temperature: standard deviation of the fresh draws.
    seed: integer seed of the fresh draws.

  Returns:
    `(new_latents, kept_mask)`, both `(N, H, W, C)`; `kept_mask` is 1 where
    `new_latents` equals `latents`.

  Raises:
    ValueError: for a fraction outside [0, 1] or an unknown `fill`.
  """
  if not 0. <= keep_fraction <= 1.:
    raise ValueError(f'`keep_fraction` must be in [0, 1], got {keep_fraction}.')
  if fill not in ('sample', 'zero'):
    raise ValueError(f'`fill` must be "sample" or "zero", got {fill!r}.')
  latents = tf.convert_to_tensor(latents)
  if latents.shape.rank != 4 or not latents.shape[1:].is_fully_defined():
    raise ValueError('`latents` must be (N, H, W, C) with a static image '
                     f'shape, got {latents.shape}.')
  parts = factor_out.split_multiscale_latents(latents, num_scales)
  masks = _kept_masks([part.shape[1:].as_list() for part in parts],
                      keep_fraction)
  new_parts, mask_parts = [], []
  for index, (part, mask) in enumerate(zip(parts, masks)):
    mask = tf.constant(mask, part.dtype)
    if fill == 'sample':
      replacement = temperature * tf.random.stateless_normal(
          tf.shape(part), seed=[seed, index], dtype=part.dtype)
    else:
      replacement = tf.zeros_like(part)
    new_parts.append(mask * part + (1. - mask) * replacement)
    mask_parts.append(tf.broadcast_to(mask, tf.shape(part)))
  return (factor_out.join_multiscale_latents(new_parts),
          factor_out.join_multiscale_latents(mask_parts))


def conceptual_compression(flow, images, num_scales=None,
                           fractions=COMPRESSION_FRACTIONS, fill='sample',
                           temperature=1.0, seed=0, labels=None):
  """Paper App. D: images decoded from their coarsest latents only.

  Args:
    flow: as for `manifold`, of images.
    images: `(N, H, W, C)` pixels in [0, 256).
    num_scales: the model's number of scales (default: the flow's own).
    fractions: shares of the latent dimensions kept (see
      `resample_latents`), one column each.
    fill: `'sample'` or `'zero'` for the dropped dimensions.
    temperature: standard deviation of resampled dimensions.
    seed: integer seed of the resampling (the same for every fraction).
    labels: `(N,)` classes for a class-conditional flow.

  Returns:
    `(N, 1 + len(fractions), H, W, C)` numpy pixels: the originals, then one
    reconstruction per fraction.

  Raises:
    ValueError: when the number of scales is unknown, or as
      `resample_latents`.
  """
  flow = _as_flow(flow)
  num_scales = num_scales or flow.num_scales
  if num_scales is None:
    raise ValueError('The number of scales of this flow is unknown (an older '
                     'SavedModel): pass `num_scales`.')
  images = tf.convert_to_tensor(images, flow.dtype)
  latents = flow.encode(images, **_label_kwargs(labels))
  columns = [images.numpy()]
  for fraction in fractions:
    kept, _ = resample_latents(latents, num_scales, fraction, fill,
                               temperature, seed)
    columns.append(_as_pixels(flow.decode(kept, **_label_kwargs(labels))))
  return np.stack(columns, axis=1)


def compression_figure(columns):
  """A uint8 grid of `conceptual_compression` output, one image per row."""
  columns = np.asarray(columns)
  if columns.ndim != 5:
    raise ValueError('Expected (N, columns, H, W, C) from '
                     f'conceptual_compression, got shape {columns.shape}.')
  return figures.image_grid(columns.reshape((-1,) + columns.shape[2:]),
                            num_rows=columns.shape[0])
