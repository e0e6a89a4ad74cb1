"""A training step's update with the optimizer a user chose.

The step sums gradients across replicas itself (so that clipping sees the
global gradient); each optimizer kind is then told not to sum again.
"""

import tensorflow as tf
import tf_keras

from tfp_realnvp import compat

__all__ = ['apply_gradients', 'create_variables', 'optimizer_variables']


def create_variables(optimizer, variables):
  """Makes the optimizer's step count and slots for `variables` now.

  Left to the first step (lazily), they make `tf.function` trace the step
  twice, and a checkpoint restored before the first step leaves them pending.
  """
  if isinstance(optimizer, tf_keras.optimizers.legacy.Optimizer):
    compat.create_optimizer_slots(optimizer, variables)
  elif isinstance(optimizer, tf_keras.optimizers.Optimizer):
    optimizer.build(variables)
  elif not getattr(optimizer, 'built', True):
    # Keras 3's (tfp_realnvp.keras3), built once: `built` says when.
    optimizer.build(variables)


def optimizer_variables(optimizer):
  """The optimizer's variables: its step count and slots."""
  found = optimizer.variables
  return list(found() if callable(found) else found)


def apply_gradients(optimizer, grads_and_vars):
  """Applies gradients already summed across replicas.

  Raises:
    ValueError: for an optimizer of another kind under a multi-replica
      strategy, which would sum the gradients a second time.
  """
  grads_and_vars = list(grads_and_vars)
  if isinstance(optimizer, tf_keras.optimizers.legacy.Optimizer):
    # The legacy optimizers apply Adam with one fused kernel per variable
    # (the default of bin/train.py, see app/run.py).
    return optimizer.apply_gradients(grads_and_vars,
                                     experimental_aggregate_gradients=False)
  if isinstance(optimizer, tf_keras.optimizers.Optimizer):
    return optimizer.apply_gradients(grads_and_vars,
                                     skip_gradients_aggregation=True)
  if tf.distribute.get_strategy().num_replicas_in_sync > 1:
    raise ValueError(
        f'A {type(optimizer).__name__} cannot be told that the gradients are '
        'summed across replicas already: under a multi-replica strategy use '
        'a tf_keras optimizer (e.g. tf_keras.optimizers.legacy.Adam).')
  return optimizer.apply_gradients(grads_and_vars)
