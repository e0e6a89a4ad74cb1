"""Real NVP's multi-scale image model (paper §3.6, §4.1) and its class-conditional form."""

import warnings

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp.dequantization import pixels as pixels_lib
from tfp_realnvp.dequantization import uniform
from tfp_realnvp.dequantization import units
from tfp_realnvp.dequantization import variational
from tfp_realnvp.flows import flow as flow_lib
from tfp_realnvp.flows.presets import default_num_scales
from tfp_realnvp.flows.presets import PRESETS

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ['ConditionalRealNVP', 'RealNVP']

class RealNVP(flow_lib.Flow):
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
               dequantization='uniform',
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
      dequantization: how integer pixels enter (`dequantizer`, used by
        `FlowModel` and the `K`-draw estimates): `'uniform'`, the paper's
        `x + u`, `u ~ U[0, 1)`; or `'variational'`, a learned `q(u | x)`
        (`VariationalDequantizer`: 4 image-conditioned couplings of one
        residual block, `num_filters` wide) trained with the flow on
        `log p(x + u) - log q(u | x)`. Float pixels are the flow's density
        either way.
      dtype: float dtype of the weights, latents and pixels.
      compute_dtype: `None` (float32), or `'bfloat16'`/`'float16'` for mixed
        precision in the coupling networks (see `MaskedAffineCoupling`;
        variables stay float32, so weights move between precisions).
        Measured (BENCHMARKS.md, a 2-core AVX512-BF16 CPU): on the MNIST
        preset bfloat16 trains 1.24-1.32x as many steps per minute at
        float32's bits/dim per step through 1,500 steps, and ends a
        60-minute budget lower (1.473 / 1.470 against 1.490 / 1.496
        bits/dim, two seeds); the paper's CIFAR-10 model trains 1.64x as
        fast, and at 100 steps
        four seeds put it 0.27 bits/dim ahead to 0.05 behind per step. Its
        reconstructions differ from the input by up to ~0.1 of a pixel
        level now and then (float32: ~1e-4).
      validate_args: Python `bool`; checks inputs (pixel range, shapes).
      name: name of the distribution.

    Raises:
      ValueError: for a shape that is not `(H, W, C)` or cannot be squeezed
        `num_scales - 1` times, a context shape that does not fit it, or an
        unknown `dequantization`.
    """
    parameters = dict(locals())
    if dequantization not in ('uniform', 'variational'):
      raise ValueError('`dequantization` must be \'uniform\' or '
                       f'\'variational\', got {dequantization!r}.')
    image_shape = tuple(int(n) for n in image_shape)
    if len(image_shape) != 3:
      raise ValueError(f'`image_shape` must be (H, W, C), got {image_shape}.')
    if context_shape is not None:
      # Its rank and kind are the couplings' to check; that it pools to
      # every scale is the model's.
      context_shape = tuple(int(n) for n in context_shape)
      if len(context_shape) == 3 and (context_shape[0] % image_shape[0] or
                                      context_shape[1] % image_shape[1]):
        raise ValueError(
            '`context_shape` must be (K,) or (H_c, W_c, C_c) with H_c, W_c '
            f'multiples of the image\'s {image_shape[:2]}, got '
            f'{context_shape}.')
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
      if dequantization == 'variational':
        self._dequantizer = variational.VariationalDequantizer(
            image_shape, num_filters=num_filters, bn_momentum=bn_momentum,
            dtype=self._dtype_arg, compute_dtype=compute_dtype)
      else:
        self._dequantizer = uniform.UniformDequantizer()
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

  @property
  def dequantization(self):
    """`'uniform'` or `'variational'`: the constructor's argument."""
    return self.parameters['dequantization']

  @property
  def dequantizer(self):
    """The `Dequantizer` of integer pixels (see `dequantization`)."""
    return self._dequantizer

  def get_config(self):
    config = super().get_config()
    # Absent unless variational, so configs from before it match.
    if config.get('dequantization') == 'uniform':
      del config['dequantization']
    return config

  def bits_per_dim(self, values, *, labels=None, context=None,
                   training=None):
    """`-log_prob(values) / (D ln 2)`; warns of pixels that look undequantized.

    Eager float values all in [0, 1] (`x / 255`) or all whole numbers
    (integer pixels cast to float) give figures that mean nothing.
    """
    if tf.executing_eagerly() and not pixels_lib.is_integer(values):
      problem = pixels_lib.suspicion(values)
      if problem is not None:
        warnings.warn(f'{self.name}.bits_per_dim: {problem}.', stacklevel=2)
    return super().bits_per_dim(values, labels=labels, context=context,
                                training=training)

  def sample_pixels(self, num_samples, temperature=1.0, seed=None, *,
                    labels=None, context=None):
    """`sample_values`: pixels in [0, 256), shape `(num_samples, H, W, C)`."""
    return self.sample_values(num_samples, temperature, seed, labels=labels,
                              context=context)

  def clip_values(self, outputs):
    """Pixels in [0, 256): the generative map's outputs clipped to the support."""
    return tf.clip_by_value(outputs, 0., units.below_top(outputs.dtype))

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

  def __init__(self, image_shape, num_classes,
               name='conditional_real_nvp', **kwargs):
    """Builds the model: `RealNVP(image_shape, num_classes=num_classes, ...)`.

    Args:
      image_shape: `(H, W, C)`.
      num_classes: Python `int` >= 1, the number of labels.
      name: name of the distribution.
      **kwargs: every other `RealNVP` argument but `context_shape`.

    Raises:
      ValueError: as `RealNVP`, e.g. for a `num_classes` that is not a
        positive int.
    """
    super().__init__(image_shape, num_classes=num_classes, name=name,
                     **kwargs)
