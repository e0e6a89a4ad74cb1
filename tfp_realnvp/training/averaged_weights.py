"""The Polyak-averaged weights in use, with batch-norm statistics of their own.

A batch norm's moving statistics belong to the weights that produced them:
the averaged weights scored with the raw weights' statistics are another
model (on MNIST, 1.50 bits/dim against 1.30 once the averaged weights have
statistics of their own). So wherever the averaged weights are used, they
carry statistics recomputed with them in place on training batches, as
`torch.optim.swa_utils.update_bn` does for SWA: one forward pass in
training mode per batch, a few seconds an epoch (BENCHMARKS.md).
"""

import contextlib

import tensorflow as tf

from tfp_realnvp import batch_statistics
from tfp_realnvp import bijectors as rnvp_bijectors

__all__ = ['AveragedStatistics', 'AveragedWeights', 'StatisticsPass',
           'statistics_variables']


def statistics_variables(distribution):
  """Every batch norm's `(moving_mean, moving_variance, num_updates)`, flat."""
  return [variable for bn in rnvp_bijectors.batch_norms(distribution)
          for variable in (bn.moving_mean, bn.moving_variance, bn.num_updates)]


class StatisticsPass:
  """Sets every batch norm's statistics from a pass of training batches.

  Each batch runs through `objective` in training mode, where batch norm
  normalizes with the batch's own statistics; each moving mean and variance
  becomes the mean of its batch statistics over the pass and the update
  counts the number of batches (a fully debiased average). The traced pass
  is kept, so calling again costs no tracing.
  """

  def __init__(self, objective, norms):
    """`objective(data, training=True)`; `norms` the batch norms it runs."""
    self._norms = norms

    @tf.function(autograph=False)
    def batch_statistics_of(data):
      # With the count at zero, one debiased update stores the batch's own
      # statistics, which are then read back.
      for bn in norms:
        bn.num_updates.assign(tf.zeros_like(bn.num_updates))
      log_prob = objective(data, training=True)
      with tf.control_dependencies([log_prob]):
        return [(tf.identity(bn.moving_mean), tf.identity(bn.moving_variance))
                for bn in norms]

    self._batch_statistics_of = batch_statistics_of

  def __call__(self, dataset, num_batches=None):
    """Runs the pass; the number of batches used.

    A batch whose statistics are not finite (a bad batch that training
    skips) is left out and not counted.

    Raises:
      ValueError: if `dataset` yields no batch with finite statistics.
    """
    sums, count = None, 0
    for data in dataset:
      if num_batches is not None and count >= num_batches:
        break
      statistics = self._batch_statistics_of(data)
      if not all(bool(tf.reduce_all(tf.math.is_finite(value)))
                 for value in tf.nest.flatten(statistics)):
        continue
      sums = statistics if sums is None else tf.nest.map_structure(
          tf.add, sums, statistics)
      count += 1
    if not count:
      raise ValueError('`dataset` yielded no batch (with finite batch-norm '
                       'statistics).')
    for bn, (mean_sum, variance_sum) in zip(self._norms, sums):
      bn.moving_mean.assign(mean_sum / count)
      bn.moving_variance.assign(variance_sum / count)
      bn.num_updates.assign(tf.cast(count, bn.num_updates.dtype))
    return count


