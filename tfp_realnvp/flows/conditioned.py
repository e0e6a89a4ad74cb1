"""`ConditionedFlow`: a flow with its labels or context bound, `p(x | c)`."""

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

__all__ = ['ConditionedFlow', 'check_condition_batch', 'check_temperature']


def check_condition_batch(name, value_shape, event_rank, condition_batch):
  """Names values whose batch does not broadcast with the condition's.

  Args:
    name: the flow, named in the message.
    value_shape: the values' (static) shape, batch then event.
    event_rank: the rank of one event.
    condition_batch: the condition's batch shape (labels' whole shape, a
      context's without its `context_shape` axes).

  Raises:
    ValueError: saying both batch shapes.
  """
  value_shape = tf.TensorShape(value_shape)
  if value_shape.rank is None or condition_batch.rank is None:
    return
  batch = value_shape[:max(value_shape.rank - event_rank, 0)]
  try:
    tf.broadcast_static_shape(batch, condition_batch)
  except ValueError:
    raise ValueError(
        f'{name}: values of batch shape {batch} do not broadcast with the '
        f'condition\'s batch shape {condition_batch} (one label or context '
        'per example, or one for all).') from None


def check_temperature(temperature):
  """Raises ValueError for a negative Python temperature (0 is the mode)."""
  if isinstance(temperature, (int, float)) and not temperature >= 0:
    raise ValueError(f'`temperature` must be >= 0 (0 decodes the prior\'s '
                     f'mode), got {temperature!r}.')


class ConditionedFlow(tfd.Distribution):
  """`p(x | c)`: a conditioned flow with `c` (labels or a context) bound once.

  Made by `flow.given(labels=...)` or `flow.given(context=...)`. The
  condition is checked once, there; every method here takes no condition.
  The batch shape is the condition's: `labels.shape`, or the context's shape
  without its last `len(context_shape)` axes. A value's batch shape must
  broadcast with it (a scalar label serves any batch).

  ```none
  log_prob(x) = flow.log_prob(x, labels=c)    (or context=c)
  sample(n)   = n draws for each condition    shape [n] + batch + event
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
  tfp.distributions.Independent(per_class, 1).log_prob(pixels)   # scalar
  ```
  """

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    # The flow and its condition are configuration: the batch shape is
    # computed below, not from tensor parameters.
    return dict()

  def __init__(self, flow, labels=None, context=None, name=None):
    """Binds `labels` or `context` to `flow` (see `Flow.given`).

    Raises:
      ValueError, TypeError: from the flow's one check of the condition.
    """
    parameters = dict(locals())
    condition = flow.checked_condition(labels, context)
    if condition is None:
      raise ValueError(f'{flow.name} takes no labels or context: use it as '
                       'it is, without `given`.')
    self._flow = flow
    self._condition = condition
    if condition.shape.rank is None:
      raise ValueError(f'{flow.name}: the condition\'s rank must be known.')
    event_axes = 0 if labels is not None else len(flow.context_shape)
    self._condition_batch_shape = condition.shape[
        :condition.shape.rank - event_axes]
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
  def num_dims(self):
    return self._flow.num_dims

  def _batch_shape(self):
    return self._condition_batch_shape

  def _batch_shape_tensor(self):
    return tf.shape(self._condition)[:self._condition_batch_shape.rank]

  def _event_shape(self):
    return self._flow.event_shape

  def _event_shape_tensor(self):
    return self._flow.event_shape_tensor()

  def _check_batch(self, value):
    check_condition_batch(self.name, value.shape,
                          self._flow.event_shape.rank,
                          self._condition_batch_shape)

  def _bijector_kwargs(self, training=None):
    kwargs = dict(conditional_input=self._condition)
    if training is not None:
      kwargs['training'] = training
    return kwargs

  def _log_prob(self, value, training=None):
    # The flow's log_prob checks the batch against the bound condition.
    value = tf.convert_to_tensor(value, self.dtype)
    return self._flow.log_prob(
        value, bijector_kwargs=self._bijector_kwargs(training))

  def _sample_n(self, n, seed=None):
    return self.sample_values(n, seed=seed)

  def bits_per_dim(self, values, training=None):
    """`-log_prob(values) / (D ln 2)`, the paper's figure for pixels."""
    return -self.log_prob(values, training=training) / (
        self.num_dims * tf.math.log(tf.constant(2., self.dtype)))

  def sample_values(self, num_samples, temperature=1.0, seed=None):
    """`num_samples` draws per condition, shape `[n] + batch + event`.

    As `Flow.sample_values`: the base's scale times `temperature`; pixels
    clipped to [0, 256) for image models.
    """
    check_temperature(temperature)
    if isinstance(seed, int):
      seed = tf.constant([seed, 0], tf.int32)
    base = self._flow.distribution
    latents = base.sample(
        tf.concat([[num_samples], self.batch_shape_tensor()], 0), seed=seed)
    latents = latents * tf.cast(temperature, latents.dtype)
    return self._flow._to_values(self.decode(latents))  # pylint: disable=protected-access

  def encode(self, values):
    """Latents of `values` (evaluation mode)."""
    self._check_batch(tf.convert_to_tensor(values, self.dtype))
    return self._flow.bijector.inverse(
        tf.identity(values), **self._bijector_kwargs(training=False))

  def decode(self, latents):
    """Values of `latents` (evaluation mode)."""
    return self._flow.bijector.forward(
        tf.identity(latents), **self._bijector_kwargs(training=False))
