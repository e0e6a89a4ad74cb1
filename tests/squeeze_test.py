"""Tests of Squeeze: exactness, block ordering and shape errors."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import bijectors as rnvp_bijectors
from tests import bijector_test_util

tfb = tfp.bijectors


class TestSqueeze(bijector_test_util.BijectorChecks):
  event_shape = [4, 6, 2]

  def make_bijector(self, dtype):
    return rnvp_bijectors.Squeeze()


class TestUnsqueeze(bijector_test_util.BijectorChecks):
  event_shape = [2, 2, 8]

  def make_bijector(self, dtype):
    return tfb.Invert(rnvp_bijectors.Squeeze())


def test_squeeze_takes_2x2_blocks_in_row_major_order():
  x = tf.reshape(tf.range(16, dtype=tf.float32), [1, 4, 4, 1])
  y = rnvp_bijectors.Squeeze().forward(x).numpy()
  assert y.shape == (1, 2, 2, 4)
  np.testing.assert_array_equal(y[0, 0, 0], [0, 1, 4, 5])
  np.testing.assert_array_equal(y[0, 1, 1], [10, 11, 14, 15])


def test_channel_mask_after_squeeze_differs_from_both_checkerboards():
  height = width = 4
  positions = tf.reshape(
      tf.range(height * width, dtype=tf.float32), [1, height, width, 1])
  squeezed = rnvp_bijectors.Squeeze().forward(positions).numpy()
  first_half = set(squeezed[..., :2].ravel().astype(int))
  for parity in (0, 1):
    mask = rnvp_bijectors.checkerboard_mask(height, width, parity).numpy()
    checkerboard = set(np.flatnonzero(mask.ravel()))
    assert first_half != checkerboard
    assert first_half != set(range(height * width)) - checkerboard


def test_is_volume_preserving_and_constant():
  squeeze = rnvp_bijectors.Squeeze()
  assert squeeze.is_constant_jacobian
  ldj = squeeze.forward_log_det_jacobian(tf.ones([2, 4, 4, 1], tf.float64),
                                         event_ndims=3)
  assert ldj.dtype == tf.float64
  np.testing.assert_array_equal(ldj, 0.)


def test_unknown_spatial_size_under_tf_function():
  squeeze = rnvp_bijectors.Squeeze()
  forward = tf.function(
      squeeze.forward,
      input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
  assert forward(tf.zeros([2, 6, 4, 3])).shape == (2, 3, 2, 12)


@pytest.mark.parametrize('shape,message', [
    ([1, 3, 4, 1], 'height must be even'),
    ([1, 4, 5, 1], 'width must be even'),
    ([4, 4], 'rank >= 3'),
])
def test_bad_forward_shapes_raise(shape, message):
  with pytest.raises(ValueError, match=message):
    rnvp_bijectors.Squeeze().forward(tf.zeros(shape))


def test_bad_inverse_channels_raise():
  with pytest.raises(ValueError, match='divisible by 4'):
    rnvp_bijectors.Squeeze().inverse(tf.zeros([1, 2, 2, 6]))


def test_odd_size_caught_at_run_time_with_validate_args():
  squeeze = rnvp_bijectors.Squeeze(validate_args=True)
  forward = tf.function(
      squeeze.forward,
      input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32)])
  with pytest.raises(tf.errors.InvalidArgumentError, match='height must be even'):
    forward(tf.zeros([1, 3, 4, 1]))


def test_integer_input_raises():
  with pytest.raises(TypeError, match='floating-point'):
    rnvp_bijectors.Squeeze().forward(tf.zeros([1, 2, 2, 1], tf.int32))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
