"""Tests of MaskedAffineCoupling: exactness for every mask, network and dtype."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

from tfp_realnvp import bijectors as rnvp_bijectors
from tests import bijector_test_util

tfd = tfp.distributions


def _coupling(event_shape, mask_type, parity, dtype, **kwargs):
  return rnvp_bijectors.MaskedAffineCoupling(
      event_shape, mask_type=mask_type, parity=parity, num_res_blocks=1,
      num_filters=4, dtype=dtype, **kwargs)


class TestCheckerboardParity0(bijector_test_util.BijectorChecks):
  event_shape = [4, 4, 2]

  def make_bijector(self, dtype):
    return _coupling(self.event_shape, 'checkerboard', 0, dtype)


class TestCheckerboardParity1(bijector_test_util.BijectorChecks):
  event_shape = [4, 4, 3]

  def make_bijector(self, dtype):
    return _coupling(self.event_shape, 'checkerboard', 1, dtype)


class TestChannelParity0(bijector_test_util.BijectorChecks):
  event_shape = [2, 2, 4]

  def make_bijector(self, dtype):
    return _coupling(self.event_shape, 'channel', 0, dtype)


class TestChannelParity1(bijector_test_util.BijectorChecks):
  event_shape = [2, 2, 4]

  def make_bijector(self, dtype):
    return _coupling(self.event_shape, 'channel', 1, dtype)


class TestVectorFirstHalf(bijector_test_util.BijectorChecks):
  event_shape = [6]

  def make_bijector(self, dtype):
    return _coupling(self.event_shape, 'channel', 0, dtype)


class TestVectorSecondHalf(bijector_test_util.BijectorChecks):
  event_shape = [4]

  def make_bijector(self, dtype):
    return _coupling(self.event_shape, 'channel', 1, dtype)


class _ConvShiftAndLogScale(tf_keras.layers.Layer):
  """A user network: one conv giving shift and an unbounded log-scale."""

  def __init__(self, channels, dtype):
    super().__init__(dtype=dtype)
    self.conv = tf_keras.layers.Conv2D(2 * channels, 3, padding='same',
                                       dtype=dtype)

  def call(self, x, output_channels):
    shift, log_scale = tf.split(self.conv(x), 2, axis=-1)
    return shift, log_scale


class TestUserNetwork(bijector_test_util.BijectorChecks):
  event_shape = [4, 4, 2]

  def make_bijector(self, dtype):
    network = _ConvShiftAndLogScale(2, dtype)
    network(tf.zeros([1, 4, 4, 2], dtype), 2)  # Creates its variables.
    return rnvp_bijectors.MaskedAffineCoupling(
        self.event_shape, 'checkerboard', 0, shift_and_log_scale_fn=network)


class TestShiftOnlyUserNetwork(bijector_test_util.BijectorChecks):
  event_shape = [2, 2, 2]

  def make_bijector(self, dtype):
    return rnvp_bijectors.MaskedAffineCoupling(
        self.event_shape, 'channel', 1,
        shift_and_log_scale_fn=lambda x, channels: (tf.sin(x) * 3., None))


@pytest.mark.parametrize('mask_type,parity', [
    ('checkerboard', 0), ('checkerboard', 1), ('channel', 0), ('channel', 1)])
def test_conditioning_units_pass_unchanged(mask_type, parity):
  coupling = _coupling([4, 4, 2], mask_type, parity, tf.float64)
  bijector_test_util.randomize_variables(coupling)
  x = tf.random.stateless_normal([2, 4, 4, 2], seed=[3, 4], dtype=tf.float64)
  y = coupling.forward(x).numpy()
  if mask_type == 'checkerboard':
    keep = rnvp_bijectors.checkerboard_mask(4, 4, parity, tf.float64).numpy()
    keep = np.broadcast_to(keep, x.shape).astype(bool)
  else:
    keep = np.zeros(x.shape, bool)
    keep[..., slice(0, 1) if parity == 0 else slice(1, 2)] = True
  np.testing.assert_array_equal(y[keep], x.numpy()[keep])
  assert np.all(np.abs(y[~keep] - x.numpy()[~keep]) > 0)


def test_checkerboard_parities_are_complementary():
  mask0 = rnvp_bijectors.checkerboard_mask(3, 4, 0).numpy()
  mask1 = rnvp_bijectors.checkerboard_mask(3, 4, 1).numpy()
  np.testing.assert_array_equal(mask0 + mask1, 1.)
  assert mask0[0, 0, 0] == 1. and mask0[0, 1, 0] == 0.


def test_new_coupling_is_the_identity():
  coupling = _coupling([4, 4, 2], 'checkerboard', 0, tf.float32)
  x = tf.random.normal([2, 4, 4, 2])
  np.testing.assert_array_equal(coupling.forward(x), x)
  np.testing.assert_array_equal(
      coupling.forward_log_det_jacobian(x, event_ndims=3), [0., 0.])


def test_fully_convolutional_coupling_accepts_any_even_size():
  coupling = rnvp_bijectors.MaskedAffineCoupling(
      [None, None, 2], 'checkerboard', num_res_blocks=1, num_filters=4,
      dtype=tf.float64)
  bijector_test_util.randomize_variables(coupling)
  for size in (4, 6):
    x = tf.random.stateless_normal(
        [1, size, size, 2], seed=[5, 6], dtype=tf.float64)
    fldj = coupling.forward_log_det_jacobian(x, event_ndims=3)
    expected = bijector_test_util.brute_force_log_det(
        lambda x: coupling.forward(tf.identity(x)), x, 3)
    np.testing.assert_allclose(fldj, expected, rtol=1e-8)


def test_network_runs_once_per_log_prob():
  calls = []

  def shift_and_log_scale_fn(x, channels):
    calls.append(x)
    return tf.sin(x), tf.cos(x) * 0.5

  coupling = rnvp_bijectors.MaskedAffineCoupling(
      [2, 2, 2], 'checkerboard', shift_and_log_scale_fn=shift_and_log_scale_fn)
  dist = tfd.TransformedDistribution(
      tfd.Sample(tfd.Normal(0., 1.), [2, 2, 2]), coupling)
  dist.log_prob(tf.random.normal([3, 2, 2, 2]))
  assert len(calls) == 1


def test_user_network_variables_are_tracked():
  network = _ConvShiftAndLogScale(2, tf.float32)
  network(tf.zeros([1, 4, 4, 2]), 2)  # Creates its variables.
  coupling = rnvp_bijectors.MaskedAffineCoupling(
      [4, 4, 2], shift_and_log_scale_fn=network)
  tracked = {id(v) for v in coupling.trainable_variables}
  assert len(network.trainable_variables) == 2
  assert {id(v) for v in network.trainable_variables} == tracked


def test_default_network_variables_are_tracked_and_built():
  coupling = _coupling([4, 4, 2], 'channel', 0, tf.float32)
  names = [v.name for v in coupling.trainable_variables]
  assert any('weight_scale' in name for name in names)
  assert any('log_scale_factor' in name for name in names)


def test_explicit_training_flag_reaches_network_batch_norm():
  coupling = _coupling([4, 4, 2], 'checkerboard', 0, tf.float32)
  bijector_test_util.randomize_variables(coupling)
  moving_means = [v for v in coupling.variables if 'moving_mean' in v.name]
  before = [v.numpy().copy() for v in moving_means]
  x = tf.random.normal([4, 4, 4, 2])
  coupling.inverse(x)
  assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, moving_means))
  coupling.inverse(x, training=True)
  assert not any(
      np.array_equal(b, v.numpy()) for b, v in zip(before, moving_means))


@pytest.mark.parametrize('kwargs,message', [
    (dict(event_shape=[4, 4]), 'must be'),
    (dict(event_shape=[4, 4, 3], mask_type='channel'), 'even number of channels'),
    (dict(event_shape=[5], mask_type='channel'), 'even number of channels'),
    (dict(event_shape=[4], mask_type='checkerboard'), 'image event shape'),
    (dict(event_shape=[4, 4, 2], mask_type='stripes'), 'mask_type'),
    (dict(event_shape=[4, 4, 2], parity=2), 'parity'),
    (dict(event_shape=[4, 4, None]), 'last axis'),
])
def test_bad_constructor_arguments_raise(kwargs, message):
  with pytest.raises(ValueError, match=message):
    rnvp_bijectors.MaskedAffineCoupling(**kwargs)


def test_wrong_rank_input_raises():
  coupling = _coupling([4, 4, 2], 'checkerboard', 0, tf.float32)
  with pytest.raises(ValueError, match='rank >= 3'):
    coupling.forward(tf.zeros([4, 2]))


def test_wrong_event_shape_input_raises():
  coupling = _coupling([4, 4, 2], 'checkerboard', 0, tf.float32)
  with pytest.raises(ValueError, match=r'expected an event of shape \(4, 4, 2\)'):
    coupling.inverse(tf.zeros([1, 4, 4, 3]))


def test_integer_input_raises():
  coupling = _coupling([4, 4, 2], 'checkerboard', 0, tf.float32)
  with pytest.raises(TypeError, match='floating-point'):
    coupling.forward(tf.zeros([1, 4, 4, 2], tf.int32))


def test_dtype_mismatch_with_network_raises():
  coupling = _coupling([4, 4, 2], 'checkerboard', 0, tf.float32)
  with pytest.raises(TypeError, match='dtype=tf.float64'):
    coupling.forward(tf.zeros([1, 4, 4, 2], tf.float64))


@pytest.mark.parametrize('mask_type', ['checkerboard', 'channel'])
def test_class_conditional_coupling_is_exact_and_depends_on_the_label(
    mask_type):
  coupling = _coupling([4, 4, 2], mask_type, 0, tf.float64, num_classes=3)
  bijector_test_util.randomize_variables(coupling)
  assert coupling.takes_conditional_input
  x = tf.random.stateless_normal([3, 4, 4, 2], [4, 2], dtype=tf.float64)
  labels = tf.constant([0, 1, 2])
  y = coupling.forward(x, conditional_input=labels)
  bijector_test_util.assert_round_trip(coupling, x, conditional_input=labels)
  brute_force = bijector_test_util.brute_force_log_det(
      lambda t: coupling.forward(tf.identity(t), conditional_input=labels),
      x, 3)
  np.testing.assert_allclose(
      coupling.forward_log_det_jacobian(tf.identity(x), 3,
                                        conditional_input=labels),
      brute_force, rtol=1e-9)
  other = coupling.forward(x, conditional_input=tf.constant([1, 2, 0]))
  for example in range(3):
    assert np.max(np.abs(other[example] - y[example])) > 1e-3
  # A scalar label is broadcast to the batch.
  np.testing.assert_allclose(
      coupling.forward(x, conditional_input=tf.constant(1))[1], y[1],
      rtol=1e-12)


def test_class_conditional_coupling_input_errors():
  coupling = _coupling([4, 4, 2], 'checkerboard', 0, tf.float32,
                       num_classes=3, validate_args=True)
  x = tf.zeros([2, 4, 4, 2])
  with pytest.raises(ValueError, match='class-conditional'):
    coupling.forward(x)
  with pytest.raises(TypeError, match='labels must be integers'):
    coupling.forward(x, conditional_input=tf.constant([0., 1.]))
  with pytest.raises(ValueError, match=r'must lie in \[0, 3\)'):
    coupling.forward(x, conditional_input=tf.constant([0, 3]))
  unconditional = _coupling([4, 4, 2], 'checkerboard', 0, tf.float32)
  with pytest.raises(ValueError, match='takes no .conditional_input.'):
    unconditional.forward(x, conditional_input=tf.constant([0, 1]))
  with pytest.raises(ValueError, match='custom'):
    rnvp_bijectors.MaskedAffineCoupling(
        [4, 4, 2], num_classes=3,
        shift_and_log_scale_fn=lambda x, c: (x, None))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
