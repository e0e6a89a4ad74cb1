"""Figures: image grids as PNG, and the paper's Figure 1 for 2-D flows.

Image grids need only TensorFlow (`tf.io.encode_png`); Figure 1 uses
matplotlib's non-interactive Agg backend, so both work on a headless machine.
"""

import io
import os

import einops
import numpy as np
import tensorflow as tf

__all__ = ['image_grid', 'toy_figure', 'write_png']


def image_grid(pixels, num_rows=None, padding=1):
  """Tiles images into one image, row by row.

  Args:
    pixels: `(N, H, W, C)` values in [0, 256) (float or uint8), C in {1, 3}.
    num_rows: rows of the grid (default: about sqrt(N)).
    padding: pixels of black between tiles.

  Returns:
    A uint8 numpy array `(rows*(H+p)-p, cols*(W+p)-p, C)`.

  Raises:
    ValueError: for a batch that is not `(N, H, W, C)` with C in {1, 3}, or
      rows that do not divide N.
  """
  pixels = np.asarray(pixels)
  if pixels.ndim != 4 or pixels.shape[-1] not in (1, 3) or not len(pixels):
    raise ValueError('`pixels` must be a non-empty batch (N, H, W, C) with '
                     f'C = 1 or 3, got shape {pixels.shape}.')
  if pixels.dtype != np.uint8:
    pixels = np.clip(np.floor(pixels), 0, 255).astype(np.uint8)
  count = len(pixels)
  if num_rows is None:
    num_rows = max(1, int(np.floor(np.sqrt(count))))
    while count % num_rows:
      num_rows -= 1
  if count % num_rows:
    raise ValueError(f'{num_rows} rows do not divide {count} images.')
  # Each tile padded below and right; the last row's and column's dropped.
  tiles = np.pad(pixels, [(0, 0), (0, padding), (0, padding), (0, 0)])
  grid = einops.rearrange(tiles, '(rows cols) h w c -> (rows h) (cols w) c',
                          rows=num_rows)
  return grid[:grid.shape[0] - padding, :grid.shape[1] - padding]


def write_png(path, image, scale=1):
  """Writes a uint8 `(H, W, C)` image as PNG, each pixel `scale` x `scale`."""
  image = np.asarray(image, np.uint8)
  if scale > 1:
    image = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
  directory = os.path.dirname(path)
  if directory:
    tf.io.gfile.makedirs(directory)
  # Written under a temporary name and renamed, so a reader (TensorBoard, a
  # kill mid-write) never sees half a file.
  temporary = path + '.tmp'
  tf.io.write_file(temporary, tf.io.encode_png(image))
  tf.io.gfile.rename(temporary, path, overwrite=True)
  return path


def _grid_lines(low, high, num_lines=11, points_per_line=200):
  """Horizontal and vertical lines over [low, high]^2, each `(P, 2)`."""
  ticks = np.linspace(low, high, num_lines)
  along = np.linspace(low, high, points_per_line)
  lines = []
  for tick in ticks:
    lines.append(np.stack([along, np.full_like(along, tick)], axis=-1))
    lines.append(np.stack([np.full_like(along, tick), along], axis=-1))
  return lines


def toy_figure(distribution, data, path, num_samples=2000, seed=0):
  """Draws the paper's Figure 1 for a trained 2-D flow as a PNG.

  Four panels: data `x`; its latents `z = f(x)` (the bijector's inverse) with
  the data-space grid mapped into latent space; latent samples `z ~ N(0, I)`;
  and the generated `x = f^-1(z)` with the latent grid mapped into data space.
  Runs the flow in evaluation mode.

  Args:
    distribution: a trained 2-D flow (`tfp_realnvp.VectorRealNVP`).
    data: `(N, 2)` data points.
    path: the PNG to write.
    num_samples: points per panel.
    seed: seed of the latent samples.

  Returns:
    `path`.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top

  if tuple(distribution.event_shape) != (2,):
    raise ValueError('Figure 1 needs a flow over 2-D points, got event shape '
                     f'{distribution.event_shape}.')
  dtype = distribution.dtype.as_numpy_dtype
  data = np.asarray(data, dtype)[:num_samples]
  latents = distribution.encode(data).numpy()
  prior = distribution.distribution.sample(
      num_samples, seed=tf.constant([seed, 0])).numpy()
  generated = distribution.decode(prior).numpy()
  data_low, data_high = np.percentile(data, [0.5, 99.5])
  data_lines = [distribution.encode(line.astype(dtype)).numpy()
                for line in _grid_lines(data_low, data_high)]
  latent_lines = [distribution.decode(line.astype(dtype)).numpy()
                  for line in _grid_lines(-3., 3.)]

  figure, axes = pyplot.subplots(2, 2, figsize=(8, 8))
  panels = [
      (axes[0, 0], data, None, 'Inference: x ~ data', 'C0'),
      (axes[0, 1], latents, data_lines, 'z = f(x)', 'C0'),
      (axes[1, 0], prior, None, 'Generation: z ~ N(0, I)', 'C1'),
      (axes[1, 1], generated, latent_lines, 'x = f^-1(z)', 'C1'),
  ]
  for axis, points, lines, title, colour in panels:
    for line in lines or []:
      axis.plot(line[:, 0], line[:, 1], color='0.75', linewidth=0.5)
    axis.scatter(points[:, 0], points[:, 1], s=2, color=colour)
    axis.set_title(title)
  for axis in (axes[0, 1], axes[1, 0]):
    axis.set_xlim(-4, 4)
    axis.set_ylim(-4, 4)
  margin = 0.1 * (data_high - data_low)
  for axis in (axes[0, 0], axes[1, 1]):
    axis.set_xlim(data_low - margin, data_high + margin)
    axis.set_ylim(data_low - margin, data_high + margin)
  for axis in axes.flat:
    axis.set_aspect('equal')
  figure.tight_layout()
  directory = os.path.dirname(path)
  if directory:
    tf.io.gfile.makedirs(directory)
  # Through a buffer, so any TF filesystem (gs://, ram://) takes the PNG.
  buffer = io.BytesIO()
  figure.savefig(buffer, format='png', dpi=100)
  pyplot.close(figure)
  with tf.io.gfile.GFile(path, 'wb') as f:
    f.write(buffer.getvalue())
  return path
