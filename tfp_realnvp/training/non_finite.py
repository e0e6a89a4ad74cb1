"""Skipping a training step whose loss or gradient is not finite."""

import tensorflow as tf

from tfp_realnvp import compat
from tfp_realnvp.training import batch_norm_statistics

__all__ = ['SkipNonFinite']


class SkipNonFinite:
  """`FlowModel(skip_non_finite=True)`: a bad step changes nothing.

  A mixin of `FlowModel`. Not the weights, not the optimizer's state (its
  step count included), not the batch-norm moving statistics, not the Polyak
  average: the step is counted in the `skipped_batches` metric instead.
  """

  def _batch_norm_statistics(self):
    return [variable
            for norm in batch_norm_statistics.batch_norms(self.distribution)
            for variable in (norm.moving_mean, norm.moving_variance,
                             norm.num_updates)]

  def _statistics_before_step(self):
    """The moving statistics and a copy to put back after a bad batch.

    Read before the forward pass updates them (automatic control
    dependencies keep program order).
    """
    statistics = self._batch_norm_statistics()
    return statistics, [tf.identity(v) for v in statistics]

  def _apply_if_finite(self, grads_and_vars, gradient_norm, replica_loss,
                       statistics, nll_sum, local_count, regularization):
    """The update of a finite step; nothing (but a count) for another."""
    statistics, statistics_before = statistics
    context = tf.distribute.get_replica_context()
    # The gradient norm is already global; a replica's loss is not.
    bad_losses = context.all_reduce(
        tf.distribute.ReduceOp.SUM,
        tf.cast(tf.logical_not(tf.math.is_finite(replica_loss)), tf.float32))
    finite = tf.logical_and(tf.math.is_finite(gradient_norm),
                            tf.equal(bad_losses, 0.))
    with tf.control_dependencies([compat.apply_gradients_if(
        self.optimizer, finite, grads_and_vars)]):
      for variable, before in zip(statistics, statistics_before):
        variable.assign(tf.where(finite, variable, before))
    self._update_polyak_averages(finite)
    self.skipped_tracker.update_state(
        tf.cast(tf.logical_not(finite), tf.float32) / tf.cast(
            tf.distribute.get_strategy().num_replicas_in_sync, tf.float32))
    # A skipped step adds nothing to the loss and bits/dim means.
    return self._update_metrics(
        tf.where(finite, nll_sum, tf.zeros_like(nll_sum)),
        tf.where(finite, local_count, tf.zeros_like(local_count)),
        tf.where(finite, regularization, tf.zeros_like(regularization)))
