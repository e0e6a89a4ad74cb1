"""`ConditionedFlow`: a flow with its labels or context bound, `p(x | c)`."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import condition as condition_lib
from tfp_realnvp.dequantization import estimate
from tfp_realnvp.dequantization import pixels as pixels_lib
from tfp_realnvp.dequantization import units

tfd = tfp.distributions

__all__ = ['ConditionedFlow', 'check_temperature', 'stateless_seed']


def check_temperature(temperature):
  """Raises ValueError for a negative Python temperature (0 is the mode)."""
  if isinstance(temperature, (int, float)) and not temperature >= 0:
    raise ValueError(f'`temperature` must be >= 0 (0 decodes the prior\'s '
                     f'mode), got {temperature!r}.')


def stateless_seed(seed):
  """A Python int as the stateless seed `[seed, 0]`, as a SavedModel reads it.

  Any other seed is returned as it is.
  """
  if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
    return tf.constant([int(seed), 0], tf.int32)
  return seed


class ConditionedFlow(tfd.Distribution):
  """`p(x | c)`: a conditioned flow with `c` (labels or a context) bound once.

  Made by `flow.given(labels=...)` or `flow.given(context=...)`, which the
  flow's keyword form (`flow.log_prob(x, labels=y)`) is shorthand for. The
  condition is checked once, there (`tfp_realnvp.condition.ConditionSpec`);
  every method here takes no condition. The batch shape is the condition's:
  `labels.shape`, or the context's shape without its last
  `len(context_shape)` axes. Values broadcast with it as in any TFP
  distribution (a value of batch `[n, 1]` against labels `[C]` gives `[n,
  C]`, as `tfd.MixtureSameFamily` asks), slicing slices the condition
  (`given(labels=y)[::-1]` is `given(labels=y[::-1])`), and integer pixels
  go through the flow's `dequantizer`.

  ```none
  log_prob(x)                 = flow.log_prob(x, labels=c)    (or context=c)
  discrete_log_prob(pixels)   = the K-draw estimate through flow.dequantizer
  sample(n), sample_values(n) = n draws for each condition: [n] + batch + event
  sample_each(shape)          = one draw for each condition broadcast to shape
  ```

  #### Examples

  ```python
  import tensorflow as tf
  import tensorflow_probability as tfp
  import tfp_realnvp

  flow = tfp_realnvp.ConditionalRealNVP.from_preset('digits', num_classes=10)
  pixels = tf.random.uniform([3, 8, 8, 1], 0., 256.)
  per_class = flow.given(labels=[0, 1, 2])      # batch shape [3]
  per_class.log_prob(pixels)                     # shape [3]
  per_class[::-1].log_prob(pixels[::-1])         # the same, reversed
  tfp.distributions.Independent(per_class, 1).log_prob(pixels)   # scalar
  # The class marginal, sum_c pi_c p(x | c):
  marginal = tfp.distributions.MixtureSameFamily(
      tfp.distributions.Categorical(probs=tf.fill([10], 0.1)),
      flow.given(labels=tf.range(10)))
  marginal.log_prob(pixels)                      # shape [3]
  ```
  """

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    # The condition is the one tensor parameter: TFP infers the batch shape
    # from it and slices it with the batch.
    return dict(
        labels=tfp.util.ParameterProperties(event_ndims=0),
        context=tfp.util.ParameterProperties(
            event_ndims=lambda self: self.flow.condition_spec.event_rank))

  def __init__(self, flow, labels=None, context=None, name=None):
    """Binds `labels` or `context` to `flow` (see `Flow.given`).

    Raises:
      ValueError, TypeError: from the flow's one check of the condition.
    """
    parameters = dict(locals())
    spec = flow.condition_spec
    checked = spec.check(labels, context, name=flow.name, dtype=flow.dtype)
    if checked is None:
      raise ValueError(f'{flow.name} takes no labels or context: use it as '
                       'it is, without `given`.')
    if checked.shape.rank is None:
      raise ValueError(f'{flow.name}: the condition\'s rank must be known.')
    self._flow = flow
    self._spec = spec
    self._condition = checked
    with tf.name_scope(name or f'{flow.name}_given') as name:
      super().__init__(
          dtype=flow.dtype,
          reparameterization_type=tfd.FULLY_REPARAMETERIZED,
          validate_args=flow.validate_args, allow_nan_stats=True,
          parameters=parameters, name=name)

  @property
  def flow(self):
    """The unconditioned flow."""
    return self._flow

  @property
  def condition(self):
    """The bound labels or context, as checked."""
    return self._condition

  @property
  def labels(self):
    return self._condition if self._spec.kind == 'labels' else None

  @property
  def context(self):
    return self._condition if self._spec.kind == 'context' else None

  @property
  def condition_spec(self):
    """The condition still to give: none, it is bound."""
    return condition_lib.ConditionSpec()

  @property
  def dequantizer(self):
    """The flow's `Dequantizer` (integer pixels), or `None`."""
    return self._flow.dequantizer

  @property
  def num_dims(self):
    return self._flow.num_dims

  def _event_shape(self):
    return self._flow.event_shape

  def _event_shape_tensor(self):
    return self._flow.event_shape_tensor()

  def _broadcast(self, values):
    """`values` and the condition broadcast to their common batch shape."""
    return self._spec.broadcast(values, self._flow.event_shape.rank,
                                self._condition, name=self.name)

  def _bijector_kwargs(self, condition, training=None):
    kwargs = dict(conditional_input=condition)
    if training is not None:
      kwargs['training'] = training
    return kwargs

  def _log_prob(self, value, training=None):
    value, condition = self._broadcast(value)
    return self._flow.log_prob(
        value, bijector_kwargs=self._bijector_kwargs(condition, training))

  def _sample_n(self, n, seed=None):
    return self.sample_values(n, seed=seed)

  def bits_per_dim(self, values, training=None):
    """`-log_prob(values) / (D ln 2)`, the paper's figure for pixels."""
    return units.log_prob_to_bits_per_dim(
        self.log_prob(values, training=training), self.num_dims)

  def discrete_log_prob(self, pixels, samples=1, seed=None):
    """`log P_K(x)` of integer pixels through the flow's `dequantizer`."""
    return estimate.importance_weighted_log_prob(self, pixels, samples,
                                                 seed=stateless_seed(seed))

  def discrete_bits_per_dim(self, pixels, samples=1, seed=None):
    """`-discrete_log_prob(...) / (D ln 2)`."""
    return units.log_prob_to_bits_per_dim(
        self.discrete_log_prob(pixels, samples, seed), self.num_dims)

  def sample_values(self, num_samples, temperature=1.0, seed=None):
    """`num_samples` draws per condition, shape `[n] + batch + event`.

    As `Flow.sample_values`: the base's scale times `temperature`; pixels
    clipped to [0, 256) for image models.
    """
    return self.sample_each(
        tf.concat([[num_samples], self.batch_shape_tensor()], 0),
        temperature, seed)

  def sample_each(self, sample_shape, temperature=1.0, seed=None):
    """One draw for each condition broadcast to `sample_shape`.

    `flow.sample_values(n, labels=y)` is `given(labels=y).sample_each([n])`:
    `y` one label or `n` of them.

    Returns:
      `broadcast(sample_shape, batch_shape) + event_shape` values.
    """
    check_temperature(temperature)
    static_shape = tf.TensorShape(tf.get_static_value(
        tf.reshape(tf.cast(sample_shape, tf.int32), [-1])))
    try:
      tf.broadcast_static_shape(static_shape, self.batch_shape)
    except ValueError:
      raise ValueError(
          f'{self.name}: values of batch shape {static_shape} do not '
          f'broadcast with the condition\'s batch shape {self.batch_shape} '
          '(one label or context per sample, or one for all).') from None
    shape = tf.broadcast_dynamic_shape(
        tf.cast(tf.reshape(sample_shape, [-1]), tf.int32),
        self.batch_shape_tensor())
    latents = self._flow.distribution.sample(shape, seed=stateless_seed(seed))
    latents = latents * tf.cast(temperature, latents.dtype)
    return self._flow.clip_values(self.decode(latents))

  def encode(self, values):
    """Latents of `values` (evaluation mode)."""
    pixels_lib.require_values(values, f'{self.name}.encode', self)
    values, condition = self._broadcast(values)
    return self._flow.bijector.inverse(
        tf.identity(values), **self._bijector_kwargs(condition, False))

  def decode(self, latents):
    """Values of `latents` (evaluation mode)."""
    latents, condition = self._broadcast(latents)
    return self._flow.bijector.forward(
        tf.identity(latents), **self._bijector_kwargs(condition, False))
