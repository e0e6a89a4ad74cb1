"""Real NVP's batch normalization bijector (paper §3.7, eq. 17-18, App. E)."""

import tensorflow as tf

from tfp_realnvp import batch_statistics
from tfp_realnvp import networks
from tfp_realnvp.bijectors import one_pass_bijector

__all__ = ['BatchNormalization', 'batch_norms']


def batch_norms(module):
  """Every batch norm inside `module`: the bijectors and the networks' layers."""
  kinds = (BatchNormalization, networks.BatchNorm)
  return [m for m in module.submodules if isinstance(m, kinds)]

_TRAINING_STATISTICS = ('batch', 'moving_average')


class BatchNormalization(one_pass_bijector.OnePassBijector):
  """Real NVP's batch normalization as a bijector with running averages.

  The inverse (inference) direction normalizes per channel (the last axis),
  then applies a learned affine map:

  ```none
  inverse(y) = (y - mean) / sqrt(var + epsilon) * exp(log_scale) + shift
  forward(x) = (x - shift) * exp(-log_scale) * sqrt(var + epsilon) + mean
  log|det J| of the inverse = sum over units of
                              (log_scale - 1/2 * log(var + epsilon))
  ```

  Statistics are per channel, over the batch and (for images) the spatial
  axes, so the log-det is the per-channel term times `H * W`.

  * Training, `inverse`: `mean, var` are the batch's statistics (eq. 17),
    and the moving averages move towards them with `momentum`. The averages
    are zero-debiased (see `tfp_realnvp.batch_statistics`): the first update
    takes the first batch's statistics, later ones weigh batch `i` of `t` by
    `(1 - momentum) momentum^(t - i) / (1 - momentum^t)`, and the update count
    `num_updates` is a checkpointed variable. With
    `training_statistics='moving_average'` (paper App. E) it normalizes with
    the averages just updated by this batch, so gradients flow only through
    the current batch's share; the first training step normalizes its batch.
  * Evaluation, and `forward` always: the moving averages. An example's
    log-prob then never depends on the rest of its batch, and sampling
    needs no batch.

  The mode comes from an explicit `training=` keyword (`FlowModel` passes
  Keras' flag: `fit` trains, `evaluate`/`predict` do not), else
  `training_mode(...)`, else evaluation: one distribution serves both.
  Under `tf.distribute` the batch statistics are summed over all replicas (as
  Keras' synchronized batch norm does), so a global batch split over N
  replicas normalizes exactly as one replica with the whole batch.

  Differences from `tfb.BatchNormalization`: that bijector wraps a Keras
  layer with a `training` flag fixed at construction, so Keras' `fit` and
  `evaluate` cannot switch it; it has no App. E mode; its statistics are not
  reduced across replicas; and it recomputes the batch statistics for the
  log-det. Here one pass gives the output, the log-det and one moving-average
  update.

  #### Examples

  ```python
  import tensorflow as tf
  import tensorflow_probability as tfp
  from tfp_realnvp import bijectors as rnvp_bijectors
  tfd = tfp.distributions

  batch_norm = rnvp_bijectors.BatchNormalization(event_shape=[8, 8, 3])
  dist = tfd.TransformedDistribution(
      tfd.Sample(tfd.Normal(0., 1.), [8, 8, 3]), batch_norm)
  images = tf.random.normal([16, 8, 8, 3])
  with rnvp_bijectors.training_mode(True):
    train_log_prob = dist.log_prob(images)    # batch statistics, update
  eval_log_prob = dist.log_prob(images)       # moving averages
  ```

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _International Conference on Learning
       Representations_, 2017. https://arxiv.org/abs/1605.08803
  """

  _uses_training = True

  def __init__(self,
               event_shape,
               momentum=0.99,
               epsilon=1e-4,
               center=True,
               scale=True,
               training_statistics='batch',
               dtype=tf.float32,
               validate_args=False,
               name='batch_normalization'):
    """Builds the bijector and its variables.

    Args:
      event_shape: `[H, W, C]` for images (`H`, `W` may be `None`) or `[D]`.
      momentum: Python float in `[0, 1)`, the moving averages' decay.
      epsilon: Python float > 0 added to the variance.
      center: Python `bool`, learn the `shift` after normalizing.
      scale: Python `bool`, learn the `log_scale` after normalizing.
      training_statistics: `'batch'` (eq. 17) or `'moving_average'`
        (App. E) for normalizing in training.
      dtype: float dtype of the variables and of accepted inputs.
      validate_args: Python `bool`; checks shapes at run time when `True`.
      name: name of the bijector.

    Raises:
      ValueError: for a bad event shape, momentum, epsilon or
        `training_statistics`.
    """
    parameters = dict(locals())
    event_shape = tf.TensorShape(event_shape)
    if event_shape.rank not in (1, 3) or event_shape[-1] is None:
      raise ValueError(
          '`event_shape` must be [H, W, C] or [D] with a known last axis, got '
          f'{event_shape}.')
    if not 0. <= momentum < 1.:
      raise ValueError(f'`momentum` must lie in [0, 1), got {momentum!r}.')
    if not epsilon > 0.:
      raise ValueError(f'`epsilon` must be positive, got {epsilon!r}.')
    if training_statistics not in _TRAINING_STATISTICS:
      raise ValueError(
          f'`training_statistics` must be one of {_TRAINING_STATISTICS}, got '
          f'{training_statistics!r}.')
    dtype = tf.as_dtype(dtype)
    if not dtype.is_floating:
      raise TypeError(f'`dtype` must be a float dtype, got {dtype.name}.')
    with tf.name_scope(name) as name:
      self._event_shape = event_shape
      self._momentum = float(momentum)
      self._epsilon = float(epsilon)
      self._training_statistics = training_statistics
      self._variable_dtype = dtype
      channels = event_shape[-1]
      self.moving_mean = batch_statistics.moving_variable(
          tf.zeros([channels], dtype), 'moving_mean')
      self.moving_variance = batch_statistics.moving_variable(
          tf.ones([channels], dtype), 'moving_variance')
      self.num_updates = batch_statistics.moving_variable(
          tf.zeros([], dtype), 'num_updates')
      self.shift = (tf.Variable(tf.zeros([channels], dtype), name='shift')
                    if center else None)
      self.log_scale = (tf.Variable(tf.zeros([channels], dtype),
                                    name='log_scale') if scale else None)
      super().__init__(
          forward_min_event_ndims=event_shape.rank,
          is_constant_jacobian=False,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    return dict()

  @property
  def momentum(self):
    return self._momentum

  @property
  def epsilon(self):
    return self._epsilon

  @property
  def training_statistics(self):
    return self._training_statistics

  def _units_per_channel(self, x):
    """`H * W` for images, 1 for vectors, as `x.dtype`."""
    spatial = tf.shape(x)[-self._event_shape.rank:-1]
    return tf.cast(tf.reduce_prod(spatial), x.dtype)

  def _affine(self):
    """Learned `(shift, log_scale)` applied after normalizing (or zeros)."""
    zeros = tf.zeros([self._event_shape[-1]], self._variable_dtype)
    shift = zeros if self.shift is None else tf.convert_to_tensor(self.shift)
    log_scale = (zeros if self.log_scale is None
                 else tf.convert_to_tensor(self.log_scale))
    return shift, log_scale

  def _ildj(self, variance, log_scale, x):
    """Per-example inverse log-det for normalizing with `variance`."""
    per_channel = log_scale - 0.5 * tf.math.log(variance + self._epsilon)
    per_example = tf.reduce_sum(per_channel) * self._units_per_channel(x)
    batch_shape = tf.shape(x)[:-self._event_shape.rank]
    return tf.fill(batch_shape, per_example)

  def _training_statistics_and_update(self, y):
    """Statistics to normalize `y` with in training; updates the averages."""
    axes = list(range(y.shape.rank - 1))
    batch_mean, batch_variance = batch_statistics.cross_replica_moments(
        y, axes)
    new_mean, new_variance = batch_statistics.update_moving_statistics(
        self.moving_mean, self.moving_variance, self.num_updates,
        batch_mean, batch_variance, self._momentum)
    if self._training_statistics == 'batch':
      with tf.control_dependencies([new_mean, new_variance]):
        return tf.identity(batch_mean), tf.identity(batch_variance)
    # App. E: the moving parts are constants, the batch part differentiable.
    return new_mean, new_variance

  def _augmented_inverse(self, y, training=False):
    with tf.control_dependencies(one_pass_bijector.check_event(
        self, y, self._event_shape, self._variable_dtype)):
      y = tf.identity(y)
    if y.shape.rank is None:
      raise ValueError(f'{self.name}: the input rank must be known.')
    mean, variance = batch_statistics.smart_cond(
        training,
        lambda: self._training_statistics_and_update(y),
        lambda: (tf.convert_to_tensor(self.moving_mean),
                 tf.convert_to_tensor(self.moving_variance)))
    shift, log_scale = self._affine()
    multiplier = tf.math.rsqrt(variance + self._epsilon) * tf.exp(log_scale)
    x = (y - mean) * multiplier + shift
    return x, self._ildj(variance, log_scale, y)

  def _augmented_forward(self, x, training=False):
    del training  # The generative direction always uses the moving averages.
    with tf.control_dependencies(one_pass_bijector.check_event(
        self, x, self._event_shape, self._variable_dtype)):
      x = tf.identity(x)
    mean = tf.convert_to_tensor(self.moving_mean)
    variance = tf.convert_to_tensor(self.moving_variance)
    shift, log_scale = self._affine()
    multiplier = tf.sqrt(variance + self._epsilon) * tf.exp(-log_scale)
    y = (x - shift) * multiplier + mean
    return y, self._ildj(variance, log_scale, x)
