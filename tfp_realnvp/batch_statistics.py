"""Batch statistics and their debiased moving averages, for every batch norm.

Shared by the batch-norm bijector (paper §3.7, App. E) and the batch-norm
layers of the coupling networks; it sits below both, so neither imports the
other.

The moving averages are zero-debiased, as in the original Real NVP code and
Adam: with `t` updates of momentum `m`, the stored average is

```none
average_t = sum_i (1 - m) m^(t - i) x_i / (1 - m^t)
```

the plain exponential average divided by its weight `1 - m^t`, so the first
update takes the first batch's statistics exactly instead of moving 1% of the
way from the initial mean 0 / variance 1. It is kept in its debiased form and
updated as `average_t = average_(t-1) + rate_t (x_t - average_(t-1))` with
`rate_t = (1 - m) / (1 - m^t)`; `t` is a checkpointed variable. Before the
first update the initial values (0 and 1) are used.
"""

import math

import tensorflow as tf

__all__ = ['cross_replica_moments', 'debiased_rate', 'moving_variable',
           'smart_cond', 'update_moving_statistics']


def smart_cond(pred, true_fn, false_fn):
  """`tf.cond` that runs only one branch for a Python `bool` predicate."""
  if isinstance(pred, bool):
    return true_fn() if pred else false_fn()
  return tf.cond(pred, true_fn, false_fn)


def cross_replica_moments(x, axes):
  """Mean and variance over `axes` and, under tf.distribute, all replicas.

  Two passes (the mean, then squared deviations from it) rather than
  E[x^2] - E[x]^2, which loses precision when the mean is large.
  """
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return tf.nn.moments(x, axes)
  count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), x.dtype)
  total_count, total_sum = context.all_reduce(
      tf.distribute.ReduceOp.SUM, [count, tf.reduce_sum(x, axes)])
  mean = total_sum / total_count
  squared_deviations = tf.reduce_sum(tf.square(x - mean), axes)
  variance = context.all_reduce(
      tf.distribute.ReduceOp.SUM, squared_deviations) / total_count
  return mean, variance


def moving_variable(initial_value, name):
  """A non-trainable statistic: one copy per replica, reads average them.

  Like Keras' batch norm; every replica makes the same update from the
  same cross-replica statistics, so the copies stay equal.
  """
  return tf.Variable(
      initial_value, name=name, trainable=False,
      synchronization=tf.VariableSynchronization.ON_READ,
      aggregation=tf.VariableAggregation.MEAN)


def debiased_rate(momentum, num_updates):
  """`(1 - m) / (1 - m^t)`, the step size of the debiased average at update `t`.

  Args:
    momentum: Python float in `[0, 1)`.
    num_updates: float tensor `t >= 1`, this update's number.

  Returns:
    A tensor in `(0, 1]` of `num_updates`' dtype.
  """
  if momentum == 0.:
    return tf.ones_like(num_updates)
  decay = 1. - momentum
  # 1 - m^t as -expm1(t log m): exact to rounding even for m near 1, t = 1;
  # the sign folded into the numerator, one op fewer in every batch norm.
  return tf.minimum(
      -decay / tf.math.expm1(num_updates * math.log1p(-decay)), 1.)


def update_moving_statistics(moving_mean, moving_variance, num_updates,
                             batch_mean, batch_variance, momentum):
  """Moves the debiased averages towards a batch's statistics.

  Args:
    moving_mean: variable, the debiased moving mean.
    moving_variance: variable, the debiased moving variance.
    num_updates: float variable, the number of updates so far.
    batch_mean: the batch's mean (gradients are stopped).
    batch_variance: the batch's variance (gradients are stopped).
    momentum: Python float in `[0, 1)`.

  Returns:
    `(new_mean, new_variance)`: the updated averages, computed from the
    batch's differentiable statistics (App. E normalizes with these), after
    the variables have been assigned.
  """
  # A named scope: bench/step_profile.py counts these ops apart.
  with tf.name_scope('moving_statistics'):
    count = num_updates.assign_add(tf.ones([], num_updates.dtype))
    rate = tf.cast(debiased_rate(momentum, count), moving_mean.dtype)
    old_mean = tf.convert_to_tensor(moving_mean)
    old_variance = tf.convert_to_tensor(moving_variance)
    new_mean = old_mean + rate * (batch_mean - old_mean)
    new_variance = old_variance + rate * (batch_variance - old_variance)
    updates = [moving_mean.assign(tf.stop_gradient(new_mean)),
               moving_variance.assign(tf.stop_gradient(new_variance))]
    with tf.control_dependencies(updates):
      return tf.identity(new_mean), tf.identity(new_variance)
