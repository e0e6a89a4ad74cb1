"""`SavedFlow`: a flow loaded from a SavedModel, answering the flows' methods.

Each method calls the matching serving signature of `tfp_realnvp.app.export`,
so a loaded model evaluates, samples, encodes and dequantizes like the flow
it was exported from.
"""

import numpy as np
import tensorflow as tf

from tfp_realnvp import condition as condition_lib
from tfp_realnvp.dequantization import base
from tfp_realnvp.dequantization import pixels as pixels_lib
from tfp_realnvp.dequantization import uniform
from tfp_realnvp.dequantization import units

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
    self.condition_spec = condition_lib.ConditionSpec(self.num_classes,
                                                      self.context_shape)
    # A learned q(u | x) through its signature (exports before variational
    # dequantization had uniform noise only); a vector flow has none.
    self.dequantization = None
    self.dequantizer = None
    if 'discrete_log_prob' in self._signatures:
      self.dequantization = (
          self._loaded.dequantization.numpy().decode()
          if hasattr(self._loaded, 'dequantization') else 'uniform')
      self.dequantizer = (
          _SavedDequantizer(self._loaded, self._signatures['dequantize'])
          if self.dequantization == 'variational'
          else uniform.UniformDequantizer())

  @property
  def num_dims(self):
    return int(np.prod(self.event_shape))

  def _condition_kwargs(self, labels, context):
    # The signatures check the values; presence and kind are said here.
    self.condition_spec.check(labels, context, name=self.name,
                              check_values=False)
    if labels is not None:
      return {'labels': tf.reshape(tf.cast(labels, tf.int32), [-1])}
    if context is not None:
      context = tf.convert_to_tensor(context, self.dtype)
      if context.shape.rank == len(self.context_shape):  # one for all
        context = context[tf.newaxis]
      return {'context': context}
    return {}

  def _data(self, values, who):
    pixels_lib.require_values(values, f'{self.name}: {who}', self)
    return {self._data_name: tf.convert_to_tensor(values, self.dtype)}

  def _evaluation_only(self, training):
    if training:
      raise ValueError(f'{self.name} runs in evaluation mode only; '
                       'training mode needs the model (a run directory).')

  def log_prob(self, value, *, labels=None, context=None, training=None):
    self._evaluation_only(training)
    return self._signatures['log_prob'](
        **self._data(value, 'log_prob'),
        **self._condition_kwargs(labels, context))['log_prob']

  def bits_per_dim(self, values, *, labels=None, context=None,
                   training=None):
    self._evaluation_only(training)
    return self._signatures['bits_per_dim'](
        **self._data(values, 'bits_per_dim'),
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
        **self._data(values, 'encode'),
        **self._condition_kwargs(labels, context))['latents']

  def decode(self, latents, *, labels=None, context=None):
    return self._signatures['decode'](
        latents=tf.convert_to_tensor(latents, self.dtype),
        **self._condition_kwargs(labels, context))[self._data_name]

  def discrete_log_prob(self, pixels, samples=1, seed=None, *, labels=None,
                        context=None):
    """`log P_K(x)` of integer pixels: the `discrete_log_prob` signature."""
    if self.dequantizer is None:
      raise TypeError(f'{self.name} is a density over continuous values; '
                      'integer pixels have no likelihood under it.')
    pixels_lib.require_pixels(pixels, f'{self.name}: discrete_log_prob')
    return self._signatures['discrete_log_prob'](
        pixels=tf.cast(pixels, tf.uint8),
        samples=tf.constant(samples, tf.int32),
        seed=tf.constant(0 if seed is None else seed, tf.int32),
        **self._condition_kwargs(labels, context))['log_prob']

  def discrete_bits_per_dim(self, pixels, samples=1, seed=None, *,
                            labels=None, context=None):
    return units.log_prob_to_bits_per_dim(
        self.discrete_log_prob(pixels, samples, seed, labels=labels,
                               context=context), self.num_dims)

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


class _SavedDequantizer(base.Dequantizer):
  """A SavedModel's learned `q(u | x)`, called as a dequantizer."""

  is_learned = True

  def __init__(self, loaded, signature):
    self._loaded = loaded
    self._signature = signature

  def __call__(self, pixels, dtype, seed=None, training=False,
               first_example=0):
    del dtype  # The export's own.
    if training:
      raise ValueError('A SavedModel dequantizes in evaluation mode only.')
    if seed is None:
      seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
    pixels, seed = tf.cast(pixels, tf.uint8), tf.cast(seed, tf.int64)
    first_example = tf.cast(first_example, tf.int64)
    if hasattr(self._loaded, 'dequantize_draw'):
      outputs = self._loaded.dequantize_draw(pixels, seed, first_example)
    else:  # Exports before 0.4 take the draw's seed in `dequantize`.
      inputs = dict(pixels=pixels, seed=seed)
      # Exports before #43 draw each batch's noise as a whole.
      if 'first_example' in self._signature.structured_input_signature[1]:
        inputs['first_example'] = first_example
      outputs = self._signature(**inputs)
    return outputs['values'], outputs['log_q']

  def log_prob(self, noise, pixels, training=False):
    raise NotImplementedError('A SavedModel exports draws of its q(u | x), '
                              'not its density at given noise.')


class _GivenSavedFlow:
  """A `SavedFlow` with its condition bound (`SavedFlow.given`).

  A view over the signatures, which take one condition per example or one
  for all: a condition of batch shape `[]` or `[N]`, sliced along that axis
  (`given(labels=y)[::-1]`), values of batch shape `[N]`. For
  `tfd.MixtureSameFamily` and other broadcasting, load the run directory's
  flow instead (`load_flow(run_dir)`), whose `given` is a distribution.
  """

  def __init__(self, saved_flow, condition):
    self._saved = saved_flow
    self._condition = condition
    self.name = saved_flow.name
    self.event_shape = saved_flow.event_shape
    self.num_dims = saved_flow.num_dims
    self.dequantizer = saved_flow.dequantizer
    self.condition_spec = condition_lib.ConditionSpec()

  def _bound(self):
    key = 'labels' if self._condition['labels'] is not None else 'context'
    return key, tf.convert_to_tensor(self._condition[key])

  @property
  def batch_shape(self):
    key, condition = self._bound()
    rank = 0 if key == 'labels' else len(self._saved.context_shape)
    return condition.shape[:condition.shape.rank - rank]

  def __getitem__(self, slices):
    """The view of a slice of the condition's batch (one axis)."""
    if self.batch_shape.rank != 1:
      raise ValueError(f'{self.name}: only a condition of batch shape [N] '
                       f'slices; this one has {self.batch_shape}.')
    key, condition = self._bound()
    if not isinstance(slices, (int, slice)):
      raise TypeError(f'{self.name}: a SavedModel\'s given() slices with an '
                      f'int or a slice, got {slices!r}.')
    return _GivenSavedFlow(self._saved,
                           dict(self._condition, **{key: condition[slices]}))

  def log_prob(self, value):
    return self._saved.log_prob(value, **self._condition)

  def discrete_log_prob(self, pixels, samples=1, seed=None):
    return self._saved.discrete_log_prob(pixels, samples, seed,
                                         **self._condition)

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
