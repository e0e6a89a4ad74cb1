"""Property-based tests: any shape, parity, dtype and value either round-trips
with a finite log-det or raises an error that names the problem."""

import sys

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf

from tfp_realnvp import bijectors as rnvp_bijectors
from tests import bijector_test_util

# derandomize: the same cases every run, so CI cannot flake.
_SETTINGS = settings(max_examples=50, deadline=None, derandomize=True)
# A coupling builds and traces its networks for every example.
_COUPLING_SETTINGS = settings(_SETTINGS, max_examples=20)
_DTYPES = st.sampled_from([tf.float32, tf.float64])


def _assert_round_trip(bijector, x, event_ndims, atol):
  y = bijector.forward(tf.identity(x))
  x_again = bijector.inverse(tf.identity(y))
  ildj = bijector.inverse_log_det_jacobian(tf.identity(y), event_ndims)
  assert np.all(np.isfinite(y)) and np.all(np.isfinite(ildj))
  np.testing.assert_allclose(x_again, x, atol=atol)


@_COUPLING_SETTINGS
@given(batch=st.integers(1, 3), height=st.integers(1, 5),
       width=st.integers(1, 5), channels=st.integers(1, 4),
       mask_type=st.sampled_from(['checkerboard', 'channel']),
       parity=st.integers(0, 1), dtype=_DTYPES, seed=st.integers(0, 99))
def test_coupling_round_trips_or_names_the_problem(
    batch, height, width, channels, mask_type, parity, dtype, seed):
  shape = [height, width, channels]
  if mask_type == 'channel' and channels % 2:
    with pytest.raises(ValueError, match='even number of channels'):
      rnvp_bijectors.MaskedAffineCoupling(shape, mask_type, parity,
                                          num_res_blocks=1, num_filters=4,
                                          dtype=dtype)
    return
  coupling = rnvp_bijectors.MaskedAffineCoupling(
      shape, mask_type, parity, num_res_blocks=1, num_filters=4, dtype=dtype)
  bijector_test_util.randomize_variables(coupling, seed=seed, scale=0.3)
  x = tf.random.stateless_normal([batch] + shape, [seed, 1], dtype=dtype)
  _assert_round_trip(coupling, x, 3, 1e-4 if dtype == tf.float32 else 1e-10)
  # A wrong event shape is refused by name, never broadcast into a NaN.
  with pytest.raises(ValueError, match='expected an event of shape'):
    coupling.forward(tf.zeros([batch, height + 1, width, channels], dtype))
  # A dtype other than the weights' is refused, never silently cast.
  other = tf.float64 if dtype == tf.float32 else tf.float32
  with pytest.raises(TypeError, match='dtype'):
    coupling.forward(tf.zeros([batch] + shape, other))


@_SETTINGS
@given(batch=st.integers(1, 3), height=st.integers(1, 6),
       width=st.integers(1, 6), channels=st.integers(1, 3), dtype=_DTYPES)
def test_squeeze_round_trips_or_names_the_problem(batch, height, width,
                                                  channels, dtype):
  squeeze = rnvp_bijectors.Squeeze()
  x = tf.random.stateless_normal([batch, height, width, channels], [1, 2],
                                 dtype=dtype)
  if height % 2 or width % 2:
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError),
                       match='even|divisible'):
      squeeze.forward(x)
    return
  _assert_round_trip(squeeze, x, 3, 0.)


@_SETTINGS
@given(values=st.lists(
    st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1,
    max_size=6), dtype=_DTYPES)
def test_logit_round_trips_pixels_or_names_the_problem(values, dtype):
  logit = rnvp_bijectors.Logit(validate_args=True)
  pixels = tf.constant(values, dtype)
  array = np.asarray(values, dtype.as_numpy_dtype)
  if not np.all(np.isfinite(array)):
    message = 'NaN or Inf'
  elif np.any(array < 0):
    message = 'negative'
  elif np.any(array >= 256):
    message = '>= 256'
  else:
    y = logit.inverse(pixels)
    ildj = logit.inverse_log_det_jacobian(pixels, 1)
    assert np.all(np.isfinite(y)) and np.isfinite(ildj)
    np.testing.assert_allclose(logit.forward(y), array, rtol=1e-4, atol=1e-3)
    return
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    logit.inverse(pixels)


@_SETTINGS
@given(batch=st.integers(2, 4), channels=st.integers(1, 3),
       training=st.booleans(), dtype=_DTYPES, seed=st.integers(0, 99))
def test_batch_norm_round_trips_in_both_modes(batch, channels, training,
                                              dtype, seed):
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, channels],
                                                 dtype=dtype)
  bijector_test_util.randomize_variables(batch_norm, seed=seed)
  x = tf.random.stateless_normal([batch, 2, 2, channels], [seed, 3],
                                 dtype=dtype)
  # Inference direction in the chosen mode, then back with the same
  # statistics (the cached ones in training mode).
  with rnvp_bijectors.training_mode(training):
    z = batch_norm.inverse(tf.identity(x))
    ildj = batch_norm.inverse_log_det_jacobian(x, 3)
  assert np.all(np.isfinite(z)) and np.all(np.isfinite(ildj))
  if not training:
    with rnvp_bijectors.training_mode(False):
      np.testing.assert_allclose(batch_norm.forward(tf.identity(z)), x,
                                 atol=1e-4 if dtype == tf.float32 else 1e-10)


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
