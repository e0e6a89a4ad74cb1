"""Skipping a training step whose loss or gradient is not finite."""

import tensorflow as tf

from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp.training import optimizers

__all__ = ['NonFiniteGuard']


def _restore_unless(finite, variables, values):
  """`v <- finite ? v : value` for replicated variables, in one merge.

  Through the strategy's own update (public `tf.distribute` API), so the
  same code serves one device and every replica of a mirrored strategy.
  """

  def restore(strategy, finite, values):
    # The same on every replica: take this worker's first copy.
    finite = strategy.experimental_local_results(finite)[0]
    for variable, value in zip(variables, values):
      strategy.extended.update(
          variable, lambda v, old: v.assign(tf.where(finite, v, old)),
          args=(value,))

  tf.distribute.get_replica_context().merge_call(restore,
                                                 args=(finite, values))


class NonFiniteGuard:
  """A step whose loss or gradient is not finite changes nothing.

  Not the weights, not the optimizer's state (its step count included), not
  the batch-norm statistics (nor, through the `finite` it returns, the
  Polyak average): the update is applied and then undone, the same way for
  every optimizer and strategy.

  ```none
  statistics = guard.statistics_before_step()     # before the forward pass
  ... loss, gradients ...
  finite = guard.apply(optimizer, grads_and_vars, gradient_norm,
                       replica_loss, statistics)
  ```
  """

  def __init__(self, distribution):
    self._statistics = [
        variable
        for norm in rnvp_bijectors.batch_norms(distribution)
        for variable in (norm.moving_mean, norm.moving_variance,
                         norm.num_updates)]

  def statistics_before_step(self):
    """A copy of the batch-norm statistics, to put back after a bad batch.

    Read before the forward pass updates them (automatic control
    dependencies keep program order).
    """
    return [tf.identity(v) for v in self._statistics]

  def apply(self, optimizer, grads_and_vars, gradient_norm, replica_loss,
            statistics_before):
    """Applies the update if the step is finite, else undoes it; `finite`."""
    grads_and_vars = list(grads_and_vars)
    context = tf.distribute.get_replica_context()
    # The gradient norm is already global; a replica's loss is not.
    bad_losses = context.all_reduce(
        tf.distribute.ReduceOp.SUM,
        tf.cast(tf.logical_not(tf.math.is_finite(replica_loss)), tf.float32))
    finite = tf.logical_and(tf.math.is_finite(gradient_norm),
                            tf.equal(bad_losses, 0.))
    variables = [v for _, v in grads_and_vars]
    with tf.init_scope():
      optimizers.create_variables(optimizer, variables)
    state = variables + optimizers.optimizer_variables(optimizer)
    # Reads before the update, writes after it: automatic control
    # dependencies keep the program order of ops on one variable.
    before = [tf.identity(v) for v in state]
    optimizers.apply_gradients(optimizer, grads_and_vars)
    _restore_unless(finite, state, before)
    for variable, value in zip(self._statistics, statistics_before):
      variable.assign(tf.where(finite, variable, value))
    return finite
