"""How stateful bijectors decide between training and evaluation mode."""

import contextlib
import threading

import tensorflow as tf

__all__ = ['resolve_training', 'training_mode']

_override = threading.local()


@contextlib.contextmanager
def training_mode(training):
  """Sets the mode of Real NVP's stateful bijectors inside the block.

  Batch normalization (the bijector and the layers inside coupling networks)
  uses batch statistics and updates its moving averages in training mode, and
  uses the moving averages in evaluation mode. The mode is an explicit
  `training=` keyword of every call (`tfp_realnvp.FlowModel` passes Keras'
  flag); this context sets it for the calls inside the block that give none,
  e.g. in a plain `tf.GradientTape` loop or a distribution's `log_prob`.

  The mode is read when a `tf.function` is traced, so trace training and
  evaluation as separate functions.

  Args:
    training: Python `bool` or a scalar boolean `Tensor`.

  Yields:
    Nothing.
  """
  if not (isinstance(training, bool) or
          (tf.is_tensor(training) and training.dtype == tf.bool)):
    raise TypeError(
        f'`training` must be a Python bool or a boolean tensor, got {training!r}.')
  previous = getattr(_override, 'training', None)
  _override.training = training
  try:
    yield
  finally:
    _override.training = previous


def resolve_training(training=None):
  """Returns the mode a stateful bijector runs in.

  An explicit `training` argument wins; then `training_mode(...)`; otherwise
  evaluation. Nothing is read from Keras: `FlowModel` passes its `training`
  flag down explicitly, so a flow called inside a user's own Keras layer
  follows what that layer passes.

  Args:
    training: `None`, a Python `bool` or a scalar boolean `Tensor`.

  Returns:
    A Python `bool` or a scalar boolean `Tensor`.
  """
  if training is not None:
    return training
  override = getattr(_override, 'training', None)
  return False if override is None else override
