"""`SavedFlow`: a flow loaded from a SavedModel, answering the flows' methods.

Each method calls the matching serving signature of `tfp_realnvp.app.export`,
so a loaded model evaluates, samples, encodes and dequantizes like the flow
it was exported from.
"""

import numpy as np
import tensorflow as tf

from tfp_realnvp import flows

__all__ = ['SavedFlow']


class SavedFlow:
  """A flow loaded from a SavedModel, with the flows' evaluation interface.

  Each method calls the matching serving signature, which checks its inputs
  (shapes, finite values, pixel range, labels); see `tfp_realnvp.app.export`.
  """

  def __init__(self, path):
    self.name = f'SavedModel {path}'
    self.source = path
    self._loaded = tf.saved_model.load(path)
    self._signatures = self._loaded.signatures
    outputs = self._signatures['decode'].structured_outputs
    self._data_name = 'images' if 'images' in outputs else 'values'
    self.event_shape = tf.TensorShape(outputs[self._data_name].shape[1:])
    # The exported flow's dtype (float64 flows export float64 signatures).
    self.dtype = outputs[self._data_name].dtype
    # Exports before these were recorded lack them.
    self.num_scales = (int(self._loaded.num_scales.numpy())
                       if hasattr(self._loaded, 'num_scales') else None)
    self.num_classes = (int(self._loaded.num_classes.numpy())
                        if hasattr(self._loaded, 'num_classes') else 0) or None
    inputs = self._signatures['decode'].structured_input_signature[1]
    self.context_shape = (tuple(inputs['context'].shape[1:])
                          if 'context' in inputs else None)
    # A learned q(u | x) through its signature; uniform noise needs none
    # (and exports before variational dequantization had only that).
    self.dequantization = (
        self._loaded.dequantization.numpy().decode()
        if hasattr(self._loaded, 'dequantization') else 'uniform')
    self.dequantizer = (_SavedDequantizer(self._signatures['dequantize'])
                        if self.dequantization == 'variational' else None)

  @property
  def num_dims(self):
    return int(np.prod(self.event_shape))

  def _condition_kwargs(self, labels, context):
    flows.require_labels(labels, self.num_classes, self.name)
    flows.require_context(context, self.context_shape, self.name)
    if labels is not None:
      return {'labels': tf.reshape(tf.cast(labels, tf.int32), [-1])}
    if context is not None:
      context = tf.convert_to_tensor(context, self.dtype)
      if context.shape.rank == len(self.context_shape):  # one for all
        context = context[tf.newaxis]
      return {'context': context}
    return {}

  def _data(self, values):
    return {self._data_name: tf.convert_to_tensor(values, self.dtype)}

  def _evaluation_only(self, training):
    if training:
      raise ValueError(f'{self.name} runs in evaluation mode only; '
                       'training mode needs the model (a run directory).')

  def log_prob(self, value, *, labels=None, context=None, training=None):
    self._evaluation_only(training)
    return self._signatures['log_prob'](
        **self._data(value),
        **self._condition_kwargs(labels, context))['log_prob']

  def bits_per_dim(self, values, *, labels=None, context=None,
                   training=None):
    self._evaluation_only(training)
    return self._signatures['bits_per_dim'](
        **self._data(values),
        **self._condition_kwargs(labels, context))['bits_per_dim']

  def sample_values(self, num_samples, temperature=1.0, seed=None, *,
                    labels=None, context=None):
    return self._signatures['sample'](
        num_samples=tf.constant(num_samples, tf.int32),
        temperature=tf.constant(temperature, self.dtype),
        seed=tf.constant(0 if seed is None else seed, tf.int32),
        **self._condition_kwargs(labels, context))[self._data_name]

  def encode(self, values, *, labels=None, context=None):
    return self._signatures['encode'](
        **self._data(values),
        **self._condition_kwargs(labels, context))['latents']

  def decode(self, latents, *, labels=None, context=None):
    return self._signatures['decode'](
        latents=tf.convert_to_tensor(latents, self.dtype),
        **self._condition_kwargs(labels, context))[self._data_name]

  def given(self, *, labels=None, context=None):
    """This flow with `labels` or `context` bound, checked once here.

    As `tfp_realnvp.Flow.given`, but a view over the serving signatures
    (evaluation only), not a `tfd.Distribution`: its `log_prob`,
    `bits_per_dim`, `sample_values`, `encode` and `decode` take no condition.
    """
    if not self._condition_kwargs(labels, context):
      raise ValueError(f'{self.name} takes no labels or context: use it as it '
                       'is, without `given`.')
    return _GivenSavedFlow(self, dict(labels=labels, context=context))


class _SavedDequantizer:
  """A SavedModel's learned `q(u | x)`, called as a dequantizer."""

  is_learned = True

  def __init__(self, signature):
    self._signature = signature

  def __call__(self, pixels, dtype, seed=None, training=False):
    del dtype  # The export's own.
    if training:
      raise ValueError('A SavedModel dequantizes in evaluation mode only.')
    if seed is None:
      seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
    outputs = self._signature(pixels=tf.cast(pixels, tf.uint8),
                              seed=tf.cast(seed, tf.int64))
    return outputs['values'], outputs['log_q']


class _GivenSavedFlow:
  """A `SavedFlow` with its condition bound (`SavedFlow.given`)."""

  def __init__(self, saved_flow, condition):
    self._saved = saved_flow
    self._condition = condition
    self.name = saved_flow.name
    self.event_shape = saved_flow.event_shape
    self.num_dims = saved_flow.num_dims

  def log_prob(self, value):
    return self._saved.log_prob(value, **self._condition)

  def bits_per_dim(self, values):
    return self._saved.bits_per_dim(values, **self._condition)

  def sample_values(self, num_samples, temperature=1.0, seed=None):
    """`num_samples` draws per condition, `[n] + batch + event` as a Flow's."""
    labels, context = self._condition['labels'], self._condition['context']
    condition = tf.convert_to_tensor(labels if labels is not None
                                     else context)
    event_axes = 0 if labels is not None else len(self._saved.context_shape)
    batch_shape = condition.shape[:condition.shape.rank - event_axes]
    per_example = condition.shape[batch_shape.rank:]
    # One draw per (sample, condition) pair, as the signature takes them.
    flat = tf.reshape(condition, [-1] + per_example.as_list())
    tiled = tf.tile(flat, [num_samples] + [1] * per_example.rank)
    values = self._saved.sample_values(
        num_samples * batch_shape.num_elements(), temperature, seed,
        **{'labels' if labels is not None else 'context': tiled})
    return tf.reshape(values, [num_samples] + batch_shape.as_list()
                      + self.event_shape.as_list())

  def encode(self, values):
    return self._saved.encode(values, **self._condition)

  def decode(self, latents):
    return self._saved.decode(latents, **self._condition)
