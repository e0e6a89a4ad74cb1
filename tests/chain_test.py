"""A short Real NVP chain in a TransformedDistribution, checked end to end."""

import sys

import pytest
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import bijectors as rnvp_bijectors
from tests import bijector_test_util

tfb = tfp.bijectors
tfd = tfp.distributions

IMAGE_SHAPE = [4, 4, 2]


def _coupling(event_shape, mask_type, parity, dtype):
  return rnvp_bijectors.MaskedAffineCoupling(
      event_shape, mask_type, parity, num_res_blocks=1, num_filters=4,
      dtype=dtype)


def make_chain(dtype):
  """Logit, both mask types and parities, squeeze, factor-out, batch norm."""
  coarse = tfb.Chain([
      _coupling([2, 2, 4], 'checkerboard', 0, dtype),
      rnvp_bijectors.BatchNormalization([2, 2, 4], dtype=dtype),
      _coupling([2, 2, 4], 'checkerboard', 1, dtype),
  ])
  return tfb.Chain([
      rnvp_bijectors.Logit(),
      _coupling(IMAGE_SHAPE, 'checkerboard', 0, dtype),
      rnvp_bijectors.BatchNormalization(IMAGE_SHAPE, dtype=dtype),
      _coupling(IMAGE_SHAPE, 'checkerboard', 1, dtype),
      tfb.Invert(rnvp_bijectors.Squeeze()),
      _coupling([2, 2, 8], 'channel', 0, dtype),
      _coupling([2, 2, 8], 'channel', 1, dtype),
      rnvp_bijectors.FactorOut(coarse),
      rnvp_bijectors.Squeeze(),
  ])


class TestRealNVPChain(bijector_test_util.BijectorChecks):
  event_shape = IMAGE_SHAPE

  # Every link is checked eagerly and in a function in its own test file;
  # the composition once, in a function.
  @pytest.fixture(params=['function'])
  def mode(self, request):
    return request.param

  def make_bijector(self, dtype):
    return make_chain(dtype)


def _pixels(n, dtype):
  return tf.random.stateless_uniform([n] + IMAGE_SHAPE, [4, 2], 0., 256.,
                                     dtype=dtype)


def test_log_prob_is_base_log_prob_plus_brute_force_log_det():
  chain = make_chain(tf.float64)
  bijector_test_util.randomize_variables(chain)
  base = tfd.Sample(tfd.Normal(tf.constant(0., tf.float64), 1.), IMAGE_SHAPE)
  dist = tfd.TransformedDistribution(base, chain)
  pixels = _pixels(3, tf.float64)
  latents = chain.inverse(tf.identity(pixels))
  brute_force = bijector_test_util.brute_force_log_det(
      lambda x: chain.inverse(tf.identity(x)), pixels, 3)
  np.testing.assert_allclose(dist.log_prob(tf.identity(pixels)),
                             base.log_prob(latents) + brute_force, rtol=1e-10)
  np.testing.assert_allclose(
      dist.log_prob(tf.identity(pixels)),
      base.log_prob(latents) + chain.inverse_log_det_jacobian(
          tf.identity(pixels), event_ndims=3), rtol=1e-12)


def test_samples_lie_in_pixel_range_and_latents_have_image_shape():
  chain = make_chain(tf.float32)
  dist = tfd.TransformedDistribution(
      tfd.Sample(tfd.Normal(0., 1.), IMAGE_SHAPE), chain)
  samples = dist.sample(5, seed=1)
  assert samples.shape == [5] + IMAGE_SHAPE
  assert np.all((samples.numpy() > -13.) & (samples.numpy() < 269.))
  # A fresh tensor: the cache would hand back the base sample unchecked.
  latents = chain.inverse(tf.identity(samples))
  assert latents.shape == [5] + IMAGE_SHAPE
  bijector_test_util.assert_round_trip(chain, latents, direction='forward')


def test_training_mode_reaches_batch_norm_inside_factor_out():
  chain = make_chain(tf.float64)
  dist = tfd.TransformedDistribution(
      tfd.Sample(tfd.Normal(tf.constant(0., tf.float64), 1.), IMAGE_SHAPE),
      chain)
  moving_means = [v for v in chain.variables if 'moving_mean' in v.name]
  # Two bijector batch norms plus the network batch norms of 6 couplings.
  assert len(moving_means) == 2 + 6 * 3
  dist.log_prob(_pixels(4, tf.float64))
  assert all(np.all(v.numpy() == 0.) for v in moving_means)
  with rnvp_bijectors.training_mode(True):
    dist.log_prob(_pixels(4, tf.float64))
  assert all(np.any(v.numpy() != 0.) for v in moving_means)


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
