"""Tests of the latent-space tools: manifolds and conceptual compression."""

import sys

import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp.app import latents
from tests import bijector_test_util

IMAGE_SHAPE = (8, 8, 1)


@pytest.fixture(scope='module')
def model():
  # Three scales, so the paper's fractions cross whole-scale boundaries.
  distribution = tfp_realnvp.RealNVP(IMAGE_SHAPE, num_scales=3,
                                     num_res_blocks=1, num_filters=4)
  bijector_test_util.randomize_variables(distribution, scale=0.1)
  return distribution


def _pixels(n, seed=0):
  rng = np.random.default_rng(seed)
  return rng.uniform(0., 256., size=(n,) + IMAGE_SHAPE).astype(np.float32)


def test_manifold_latents_follow_equation_19():
  corners = tf.random.stateless_normal([4, 2, 3], [0, 1], dtype=tf.float64)
  sheet = latents.manifold_latents(corners, num_rows=3, num_cols=4)
  assert sheet.shape == (12, 2, 3)
  phi, phi_prime = np.pi / 4, np.pi / 3   # row 1, column 2
  z1, z2, z3, z4 = corners.numpy()
  expected = (np.cos(phi) * (np.cos(phi_prime) * z1 + np.sin(phi_prime) * z2)
              + np.sin(phi) * (np.cos(phi_prime) * z3 + np.sin(phi_prime) * z4))
  np.testing.assert_allclose(sheet[1 * 4 + 2], expected, rtol=1e-12)
  with pytest.raises(ValueError, match='4 latents'):
    latents.manifold_latents(corners[:3])


def test_manifold_corners_decode_to_the_four_examples(model):
  examples = _pixels(4)
  grid = latents.manifold(model, examples, num_rows=3, num_cols=3)
  assert grid.shape == (9,) + IMAGE_SHAPE
  # phi = phi' = 0 is example 1; the other corners are examples 2, 3, 4.
  for index, example in zip((0, 2, 6, 8), examples):
    np.testing.assert_allclose(grid[index], example, atol=1e-2)
  # Inside the sheet, images are neither corner.
  assert np.max(np.abs(grid[4] - examples[0])) > 1.


def test_keeping_everything_reconstructs_the_input(model):
  images = _pixels(3, 1)
  columns = latents.conceptual_compression(model, images, fractions=(1.,))
  assert columns.shape == (3, 2) + IMAGE_SHAPE
  np.testing.assert_array_equal(columns[:, 0], images)
  np.testing.assert_allclose(columns[:, 1], images, atol=1e-2)


@pytest.mark.parametrize('fraction', latents.COMPRESSION_FRACTIONS)
def test_resampling_changes_only_the_dropped_latents(model, fraction):
  z = model.bijector.inverse(_pixels(2, 2))
  new, kept = latents.resample_latents(z, model.num_scales, fraction, seed=3)
  kept = kept.numpy().astype(bool)
  assert kept.mean() == pytest.approx(fraction)
  np.testing.assert_array_equal(new.numpy()[kept], z.numpy()[kept])
  assert np.all(new.numpy()[~kept] != z.numpy()[~kept])
  zeros, _ = latents.resample_latents(z, model.num_scales, fraction,
                                      fill='zero')
  assert np.all(zeros.numpy()[~kept] == 0.)


def test_fractions_at_scale_boundaries_keep_whole_scales(model):
  z = model.bijector.inverse(_pixels(2, 4))
  # Scales of an 8x8x1 model with 3 scales: 50%, 25%, 25% of the units.
  for fraction, whole_parts in ((0.5, (1, 2)), (0.25, (2,))):
    new, _ = latents.resample_latents(z, 3, fraction, seed=1)
    old_parts = model.split_latents(z)
    new_parts = model.split_latents(new)
    for index in range(3):
      same = np.array_equal(old_parts[index], new_parts[index])
      assert same == (index in whole_parts), (fraction, index)


def test_compression_resamples_per_scale_and_figure_has_a_row_per_image(
    model):
  images = _pixels(2, 5)
  columns = latents.conceptual_compression(model, images, seed=2)
  assert columns.shape == (2, 6) + IMAGE_SHAPE
  assert np.all((columns >= 0) & (columns < 256))
  # Dropping the finest scale changes the image.
  assert np.max(np.abs(columns[:, 2] - images)) > 1.
  grid = latents.compression_figure(columns)
  assert grid.shape == (2 * 9 - 1, 6 * 9 - 1, 1) and grid.dtype == np.uint8


def test_conditional_flows_need_labels(model):
  conditional = tfp_realnvp.ConditionalRealNVP(
      IMAGE_SHAPE, num_classes=2, num_scales=2, num_res_blocks=1,
      num_filters=4)
  images = _pixels(4, 6)
  grid = latents.manifold(conditional, images, 2, 2, labels=1)
  np.testing.assert_allclose(grid[0], images[0], atol=1e-2)
  with pytest.raises(ValueError, match='pass `labels`'):
    latents.manifold(conditional, images)
  with pytest.raises(ValueError, match='not class-conditional'):
    latents.manifold(model, images, labels=1)


def test_bad_arguments_raise(model):
  z = model.bijector.inverse(_pixels(1))
  with pytest.raises(ValueError, match='keep_fraction'):
    latents.resample_latents(z, 3, 1.5)
  with pytest.raises(ValueError, match='fill'):
    latents.resample_latents(z, 3, 0.5, fill='mean')
  with pytest.raises(ValueError, match='4 images'):
    latents.manifold(model, _pixels(3))
  with pytest.raises(TypeError, match='RealNVP'):
    latents.manifold(object(), _pixels(4))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
