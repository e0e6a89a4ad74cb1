"""Tests of the PNG grids and the Figure 1 drawing."""

import sys

import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp.app import figures


def test_image_grid_tiles_row_by_row():
  pixels = np.stack([np.full([2, 3, 1], 10. * i) for i in range(6)])
  grid = figures.image_grid(pixels, num_rows=2, padding=1)
  assert grid.shape == (2 * 3 - 1, 3 * 4 - 1, 1)
  assert grid.dtype == np.uint8
  assert grid[0, 0, 0] == 0 and grid[0, 4, 0] == 10 and grid[3, 0, 0] == 30
  assert grid[2, 0, 0] == 0  # padding


def test_image_grid_defaults_to_a_near_square_and_clips():
  pixels = np.full([12, 4, 4, 3], 300.)
  grid = figures.image_grid(pixels)
  assert grid.shape == (3 * 5 - 1, 4 * 5 - 1, 3)
  assert grid.max() == 255


@pytest.mark.parametrize('shape', [[4, 4, 4], [2, 4, 4, 2], [0, 4, 4, 1]])
def test_image_grid_rejects_bad_batches(shape):
  with pytest.raises(ValueError, match='pixels'):
    figures.image_grid(np.zeros(shape))


def test_write_png_round_trips_and_scales(tmp_path):
  image = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
  path = figures.write_png(str(tmp_path / 'sub' / 'grid.png'), image,
                           scale=2)
  decoded = tf.io.decode_png(tf.io.read_file(path)).numpy()
  assert decoded.shape == (6, 8, 1)
  np.testing.assert_array_equal(decoded[::2, ::2], image)
  assert not list(tmp_path.rglob('*.tmp'))


def test_toy_figure_writes_a_png(tmp_path):
  flow = tfp_realnvp.VectorRealNVP(2, num_couplings=2, num_res_blocks=1,
                                   num_hidden=8)
  path = figures.toy_figure(flow, data.toy_samples('moons', 300),
                            str(tmp_path / 'figure1.png'), num_samples=300)
  image = tf.io.decode_png(tf.io.read_file(path))
  assert image.shape[0] >= 400 and image.shape[1] >= 400


def test_toy_figure_needs_2d_points(tmp_path):
  flow = tfp_realnvp.VectorRealNVP(4, num_couplings=1, num_res_blocks=1,
                                   num_hidden=4)
  with pytest.raises(ValueError, match='2-D points'):
    figures.toy_figure(flow, np.zeros([3, 4]), str(tmp_path / 'f.png'))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
