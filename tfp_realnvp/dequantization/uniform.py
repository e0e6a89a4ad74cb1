"""`UniformDequantizer`: the paper's `x + u`, `u ~ U[0, 1)^D` (§4.1)."""

import tensorflow as tf

from tfp_realnvp.dequantization import base
from tfp_realnvp.dequantization import noise as noise_lib

__all__ = ['UniformDequantizer', 'dequantize']


class UniformDequantizer(base.Dequantizer):
  """`x + u`, `u ~ U[0, 1)^D`: the paper's dequantization (§4.1), `log q = 0`.

  Stateless: it has no variables, so any model may hold one.

  #### Examples

  ```python
  import tensorflow as tf
  import tfp_realnvp

  pixels = tf.constant([[0, 255]], tf.uint8)
  values, log_q = tfp_realnvp.UniformDequantizer()(pixels, tf.float32,
                                                   seed=[1, 2])
  ```
  """

  def __call__(self, pixels, dtype, seed=None, training=False,
               first_example=0):
    """`(x + u, zeros [batch])` for integer `pixels`, in `dtype`.

    `training` is unused: uniform noise has no batch norm to set.
    """
    del training
    pixels = tf.cast(pixels, dtype)
    shape = tf.shape(pixels)
    noise = noise_lib.uniform(shape, seed, dtype, first_example=first_example)
    return base.into_cube(pixels, noise), tf.zeros(shape[:1], dtype)

  def log_prob(self, noise, pixels, training=False):
    """0 for every example: the uniform density on the unit cube."""
    del pixels, training
    return tf.zeros(tf.shape(noise)[:1], tf.convert_to_tensor(noise).dtype)


def dequantize(images, seed=None, dtype=tf.float32, first_example=0):
  """Integer pixels to values in [0, 256): one draw of uniform noise.

  Args:
    images: integer pixel values, `[batch] + event_shape`.
    seed: `None`, or a shape-[2] integer seed for stateless noise.
    dtype: the values' float dtype.
    first_example: the position of `images[0]` in the data (see
      `noise.uniform`).

  Returns:
    A tensor of `images`' shape in `dtype`, each unit in `[x, x + 1)`.
  """
  return UniformDequantizer()(images, dtype, seed=seed,
                              first_example=first_example)[0]
