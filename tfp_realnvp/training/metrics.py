"""The figures a training or evaluation step reports, over the global batch.

Sums and counts kept in variables, not Keras metrics: the training step
runs without Keras (a plain `tf.function` loop), and its figures are state
of a run, not of the model, so they are neither checkpointed nor saved in
`.keras` files. Every increment is summed across replicas when it is added,
so each replica holds the global figures and reads them without a merge.
"""

import tensorflow as tf

__all__ = ['StepMetrics']

_SUMS = ('examples', 'nll', 'loss', 'skipped', 'discrete_examples',
         'discrete_bits', 'discrete_square')


def _accumulator(name):
  # One copy per replica (every replica adds the same all-reduced amount);
  # read as the mean of equal copies.
  return tf.Variable(0., trainable=False, name=name,
                     synchronization=tf.VariableSynchronization.ON_READ,
                     aggregation=tf.VariableAggregation.MEAN)


class StepMetrics:
  """Running sums of a step's figures, read as `loss`, `bits_per_dim`, ...

  Made under the strategy's scope (with the model). A plain Python object:
  a `tf.train.Checkpoint` or `.keras` file holding the model does not see
  its variables.
  """

  def __init__(self, num_dims):
    self._num_dims = num_dims
    with tf.name_scope('step_metrics'):
      self._sums = {name: _accumulator(name) for name in _SUMS}

  def add(self, **increments):
    """Adds this replica's increments, summed across replicas."""
    names = sorted(increments)
    values = [tf.cast(increments[name], tf.float32) for name in names]
    context = tf.distribute.get_replica_context()
    if context is not None:
      values = context.all_reduce(tf.distribute.ReduceOp.SUM, values)
    return [self._sums[name].assign_add(value)
            for name, value in zip(names, values)]

  def reset(self):
    for variable in self._sums.values():
      variable.assign(tf.zeros_like(variable))

  def _read(self, name):
    return tf.convert_to_tensor(self._sums[name])

  def results(self, skipped=False, discrete=False):
    """The figures: means over the examples seen since the last `reset`.

    Args:
      skipped: also `skipped_batches`, the count of skipped steps.
      discrete: also `discrete_bits_per_dim` (the `K`-draw estimate) and its
        standard error over the examples.
    """
    examples = self._read('examples')
    nll = tf.math.divide_no_nan(self._read('nll'), examples)
    results = {
        'loss': tf.math.divide_no_nan(self._read('loss'), examples),
        'bits_per_dim': nll / (self._num_dims * tf.math.log(2.)),
    }
    if skipped:
      results['skipped_batches'] = self._read('skipped')
    if discrete:
      count = self._read('discrete_examples')
      mean = tf.math.divide_no_nan(self._read('discrete_bits'), count)
      square = tf.math.divide_no_nan(self._read('discrete_square'), count)
      variance = tf.maximum(square - tf.square(mean), 0.) * count / (
          tf.maximum(count - 1., 1.))
      results['discrete_bits_per_dim'] = mean
      results['discrete_bits_per_dim_standard_error'] = tf.sqrt(
          variance / tf.maximum(count, 1.))
    return results
