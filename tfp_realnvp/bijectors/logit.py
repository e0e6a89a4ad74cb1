"""Real NVP's logit preprocessing of dequantized pixels (paper §4.1)."""

import math

import tensorflow as tf
from tensorflow_probability.python.bijectors import bijector as bijector_lib

from tfp_realnvp.bijectors import one_pass_bijector

__all__ = ['Logit']


class Logit(bijector_lib.Bijector):
  """Maps logit space to dequantized pixels in `[0, num_levels)`.

  The inverse is the paper's preprocessing; the forward maps back to pixels.

  ```none
  p          = alpha + (1 - 2 * alpha) * x / num_levels
  inverse(x) = logit(p) = log(p) - log(1 - p)
  forward(y) = num_levels * (sigmoid(y) - alpha) / (1 - 2 * alpha)
  log|det J| of the inverse = log((1 - 2 * alpha) / num_levels)
                              - log(p) - log(1 - p)       (per element)
  ```

  `alpha` keeps the logit away from the infinities at 0 and 1. A
  `tfd.TransformedDistribution` ending in this bijector is a density over
  `[0, num_levels)^D` directly, so `-log_prob(x) / (D * ln 2)` is bits/dim
  with no further correction.

  #### Examples

  ```python
  import numpy as np
  import tensorflow as tf
  import tensorflow_probability as tfp
  from tfp_realnvp import bijectors as rnvp_bijectors
  tfd = tfp.distributions

  dist = tfd.TransformedDistribution(
      tfd.Sample(tfd.Normal(0., 1.), [28, 28, 1]), rnvp_bijectors.Logit())
  pixels = tf.random.uniform([4, 28, 28, 1], 0., 256.)  # dequantized
  bits_per_dim = -dist.log_prob(pixels) / (28 * 28 * np.log(2.))
  ```

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _International Conference on Learning
       Representations_, 2017. https://arxiv.org/abs/1605.08803
  """

  def __init__(self, alpha=0.05, num_levels=256., validate_args=False,
               name='logit'):
    """Builds the preprocessing bijector.

    Args:
      alpha: Python float in `(0, 0.5)`.
      num_levels: Python float > 0, the width of the pixel range (256 for
        8-bit images).
      validate_args: Python `bool`; when `True`, the inverse checks that pixel
        values lie in `[0, num_levels)`.
      name: name of the bijector.

    Raises:
      ValueError: for `alpha` outside `(0, 0.5)` or a non-positive
        `num_levels`.
    """
    parameters = dict(locals())
    if not 0. < alpha < 0.5:
      raise ValueError(f'`alpha` must lie in (0, 0.5), got {alpha!r}.')
    if not num_levels > 0:
      raise ValueError(f'`num_levels` must be positive, got {num_levels!r}.')
    with tf.name_scope(name) as name:
      self._alpha = float(alpha)
      self._num_levels = float(num_levels)
      super().__init__(
          forward_min_event_ndims=0,
          is_constant_jacobian=False,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    return dict()

  @property
  def alpha(self):
    return self._alpha

  @property
  def num_levels(self):
    return self._num_levels

  def _probability(self, x):
    """`alpha + (1 - 2 alpha) x / num_levels`, checking the range if asked."""
    one_pass_bijector.check_float_input(self, x, 0)
    assertions = []
    if self.validate_args:
      # Checked first, so a NaN is reported as such and not as out of range.
      x = tf.debugging.assert_all_finite(
          x, f'{self.name}: pixel values contain NaN or Inf')
      assertions = [
          tf.debugging.assert_greater_equal(
              x, tf.zeros([], x.dtype),
              message=f'{self.name}: pixel values must lie in '
              f'[0, {self._num_levels:g}); got a negative value'),
          tf.debugging.assert_less(
              x, tf.constant(self._num_levels, x.dtype),
              message=f'{self.name}: pixel values must lie in '
              f'[0, {self._num_levels:g}); got a value >= '
              f'{self._num_levels:g}'),
      ]
    with tf.control_dependencies(assertions):
      return self._alpha + (1. - 2. * self._alpha) / self._num_levels * x

  def _inverse(self, x):
    p = self._probability(x)
    return tf.math.log(p) - tf.math.log1p(-p)

  def _inverse_log_det_jacobian(self, x):
    p = self._probability(x)
    # A Python float, so float64 inputs get a float64-exact constant.
    log_slope = math.log((1. - 2. * self._alpha) / self._num_levels)
    return log_slope - tf.math.log(p) - tf.math.log1p(-p)

  def _forward(self, y):
    one_pass_bijector.check_float_input(self, y, 0)
    return (tf.sigmoid(y) - self._alpha) * (
        self._num_levels / (1. - 2. * self._alpha))

  def _forward_log_det_jacobian(self, y):
    one_pass_bijector.check_float_input(self, y, 0)
    log_slope = math.log(self._num_levels / (1. - 2. * self._alpha))
    return log_slope + tf.math.log_sigmoid(y) + tf.math.log_sigmoid(-y)
