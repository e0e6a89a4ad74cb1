"""The discrete likelihood of integer pixels, from `K` draws of a `q(u | x)`.

A flow such as `tfp_realnvp.RealNVP` is a density `p` over dequantized pixels
in [0, 256). The discrete model it defines gives an integer image `x` the
probability of its unit cube,

  P(x) = integral over [0, 1)^D of p(x + u) du
       = E_{u ~ q(u | x)} [p(x + u) / q(u | x)]

for any density `q` on the cube. One draw of `u` (the training objective,
Theis et al. 2016) gives `log p(x + u) - log q(u | x)`, whose expectation
lies below `log P(x)` (Jensen); the mean over `K` draws inside the log,

  log P_K(x) = log (1/K) sum_k p(x + u_k) / q(u_k | x),    u_k ~ q(. | x),

is the importance-weighted estimate (Burda et al. 2016; Flow++, Ho et al.
2019, report its figures so): its expectation rises with `K` towards
`log P(x)`. With the uniform `q` (`UniformDequantizer`, `log q = 0`) this is
the paper's noise, averaged `K` times.
"""

import numpy as np
import tensorflow as tf

from tfp_realnvp.dequantization import noise
from tfp_realnvp.dequantization import pixels as pixels_lib
from tfp_realnvp.dequantization import uniform

__all__ = ['importance_weighted_log_prob', 'log_mean_exp', 'log_weights',
           'standard_error']


def log_weights(log_prob_fn, pixels, samples, dequantizer=None, seed=None,
                dtype=tf.float32, training=False, first_example=0):
  """`log p(x + u_k) - log q(u_k | x)` for `K` draws `u_k ~ q(. | x)`.

  Args:
    log_prob_fn: `values -> [batch]` log-density of the continuous flow (in
      the mode and with the condition the caller wants).
    pixels: integer `[batch] + event_shape`.
    samples: `K >= 1`, a Python int or a scalar integer tensor.
    dequantizer: a `tfp_realnvp.Dequantizer`; default uniform noise.
    seed: `None` or a shape-[2] integer seed; draw `k` uses
      `noise.draw_seed(seed, k)`.
    dtype: the flow's float dtype.
    training: the dequantizer's batch-norm mode.
    first_example: the position of `pixels[0]` in the data: with a seed,
      an example's draws depend on the seed and its position only.

  Returns:
    `[K, batch]` log-weights; one traced loop body, so `K` costs time, not
    graph size, and memory of one draw.
  """
  if isinstance(samples, tf.Tensor):
    with tf.control_dependencies([tf.debugging.assert_positive(
        samples, message='`samples` must be a positive integer.')]):
      draws = tf.range(tf.cast(samples, tf.int64))
  elif int(samples) < 1:
    raise ValueError(f'`samples` must be a positive integer, got {samples}.')
  else:
    draws = tf.range(int(samples), dtype=tf.int64)
  dequantizer = dequantizer or uniform.UniformDequantizer()

  def one_draw(k):
    draw_seed = None if seed is None else noise.draw_seed(seed, k)
    values, log_q = dequantizer(pixels, dtype, seed=draw_seed,
                                training=training,
                                first_example=first_example)
    return log_prob_fn(values) - log_q

  if not isinstance(samples, tf.Tensor) and int(samples) == 1:
    return one_draw(tf.zeros([], tf.int64))[tf.newaxis]
  return tf.map_fn(one_draw, draws, fn_output_signature=tf.as_dtype(dtype))


def log_mean_exp(log_weights_k):
  """`log (1/K) sum_k exp(w_k)` over the first axis: `[K, batch] -> [batch]`."""
  samples = tf.cast(tf.shape(log_weights_k)[0], log_weights_k.dtype)
  return tf.reduce_logsumexp(log_weights_k, axis=0) - tf.math.log(samples)


def importance_weighted_log_prob(flow, pixels, samples=16, dequantizer=None,
                                 seed=None, training=False, first_example=0,
                                 **condition):
  """`log P_K(x)`: the `K`-draw estimate of integer images' log-probability.

  Args:
    flow: a `tfp_realnvp` flow, a flow given its condition
      (`flow.given(labels=...)`) or a loaded one: anything with the flows'
      `log_prob` and `dequantizer`. Another distribution over dequantized
      pixels needs `dequantizer`.
    pixels: integer `[batch] + event_shape`, e.g. uint8 images.
    samples: `K`; 1 is the single-draw bound the flow trains on.
    dequantizer: the `q(u | x)` to draw from; default the flow's own
      (`flow.dequantizer`: a variational flow's learned `q`, else uniform).
    seed: `None` or a shape-[2] integer seed.
    training: batch norm's mode (default evaluation).
    first_example: the position of `pixels[0]` in the data (see
      `log_weights`).
    **condition: `labels=` or `context=` of a conditioned flow.

  Returns:
    `[batch]` estimates of `log P(x)` in nats; bits/dim is
    `-log P_K / (D ln 2)`.

  Raises:
    TypeError: for float pixels (already dequantized: the estimate draws
      its own noise), or a flow over continuous values (no dequantizer).
  """
  pixels_lib.require_pixels(pixels, 'importance_weighted_log_prob')
  if dequantizer is None:
    try:
      dequantizer = flow.dequantizer
    except AttributeError:
      raise TypeError(
          f'{flow.name} is not a tfp_realnvp flow, so it has no dequantizer: '
          'pass dequantizer=tfp_realnvp.UniformDequantizer() (or your own '
          'tfp_realnvp.Dequantizer).') from None
    if dequantizer is None:
      raise TypeError(f'{flow.name} is a density over continuous values; '
                      'integer pixels have no likelihood under it.')
  weights = log_weights(
      lambda values: flow.log_prob(values, training=training, **condition),
      pixels, samples, dequantizer, seed, flow.dtype, training, first_example)
  return log_mean_exp(weights)


def standard_error(values):
  """The standard error of the mean of a 1-D numpy array (0 for one value)."""
  values = np.asarray(values, np.float64)
  if len(values) < 2:
    return 0.
  return float(np.std(values, ddof=1) / np.sqrt(len(values)))
