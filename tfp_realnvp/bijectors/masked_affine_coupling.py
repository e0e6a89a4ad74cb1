"""Real NVP's masked affine coupling layer (paper §3.2-3.4, eq. 4-9)."""

import tensorflow as tf
import tf_keras

from tfp_realnvp import condition as condition_lib
from tfp_realnvp import networks
from tfp_realnvp.bijectors import one_pass_bijector

__all__ = ['MaskedAffineCoupling', 'checkerboard_mask']

_MASK_TYPES = ('checkerboard', 'channel')


def checkerboard_mask(height, width, parity, dtype=tf.float32):
  """Returns the `(height, width, 1)` mask `b` with `b[i, j] = (i + j + parity + 1) % 2`.

  Parity 0 keeps the units where `i + j` is even (the top-left corner),
  parity 1 those where it is odd.

  Args:
    height: Python `int` or scalar integer `Tensor`.
    width: Python `int` or scalar integer `Tensor`.
    parity: 0 or 1.
    dtype: dtype of the mask.

  Returns:
    A `(height, width, 1)` tensor of zeros and ones.
  """
  rows = tf.range(height)[:, tf.newaxis]
  cols = tf.range(width)[tf.newaxis, :]
  mask = tf.equal((rows + cols + parity) % 2, 0)
  return tf.cast(mask, dtype)[..., tf.newaxis]


