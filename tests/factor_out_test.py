"""Tests of FactorOut and the per-scale latent helpers."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import bijectors as rnvp_bijectors
from tests import bijector_test_util

tfb = tfp.bijectors


class TestFactorOutImage(bijector_test_util.BijectorChecks):
  event_shape = [2, 2, 4]

  def make_bijector(self, dtype):
    inner = tfb.Chain([
        rnvp_bijectors.MaskedAffineCoupling(
            [2, 2, 2], 'checkerboard', 1, num_res_blocks=1, num_filters=4,
            dtype=dtype),
        rnvp_bijectors.BatchNormalization([2, 2, 2], dtype=dtype),
    ])
    return rnvp_bijectors.FactorOut(inner)


class TestFactorOutVector(bijector_test_util.BijectorChecks):
  event_shape = [4]

  def make_bijector(self, dtype):
    return rnvp_bijectors.FactorOut(tfb.Chain([
        tfb.Shift(tf.constant(0.5, dtype)), tfb.Sinh(), tfb.Scale(
            tf.constant([2., -3.], dtype))]))


def test_first_half_leaves_second_half_goes_on():
  factor_out = rnvp_bijectors.FactorOut(tfb.Scale(3.))
  z = tf.random.normal([2, 4, 4, 6])
  y = factor_out.forward(z)
  np.testing.assert_array_equal(y[..., :3], z[..., :3])
  np.testing.assert_allclose(y[..., 3:], 3. * z[..., 3:])
  np.testing.assert_allclose(
      factor_out.forward_log_det_jacobian(z, event_ndims=3),
      [4 * 4 * 3 * np.log(3.)] * 2, rtol=1e-6)


def test_inner_stateful_bijectors_get_the_training_mode():
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, 1])
  factor_out = rnvp_bijectors.FactorOut(batch_norm)
  x = tf.random.normal([8, 2, 2, 2])
  factor_out.inverse(x)
  np.testing.assert_array_equal(batch_norm.moving_mean, [0.])
  factor_out.inverse(x, training=True)
  assert batch_norm.moving_mean.numpy()[0] != 0.


def test_odd_channels_raise():
  with pytest.raises(ValueError, match='even number of channels'):
    rnvp_bijectors.FactorOut(tfb.Identity()).forward(tf.zeros([1, 2, 2, 3]))


def test_non_bijector_raises():
  with pytest.raises(TypeError, match='tfb.Bijector'):
    rnvp_bijectors.FactorOut(lambda x: x)


@pytest.mark.parametrize('num_scales', [1, 2, 3])
def test_split_and_join_are_inverse(num_scales):
  z = tf.random.normal([2, 8, 8, 3])
  parts = rnvp_bijectors.split_multiscale_latents(z, num_scales)
  assert len(parts) == num_scales
  assert sum(int(np.prod(p.shape[1:])) for p in parts) == 8 * 8 * 3
  np.testing.assert_array_equal(
      rnvp_bijectors.join_multiscale_latents(parts), z)


def test_split_shapes_follow_the_multiscale_layout():
  parts = rnvp_bijectors.split_multiscale_latents(
      tf.zeros([5, 16, 16, 3]), num_scales=3)
  assert [p.shape for p in parts] == [(5, 8, 8, 6), (5, 4, 4, 12),
                                      (5, 4, 4, 12)]
  vector_parts = rnvp_bijectors.split_multiscale_latents(
      tf.zeros([5, 8]), num_scales=3, event_ndims=1)
  assert [p.shape for p in vector_parts] == [(5, 4), (5, 2), (5, 2)]


def test_split_matches_what_factor_out_leaves_behind():
  # One scale: Squeeze, then FactorOut(coarser). The first part of the latent
  # must be exactly the units the finest scale factored out.
  coarse = tfb.Scale(2.)
  scale = tfb.Chain([tfb.Invert(rnvp_bijectors.Squeeze()),
                     rnvp_bijectors.FactorOut(coarse),
                     rnvp_bijectors.Squeeze()])
  image = tf.random.normal([2, 4, 4, 1])
  latent = scale.inverse(image)
  assert latent.shape == image.shape
  fine, coarse_part = rnvp_bijectors.split_multiscale_latents(latent, 2)
  squeezed_image = rnvp_bijectors.Squeeze().forward(image)
  np.testing.assert_array_equal(fine, squeezed_image[..., :2])
  np.testing.assert_allclose(coarse_part, squeezed_image[..., 2:] / 2.)


def test_changing_one_scale_changes_only_its_part():
  z = tf.random.normal([1, 8, 8, 2])
  parts = rnvp_bijectors.split_multiscale_latents(z, 3)
  parts[1] = parts[1] + 1.
  changed = rnvp_bijectors.split_multiscale_latents(
      rnvp_bijectors.join_multiscale_latents(parts), 3)
  np.testing.assert_array_equal(changed[0], parts[0])
  np.testing.assert_array_equal(changed[2], parts[2])
  np.testing.assert_array_equal(changed[1], parts[1])


@pytest.mark.parametrize('kwargs,message', [
    (dict(num_scales=0), 'num_scales'),
    (dict(num_scales=2, event_ndims=2), 'event_ndims'),
])
def test_split_bad_arguments_raise(kwargs, message):
  with pytest.raises(ValueError, match=message):
    rnvp_bijectors.split_multiscale_latents(tf.zeros([1, 4, 4, 2]), **kwargs)


def test_split_too_many_scales_raises():
  with pytest.raises(ValueError, match='height must be even|odd number'):
    rnvp_bijectors.split_multiscale_latents(tf.zeros([1, 4, 4, 1]), 4)


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
