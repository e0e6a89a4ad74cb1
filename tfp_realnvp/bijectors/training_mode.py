"""How stateful bijectors decide between training and evaluation mode."""

import contextlib
import threading

import tensorflow as tf
from tf_keras.src.engine import base_layer_utils

__all__ = ['resolve_training', 'training_mode']

_override = threading.local()


@contextlib.contextmanager
def training_mode(training):
  """Sets the mode of Real NVP's stateful bijectors inside the block.

  Batch normalization (the bijector and the layers inside coupling networks)
  uses batch statistics and updates its moving averages in training mode, and
  uses the moving averages in evaluation mode. Inside `tf_keras.Model.fit`
  the mode comes from Keras itself; this context is for code that trains
  without Keras 2, e.g. a plain `tf.GradientTape` loop.

  Like Keras' own flag, the mode is read when a `tf.function` is traced, so
  trace training and evaluation as separate functions.

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

  An explicit `training` argument wins; then `training_mode(...)`; then the
  mode of the enclosing Keras 2 call (`fit` trains, `evaluate` and `predict`
  do not); otherwise evaluation.

  Args:
    training: `None`, a Python `bool` or a scalar boolean `Tensor`.

  Returns:
    A Python `bool` or a scalar boolean `Tensor`.
  """
  if training is not None:
    return training
  override = getattr(_override, 'training', None)
  if override is not None:
    return override
  keras_training = base_layer_utils.call_context().training
  if keras_training is not None:
    return keras_training
  return False
