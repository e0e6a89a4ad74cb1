"""`Flow`: the one interface of every flow, and the condition it takes."""

import math

import numpy as np
import tensorflow as tf

from tfp_realnvp import compat
from tfp_realnvp.bijectors import masked_affine_coupling
from tfp_realnvp.flows import conditioned

__all__ = ['Flow', 'condition_kwargs', 'condition_name',
           'log_prob_to_bits_per_dim', 'require_context', 'require_labels',
           'to_uint8']


def to_uint8(pixels):
  """Dequantized pixel values in [0, 256) to `uint8` images (floor, clip)."""
  return tf.cast(tf.clip_by_value(tf.floor(pixels), 0., 255.), tf.uint8)


def log_prob_to_bits_per_dim(log_prob, num_dims):
  """`-log_prob / (D ln 2)`: the paper's bits/dim of a density over `D` units."""
  return -log_prob / (num_dims * math.log(2.))


def require_labels(labels, num_classes, name):
  """Raises ValueError unless labels are given exactly when the flow needs them.

  Args:
    labels: the caller's labels, or `None`.
    num_classes: `None` for an unconditional flow, else the number of classes.
    name: the flow, named in the message.
  """
  if num_classes is None and labels is not None:
    raise ValueError(f'{name} is not class-conditional; it was given labels.')
  if num_classes is not None and labels is None:
    raise ValueError(f'{name} is class-conditional: pass `labels` (integers '
                     f'in [0, {num_classes})).')


def require_context(context, context_shape, name):
  """Raises ValueError unless a context is given exactly when the flow takes one.

  Args:
    context: the caller's context, or `None`.
    context_shape: `None` for a flow without a context, else its shape.
    name: the flow, named in the message.
  """
  if context_shape is None and context is not None:
    raise ValueError(f'{name} takes no context; it was given one.')
  if context_shape is not None and context is None:
    shape = ', '.join(map(str, context_shape))
    raise ValueError(f'{name} is conditioned on a context: pass `context` '
                     f'(float, shape (batch, {shape})).')


def condition_name(flow):
  """`'labels'`, `'context'` or `None`: what `flow` is conditioned on."""
  if getattr(flow, 'num_classes', None) is not None:
    return 'labels'
  if getattr(flow, 'context_shape', None) is not None:
    return 'context'
  return None


def condition_kwargs(flow, condition):
  """`{'labels': condition}`, `{'context': condition}` or `{}`, as `flow` takes.

  For the second element of a dataset's `(values, condition)` pairs, which
  `FlowModel` and the evaluation helpers pass on to any flow.
  """
  name = condition_name(flow)
  return {} if name is None or condition is None else {name: condition}