class AveragedStatistics(tf.Module):
  """The averaged weights' own batch-norm statistics, held beside the raw ones.

  `computed_at` is the number of averaging updates the statistics were
  computed at (-1: never), so a caller can tell whether they belong to the
  average as it is now.
  """

  def __init__(self, distribution, name='averaged_statistics'):
    super().__init__(name=name)
    self._targets = statistics_variables(distribution)
    with tf.name_scope(name):
      self.statistics = [
          batch_statistics.moving_variable(tf.zeros_like(variable),
                                           f'statistic_{i}')
          for i, variable in enumerate(self._targets)]
      self.computed_at = tf.Variable(
          -1., trainable=False, name='computed_at',
          synchronization=tf.VariableSynchronization.ON_WRITE,
          aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

  def has_statistics(self):
    """Whether statistics were ever computed (eager)."""
    return bool(self._targets) and float(self.computed_at.numpy()) >= 0.

  def is_current(self, updates):
    """Whether they were computed at `updates` averaging updates (eager)."""
    return self.has_statistics() and float(self.computed_at.numpy()) == float(
        updates.numpy())

  def store(self, updates):
    """Keeps the batch norms' present statistics as the average's own."""
    for own, target in zip(self.statistics, self._targets):
      own.assign(target)
    self.computed_at.assign(tf.cast(updates, tf.float32))

  def assign_to_batch_norms(self):
    """Sets the batch norms' statistics to these for good (loading)."""
    for own, target in zip(self.statistics, self._targets):
      target.assign(own)

  @contextlib.contextmanager
  def raw_statistics_kept(self):
    """Within the block the batch norms' statistics may change; restored on exit."""
    raw = [tf.identity(variable) for variable in self._targets]
    try:
      yield
    finally:
      for variable, value in zip(self._targets, raw):
        variable.assign(value)


class AveragedWeights:
  """Swaps a flow's Polyak-averaged weights in, with their own statistics.

  Holds the step's `PolyakAverage`, the `AveragedStatistics` and the
  training data the statistics are computed on.
  """

  def __init__(self, polyak, statistics, distribution, objective):
    self._polyak = polyak
    self._statistics = statistics
    self._weights = distribution.trainable_variables
    self._norms = rnvp_bijectors.batch_norms(distribution)
    self._objective = objective
    self._data = None
    self._pass = None

  def set_statistics_data(self, dataset, num_batches):
    """The training batches the averaged weights' statistics come from.

    Args:
      dataset: a `tf.data.Dataset` of training batches (as the training
        step takes them), or `None` to compute no statistics.
      num_batches: how many of its batches a computation reads; 0 for none.
    """
    self._data = (None if dataset is None or not num_batches
                  else (dataset, int(num_batches)))

  def recompute_statistics(self, dataset=None, num_batches=None):
    """Computes the averaged weights' batch-norm statistics; the batches read.

    The averaged weights are swapped in, every batch norm's statistics set
    from `num_batches` training batches in training mode, kept as the
    average's own, and the raw weights and statistics restored. Default:
    the data of `set_statistics_data`.

    Raises:
      ValueError: without data, or for a flow without batch norm.
    """
    if not self._norms:
      raise ValueError('The flow holds no tfp_realnvp batch norm.')
    if dataset is None:
      if self._data is None:
        raise ValueError('No training data to compute the averaged weights\' '
                         'statistics on: pass `dataset`.')
      dataset, default_batches = self._data
      num_batches = num_batches or default_batches
    if self._pass is None:
      self._pass = StatisticsPass(self._objective, self._norms)
    with self._polyak.swapped_in(self._weights), (
        self._statistics.raw_statistics_kept()):
      count = self._pass(dataset, num_batches)
      self._statistics.store(self._polyak.updates)
    return count

  def update_statistics(self):
    """Recomputes the statistics if the average moved since and data are set.

    Before a `.keras` file is written, so that it holds the statistics the
    live model would score the averaged weights with.
    """
    if self._polyak.has_average() and self._data is not None and (
        self._norms) and not self._statistics.is_current(self._polyak.updates):
      self.recompute_statistics()

  @contextlib.contextmanager
  def swapped_in(self, own_statistics=True):
    """Within the block the flow's weights are their Polyak averages.

    With `own_statistics` the batch norms hold the averaged weights' own
    statistics: recomputed first when they are older than the average and
    training data are set, else the last ones computed (a loaded
    checkpoint's); an average never given statistics keeps the raw ones.
    `own_statistics=False` keeps the raw weights' statistics. Weights and
    statistics come back on exit (also on an exception). Before the first
    update the weights stay as they are.
    """
    if not self._polyak.has_average():
      yield
      return
    if own_statistics:
      self.update_statistics()
    with self._polyak.swapped_in(self._weights):
      if own_statistics and self._statistics.has_statistics():
        with self._statistics.raw_statistics_kept():
          self._statistics.assign_to_batch_norms()
          yield
      else:
        yield

  def use_for_good(self, own_statistics=True):
    """Sets the weights (and statistics) to the average's; whether it did."""
    if not self._polyak.assign_to(self._weights):
      return False
    if own_statistics and self._statistics.has_statistics():
      self._statistics.assign_to_batch_norms()
    return True
