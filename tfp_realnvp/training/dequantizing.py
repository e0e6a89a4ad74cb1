"""`FlowModel` on integer pixels: dequantized in the step, scored from K draws."""

import tensorflow as tf
import tf_keras

from tfp_realnvp import dequantization
from tfp_realnvp import flows
from tfp_realnvp import variational_dequantization
from tfp_realnvp.training import input_checks

__all__ = ['Dequantizing']


class Dequantizing:
  """Integer batches go in; the model draws their noise (a `FlowModel` mixin).

  A batch of integer values trains on one draw of its dequantizer's `q(u | x)`,
  `log p(x + u) - log q(u | x)` (the uniform noise of the paper by default,
  the same objective as float pixels dequantized beforehand). Float batches
  are taken as dequantized already. `evaluate(..., dequantization_samples=K)`
  also reports the `K`-draw estimate of integer images' bits/dim
  (`tfp_realnvp.dequantization`) as `discrete_bits_per_dim`, with its
  standard error over the examples; `bits_per_dim` stays the single draw.

  A learned `q` (`RealNVP(dequantization='variational')`) trains with the
  flow, so it needs integer batches: a float batch in `fit` is refused.
  """

  def _init_dequantization(self, dequantizer):
    own = getattr(self.distribution, 'dequantizer', None)
    if (variational_dequantization.is_learned(dequantizer) and
        dequantizer is not own):
      raise ValueError(
          'FlowModel(dequantizer=...) got a learned q(u | x) that the flow '
          'does not own: its weights would not be saved or exported with '
          'the flow. Build it into the flow instead, '
          'RealNVP(..., dequantization=\'variational\').')
    self.dequantizer = (dequantizer or own or
                        dequantization.UniformDequantizer())
    self.evaluation_samples = 1
    self.discrete_bits_per_dim_tracker = tf_keras.metrics.Mean(
        name='discrete_bits_per_dim')
    # Moments of the per-example figure, for its standard error.
    self._discrete_square_tracker = tf_keras.metrics.Mean(name='discrete_square')
    self._discrete_count_tracker = tf_keras.metrics.Sum(name='discrete_count')

  def _discrete_metrics(self):
    if self.evaluation_samples <= 1:
      return []
    return [self.discrete_bits_per_dim_tracker, self._discrete_square_tracker,
            self._discrete_count_tracker]

  def _dequantized(self, values, training=False):
    """`(values, log q(u | x))`: integers drawn into the cube, floats as they are."""
    if not dequantization.is_integer(values):
      if training and variational_dequantization.is_learned(
          self.dequantizer):
        # Data Keras reads only as it trains (generators) reach this.
        raise TypeError(input_checks.float_pixels_message(
            self.distribution, f'{tf.as_dtype(values.dtype).name} values'))
      return values, tf.zeros([], self.distribution.dtype)
    return self.dequantizer(values, self.distribution.dtype,
                            training=training)

  def _set_evaluation_samples(self, samples):
    samples = 1 if samples is None else int(samples)
    if samples < 1:
      raise ValueError(f'`dequantization_samples` must be a positive integer, '
                       f'got {samples}.')
    if samples != self.evaluation_samples:
      self.evaluation_samples = samples
      self.test_function = None  # The step's graph depends on K.

  def _discrete_test_step(self, values, log_prob_fn):
    """`(nll_sum, count)` of the first draw; the `K`-draw metrics updated."""
    weights = dequantization.log_weights(
        log_prob_fn, values, self.evaluation_samples, self.dequantizer,
        dtype=self.distribution.dtype)
    bits = flows.log_prob_to_bits_per_dim(
        dequantization.log_mean_exp(weights), self._num_dims)
    self.discrete_bits_per_dim_tracker.update_state(bits)
    self._discrete_square_tracker.update_state(tf.square(bits))
    self._discrete_count_tracker.update_state(
        tf.cast(tf.size(bits), tf.float32))
    single = weights[0]
    return -tf.reduce_sum(single), tf.cast(tf.size(single), single.dtype)

  def _discrete_results(self):
    if self.evaluation_samples <= 1:
      return {}
    mean = self.discrete_bits_per_dim_tracker.result()
    count = self._discrete_count_tracker.result()
    variance = tf.maximum(self._discrete_square_tracker.result()
                          - tf.square(mean), 0.) * count / tf.maximum(
                              count - 1., 1.)
    return {'discrete_bits_per_dim': mean,
            'discrete_bits_per_dim_standard_error':
                tf.sqrt(variance / tf.maximum(count, 1.))}
