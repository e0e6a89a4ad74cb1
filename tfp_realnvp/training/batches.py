"""A batch's values and condition, and a flow's log-prob in a given mode."""

from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp import flows

__all__ = ['log_prob_in_mode', 'split_batch', 'without_sample_weights']


def split_batch(data, distribution):
  """`(values, condition)` of a batch of values or `(values, condition[, ...])`.

  The condition is the labels of a class-conditional distribution or the
  context of one built with a `context_shape` (which then require it), and
  `None` (ignored) for any other.
  """
  values, condition = data, None
  if isinstance(data, (tuple, list)):
    values = data[0]
    condition = data[1] if len(data) > 1 else None
  kind = flows.condition_name(distribution)
  if kind is None:
    return values, None
  if condition is None:
    raise ValueError(f'{distribution.name} is conditioned on {kind}: the '
                     f'dataset must yield (values, {kind}) pairs.')
  return values, condition


def log_prob_in_mode(distribution, values, condition, training):
  """`distribution.log_prob(values)` with batch norm in the given mode.

  A `tfp_realnvp` flow takes the mode as an explicit keyword, routed to every
  stateful link and so part of each cached result's key; `condition` (from
  `split_batch`) goes to it as its labels or context. Any other
  distribution (a `tfd.Mixture` of flows, a `tfd.TransformedDistribution`
  around a plain `tfb.Chain`) cannot route the mode; it runs inside
  `training_mode(training)`, which its stateful bijectors read instead.
  """
  if isinstance(distribution, flows.Flow):
    return distribution.log_prob(
        values, training=training,
        **flows.condition_kwargs(distribution, condition))
  with rnvp_bijectors.training_mode(training):
    return distribution.log_prob(values)


def without_sample_weights(data):
  """`(values,)` or `(values, condition)` of a Keras batch.

  A third element would be Keras' sample weights, which a likelihood does
  not use.
  """
  if isinstance(data, (tuple, list)):
    return tuple(data[:2]) if len(data) > 1 else data[0]
  return data
