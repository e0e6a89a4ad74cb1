"""Polyak averaging of a `FlowModel`'s weights (an exponential moving average)."""

import contextlib

import tensorflow as tf

__all__ = ['PolyakAveraging']


class PolyakAveraging:
  """`FlowModel`'s Polyak average of the flow's trainable weights.

  A mixin of `FlowModel`: the averages are attributes of the model itself
  (`polyak_averages`, `polyak_updates`, `polyak_zero_share`), so checkpoints
  name them as before. `_init_polyak_averaging` makes them; the training step
  calls `_update_polyak_averages`.
  """

  def _init_polyak_averaging(self, decay):
    """Makes the averages of `self.distribution`'s weights, or none."""
    if decay is not None and not 0. < decay < 1.:
      raise ValueError(
          f'`polyak_decay` must be None or in (0, 1), got {decay!r}.')
    self.polyak_decay = None if decay is None else float(decay)
    self.polyak_averages = []
    self.polyak_updates = None
    self.polyak_zero_share = None
    if decay is None:
      return

    # Replicas apply the same all-reduced update, so they compute the same
    # average; ONLY_FIRST_REPLICA keeps one value and lets replicas assign.
    def average_variable(name, initial):
      return tf.Variable(
          initial, trainable=False, name=name,
          synchronization=tf.VariableSynchronization.ON_WRITE,
          aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    self.polyak_averages = [
        average_variable(f'polyak_average_{i}', tf.zeros_like(w))
        for i, w in enumerate(self.distribution.trainable_variables)]
    self.polyak_updates = average_variable(
        'polyak_updates', tf.zeros([], tf.float32))
    # The product of the decays so far: the share of the zero start that
    # the average still holds, divided out when it is read.
    self.polyak_zero_share = average_variable(
        'polyak_zero_share', tf.ones([], tf.float32))

  def polyak_step_decay(self):
    """The decay of the next update: `min(d, (1 + t) / (10 + t))`."""
    updates = self.polyak_updates
    return tf.minimum(self.polyak_decay, (1. + updates) / (10. + updates))

  def _update_polyak_averages(self, finite=None):
    """`a <- d_t a + (1 - d_t) w` for every weight; one more update counted.

    With `finite` false (a skipped step) every average stays as it is.
    """
    if not self.polyak_averages:
      return
    decay = self.polyak_step_decay()
    if finite is not None:
      decay = tf.where(finite, decay, 1.)
    weights = self.distribution.trainable_variables
    for average, weight in zip(self.polyak_averages, weights):
      # The decay is counted in float32; the averages are in the weights'
      # dtype (float64 flows).
      average_decay = tf.cast(decay, average.dtype)
      average.assign(average_decay * average
                     + (1. - average_decay) * tf.cast(weight, average.dtype))
    self.polyak_zero_share.assign(self.polyak_zero_share * decay)
    self.polyak_updates.assign_add(
        1. if finite is None else tf.cast(finite, tf.float32))

  def _has_polyak_averages(self):
    # .numpy(): float() cannot read a MirroredVariable.
    return (bool(self.polyak_averages) and
            float(self.polyak_updates.numpy()) > 0.)

  def debiased_polyak_averages(self):
    """The averages divided by `1 - prod(d_i)` (as Adam's moments), or `None`.

    Zero-initialised averages start biased toward zero; after `t` updates
    with decays `d_i` the debiased value is
    `sum_i (1 - d_i) prod_{j > i}(d_j) w_i / (1 - prod_i(d_i))`, a weighted
    mean of the weights seen. `None` when there is no average yet.
    """
    if not self._has_polyak_averages():
      return None
    correction = 1. - self.polyak_zero_share
    return [average / tf.cast(correction, average.dtype)
            for average in self.polyak_averages]

  @contextlib.contextmanager
  def averaged_weights(self):
    """Within the block, the flow's weights are their Polyak averages.

    Evaluation, sampling and export inside it use the averaged model; the
    raw weights come back on exit (also on an exception). Without averaging
    (or before the first update) the weights are left as they are.
    """
    if not self._has_polyak_averages():
      yield
      return
    weights = self.distribution.trainable_variables
    raw = [tf.identity(weight) for weight in weights]
    self.use_polyak_averages()
    try:
      yield
    finally:
      for weight, value in zip(weights, raw):
        weight.assign(value)

  def use_polyak_averages(self):
    """Sets the flow's weights to their Polyak averages for good (loading)."""
    averages = self.debiased_polyak_averages()
    if averages is not None:
      for weight, average in zip(self.distribution.trainable_variables,
                                 averages):
        weight.assign(tf.cast(average, weight.dtype))
    return averages is not None