class Flow(compat.NonCompositeTransformedDistribution):
  """The one interface of every flow, a `tfd.TransformedDistribution`.

  Image, class-conditional and vector models, a flow restored from a run
  directory and one loaded from a SavedModel (`tfp_realnvp.app.loading`) all
  answer these, with the same arguments in the same order:

  ```none
  log_prob(value, *, labels=None, context=None, training=None)     -> [N]
  bits_per_dim(values, *, labels=None, context=None, training=None) -> [N]
  sample_values(num_samples, temperature=1., seed=None, *, labels=None,
                context=None)
  encode(values, *, labels=None, context=None)                      -> latents
  decode(latents, *, labels=None, context=None)                     -> values
  given(*, labels=None, context=None)     -> p(x | condition), bound once
  event_shape, num_dims, num_scales, num_classes, context_shape
  ```

  `labels` is for class-conditional flows only (and required there),
  `context` (a float tensor per example, which the flow reaches its coupling
  networks through the bijector's `conditional_input`) for flows built with
  a `context_shape` only (and required there);
  `training=None` follows `training_mode(...)` (default evaluation); sampling,
  encoding and decoding always run in evaluation mode.

  Every method hands the bijector a fresh tensor (`tf.identity`): TFP's
  bijector cache is keyed by the input tensor, so a tensor seen before would
  otherwise be answered with results computed from older weights (before an
  optimizer step, an `assign` or a checkpoint restore). Within one call the
  cache still pairs the latents with their log-det, so each coupling network
  runs once.
  """

  @property
  def num_dims(self):
    """`D`, the number of units in an event."""
    return int(np.prod(self.event_shape))

  @property
  def num_scales(self):
    """The number of scales (1 for a single-scale flow)."""
    return 1

  @property
  def num_classes(self):
    """`None` for an unconditional model, else the number of classes."""
    return None

  @property
  def context_shape(self):
    """`None`, or the shape of the float context each example is given."""
    return None

  def get_config(self):
    """The constructor arguments, JSON-serializable; see `from_config`."""
    config = {}
    for key, value in self.parameters.items():
      if isinstance(value, tf.dtypes.DType):
        value = value.name
      elif isinstance(value, tuple):
        value = list(value)
      if value is None or isinstance(value, (bool, int, float, str, list)):
        config[key] = value
    # Absent unless set, so configs (and run directories) from before
    # contexts existed still match.
    if config.get('context_shape', ()) is None:
      del config['context_shape']
    return config

  @classmethod
  def from_config(cls, config):
    """A new, untrained flow built as `get_config` describes."""
    return cls(**config)

  def _log_prob(self, y, **kwargs):
    return super()._log_prob(tf.identity(y), **kwargs)

  def _prob(self, y, **kwargs):
    return super()._prob(tf.identity(y), **kwargs)

  def given(self, *, labels=None, context=None):
    """`p(x | labels)` or `p(x | context)`: this flow with its condition bound.

    The condition is checked here, once (present, of the right dtype, labels
    in range, a context of `context_shape`); the result is a
    `tfd.Distribution` whose batch shape is the condition's (`labels.shape`,
    or `context.shape[:-len(context_shape)]`), so it works wherever a
    distribution does (`tfd.Mixture`, `tfd.Independent`, a VAE's prior or
    decoder) and its methods take no condition:

    ```python
    sevens = flow.given(labels=7)
    sevens.log_prob(x); sevens.bits_per_dim(x); sevens.sample(4)
    ```

    Args:
      labels: integer labels in `[0, num_classes)` (class-conditional flows).
      context: a float context shaped `batch_shape + context_shape`.

    Returns:
      A `tfp_realnvp.flows.ConditionedFlow`.

    Raises:
      ValueError, TypeError: naming what is missing or wrong.
    """
    return conditioned.ConditionedFlow(self, labels=labels, context=context)

  def checked_condition(self, labels=None, context=None):
    """The `conditional_input` for `labels` or `context`, checked; or `None`.

    The one check of a condition: present exactly when the flow takes one,
    integer labels (range-checked at run time, and at once when their values
    are known) or a float context whose last axes are `context_shape`.
    """
    require_labels(labels, self.num_classes, self.name)
    require_context(context, self.context_shape, self.name)
    if labels is not None:
      return masked_affine_coupling.checked_labels(labels, self.num_classes,
                                                   self.name)
    if context is None:
      return None
    context = tf.convert_to_tensor(context)
    if not context.dtype.is_floating:
      raise TypeError(f'{self.name}: the context must be a float tensor, got '
                      f'dtype {context.dtype.name}.')
    rank = len(self.context_shape)
    if context.shape.rank is not None and (
        context.shape.rank < rank or
        not context.shape[context.shape.rank - rank:].is_compatible_with(
            self.context_shape)):
      raise ValueError(
          f'{self.name}: the context must have shape (batch..., '
          f'{", ".join(map(str, self.context_shape))}), got {context.shape}.')
    return tf.cast(context, self.dtype)

  def _condition_kwargs(self, labels, context):
    """The bijector keywords for `labels` or `context`."""
    condition = self.checked_condition(labels, context)
    return {} if condition is None else dict(conditional_input=condition)

  def _bijector_kwargs(self, kwargs, labels, context, training, name):
    if not isinstance(name, str):
      raise TypeError(f'{self.name}: `labels` and `context` are keyword-only '
                      f'(e.g. `log_prob(x, labels=y)`); got {name!r} as '
                      '`name`.')
    bijector_kwargs = dict(kwargs.get('bijector_kwargs', {}))
    # A condition already in `bijector_kwargs` was checked where it was
    # bound (`given`).
    if 'conditional_input' not in bijector_kwargs:
      bijector_kwargs.update(self._condition_kwargs(labels, context))
    if training is not None:
      bijector_kwargs['training'] = training
    return dict(kwargs, bijector_kwargs=bijector_kwargs)

  def _check_batch(self, values_shape, condition):
    """Names values whose batch does not broadcast with the condition's."""
    if condition is None:
      return
    shape = tf.TensorShape(getattr(condition, 'shape', np.shape(condition)))
    if self.context_shape is not None and shape.rank is not None:
      shape = shape[:max(shape.rank - len(self.context_shape), 0)]
    conditioned.check_condition_batch(self.name, values_shape,
                                      self.event_shape.rank, shape)

  def _checked_kwargs(self, values, kwargs, labels, context, training, name):
    kwargs = self._bijector_kwargs(kwargs, labels, context, training, name)
    self._check_batch(getattr(values, 'shape', np.shape(values)),
                      kwargs['bijector_kwargs'].get('conditional_input'))
    return kwargs

  def log_prob(self, value, name='log_prob', *, labels=None, context=None,
               training=None, **kwargs):
    """`log p(value)` (or `log p(value | labels or context)`), batch shape."""
    kwargs = self._checked_kwargs(value, kwargs, labels, context, training,
                                  name)
    return super().log_prob(value, name=name, **kwargs)

  def prob(self, value, name='prob', *, labels=None, context=None,
           training=None, **kwargs):
    """`p(value)` (or `p(value | labels or context)`)."""
    kwargs = self._checked_kwargs(value, kwargs, labels, context, training,
                                  name)
    return super().prob(value, name=name, **kwargs)

  def sample(self, sample_shape=(), seed=None, name='sample', *, labels=None,
             context=None, **kwargs):
    """Samples (given `labels` or `context`, broadcast to `sample_shape`)."""
    kwargs = self._bijector_kwargs(kwargs, labels, context, None, name)
    return super().sample(sample_shape, seed=seed, name=name, **kwargs)

  def bits_per_dim(self, values, *, labels=None, context=None, training=None):
    """`-log_prob(values) / (D ln 2)`, the paper's figure for pixels."""
    return log_prob_to_bits_per_dim(
        self.log_prob(values, labels=labels, context=context,
                      training=training),
        self.num_dims)

  def sample_values(self, num_samples, temperature=1.0, seed=None, *,
                    labels=None, context=None):
    """Samples with the base's standard deviation scaled by `temperature`.

    Args:
      num_samples: Python `int` or scalar integer `Tensor`.
      temperature: Python float or scalar `Tensor` > 0.
      seed: a Python `int` (the stateless seed `[seed, 0]`, as a SavedModel
        of this flow takes it, so both give the same samples), or any seed
        `tfd.Distribution.sample` takes.
      labels: the class (one, or `num_samples`) of a class-conditional flow.
      context: the context (one, or `num_samples`) of a flow that takes one.

    Returns:
      `(num_samples,) + event_shape` values; image models clip pixels to
      [0, 256).
    """
    conditioned.check_temperature(temperature)
    if isinstance(seed, int):
      seed = tf.constant([seed, 0], tf.int32)
    condition = self._condition_kwargs(labels, context)
    if isinstance(num_samples, int):
      self._check_batch([num_samples] + self.event_shape.as_list(),
                        condition.get('conditional_input'))
    latents = self.distribution.sample(num_samples, seed=seed)
    latents = latents * tf.cast(temperature, latents.dtype)
    return self._to_values(self.bijector.forward(
        latents, training=False, **condition))

  def _to_values(self, outputs):
    return outputs

  def encode(self, values, *, labels=None, context=None):
    """Latents of `values`, `bijector.inverse` in evaluation mode."""
    condition = self._condition_kwargs(labels, context)
    self._check_batch(getattr(values, 'shape', np.shape(values)),
                      condition.get('conditional_input'))
    return self.bijector.inverse(tf.identity(values), training=False,
                                 **condition)

  def decode(self, latents, *, labels=None, context=None):
    """Values of `latents`, `bijector.forward` in evaluation mode."""
    condition = self._condition_kwargs(labels, context)
    self._check_batch(getattr(latents, 'shape', np.shape(latents)),
                      condition.get('conditional_input'))
    return self.bijector.forward(tf.identity(latents), training=False,
                                 **condition)