class MaskedAffineCoupling(one_pass_bijector.OnePassBijector):
  """Affine coupling of Real NVP with a checkerboard or channel-wise mask.

  With a binary mask `b` selecting the conditioning units, the forward
  (generative) map and its log-det are

  ```none
  y[b]  = x[b]
  y[~b] = x[~b] * exp(s(x[b])) + t(x[b])
  log|det J| = sum(s(x[b]))        (over the transformed units only)
  ```

  and the inverse is `x[~b] = (y[~b] - t(y[b])) * exp(-s(y[b]))`. The
  network giving `(t, s)` is evaluated once per call; the log-det is cached
  with the output, never derived from a Jacobian of `s` or `t`.

  Masks:

  * `'checkerboard'` (images, event `(H, W, C)`): `b[i, j] = 1` where
    `i + j + parity` is even. The network sees `b * x` and its outputs are
    multiplied by `1 - b`.
  * `'channel'` (images or vectors): the last axis is split in halves; parity
    0 conditions on the first half and transforms the second, parity 1 the
    reverse. The network sees only the conditioning half.

  The default network is `networks.ResNet` (images) or
  `networks.DenseResNet` (vectors): weight-normalized layers, residual
  blocks, batch normalization and ReLUs, `s = scale * tanh(h)` with a learned
  `scale`, and a zero-initialised last layer so a new coupling is the
  identity. A custom `shift_and_log_scale_fn(x_conditioning, output_channels)`
  must return `(shift, log_scale)` shaped like the transformed units
  (`log_scale` may be `None` for a volume-preserving shift); it always
  receives a tensor with exactly one batch dimension. If it is a
  `tf.Module` (e.g. a Keras layer), its variables are tracked.

  With `num_classes`, the coupling is class-conditional (paper App. F): the
  default network adds a learned embedding of the label to its features, and
  `forward`/`inverse` take `conditional_input=labels` (a
  `ConditionalChain` passes it down a whole model). With `context_shape`,
  it is conditioned on a float context instead, `conditional_input=context`
  (e.g. a VAE encoder's output or attributes): a vector `(K,)` per example,
  or for image couplings an image `(H_c, W_c, C_c)` whose height and width
  are multiples of the coupling's (the network average-pools it to its own
  size). The context enters the network only, so the inverse and log-det
  stay exact whatever it is; gradients reach whatever computed it.

  Batch normalization inside the default network follows the training flag
  (see `tfp_realnvp.bijectors.resolve_training`): an explicit
  `training=` keyword to `forward`/`inverse`, else `training_mode(...)`,
  else evaluation.

  #### Examples

  ```python
  import tensorflow as tf
  import tensorflow_probability as tfp
  from tfp_realnvp import bijectors as rnvp_bijectors

  coupling = rnvp_bijectors.MaskedAffineCoupling(
      event_shape=[8, 8, 3], mask_type='checkerboard', parity=0,
      num_res_blocks=2, num_filters=16)
  dist = tfp.distributions.TransformedDistribution(
      tfp.distributions.Sample(tfp.distributions.Normal(0., 1.), [8, 8, 3]),
      coupling)
  log_prob = dist.log_prob(tf.random.normal([4, 8, 8, 3]))  # shape [4]
  ```

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _International Conference on Learning
       Representations_, 2017. https://arxiv.org/abs/1605.08803
  """

  _uses_training = True

  def __init__(self,
               event_shape,
               mask_type='checkerboard',
               parity=0,
               shift_and_log_scale_fn=None,
               num_res_blocks=4,
               num_filters=32,
               num_classes=None,
               bn_momentum=0.99,
               context_shape=None,
               dtype=tf.float32,
               compute_dtype=None,
               validate_args=False,
               name=None):
    """Builds the coupling and, unless one is given, its default network.

    Args:
      event_shape: `[H, W, C]` for images (`H`, `W` may be `None`: the
        default network is fully convolutional) or `[D]` for vectors.
      mask_type: `'checkerboard'` (images only) or `'channel'`.
      parity: 0 or 1, which units condition (see the class docstring).
      shift_and_log_scale_fn: optional callable replacing the default
        network, `fn(x_conditioning, output_channels) -> (shift, log_scale)`.
      num_res_blocks: residual blocks of the default network.
      num_filters: width of the default network.
      num_classes: `None`, or the number of classes of a class-conditional
        coupling (paper App. F): the default network adds a learned label
        embedding, and every call needs `conditional_input=labels`, integer
        labels in `[0, num_classes)` broadcastable to the batch shape.
      bn_momentum: momentum of the default network's batch-norm moving
        averages (zero-debiased, see `tfp_realnvp.batch_statistics`).
      context_shape: `None`, or the shape of a float context per example,
        `(K,)` or (image couplings) `(H_c, W_c, C_c)`: every call then needs
        `conditional_input=context`, shaped `batch_shape + context_shape`
        (or broadcastable to it). Not with `num_classes`.
      dtype: float dtype of the default network's weights (and so of the
        inputs it accepts).
      compute_dtype: `None`, `'bfloat16'` or `'float16'`: the default
        network's hidden layers compute in this dtype with `dtype` variables
        (Keras mixed precision); its weight normalization, residual sum and
        output head stay in `dtype` (`networks.FLOAT32_PARTS`), so the
        coupling stays exactly invertible in `dtype`.
      validate_args: Python `bool`; checks shapes at run time when `True`.
      name: name of the bijector.

    Raises:
      ValueError: for an event shape of rank other than 1 or 3, an unknown
        mask type or parity, a checkerboard mask on vectors, a channel mask
        over an odd number of channels, `num_classes` or `context_shape`
        with a custom network, or both of them.
    """
    parameters = dict(locals())
    event_shape = tf.TensorShape(event_shape)
    if event_shape.rank not in (1, 3):
      raise ValueError(
          '`event_shape` must be [H, W, C] (images) or [D] (vectors), got '
          f'{event_shape}.')
    channels = event_shape[-1]
    if channels is None:
      raise ValueError(
          f'The last axis of `event_shape` must be known, got {event_shape}.')
    if mask_type not in _MASK_TYPES:
      raise ValueError(
          f'`mask_type` must be one of {_MASK_TYPES}, got {mask_type!r}.')
    if parity not in (0, 1):
      raise ValueError(f'`parity` must be 0 or 1, got {parity!r}.')
    if mask_type == 'checkerboard' and event_shape.rank != 3:
      raise ValueError(
          'A checkerboard mask needs an image event shape [H, W, C], got '
          f'{event_shape}; use mask_type="channel" for vectors.')
    if mask_type == 'channel' and channels % 2:
      raise ValueError(
          'A channel mask needs an even number of channels (the last axis), '
          f'got {channels} in event_shape {event_shape}.')
    dtype = tf.as_dtype(dtype)
    if not dtype.is_floating:
      raise TypeError(f'`dtype` must be a float dtype, got {dtype.name}.')
    if compute_dtype is None:
      network_dtype = dtype
    elif compute_dtype in ('bfloat16', 'float16') and dtype == tf.float32:
      network_dtype = tf_keras.mixed_precision.Policy(f'mixed_{compute_dtype}')
    else:
      raise ValueError(
          '`compute_dtype` must be None, "bfloat16" or "float16" (with '
          f'float32 `dtype`), got {compute_dtype!r} with {dtype.name}.')

    with tf.name_scope(name or f'masked_affine_coupling_{mask_type}') as name:
      self._event_shape = event_shape
      self._mask_type = mask_type
      self._parity = parity
      self._network_dtype = dtype
      if mask_type == 'checkerboard':
        conditioning_channels = transformed_channels = channels
      else:
        conditioning_channels = transformed_channels = channels // 2
      self._transformed_channels = transformed_channels
      self._uses_default_network = shift_and_log_scale_fn is None
      if (num_classes is not None or context_shape is not None) and (
          not self._uses_default_network):
        raise ValueError('`num_classes` and `context_shape` configure the '
                         'default network; a custom `shift_and_log_scale_fn` '
                         'cannot take them.')
      self._condition = condition_lib.ConditionSpec(
          num_classes, context_shape,
          context_ranks=(1, 3) if event_shape.rank == 3 else (1,))
      num_classes = self._condition.num_classes
      context_shape = self._condition.context_shape
      if shift_and_log_scale_fn is None:
        network_cls = (networks.ResNet if event_shape.rank == 3
                       else networks.DenseResNet)
        shift_and_log_scale_fn = network_cls(
            output_channels=transformed_channels,
            num_res_blocks=num_res_blocks, num_filters=num_filters,
            num_classes=num_classes, bn_momentum=bn_momentum,
            context_shape=context_shape, dtype=network_dtype,
            name='shift_and_log_scale')
        shift_and_log_scale_fn.build(
            [None] + event_shape[:-1].as_list() + [conditioning_channels])
      elif not callable(shift_and_log_scale_fn):
        raise TypeError('`shift_and_log_scale_fn` must be callable, got '
                        f'{shift_and_log_scale_fn!r}.')
      self._shift_and_log_scale_fn = shift_and_log_scale_fn
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
  def mask_type(self):
    return self._mask_type

  @property
  def parity(self):
    return self._parity

  @property
  def shift_and_log_scale_fn(self):
    return self._shift_and_log_scale_fn

  @property
  def num_classes(self):
    return self._condition.num_classes

  @property
  def context_shape(self):
    """`None`, or the `tf.TensorShape` of the float context per example."""
    shape = self._condition.context_shape
    return None if shape is None else tf.TensorShape(shape)

  @property
  def takes_conditional_input(self):
    """Whether calls take `conditional_input=` labels or a context."""
    return self._condition.kind is not None

  def _flat_condition(self, conditional_input, batch_shape, dtype):
    """The condition per flattened example: a flow checked it (`given`)."""
    if self.validate_args or conditional_input is None:
      # Direct users of the coupling: the owner's one check.
      conditional_input = self._condition.check(
          **self._condition.keywords(conditional_input), name=self.name,
          dtype=dtype, keyword='conditional_input')
    return self._condition.flatten(conditional_input, batch_shape, dtype,
                                   name=self.name)

  def _shift_and_log_scale(self, conditioning, training, conditional_input):
    """Runs the network once, flattening batch dims to the single one it wants."""
    event_rank = self._event_shape.rank
    batch_shape = tf.shape(conditioning)[:-event_rank]
    flat = tf.reshape(
        conditioning,
        tf.concat([[-1], tf.shape(conditioning)[-event_rank:]], axis=0))
    kind = self._condition.kind
    if kind is not None:
      shift, log_scale = self._shift_and_log_scale_fn(
          flat, training=training, **{kind: self._flat_condition(
              conditional_input, batch_shape, conditioning.dtype)})
    elif conditional_input is not None:
      raise ValueError(f'{self.name} takes no `conditional_input` (it has '
                       'neither `num_classes` nor `context_shape`).')
    elif self._uses_default_network:
      shift, log_scale = self._shift_and_log_scale_fn(flat, training=training)
    else:
      shift, log_scale = self._shift_and_log_scale_fn(
          flat, self._transformed_channels)

    def unflatten(t):
      # The cast undoes a mixed-precision network's compute dtype.
      t = tf.cast(t, conditioning.dtype)
      return tf.reshape(t, tf.concat([batch_shape, tf.shape(t)[1:]], axis=0))

    shift = unflatten(shift)
    log_scale = None if log_scale is None else unflatten(log_scale)
    return shift, log_scale

  def _split_channels(self, x):
    first, second = tf.split(x, 2, axis=-1)
    return (first, second) if self._parity == 0 else (second, first)

  def _join_channels(self, conditioning, transformed):
    parts = ([conditioning, transformed] if self._parity == 0
             else [transformed, conditioning])
    return tf.concat(parts, axis=-1)

  def _sum_event(self, log_scale, like):
    if log_scale is None:
      return tf.zeros(tf.shape(like)[:-self._event_shape.rank], like.dtype)
    return tf.reduce_sum(
        log_scale, axis=list(range(-self._event_shape.rank, 0)))

  def _coupling(self, x, direction, training, conditional_input):
    """Applies the coupling; `direction` is +1 (forward) or -1 (inverse)."""
    expected_dtype = (self._network_dtype if self._uses_default_network
                      else None)
    with tf.control_dependencies(one_pass_bijector.check_event(
        self, x, self._event_shape, expected_dtype)):
      x = tf.identity(x)
    if self._mask_type == 'checkerboard':
      shape = tf.shape(x)
      mask = checkerboard_mask(shape[-3], shape[-2], self._parity, x.dtype)
      shift, log_scale = self._shift_and_log_scale(x * mask, training,
                                                   conditional_input)
      shift = shift * (1. - mask)
      if log_scale is not None:
        log_scale = log_scale * (1. - mask)
      transformed = x
    else:
      conditioning, transformed = self._split_channels(x)
      shift, log_scale = self._shift_and_log_scale(conditioning, training,
                                                   conditional_input)
    if direction > 0:
      if log_scale is not None:
        transformed = transformed * tf.exp(log_scale)
      transformed = transformed + shift
    else:
      transformed = transformed - shift
      if log_scale is not None:
        transformed = transformed * tf.exp(-log_scale)
    if self._mask_type == 'checkerboard':
      y = transformed
    else:
      y = self._join_channels(conditioning, transformed)
    return y, self._sum_event(log_scale, x)

  # Both directions return the inverse log-det, -sum(s), for the cache.
  def _augmented_forward(self, x, training=False, conditional_input=None):
    y, sum_log_scale = self._coupling(x, +1, training, conditional_input)
    return y, -sum_log_scale

  def _augmented_inverse(self, y, training=False, conditional_input=None):
    x, sum_log_scale = self._coupling(y, -1, training, conditional_input)
    return x, -sum_log_scale
