"""Mean bits/dim of a flow over a dataset, in evaluation mode."""

import numpy as np
import tensorflow as tf

from tfp_realnvp import flows
from tfp_realnvp.training import batches

__all__ = ['BitsPerDimEvaluator', 'evaluate_bits_per_dim']


class BitsPerDimEvaluator:
  """Mean bits/dim of a flow over datasets, with one traced function.

  `evaluate_bits_per_dim` for repeated use (validation every N steps): the
  function is traced once per input signature, not once per call.
  """

  def __init__(self, flow):
    self._flow = flow

    @tf.function(autograph=False)
    def bits_per_dim(values, condition):
      return flow.bits_per_dim(values,
                               **flows.condition_kwargs(flow, condition))

    self._bits_per_dim = bits_per_dim

  def __call__(self, dataset):
    total, count = 0., 0
    for data in dataset:
      values = self._bits_per_dim(*batches.split_batch(data, self._flow)).numpy()
      total += float(np.sum(values))
      count += len(values)
    if not count:
      raise ValueError('The evaluation dataset is empty.')
    return total / count


def evaluate_bits_per_dim(flow, dataset):
  """Mean bits/dim of `flow` in evaluation mode over a batched dataset.

  Args:
    flow: anything with the flows' `bits_per_dim`: a `tfp_realnvp` model,
      or a flow from `tfp_realnvp.app.loading.load_flow`.
    dataset: a `tf.data.Dataset` (or iterable) of values or `(values,
      labels or context)` batches; a conditioned flow needs them.

  Returns:
    A Python float, the mean over every example.

  Raises:
    ValueError: for an empty dataset or missing labels.
  """
  return BitsPerDimEvaluator(flow)(dataset)
