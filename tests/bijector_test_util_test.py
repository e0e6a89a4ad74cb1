"""The shared checks fail for a bijector that is broken on purpose."""

import sys

import numpy as np
import pytest
import tensorflow as tf

from tests import bijector_test_util
from tfp_realnvp import bijectors as rnvp_bijectors


class _WrongInverseCoupling(rnvp_bijectors.MaskedAffineCoupling):
  """A coupling whose inverse is off by a little: never a true round trip."""

  def _augmented_inverse(self, y, **kwargs):
    x, ildj = super()._augmented_inverse(y, **kwargs)
    return x + 0.01, ildj


def _coupling(cls):
  coupling = cls([4, 4, 2], num_res_blocks=1, num_filters=4,
                 dtype=tf.float64)
  bijector_test_util.randomize_variables(coupling)
  return coupling


def _x():
  return tf.random.stateless_normal([3, 4, 4, 2], [1, 2], dtype=tf.float64)


@pytest.mark.parametrize('mode', bijector_test_util.MODES)
@pytest.mark.parametrize('direction', ['forward', 'inverse'])
def test_round_trip_check_passes_a_coupling(mode, direction):
  bijector_test_util.assert_round_trip(
      _coupling(rnvp_bijectors.MaskedAffineCoupling), _x(), mode, direction)


@pytest.mark.parametrize('mode', bijector_test_util.MODES)
@pytest.mark.parametrize('direction', ['forward', 'inverse'])
def test_round_trip_check_fails_for_a_wrong_inverse(mode, direction):
  # Without the fresh tensors inside the check, TFP's cache would answer
  # inverse(forward(x)) with x and this would pass.
  with pytest.raises(AssertionError, match='Not equal to tolerance'):
    bijector_test_util.assert_round_trip(
        _coupling(_WrongInverseCoupling), _x(), mode, direction)


def test_without_fresh_tensors_the_cache_hides_a_wrong_inverse():
  coupling = _coupling(_WrongInverseCoupling)
  x = _x()
  # The pitfall the check avoids: the cache returns x itself.
  np.testing.assert_array_equal(coupling.inverse(coupling.forward(x)), x)


class _WrongLogDetCoupling(rnvp_bijectors.MaskedAffineCoupling):
  """A coupling whose log-det is off by 0.01 per event, both ways."""

  def _augmented_forward(self, x, **kwargs):
    y, ildj = super()._augmented_forward(x, **kwargs)
    return y, ildj + 0.01

  def _augmented_inverse(self, y, **kwargs):
    x, ildj = super()._augmented_inverse(y, **kwargs)
    return x, ildj + 0.01


class _ChecksOf(bijector_test_util.BijectorChecks):
  """The shared checks, for a bijector class given at construction."""

  event_shape = [4, 4, 2]

  def __init__(self, cls):
    self.cls = cls

  def make_bijector(self, dtype):
    return self.cls([4, 4, 2], num_res_blocks=1, num_filters=4, dtype=dtype)


@pytest.mark.parametrize('check,broken', [
    ('test_inverse_of_forward_is_identity', _WrongInverseCoupling),
    ('test_forward_of_inverse_is_identity', _WrongInverseCoupling),
    ('test_forward_log_det_matches_brute_force_jacobian',
     _WrongLogDetCoupling),
    ('test_inverse_log_det_matches_brute_force_jacobian',
     _WrongLogDetCoupling)])
def test_shared_checks_pass_a_coupling_and_fail_a_broken_one(check, broken):
  getattr(_ChecksOf(rnvp_bijectors.MaskedAffineCoupling), check)(
      tf.float64, 'function')
  with pytest.raises(AssertionError):
    getattr(_ChecksOf(broken), check)(tf.float64, 'function')


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
