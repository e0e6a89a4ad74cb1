"""`Dequantizer`: the contract of every noise that draws pixels into their cubes."""

import abc

import tensorflow as tf

__all__ = ['Dequantizer', 'into_cube']


class Dequantizer(abc.ABC):
  """The noise `q(u | x)` that draws integer pixels `x` into `x + [0, 1)^D`.

  A pixel flow is a density `p` over dequantized values; its discrete model
  gives an integer image `P(x) = E_{u ~ q(. | x)} [p(x + u) / q(u | x)]`, so
  every training objective and estimate of `P(x)` in this package asks its
  dequantizer for draws and their log-density.

  #### Subclass requirements

  * `__call__(pixels, dtype, seed=None, training=False, first_example=0)
    -> (values, log_q)`: `pixels` an integer tensor `[batch] + event_shape`;
    `values = x + u` in `dtype`, every unit in `[x, x + 1)` (never `x + 1`
    itself: see `into_cube`); `log_q` of shape `[batch]`, the log-density of
    that `u`. `seed` is `None` (stateful noise) or a shape-[2] integer seed;
    with a seed, example `i` of the batch is the data's example
    `first_example + i`, and its draw depends on the seed and that position
    only (draw the base noise with `noise.uniform`), so a figure does not
    depend on how the data are batched. `training` is the batch-norm mode
    of a learned `q` (`True` in a training step).
  * `log_prob(noise, pixels, training=False) -> [batch]`: `log q(u | x)` of
    given noise `u` in `[0, 1)^D`.
  * `is_learned`: `True` when it has weights that train with the flow. A
    learned `q` must be the flow's own (built by the flow, so that it is
    saved, loaded and exported with it).

  `UniformDequantizer` (the paper's) and `VariationalDequantizer` (Flow++'s
  learned `q`) are the two this package ships; a user's own subclass works
  wherever they do (`FlowModel(dequantizer=...)`, the `K`-draw estimates).
  """

  is_learned = False

  @abc.abstractmethod
  def __call__(self, pixels, dtype, seed=None, training=False,
               first_example=0):
    """`(x + u, log q(u | x))` for integer `pixels`, `u ~ q(. | x)`."""

  @abc.abstractmethod
  def log_prob(self, noise, pixels, training=False):
    """`log q(u | x)` of `noise` `u` in `[0, 1)^D`, shape `[batch]`."""


def into_cube(pixels, noise):
  """`x + u`, rounded down where the dtype would round it up to `x + 1`.

  255 + u rounds to 256 in float32 for u within 2**-17 of 1: outside the
  pixel's cube (and a pixel flow's support). Every dequantizer ends here.
  """
  return tf.minimum(pixels + noise, tf.math.nextafter(pixels + 1., pixels))
