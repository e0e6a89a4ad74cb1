"""Tests of the Logit preprocessing bijector."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import bijectors as rnvp_bijectors
from tests import bijector_test_util

tfd = tfp.distributions


class TestLogit(bijector_test_util.BijectorChecks):
  event_shape = [2, 2, 3]

  def make_bijector(self, dtype):
    return rnvp_bijectors.Logit()


class TestLogitOtherAlpha(bijector_test_util.BijectorChecks):
  event_shape = [5]

  def make_bijector(self, dtype):
    return rnvp_bijectors.Logit(alpha=0.01, num_levels=2.)


def test_inverse_is_the_paper_preprocessing():
  pixels = tf.constant([0., 100.5, 128., 255.999], tf.float64)
  alpha = 0.05
  p = alpha + (1. - 2. * alpha) * pixels.numpy() / 256.
  np.testing.assert_allclose(rnvp_bijectors.Logit().inverse(pixels),
                             np.log(p / (1. - p)), rtol=1e-12)
  assert rnvp_bijectors.Logit().inverse(tf.constant(128.)).numpy() == 0.


def test_bits_per_dim_of_uniform_pixels_through_logit_and_logistic_base():
  # sigmoid(Logistic(0, 1)) is uniform on (0, 1), so pixels are uniform on
  # the stretched range: density (1 - 2 alpha) / 256 everywhere in [0, 256).
  alpha = 0.05
  dist = tfd.TransformedDistribution(
      tfd.Sample(tfd.Logistic(tf.constant(0., tf.float64), 1.), [4]),
      rnvp_bijectors.Logit(alpha=alpha))
  pixels = tf.random.stateless_uniform([7, 4], [1, 1], 0., 256., tf.float64)
  bits_per_dim = -dist.log_prob(pixels) / (4 * np.log(2.))
  np.testing.assert_allclose(bits_per_dim, 8. - np.log2(1. - 2. * alpha),
                             rtol=1e-12)


@pytest.mark.parametrize('value,message', [
    (-0.5, 'negative'),
    (256., 'value >= 256'),
    (300., 'value >= 256'),
])
def test_pixels_out_of_range_raise_with_validate_args(value, message):
  logit = rnvp_bijectors.Logit(validate_args=True)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'pixel values must lie in \[0, 256\).*' + message):
    logit.inverse(tf.constant([1., value]))


@pytest.mark.parametrize('value', [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_raise_as_such_with_validate_args(value):
  logit = rnvp_bijectors.Logit(validate_args=True)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='pixel values contain NaN or Inf'):
    logit.inverse(tf.constant([1., value]))


def test_in_range_pixels_pass_validation():
  logit = rnvp_bijectors.Logit(validate_args=True)
  assert np.all(np.isfinite(logit.inverse(tf.constant([0., 255.99]))))


@pytest.mark.parametrize('kwargs', [dict(alpha=0.), dict(alpha=0.5),
                                    dict(num_levels=0.)])
def test_bad_constructor_arguments_raise(kwargs):
  with pytest.raises(ValueError, match='alpha|num_levels'):
    rnvp_bijectors.Logit(**kwargs)


def test_integer_pixels_raise():
  with pytest.raises(TypeError, match='floating-point'):
    rnvp_bijectors.Logit().inverse(tf.constant([1, 2, 3]))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
