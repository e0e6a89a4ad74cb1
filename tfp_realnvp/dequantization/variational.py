"""Variational dequantization (Flow++, Ho et al. 2019): a learned `q(u | x)`.

Uniform noise (`UniformDequantizer`) spends part
of the model's likelihood on filling each pixel's unit cube evenly. A
learned `q(u | x)` lets the noise follow the density instead: training
maximizes `E_q [log p(x + u) - log q(u | x)]`, a lower bound on
`log P(x)` that is tight when `q(u | x) = p(x + u) / P(x)`.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp.dequantization import base
from tfp_realnvp.dequantization import noise as noise_lib

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ['VariationalDequantizer']


class VariationalDequantizer(base.Dequantizer, tf.Module):
  """`q(u | x)` on the unit cube: a small Real NVP conditioned on the image.

  ```none
  eps ~ Logistic(0, 1)^(H, W, C)
  u   = sigmoid(f_K(... f_1(eps; x) ...; x))        in (0, 1)^(H, W, C)
  log q(u | x) = log Logistic(eps) - log|det du/deps|
  ```

  Each `f_k` is a checkerboard `MaskedAffineCoupling` (parities 0, 1, 0, 1,
  ...) whose networks see the image `x` (scaled to [-1, 1]) through their
  image context. The couplings start as the identity (zero-initialized
  output layers) and the sigmoid of a standard logistic is uniform, so an
  untrained `q` is exactly the paper's uniform noise: training can only
  move away from it where that pays.

  It keeps the `Dequantizer` contract: `(pixels, dtype, seed, training) ->
  (x + u, log q(u | x))`. `RealNVP(dequantization='variational')`
  builds and owns one (`flow.dequantizer`), so its variables train, save and
  export with the flow's.

  #### Examples

  ```python
  import tensorflow as tf
  import tfp_realnvp

  flow = tfp_realnvp.RealNVP.from_preset('digits',
                                         dequantization='variational')
  pixels = tf.random.uniform([4, 8, 8, 1], 0, 256, tf.int32)
  values, log_q = flow.dequantizer(pixels, flow.dtype)
  lower_bound = flow.log_prob(values) - log_q        # shape [4]
  ```

  #### References

  [1]: Jonathan Ho, Xi Chen, Aravind Srinivas, Yan Duan, Pieter Abbeel.
       Flow++: Improving Flow-Based Generative Models with Variational
       Dequantization and Architecture Design. In _International Conference
       on Machine Learning_, 2019. https://arxiv.org/abs/1902.00275
  """

  def __init__(self, image_shape, num_couplings=4, num_res_blocks=1,
               num_filters=16, bn_momentum=0.99, dtype=tf.float32,
               compute_dtype=None, name='variational_dequantizer'):
    """Builds `q(u | x)` and its variables.

    Args:
      image_shape: `(H, W, C)` of the images dequantized.
      num_couplings: Python `int` >= 1, couplings of the flow on the noise.
      num_res_blocks: residual blocks per coupling network.
      num_filters: width of the coupling networks.
      bn_momentum: momentum of the networks' batch-norm averages.
      dtype: float dtype of the weights and of the noise.
      compute_dtype: `None` or a mixed-precision compute dtype of the
        networks (see `MaskedAffineCoupling`).
      name: name of the module.

    Raises:
      ValueError: for a shape that is not `(H, W, C)` or fewer than one
        coupling.
    """
    super().__init__(name=name)
    image_shape = tuple(int(n) for n in image_shape)
    if len(image_shape) != 3:
      raise ValueError(f'`image_shape` must be (H, W, C), got {image_shape}.')
    if int(num_couplings) < 1:
      raise ValueError(
          f'`num_couplings` must be a positive int, got {num_couplings!r}.')
    self._image_shape = image_shape
    self._dtype = tf.as_dtype(dtype)
    with tf.name_scope(name):
      couplings = [
          rnvp_bijectors.MaskedAffineCoupling(
              image_shape, mask_type='checkerboard', parity=index % 2,
              num_res_blocks=num_res_blocks, num_filters=num_filters,
              bn_momentum=bn_momentum, context_shape=image_shape,
              dtype=self._dtype, compute_dtype=compute_dtype,
              name=f'noise_coupling_{index}')
          for index in range(int(num_couplings))]
      # A chain applies its last link first: couplings, then the sigmoid.
      self._bijector = rnvp_bijectors.ConditionalChain(
          [tfb.Sigmoid()] + couplings[::-1], name='noise_flow')
      self._base = tfd.Sample(
          tfd.Logistic(tf.zeros([], self._dtype), 1.), image_shape)

  # Its weights train with the flow's, which owns it.
  is_learned = True

  @property
  def image_shape(self):
    return self._image_shape

  @property
  def dtype(self):
    return self._dtype

  @property
  def bijector(self):
    """`eps -> u`: the couplings, then a sigmoid; `conditional_input` is the context."""
    return self._bijector

  @property
  def base(self):
    """The distribution of `eps`, a standard logistic per unit."""
    return self._base

  def context(self, pixels):
    """The networks' view of integer `pixels`: scaled to [-1, 1]."""
    return tf.cast(pixels, self._dtype) / 127.5 - 1.

  def _checked_dtype(self, dtype):
    if tf.as_dtype(dtype) != self._dtype:
      raise TypeError(f'{self.name} was built for {self._dtype.name}, '
                      f'asked for {tf.as_dtype(dtype).name} values.')

  def _logistic_noise(self, shape, seed, first_example):
    """Standard logistic draws, `log v - log(1 - v)`, `v ~ U(0, 1)`.

    Drawn here rather than by `base.sample`, so that each example's draw
    is its own (`noise.uniform`).
    """
    tiny = np.finfo(self._dtype.as_numpy_dtype).tiny
    uniform = noise_lib.uniform(shape, seed, self._dtype, minval=tiny,
                                first_example=first_example)
    return tf.math.log(uniform) - tf.math.log1p(-uniform)

  def __call__(self, pixels, dtype, seed=None, training=False,
               first_example=0):
    """`(x + u, log q(u | x))`, `u ~ q(. | x)`, for integer `pixels`.

    Args:
      pixels: integer `[batch] + image_shape`.
      dtype: the flow's float dtype (this dequantizer's own).
      seed: `None` (stateful noise) or a shape-[2] integer seed.
      training: batch norm's mode in the networks (`True` in a training
        step: batch statistics, moving averages updated).
      first_example: the position of `pixels[0]` in the data: with a seed,
        each example's noise depends on the seed and its position only.

    Returns:
      `(values, log_q)`: values in `[x, x + 1)` (rounded down where the
      dtype would round `x + u` up to `x + 1`), `log_q` of shape `[batch]`.
    """
    self._checked_dtype(dtype)
    pixels = tf.cast(pixels, self._dtype)
    eps = self._logistic_noise(tf.shape(pixels), seed, first_example)
    kwargs = dict(conditional_input=self.context(pixels), training=training)
    noise = self._bijector.forward(eps, **kwargs)
    # The one-pass couplings cached their log-dets with the forward pass.
    log_q = self._base.log_prob(eps) - self._bijector.forward_log_det_jacobian(
        eps, event_ndims=3, **kwargs)
    return base.into_cube(pixels, noise), log_q

  def log_prob(self, noise, pixels, training=False):
    """`log q(u | x)` of given `noise` `u` in (0, 1), by the inverse map."""
    kwargs = dict(conditional_input=self.context(pixels), training=training)
    # A fresh tensor: the inverse and its log-det are computed, not cached.
    noise = tf.identity(tf.convert_to_tensor(noise, self._dtype))
    eps = self._bijector.inverse(noise, **kwargs)
    return self._base.log_prob(eps) + self._bijector.inverse_log_det_jacobian(
        noise, event_ndims=3, **kwargs)

