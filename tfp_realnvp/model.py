"""The multi-scale Real NVP model as a TransformedDistribution (paper §3.6, §4.1)."""

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import compat
from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp.bijectors import masked_affine_coupling

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ['ConditionalRealNVP', 'FLOW_CLASSES', 'Flow', 'PRESETS', 'RealNVP',
           'VectorRealNVP', 'condition_kwargs', 'condition_name',
           'default_num_scales',
           'flow_config', 'flow_from_config', 'log_prob_to_bits_per_dim',
           'require_context', 'require_labels', 'to_uint8']

# Paper §4.1: CIFAR-10 uses 8 residual blocks, 64 feature maps and downscales
# once; the others 4 blocks (2 for LSUN) and 32 feature maps, recursing down to
# 4 x 4. The small presets are for CPU runs.
PRESETS = {
    'cifar10': dict(image_shape=(32, 32, 3), num_scales=2, num_res_blocks=8,
                    num_filters=64),
    'imagenet32': dict(image_shape=(32, 32, 3), num_scales=4,
                       num_res_blocks=4, num_filters=32),
    'imagenet64': dict(image_shape=(64, 64, 3), num_scales=5,
                       num_res_blocks=4, num_filters=32),
    'celeba': dict(image_shape=(64, 64, 3), num_scales=5, num_res_blocks=4,
                   num_filters=32),
    'lsun': dict(image_shape=(64, 64, 3), num_scales=5, num_res_blocks=2,
                 num_filters=32),
    'mnist': dict(image_shape=(28, 28, 1), num_scales=3, num_res_blocks=2,
                  num_filters=16),
    'digits': dict(image_shape=(8, 8, 1), num_scales=2, num_res_blocks=1,
                   num_filters=16),
}


def default_num_scales(image_shape):
  """Scales until the last one's input is 4 x 4 (or cannot be squeezed)."""
  height, width = image_shape[0], image_shape[1]
  num_scales = 1
  while height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= 4:
    height, width = height // 2, width // 2
    num_scales += 1
  return num_scales


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

  def _condition_kwargs(self, labels, context):
    """The bijector keywords for `labels` or `context`."""
    require_labels(labels, self.num_classes, self.name)
    require_context(context, self.context_shape, self.name)
    if labels is not None:
      return dict(conditional_input=masked_affine_coupling.checked_labels(
          labels, self.num_classes, self.name))
    if context is not None:
      return dict(conditional_input=context)
    return {}

  def _bijector_kwargs(self, kwargs, labels, context, training, name):
    if not isinstance(name, str):
      raise TypeError(f'{self.name}: `labels` and `context` are keyword-only '
                      f'(e.g. `log_prob(x, labels=y)`); got {name!r} as '
                      '`name`.')
    bijector_kwargs = dict(kwargs.get('bijector_kwargs', {}),
                           **self._condition_kwargs(labels, context))
    if training is not None:
      bijector_kwargs['training'] = training
    return dict(kwargs, bijector_kwargs=bijector_kwargs)

  def log_prob(self, value, name='log_prob', *, labels=None, context=None,
               training=None, **kwargs):
    """`log p(value)` (or `log p(value | labels or context)`), batch shape."""
    kwargs = self._bijector_kwargs(kwargs, labels, context, training, name)
    return super().log_prob(value, name=name, **kwargs)

  def prob(self, value, name='prob', *, labels=None, context=None,
           training=None, **kwargs):
    """`p(value)` (or `p(value | labels or context)`)."""
    kwargs = self._bijector_kwargs(kwargs, labels, context, training, name)
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
    if isinstance(seed, int):
      seed = tf.constant([seed, 0], tf.int32)
    latents = self.distribution.sample(num_samples, seed=seed)
    latents = latents * tf.cast(temperature, latents.dtype)
    return self._to_values(self.bijector.forward(
        latents, training=False, **self._condition_kwargs(labels, context)))

  def _to_values(self, outputs):
    return outputs

  def encode(self, values, *, labels=None, context=None):
    """Latents of `values`, `bijector.inverse` in evaluation mode."""
    return self.bijector.inverse(tf.identity(values), training=False,
                                 **self._condition_kwargs(labels, context))

  def decode(self, latents, *, labels=None, context=None):
    """Values of `latents`, `bijector.forward` in evaluation mode."""
    return self.bijector.forward(tf.identity(latents), training=False,
                                 **self._condition_kwargs(labels, context))


