"""What both Keras adapters do around `fit`, `evaluate` and `predict`.

`tfp_realnvp.FlowModel` (tf_keras) and `tfp_realnvp.keras3.FlowModel`
(Keras 3) differ only in Keras' plumbing; the work before and after Keras'
own entry points (the number of dequantization draws, the evaluation seed,
the averaged weights and their statistics data, the message and fresh
functions after a failure) is here, once.
"""

import contextlib

from tfp_realnvp.dequantization import pixels as pixels_lib
from tfp_realnvp.training import input_checks

__all__ = [
    'averaged_statistics_batches', 'dequantization_samples', 'evaluation',
    'fresh_functions_after_failure', 'set_statistics_data',
]


def averaged_statistics_batches(value):
  """The constructors' `averaged_statistics_batches` as an int >= 0."""
  if value < 0:
    raise ValueError('`averaged_statistics_batches` must be >= 0, got '
                     f'{value}.')
  return int(value)


def dequantization_samples(value):
  """`evaluate`'s `dequantization_samples` as a positive int (None is 1)."""
  samples = 1 if value is None else int(value)
  if samples < 1:
    raise ValueError('`dequantization_samples` must be a positive integer, '
                     f'got {value}.')
  return samples


@contextlib.contextmanager
def evaluation(step, seed, averaged):
  """Fixes the evaluation noise, then scores the averaged weights if asked."""
  step.start_evaluation(seed)
  with step.averaged_weights() if averaged else contextlib.nullcontext():
    yield


def set_statistics_data(step, x, batch_size, num_batches):
  """Gives the averaged weights `fit`'s data for their batch-norm statistics.

  `x` is `fit`'s data after its pixel checks; nothing without averaging.
  """
  if step.averaging is not None:
    step.averaging.set_statistics_data(
        input_checks.as_batches(x, batch_size), num_batches)


@contextlib.contextmanager
def fresh_functions_after_failure(model, method):
  """After a failed call, Keras builds new step functions; pixels named.

  A trace that failed still counts as the tf.function's first call, and
  anything the next one created (an optimizer's lazily made variables)
  tf.function would refuse: after a failure, Keras builds new ones, as it
  does for a model that was never called. A failure inside the pixel
  checks becomes a one-line `ValueError` that names the call.
  """
  try:
    yield
  except BaseException as error:
    model.train_function = None
    model.test_function = None
    model.predict_function = None
    message = pixels_lib.pixel_error_message(error, f'FlowModel.{method}')
    if message is not None:
      raise ValueError(message) from None
    raise
