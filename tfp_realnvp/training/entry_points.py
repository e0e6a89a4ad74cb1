"""What both Keras adapters do around `fit`, `evaluate` and `predict`.

`tfp_realnvp.FlowModel` (tf_keras) and `tfp_realnvp.keras3.FlowModel`
(Keras 3) differ only in Keras' plumbing; the work before and after Keras'
own entry points (the number of dequantization draws, the evaluation seed,
the averaged weights and their statistics data, the message and fresh
functions after a failure) is here, once.
"""

import contextlib

from tfp_realnvp import flows
from tfp_realnvp.dequantization import pixels as pixels_lib
from tfp_realnvp.training import input_checks
from tfp_realnvp.training import keras_saving

__all__ = [
    'KerasAdapter', 'averaged_statistics_batches', 'dequantization_samples',
    'evaluation', 'fresh_functions_after_failure', 'set_statistics_data',
]


class KerasAdapter:
  """What both Keras models are alike in: per-batch methods and config.

  Mixed in before the Keras `Model` class. Each per-batch method is one
  call of the model's `TrainingStep` (`self.step`), with its optimizer and
  `self.dequantization_samples`, the draws `evaluate` asked for; Keras'
  sample weights are refused by the step's data checks and dropped here.
  The config is the flow's and the step's settings, for `.keras` files.
  """

  @property
  def metrics(self):
    # The step keeps its figures itself (`reset_metrics`).
    return []

  def reset_metrics(self):
    self.step.reset_metrics()

  def call(self, inputs, training=None):
    """Per-example log-probs of values, or of `(values, labels or context)`.

    Of integer pixels, one draw's `log p(x + u) - log q(u | x)`.
    """
    return self.step.objective(input_checks.without_sample_weights(inputs),
                               training=bool(training))

  def train_step(self, data):
    return self.step.train(input_checks.without_sample_weights(data),
                           self.optimizer)

  def test_step(self, data):
    return self.step.evaluate(input_checks.without_sample_weights(data),
                              self.dequantization_samples)

  def predict_step(self, data):
    return self.step.objective(input_checks.without_sample_weights(data),
                               training=False)

  def get_config(self):
    """The flow's config and the step's settings, for the `.keras` format."""
    return dict(flow=keras_saving.flow_config(self.distribution),
                l2_scale=self.step.l2_scale, clip_norm=self.step.clip_norm,
                polyak_decay=self.step.polyak_decay,
                skip_non_finite=self.step.skip_non_finite,
                check_pixel_range=self.check_pixel_range,
                seed=self.step.seed,
                averaged_statistics_batches=self.averaged_statistics_batches,
                name=self.name)

  @classmethod
  def from_config(cls, config, custom_objects=None):
    del custom_objects  # The flow's config names only this package's parts.
    config = dict(config)
    return cls(flows.flow_from_config(config.pop('flow')), **config)


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
