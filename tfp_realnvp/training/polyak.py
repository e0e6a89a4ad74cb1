"""Polyak averaging of a flow's weights: an exponential moving average."""

import contextlib

import tensorflow as tf

__all__ = ['PolyakAverage']


def _average_variable(name, initial):
  # Replicas apply the same all-reduced update, so they compute the same
  # average; ONLY_FIRST_REPLICA keeps one value and lets replicas assign.
  return tf.Variable(
      initial, trainable=False, name=name,
      synchronization=tf.VariableSynchronization.ON_WRITE,
      aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


class PolyakAverage(tf.Module):
  """A debiased exponential moving average of a list of weights.

  ```none
  a_t = d_t a_(t-1) + (1 - d_t) w_t,   d_t = min(decay, (1 + t) / (10 + t))
  averaged weights = a_t / (1 - prod_i d_i)
  ```

  `d_t` is the rule of TF's `ExponentialMovingAverage(num_updates=t)`, so
  early in training the average follows the weights closely; dividing by
  `1 - prod d_i` removes the bias of the zero start (as Adam does).
  """

  def __init__(self, weights, decay, name='polyak_average'):
    """Makes zero averages shaped as `weights` (a list of variables).

    Raises:
      ValueError: for a `decay` outside (0, 1).
    """
    super().__init__(name=name)
    if not 0. < decay < 1.:
      raise ValueError(
          f'`polyak_decay` must be None or in (0, 1), got {decay!r}.')
    self.decay = float(decay)
    with tf.name_scope(name):
      self.averages = [_average_variable(f'polyak_average_{i}',
                                         tf.zeros_like(w))
                       for i, w in enumerate(weights)]
      self.updates = _average_variable('polyak_updates',
                                       tf.zeros([], tf.float32))
      # The product of the decays so far: the share of the zero start that
      # the average still holds, divided out when it is read.
      self.zero_share = _average_variable('polyak_zero_share',
                                          tf.ones([], tf.float32))

  def step_decay(self):
    """The decay of the next update: `min(d, (1 + t) / (10 + t))`."""
    return tf.minimum(self.decay,
                      (1. + self.updates) / (10. + self.updates))

  def update(self, weights, finite=None):
    """`a <- d_t a + (1 - d_t) w` for every weight; one more update counted.

    With `finite` false (a skipped step) every average stays as it is.
    """
    decay = self.step_decay()
    if finite is not None:
      decay = tf.where(finite, decay, 1.)
    for average, weight in zip(self.averages, weights):
      # The decay is counted in float32; the averages are in the weights'
      # dtype (float64 flows).
      average_decay = tf.cast(decay, average.dtype)
      average.assign(average_decay * average
                     + (1. - average_decay) * tf.cast(weight, average.dtype))
    self.zero_share.assign(self.zero_share * decay)
    self.updates.assign_add(
        1. if finite is None else tf.cast(finite, tf.float32))

  def has_average(self):
    """Whether at least one update was made (eager)."""
    # .numpy(): float() cannot read a MirroredVariable.
    return float(self.updates.numpy()) > 0.

  def debiased(self):
    """The averages divided by `1 - prod(d_i)`, or `None` before any update.

    After `t` updates with decays `d_i` the debiased value is
    `sum_i (1 - d_i) prod_{j > i}(d_j) w_i / (1 - prod_i(d_i))`, a weighted
    mean of the weights seen.
    """
    if not self.has_average():
      return None
    correction = 1. - self.zero_share
    return [average / tf.cast(correction, average.dtype)
            for average in self.averages]

  def assign_to(self, weights):
    """Sets `weights` to their averages for good; whether there were any."""
    averages = self.debiased()
    if averages is None:
      return False
    for weight, average in zip(weights, averages):
      weight.assign(tf.cast(average, weight.dtype))
    return True

  @contextlib.contextmanager
  def swapped_in(self, weights):
    """Within the block `weights` are their averages; restored on exit.

    Before the first update the weights are left as they are.
    """
    if not self.has_average():
      yield
      return
    raw = [tf.identity(weight) for weight in weights]
    self.assign_to(weights)
    try:
      yield
    finally:
      for weight, value in zip(weights, raw):
        weight.assign(value)
