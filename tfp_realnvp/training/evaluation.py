"""Mean bits/dim of a flow over a dataset, in evaluation mode.

`evaluate_bits_per_dim` scores dequantized values as they come;
`evaluate_discrete_bits_per_dim` scores integer pixels from `K` draws of
dequantization noise each (`tfp_realnvp.dequantization`).
"""

import collections

import numpy as np
import tensorflow as tf

from tfp_realnvp.dequantization import estimate
from tfp_realnvp.dequantization import noise
from tfp_realnvp.dequantization import pixels as pixels_lib
from tfp_realnvp.dequantization import units

__all__ = ['BitsPerDimEvaluator', 'DiscreteBitsPerDim',
           'evaluate_bits_per_dim', 'evaluate_discrete_bits_per_dim']


class BitsPerDimEvaluator:
  """Mean bits/dim of a flow over datasets, with one traced function.

  `evaluate_bits_per_dim` for repeated use (validation every N steps): the
  function is traced once per input signature, not once per call. Integer
  pixels are dequantized by the flow's own `q`, one draw each, an image's
  noise from `seed` and its position in the dataset (the first draw of
  `evaluate_discrete_bits_per_dim`, the same figure).
  """

  def __init__(self, flow, seed=0):
    self._flow = flow
    spec = flow.condition_spec
    seed_pair = noise.seed_pair(seed)

    @tf.function(autograph=False)
    def bits_per_dim(values, condition, first_example):
      kwargs = spec.keywords(condition)
      if not pixels_lib.is_integer(values):
        return flow.bits_per_dim(values, **kwargs)
      if flow.dequantizer is None:
        pixels_lib.require_values(values, flow.name, flow)
      weights = estimate.log_weights(
          lambda v: flow.log_prob(v, training=False, **kwargs), values, 1,
          flow.dequantizer, seed_pair, flow.dtype,
          first_example=first_example)
      return units.log_prob_to_bits_per_dim(weights[0], flow.num_dims)

    self._bits_per_dim = bits_per_dim

  def __call__(self, dataset):
    split = self._flow.condition_spec.split
    total, count = 0., 0
    for data in dataset:
      values, condition = split(data, self._flow.name)
      bits = self._bits_per_dim(values, condition,
                                tf.constant(count, tf.int64)).numpy()
      total += float(np.sum(bits))
      count += len(bits)
    if not count:
      raise ValueError('The evaluation dataset is empty.')
    return total / count


def evaluate_bits_per_dim(flow, dataset, seed=0):
  """Mean bits/dim of `flow` in evaluation mode over a batched dataset.

  Args:
    flow: anything with the flows' `bits_per_dim`: a `tfp_realnvp` model,
      or a flow from `tfp_realnvp.app.loading.load_flow`.
    dataset: a `tf.data.Dataset` (or iterable) of values or `(values,
      labels or context)` batches; a conditioned flow needs them. Integer
      pixels are dequantized by the flow's `q`, one draw each.
    seed: a Python int: an image's noise depends on it and the image's
      position only.

  Returns:
    A Python float, the mean over every example.

  Raises:
    ValueError: for an empty dataset or missing labels.
  """
  return BitsPerDimEvaluator(flow, seed)(dataset)


class DiscreteBitsPerDim(collections.namedtuple(
    'DiscreteBitsPerDim',
    ['bits_per_dim', 'standard_error', 'single_draw_bits_per_dim',
     'single_draw_standard_error', 'samples', 'num_examples'])):
  """Bits/dim of integer images from `samples` dequantization draws each.

  `bits_per_dim` is the `K`-draw estimate `-log P_K(x) / (D ln 2)`, averaged
  over the examples; `single_draw_bits_per_dim` the first draw's alone (the
  bound every single-draw figure reports, from the same noise). Standard
  errors are of the mean over examples.
  """

  def as_figures(self):
    """Report fields (`results.json`, `bin/evaluate.py`): one draw beside K."""
    return dict(
        bits_per_dim=self.single_draw_bits_per_dim,
        bits_per_dim_standard_error=self.single_draw_standard_error,
        discrete_bits_per_dim=self.bits_per_dim,
        discrete_bits_per_dim_standard_error=self.standard_error,
        dequantization_samples=self.samples)


def evaluate_discrete_bits_per_dim(flow, dataset, samples=16, seed=0,
                                   dequantizer=None):
  """Bits/dim of integer images, from `samples` dequantization draws each.

  The importance-weighted estimate of `tfp_realnvp.dequantization`: tighter
  than one draw, and it approaches the discrete model's own bits/dim as
  `samples` grows. Evaluation mode.

  Args:
    flow: a `tfp_realnvp` flow, or one from
      `tfp_realnvp.app.loading.load_flow`.
    dataset: batches of integer pixels, or `(pixels, labels or context)`;
      e.g. `tfp_realnvp.data.evaluation_dataset(..., dequantize=False)`.
    samples: `K >= 1` draws per image.
    seed: a Python int, the seed of the draws: an image's draws depend on
      it and the image's position in `dataset` only (`noise.seed_pair`).
    dequantizer: the `q(u | x)` to draw from; default the flow's own
      (`flow.dequantizer`) or uniform noise.

  Returns:
    A `DiscreteBitsPerDim`.

  Raises:
    TypeError: for a dataset of float (already dequantized) values.
    ValueError: for an empty dataset or `samples < 1`.
  """
  if int(samples) < 1:
    raise ValueError(f'`samples` must be a positive integer, got {samples}.')
  dequantizer = dequantizer or flow.dequantizer
  if dequantizer is None:
    raise TypeError(f'evaluate_discrete_bits_per_dim: {flow.name} is a '
                    'density over continuous values; integer pixels have no '
                    'likelihood under it.')
  spec = flow.condition_spec

  @tf.function(autograph=False)
  def log_weights(pixels, condition, first_example):
    kwargs = spec.keywords(condition)
    return estimate.log_weights(
        lambda values: flow.log_prob(values, training=False, **kwargs),
        pixels, samples, dequantizer, seed_pair, flow.dtype,
        first_example=first_example)

  seed_pair = noise.seed_pair(seed)
  k_draw, single_draw, first_example = [], [], 0
  for index, data in enumerate(dataset):
    pixels, condition = spec.split(data, flow.name)
    pixels_lib.require_pixels(pixels, 'evaluate_discrete_bits_per_dim')
    weights = log_weights(pixels, condition,
                          tf.constant(first_example, tf.int64)).numpy()
    first_example += weights.shape[1]
    weights = weights.astype(np.float64)
    if not np.all(np.isfinite(weights)):
      raise ValueError(
          f'evaluate_discrete_bits_per_dim: batch {index} has non-finite '
          'log-densities; are its pixels in the flow\'s range (e.g. '
          '[0, 255] for an image flow)?')
    k_draw.append(estimate.log_mean_exp(tf.constant(weights)).numpy())
    single_draw.append(weights[0])
  if not k_draw:
    raise ValueError('The evaluation dataset is empty.')
  to_bits = lambda log_p: units.log_prob_to_bits_per_dim(  # pylint: disable=g-long-lambda
      np.concatenate(log_p), flow.num_dims)
  k_bits, single_bits = to_bits(k_draw), to_bits(single_draw)
  return DiscreteBitsPerDim(
      bits_per_dim=float(np.mean(k_bits)),
      standard_error=estimate.standard_error(k_bits),
      single_draw_bits_per_dim=float(np.mean(single_bits)),
      single_draw_standard_error=estimate.standard_error(single_bits),
      samples=int(samples), num_examples=len(k_bits))
