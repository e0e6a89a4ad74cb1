"""`Flow`: the one interface of every flow."""

import numpy as np
import tensorflow as tf

from tfp_realnvp import compat
from tfp_realnvp import condition as condition_lib
from tfp_realnvp.dequantization import estimate
from tfp_realnvp.dequantization import pixels as pixels_lib
from tfp_realnvp.dequantization import units
from tfp_realnvp.flows import conditioned

__all__ = ['Flow']


class Flow(compat.NonCompositeTransformedDistribution):
  """The one interface of every flow, a `tfd.TransformedDistribution`.

  Image, class-conditional and vector models, a flow restored from a run
  directory and one loaded from a SavedModel (`tfp_realnvp.app.loading`) all
  answer these, with the same arguments in the same order:

  ```none
  log_prob(value, *, labels=None, context=None, training=None)     -> [N]
  bits_per_dim(values, *, labels=None, context=None, training=None) -> [N]
  discrete_log_prob(pixels, samples=1, seed=None, *, labels=None,
                    context=None)                                   -> [N]
  sample_values(num_samples, temperature=1., seed=None, *, labels=None,
                context=None)
  encode(values, *, labels=None, context=None)                      -> latents
  decode(latents, *, labels=None, context=None)                     -> values
  given(*, labels=None, context=None)     -> p(x | condition), bound once
  event_shape, num_dims, num_scales, num_classes, context_shape, dequantizer
  ```

  `labels` is for class-conditional flows only (and required there),
  `context` (a float tensor per example, which reaches the coupling networks
  through the bijector's `conditional_input`) for flows built with a
  `context_shape` only (and required there). The keyword form is shorthand
  for `given`: `flow.log_prob(x, labels=y)` is
  `flow.given(labels=y).log_prob(x)`, one check of the condition and values
  broadcast with it. `training=None` follows `training_mode(...)` (default
  evaluation); sampling, encoding and decoding run in evaluation mode.

  The density methods take values; integer input (pixels) is refused with a
  line naming `discrete_log_prob`, the likelihood of integer pixels through
  the flow's `dequantizer` (`None` for a flow over continuous values).

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

  @property
  def condition_spec(self):
    """The `ConditionSpec` of what this flow is conditioned on."""
    return condition_lib.ConditionSpec(self.num_classes, self.context_shape)

  @property
  def dequantizer(self):
    """The `Dequantizer` of integer pixels, or `None` (continuous values)."""
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
    distribution does (`tfd.MixtureSameFamily`, `tfd.Independent`, a VAE's
    prior or decoder), slices with its batch, and its methods take no
    condition:

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

  def _check_call(self, name, labels, context):
    """`given(...)` for a condition; for none, that the flow needs none."""
    if not isinstance(name, str):
      raise TypeError(f'{self.name}: `labels` and `context` are keyword-only '
                      f'(e.g. `log_prob(x, labels=y)`); got {name!r} as '
                      '`name`.')
    if labels is None and context is None:
      self.condition_spec.check(name=self.name)
      return None
    return self.given(labels=labels, context=context)

  def log_prob(self, value, name='log_prob', *, labels=None, context=None,
               training=None, **kwargs):
    """`log p(value)` (or `log p(value | labels or context)`), batch shape.

    `bijector_kwargs` (TFP's keyword) go to the bijector unchecked: a
    `conditional_input` there is taken as `given` checked it.
    """
    bijector_kwargs = dict(kwargs.pop('bijector_kwargs', {}))
    if 'conditional_input' not in bijector_kwargs:
      given = self._check_call(name, labels, context)
      if given is not None:
        return given.log_prob(value, training=training, name=name)
    pixels_lib.require_values(value, f'{self.name}.log_prob', self)
    if training is not None:
      bijector_kwargs['training'] = training
    return super().log_prob(value, name=name, bijector_kwargs=bijector_kwargs,
                            **kwargs)

  def prob(self, value, name='prob', *, labels=None, context=None,
           training=None, **kwargs):
    """`p(value)` (or `p(value | labels or context)`)."""
    return tf.exp(self.log_prob(value, name=name, labels=labels,
                                context=context, training=training, **kwargs))

  def bits_per_dim(self, values, *, labels=None, context=None, training=None):
    """`-log_prob(values) / (D ln 2)`, the paper's figure for pixels."""
    return units.log_prob_to_bits_per_dim(
        self.log_prob(values, labels=labels, context=context,
                      training=training),
        self.num_dims)

  def discrete_log_prob(self, pixels, samples=1, seed=None, *, labels=None,
                        context=None):
    """`log P_K(x)` of integer pixels from `samples` draws of the dequantizer.

    The importance-weighted estimate of `tfp_realnvp.dequantization` with
    this flow's own `q(u | x)`; `samples=1` is the single-draw bound the flow
    trains on. Evaluation mode.

    Args:
      pixels: integer `[batch] + event_shape`, e.g. uint8 images.
      samples: `K >= 1`.
      seed: `None`, a Python int (the stateless seed `[seed, 0]`, as a
        SavedModel of this flow takes it) or a shape-[2] seed.
      labels: the labels of a class-conditional flow.
      context: the context of a flow that takes one.

    Raises:
      TypeError: for float pixels, or a flow over continuous values.
    """
    given = self._check_call('discrete_log_prob', labels, context)
    if given is not None:
      return given.discrete_log_prob(pixels, samples, seed)
    return estimate.importance_weighted_log_prob(
        self, pixels, samples, seed=conditioned.stateless_seed(seed))

  def discrete_bits_per_dim(self, pixels, samples=1, seed=None, *,
                            labels=None, context=None):
    """`-discrete_log_prob(...) / (D ln 2)`: bits/dim of integer pixels."""
    return units.log_prob_to_bits_per_dim(
        self.discrete_log_prob(pixels, samples, seed, labels=labels,
                               context=context), self.num_dims)

  def sample(self, sample_shape=(), seed=None, name='sample', *, labels=None,
             context=None, **kwargs):
    """Samples; a condition is broadcast to `sample_shape`, one per sample."""
    given = self._check_call(name, labels, context)
    if given is None:
      return super().sample(sample_shape, seed=seed, name=name, **kwargs)
    return given.sample_each(sample_shape, seed=seed)

  def sample_values(self, num_samples, temperature=1.0, seed=None, *,
                    labels=None, context=None):
    """Samples with the base's standard deviation scaled by `temperature`.

    Args:
      num_samples: Python `int` or scalar integer `Tensor`.
      temperature: Python float or scalar `Tensor` >= 0.
      seed: a Python `int` (the stateless seed `[seed, 0]`, as a SavedModel
        of this flow takes it), or any seed `tfd.Distribution.sample` takes.
      labels: the class (one, or `num_samples`) of a class-conditional flow.
      context: the context (one, or `num_samples`) of a flow that takes one.

    Returns:
      `(num_samples,) + event_shape` values; image models clip pixels to
      [0, 256).
    """
    given = self._check_call('sample_values', labels, context)
    if given is not None:
      return given.sample_each([num_samples], temperature, seed)
    conditioned.check_temperature(temperature)
    latents = self.distribution.sample(
        num_samples, seed=conditioned.stateless_seed(seed))
    latents = latents * tf.cast(temperature, latents.dtype)
    return self.clip_values(self.bijector.forward(latents, training=False))

  def clip_values(self, outputs):
    """Outputs of the generative map as values of the support (as they are)."""
    return outputs

  def encode(self, values, *, labels=None, context=None):
    """Latents of `values`, `bijector.inverse` in evaluation mode."""
    given = self._check_call('encode', labels, context)
    if given is not None:
      return given.encode(values)
    pixels_lib.require_values(values, f'{self.name}.encode', self)
    return self.bijector.inverse(tf.identity(values), training=False)

  def decode(self, latents, *, labels=None, context=None):
    """Values of `latents`, `bijector.forward` in evaluation mode."""
    given = self._check_call('decode', labels, context)
    if given is not None:
      return given.decode(latents)
    return self.bijector.forward(tf.identity(latents), training=False)

