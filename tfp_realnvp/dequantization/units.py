"""The units of a pixel flow: 256 levels a pixel, bits per dimension.

A leaf module: flows, training, export and the binaries all import these, so
the formula and the constant have one home.
"""

import math

import numpy as np
import tensorflow as tf

__all__ = ['NUM_LEVELS', 'below_top', 'log_prob_to_bits_per_dim', 'to_uint8']

# The levels of an 8-bit pixel: integers 0..255, each dequantized into
# [x, x + 1), so the values of a pixel flow lie in [0, NUM_LEVELS).
NUM_LEVELS = 256


def log_prob_to_bits_per_dim(log_prob, num_dims):
  """`-log_prob / (D ln 2)`: the paper's bits/dim of a density over `D` units."""
  return -log_prob / (num_dims * math.log(2.))


def below_top(dtype):
  """The largest value below `NUM_LEVELS` in `dtype` (a NumPy scalar).

  Computed in the dtype itself: float64's would round back up to 256 in
  float32.
  """
  numpy_dtype = tf.as_dtype(dtype).as_numpy_dtype
  return np.nextafter(numpy_dtype(NUM_LEVELS), numpy_dtype(0.))


def to_uint8(pixels):
  """Dequantized pixel values in [0, 256) to `uint8` images (floor, clip)."""
  return tf.cast(tf.clip_by_value(tf.floor(pixels), 0., NUM_LEVELS - 1.),
                 tf.uint8)