class RealNVP(Flow):
  """Real NVP's multi-scale model over dequantized pixels in [0, 256)^(H, W, C).

  A standard normal over `image_shape` pushed through the paper's chain. In
  the inference direction (`bijector.inverse`, images to latents):

  ```none
  logit preprocessing (§4.1)
  each scale but the last, on (h, w, c):
    3 checkerboard couplings, parities 0, 1, 0   (each followed by batch norm)
    squeeze to (h/2, w/2, 4c)
    3 channel couplings, parities 0, 1, 0         (each followed by batch norm)
    factor out the first 2c channels; the rest, (h/2, w/2, 2c), goes on
  last scale: 4 checkerboard couplings, parities 0, 1, 0, 1
  ```

  The latent has the image's shape; `split_latents` gives the per-scale parts.
  Coupling networks at scale `i` (from 0) have `num_filters * 2**i` filters,
  doubled again after the squeeze. `log_prob` is the exact log-density of
  dequantized pixels, so `bits_per_dim(x) = -log_prob(x) / (D ln 2)`.
  Batch norm follows the training mode (see
  `tfp_realnvp.bijectors.resolve_training`).

  #### Examples

  ```python
  import tensorflow as tf
  import tfp_realnvp

  dist = tfp_realnvp.RealNVP.from_preset('digits')
  pixels = tf.random.uniform([4, 8, 8, 1], 0., 256.)
  dist.bits_per_dim(pixels)                   # shape [4]
  samples = dist.sample_pixels(9, temperature=0.7, seed=1)
  images = tfp_realnvp.to_uint8(samples)      # uint8, shape [9, 8, 8, 1]
  ```

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _International Conference on Learning
       Representations_, 2017. https://arxiv.org/abs/1605.08803
  """

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    # Configuration only: no tensor parameters, and so a scalar batch shape.
    # Defined on each class with an __init__, as TFP expects.
    return dict()

  def __init__(self,
               image_shape,
               num_scales=None,
               num_res_blocks=4,
               num_filters=32,
               batch_norm=True,
               bn_momentum=0.99,
               logit_alpha=0.05,
               num_classes=None,
               context_shape=None,
               dtype=tf.float32,
               compute_dtype=None,
               validate_args=False,
               name='real_nvp'):
    """Builds the model and all its variables.

    Args:
      image_shape: `(H, W, C)`.
      num_scales: number of scales `L`; `None` recurses until the last
        scale's input is 4 x 4 (see `default_num_scales`).
      num_res_blocks: residual blocks per coupling network.
      num_filters: filters of the finest scale's coupling networks.
      batch_norm: Python `bool`, batch-norm bijectors after the couplings.
      bn_momentum: momentum of every batch norm's moving averages (the
        bijectors' and the coupling networks' layers'), zero-debiased.
      logit_alpha: `alpha` of the logit preprocessing.
      num_classes: `None`, or the number of classes of a class-conditional
        model; prefer `ConditionalRealNVP`, whose methods take the labels.
      context_shape: `None`, or the shape of a float context every coupling
        network is given (`context=` to the methods): a vector `(K,)`, or an
        image `(H_c, W_c, C_c)` with `H_c`, `W_c` multiples of `H`, `W`
        (each scale's networks average-pool it to their size).
      dtype: float dtype of the weights, latents and pixels.
      compute_dtype: `None`, or `'bfloat16'`/`'float16'` for mixed precision
        in the coupling networks (see `MaskedAffineCoupling`).
      validate_args: Python `bool`; checks inputs (pixel range, shapes).
      name: name of the distribution.

    Raises:
      ValueError: for a shape that is not `(H, W, C)` or cannot be squeezed
        `num_scales - 1` times, or a context shape that does not fit it.
    """
    parameters = dict(locals())
    image_shape = tuple(int(n) for n in image_shape)
    if len(image_shape) != 3:
      raise ValueError(f'`image_shape` must be (H, W, C), got {image_shape}.')
    if context_shape is not None:
      context_shape = tuple(int(n) for n in context_shape)
      if len(context_shape) not in (1, 3) or (
          len(context_shape) == 3 and
          (context_shape[0] % image_shape[0] or
           context_shape[1] % image_shape[1])):
        raise ValueError(
            '`context_shape` must be (K,) or (H_c, W_c, C_c) with H_c, W_c '
            f'multiples of the image\'s {image_shape[:2]}, got '
            f'{context_shape}.')
      if num_classes is not None:
        raise ValueError('Give `num_classes` (integer labels) or '
                         '`context_shape` (a float context), not both.')
    if num_scales is None:
      num_scales = default_num_scales(image_shape)
    if not isinstance(num_scales, int) or num_scales < 1:
      raise ValueError(f'`num_scales` must be an int >= 1, got {num_scales!r}.')
    height, width, _ = image_shape
    divisor = 2 ** (num_scales - 1)
    if height % divisor or width % divisor:
      raise ValueError(
          f'An image of shape {image_shape} cannot be squeezed '
          f'{num_scales - 1} times: height and width must be divisible by '
          f'{divisor}. Use fewer scales.')
    self._image_shape = image_shape
    self._num_scales = num_scales
    self._dtype_arg = tf.as_dtype(dtype)
    self._num_classes = num_classes
    self._context_shape = context_shape
    self._config = dict(num_res_blocks=num_res_blocks,
                        num_filters=num_filters, batch_norm=batch_norm,
                        bn_momentum=bn_momentum, compute_dtype=compute_dtype,
                        validate_args=validate_args)
    with tf.name_scope(name) as name:
      flow = rnvp_bijectors.ConditionalChain(
          [rnvp_bijectors.Logit(alpha=logit_alpha,
                                validate_args=validate_args)] +
          [self._scale(image_shape, 0)], name='real_nvp_flow')
      base = tfd.Sample(
          tfd.Normal(tf.zeros([], self._dtype_arg), 1.), image_shape)
      super().__init__(distribution=base, bijector=flow,
                       validate_args=validate_args, parameters=parameters,
                       name=name)

  @classmethod
  def from_preset(cls, preset, **overrides):
    """Builds a paper configuration from `PRESETS`, with overrides."""
    if preset not in PRESETS:
      raise ValueError(
          f'Unknown preset {preset!r}; choose one of {sorted(PRESETS)}.')
    return cls(**dict(PRESETS[preset], **overrides))

  def _coupling_block(self, shape, mask_type, parity, filters):
    """A coupling followed (in the inference direction) by batch norm."""
    config = self._config
    coupling = rnvp_bijectors.MaskedAffineCoupling(
        shape, mask_type=mask_type, parity=parity,
        num_res_blocks=config['num_res_blocks'], num_filters=filters,
        num_classes=self._num_classes, bn_momentum=config['bn_momentum'],
        context_shape=self._context_shape,
        dtype=self._dtype_arg, compute_dtype=config['compute_dtype'],
        validate_args=config['validate_args'])
    if not config['batch_norm']:
      return [coupling]
    return [coupling, rnvp_bijectors.BatchNormalization(
        shape, momentum=config['bn_momentum'], dtype=self._dtype_arg,
        validate_args=config['validate_args'])]

  def _scale(self, shape, index):
    """The bijector of scale `index` (from 0) and every coarser one."""
    height, width, channels = shape
    filters = self._config['num_filters'] * 2 ** index
    if index == self._num_scales - 1:
      return rnvp_bijectors.ConditionalChain(
          [b for parity in (0, 1, 0, 1)
           for b in self._coupling_block(shape, 'checkerboard', parity,
                                         filters)],
          name=f'scale_{index}')
    squeezed = (height // 2, width // 2, 4 * channels)
    bijectors = [b for parity in (0, 1, 0)
                 for b in self._coupling_block(shape, 'checkerboard', parity,
                                               filters)]
    bijectors.append(tfb.Invert(rnvp_bijectors.Squeeze()))
    bijectors += [b for parity in (0, 1, 0)
                  for b in self._coupling_block(squeezed, 'channel', parity,
                                                2 * filters)]
    coarser = self._scale((height // 2, width // 2, 2 * channels), index + 1)
    bijectors += [rnvp_bijectors.FactorOut(coarser), rnvp_bijectors.Squeeze()]
    return rnvp_bijectors.ConditionalChain(bijectors, name=f'scale_{index}')

  @property
  def image_shape(self):
    return self._image_shape

  @property
  def num_scales(self):
    return self._num_scales

  @property
  def num_classes(self):
    """`None` for an unconditional model, else the number of classes."""
    return self._num_classes

  @property
  def context_shape(self):
    return self._context_shape

  def sample_pixels(self, num_samples, temperature=1.0, seed=None, *,
                    labels=None, context=None):
    """`sample_values`: pixels in [0, 256), shape `(num_samples, H, W, C)`."""
    return self.sample_values(num_samples, temperature, seed, labels=labels,
                              context=context)

  def _to_values(self, pixels):
    # The largest value below 256 in the pixels' own dtype (in float64 it
    # would round back up to 256 in float32).
    numpy_dtype = pixels.dtype.as_numpy_dtype
    below_256 = np.nextafter(numpy_dtype(256.), numpy_dtype(0.))
    return tf.clip_by_value(pixels, 0., below_256)

  def split_latents(self, latents):
    """Per-scale parts `z(1)..z(L)` of latents from `bijector.inverse`."""
    return rnvp_bijectors.split_multiscale_latents(latents, self._num_scales)

  def join_latents(self, parts):
    """Inverse of `split_latents`."""
    return rnvp_bijectors.join_multiscale_latents(parts)


class ConditionalRealNVP(RealNVP):
  """A class-conditional Real NVP, `p(x | label)` (paper App. F).

  The architecture of `RealNVP`, with every coupling network taking a learned
  embedding of the label (see `MaskedAffineCoupling(num_classes=...)`); the
  prior stays a standard normal, so the label acts only through the
  couplings. Each density method takes the labels: integers in
  `[0, num_classes)`, a scalar (one class for all) or one per example.
  The bijector takes them as `conditional_input=labels`.

  #### Examples

  ```python
  import tensorflow as tf
  import tfp_realnvp

  dist = tfp_realnvp.ConditionalRealNVP.from_preset('digits', num_classes=10)
  pixels = tf.random.uniform([4, 8, 8, 1], 0., 256.)
  dist.log_prob(pixels, labels=[0, 1, 2, 3])          # shape [4]
  sevens = dist.sample_pixels(9, labels=7, seed=1)    # shape [9, 8, 8, 1]
  latents = dist.bijector.inverse(pixels, conditional_input=[0, 1, 2, 3])
  ```
  """

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    # Configuration only, as for RealNVP.
    return dict()

  def __init__(self,
               image_shape,
               num_classes,
               num_scales=None,
               num_res_blocks=4,
               num_filters=32,
               batch_norm=True,
               bn_momentum=0.99,
               logit_alpha=0.05,
               dtype=tf.float32,
               compute_dtype=None,
               validate_args=False,
               name='conditional_real_nvp'):
    """Builds the model; the arguments are `RealNVP`'s and `num_classes`.

    Args:
      image_shape: `(H, W, C)`.
      num_classes: Python `int` >= 1, the number of labels.
      num_scales: see `RealNVP`.
      num_res_blocks: see `RealNVP`.
      num_filters: see `RealNVP`.
      batch_norm: see `RealNVP`.
      bn_momentum: see `RealNVP`.
      logit_alpha: see `RealNVP`.
      dtype: see `RealNVP`.
      compute_dtype: see `RealNVP`.
      validate_args: see `RealNVP`.
      name: name of the distribution.

    Raises:
      ValueError: for a `num_classes` that is not a positive int, and as
        `RealNVP`.
    """
    if not isinstance(num_classes, int) or num_classes < 1:
      raise ValueError(
          f'`num_classes` must be a positive int, got {num_classes!r}.')
    super().__init__(
        image_shape, num_scales=num_scales, num_res_blocks=num_res_blocks,
        num_filters=num_filters, batch_norm=batch_norm,
        bn_momentum=bn_momentum, logit_alpha=logit_alpha,
        num_classes=num_classes, dtype=dtype, compute_dtype=compute_dtype,
        validate_args=validate_args, name=name)



class VectorRealNVP(Flow):
  """Real NVP on vectors (paper Fig. 1, tabular data).

  A standard normal over `(D,)` pushed through `num_couplings` couplings with
  alternating-half masks and dense ResNet networks, each followed (in the
  inference direction) by batch norm. There is no preprocessing: the event
  space is all of R^D.
  """

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    # Configuration only: no tensor parameters, and so a scalar batch shape.
    # Defined on each class with an __init__, as TFP expects.
    return dict()

  def __init__(self,
               event_size,
               num_couplings=8,
               num_res_blocks=2,
               num_hidden=64,
               batch_norm=True,
               bn_momentum=0.99,
               context_shape=None,
               dtype=tf.float32,
               compute_dtype=None,
               validate_args=False,
               name='vector_real_nvp'):
    """Builds the model.

    Args:
      event_size: `D`, an even number >= 2.
      num_couplings: number of coupling layers.
      num_res_blocks: residual blocks per network.
      num_hidden: width of the networks.
      batch_norm: Python `bool`, batch-norm bijectors after the couplings.
      bn_momentum: momentum of every batch norm's moving averages (the
        bijectors' and the coupling networks' layers'), zero-debiased.
      context_shape: `None`, or `(K,)`: every coupling network is given a
        float context vector (`context=` to the methods).
      dtype: float dtype.
      compute_dtype: `None`, or `'bfloat16'`/`'float16'` for mixed precision
        in the coupling networks.
      validate_args: Python `bool`.
      name: name of the distribution.

    Raises:
      ValueError: for an odd or too small `event_size` or no couplings.
    """
    parameters = dict(locals())
    if event_size < 2 or event_size % 2:
      raise ValueError(
          f'`event_size` must be an even number >= 2, got {event_size}.')
    if num_couplings < 1:
      raise ValueError(f'`num_couplings` must be >= 1, got {num_couplings}.')
    if context_shape is not None:
      context_shape = tuple(int(n) for n in context_shape)
      if len(context_shape) != 1:
        raise ValueError(
            f'`context_shape` must be (K,), got {context_shape}.')
    self._context_shape = context_shape
    dtype = tf.as_dtype(dtype)
    with tf.name_scope(name) as name:
      bijectors = []
      for i in range(num_couplings):
        bijectors.append(rnvp_bijectors.MaskedAffineCoupling(
            [event_size], mask_type='channel', parity=i % 2,
            num_res_blocks=num_res_blocks, num_filters=num_hidden,
            bn_momentum=bn_momentum, context_shape=context_shape,
            dtype=dtype, compute_dtype=compute_dtype,
            validate_args=validate_args))
        if batch_norm:
          bijectors.append(rnvp_bijectors.BatchNormalization(
              [event_size], momentum=bn_momentum, dtype=dtype,
              validate_args=validate_args))
      base = tfd.Sample(tfd.Normal(tf.zeros([], dtype), 1.), [event_size])
      super().__init__(distribution=base,
                       bijector=rnvp_bijectors.ConditionalChain(
                           bijectors, name='vector_flow'),
                       validate_args=validate_args, parameters=parameters,
                       name=name)

  @property
  def context_shape(self):
    return self._context_shape


# The flows `flow_from_config` rebuilds, by class name.
FLOW_CLASSES = {cls.__name__: cls
                for cls in (RealNVP, ConditionalRealNVP, VectorRealNVP)}


def flow_config(flow):
  """`{'class': <name>, **flow.get_config()}`: JSON that rebuilds `flow`."""
  return dict({'class': type(flow).__name__}, **flow.get_config())


def flow_from_config(config):
  """A new flow from `flow_config`'s output (a run's config.json `model`)."""
  config = dict(config)
  class_name = config.pop('class', None)
  if class_name not in FLOW_CLASSES:
    raise ValueError(f'Unknown flow class {class_name!r}; expected one of '
                     f'{sorted(FLOW_CLASSES)}.')
  return FLOW_CLASSES[class_name].from_config(config)
