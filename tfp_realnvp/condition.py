"""What a flow is conditioned on, checked and broadcast in one place.

A flow (and each coupling network in it) takes nothing, integer class labels
(`num_classes`, paper App. F) or a float context per example
(`context_shape`). `ConditionSpec` is the one owner of that condition:

```none
ConditionSpec(num_classes=None, context_shape=None)
  check(labels, context, name)   present exactly when taken, the dtype, the
                                 trailing shape, labels in [0, num_classes)
  batch_shape(condition)         labels' whole shape, a context's leading axes
  broadcast(values, condition)   both to their common batch shape
  flatten(condition, batch)      one condition per flattened example (networks)
  split(data)                    (values, condition) of a dataset element
```

Flows call `check` once per call (`Flow.given`, which the keyword form
`labels=`/`context=` is shorthand for) and `broadcast` once per density
call; the couplings below trust what they are handed and only `flatten` it
(under `validate_args=True` they check it too, for direct users).
"""

import numpy as np
import tensorflow as tf

__all__ = ['ConditionSpec']


def _static_shape(value):
  return tf.TensorShape(getattr(value, 'shape', np.shape(value)))


class ConditionSpec:
  """Nothing, class labels or a float context: what a flow is conditioned on.

  Raises at construction, naming the argument:
    ValueError: for both `num_classes` and `context_shape`, a `num_classes`
      that is not a positive int, or a `context_shape` with an unknown size
      or a rank outside `context_ranks`.
  """

  def __init__(self, num_classes=None, context_shape=None,
               context_ranks=(1, 3)):
    if num_classes is not None and context_shape is not None:
      raise ValueError('Give `num_classes` (integer labels) or '
                       '`context_shape` (a float context), not both.')
    if num_classes is not None and (
        isinstance(num_classes, bool) or
        not isinstance(num_classes, (int, np.integer)) or num_classes < 1):
      raise ValueError(
          f'`num_classes` must be a positive int, got {num_classes!r}.')
    if context_shape is not None:
      shape = tf.TensorShape(context_shape)
      if not shape.is_fully_defined() or shape.rank not in context_ranks:
        kinds = ' or '.join({1: '(K,)', 3: '(H_c, W_c, C_c)'}[r]
                            for r in context_ranks)
        raise ValueError(f'`context_shape` must be {kinds} with every size '
                         f'known, got {context_shape}.')
      context_shape = tuple(shape.as_list())
    self._num_classes = None if num_classes is None else int(num_classes)
    self._context_shape = context_shape

  @property
  def num_classes(self):
    return self._num_classes

  @property
  def context_shape(self):
    """`None`, or the context's shape per example as a tuple."""
    return self._context_shape

  @property
  def kind(self):
    """`'labels'`, `'context'` or `None`."""
    if self._num_classes is not None:
      return 'labels'
    if self._context_shape is not None:
      return 'context'
    return None

  @property
  def event_rank(self):
    """Axes of one example's condition: 0 for labels, a context's rank."""
    return len(self._context_shape) if self._context_shape else 0

  def describe(self, keyword=None):
    """How the condition is passed, for messages: `labels` (integers ...)."""
    if self.kind is None:
      return 'no condition'
    passed = (f'`{keyword}={self.kind}`' if keyword else f'`{self.kind}`')
    if self.kind == 'labels':
      return f'{passed} (integers in [0, {self._num_classes}))'
    return (f'{passed} (float, shape (batch, '
            f'{", ".join(map(str, self._context_shape))}))')

  def check(self, labels=None, context=None, name='flow', dtype=tf.float32,
            check_values=True, keyword=None):
    """The condition as a checked tensor, or `None` for a flow without one.

    Args:
      labels: integer labels, any batch shape, or `None`.
      context: a float context shaped `batch_shape + context_shape`, or
        `None`.
      name: the flow, named in every message.
      dtype: the flow's float dtype, which a context is cast to.
      check_values: Python `bool`; `False` skips the run-time range check
        of the labels.
      keyword: how a caller passes the condition, for the message (a
        coupling's `'conditional_input'`); default `labels=`/`context=`.

    Returns:
      The labels (after their range assertions) or the context in `dtype`.

    Raises:
      ValueError: for a condition missing, given to a flow that takes none,
        of the wrong kind or shape.
      TypeError: for labels that are not integers or a context that is not
        float.
    """
    kind = self.kind
    if context is not None and kind != 'context':
      raise ValueError(f'{name} takes no context; it was given one.')
    if labels is not None and kind != 'labels':
      raise ValueError(f'{name} is not class-conditional; it was given '
                       'labels.')
    if kind is None:
      return None
    if labels is None and context is None:
      what = ('class-conditional' if kind == 'labels'
              else 'conditioned on a context')
      raise ValueError(f'{name} is {what}: pass {self.describe(keyword)}.')
    if kind == 'labels':
      return self._checked_labels(labels, name, check_values)
    return self._checked_context(context, name, dtype)

  def _checked_kind(self, condition, name):
    """The condition as a tensor, its dtype and trailing shape checked.

    Python only (no ops): `check` and `flatten` both need it.
    """
    condition = tf.convert_to_tensor(condition)
    if self.kind == 'labels':
      if not condition.dtype.is_integer:
        raise TypeError(f'{name}: labels must be integers, got dtype '
                        f'{condition.dtype.name}.')
      return condition
    if not condition.dtype.is_floating:
      raise TypeError(f'{name}: the context must be a float tensor, got '
                      f'dtype {condition.dtype.name} (integer labels need a '
                      'flow with `num_classes`).')
    rank = len(self._context_shape)
    shape = condition.shape
    if shape.rank is not None and (
        shape.rank < rank or
        not shape[shape.rank - rank:].is_compatible_with(self._context_shape)):
      raise ValueError(
          f'{name}: the context must have shape (batch..., '
          f'{", ".join(map(str, self._context_shape))}), got {shape}.')
    return condition

  def _checked_labels(self, labels, name, check_values):
    labels = self._checked_kind(labels, name)
    if not check_values:
      return labels
    known = tf.get_static_value(labels)
    if known is not None and np.size(known):
      if np.min(known) < 0 or np.max(known) >= self._num_classes:
        raise ValueError(f'{name}: labels must lie in [0, '
                         f'{self._num_classes}), got {np.unique(known)}.')
      return labels
    with tf.control_dependencies([
        tf.debugging.assert_non_negative(
            labels, message=f'{name}: a label is negative.'),
        tf.debugging.assert_less(
            labels, tf.cast(self._num_classes, labels.dtype),
            message=f'{name}: a label is >= num_classes '
                    f'({self._num_classes}).')]):
      return tf.identity(labels)

  def _checked_context(self, context, name, dtype):
    return tf.cast(self._checked_kind(context, name), dtype)

  def batch_shape(self, condition):
    """The static batch shape of a checked condition."""
    shape = _static_shape(condition)
    if shape.rank is None:
      return tf.TensorShape(None)
    return shape[:shape.rank - self.event_rank]

  def batch_shape_tensor(self, condition):
    shape = tf.shape(condition)
    return shape[:tf.size(shape) - self.event_rank]

  def broadcast(self, values, value_event_rank, condition, name='flow'):
    """`values` and `condition` broadcast to their common batch shape.

    Args:
      values: `batch + event` values.
      value_event_rank: rank of one value.
      condition: a checked condition (`check`).
      name: named in the message.

    Returns:
      `(values, condition)` with equal batch shapes; a tensor already of the
      common shape is returned as it is.

    Raises:
      ValueError: when the static batch shapes do not broadcast, saying both.
    """
    values = tf.convert_to_tensor(values)
    value_shape = values.shape
    condition_batch = self.batch_shape(condition)
    if value_shape.rank is not None and condition_batch.rank is not None:
      value_batch = value_shape[:max(value_shape.rank - value_event_rank, 0)]
      try:
        common = tf.broadcast_static_shape(value_batch, condition_batch)
      except ValueError:
        raise ValueError(
            f'{name}: values of batch shape {value_batch} do not broadcast '
            f'with the condition\'s batch shape {condition_batch} (one label '
            'or context per example, or one for all).') from None
      if common.is_fully_defined() and value_batch == common and (
          condition_batch == common):
        return values, condition
    value_batch = tf.shape(values)[:tf.rank(values) - value_event_rank]
    common = tf.broadcast_dynamic_shape(value_batch,
                                        self.batch_shape_tensor(condition))
    values = tf.broadcast_to(values, tf.concat(
        [common, tf.shape(values)[tf.rank(values) - value_event_rank:]], 0))
    condition = tf.broadcast_to(condition, tf.concat(
        [common, tf.shape(condition)[tf.rank(condition) - self.event_rank:]],
        0))
    return values, condition

  def flatten(self, condition, batch_shape, dtype=None, name='flow'):
    """One condition per example of a flattened batch, for a network.

    Args:
      condition: a condition whose batch broadcasts to `batch_shape` (as
        `broadcast` made it).
      batch_shape: the batch shape of the values (a shape tensor).
      dtype: a context's dtype in the network (labels keep theirs).
      name: named in the messages.

    Returns:
      `[prod(batch_shape)]` labels or `[prod(batch_shape)] + context_shape`.
    """
    # Its kind and shape decide what the network does with it: guarded
    # here, where a wrong one would otherwise be cast or fail inside.
    condition = self._checked_kind(condition, name)
    if self.kind == 'context' and dtype is not None:
      condition = tf.cast(condition, dtype)
    per_example = list(self._context_shape or ())
    condition = tf.broadcast_to(
        condition, tf.concat([batch_shape, per_example], 0))
    return tf.reshape(condition, [-1] + per_example)

  def split(self, data, name='flow'):
    """`(values, condition)` of a dataset element: values or `(values, c)`.

    The second element is the condition of a conditioned flow and is
    ignored otherwise (a labelled dataset for an unconditional model); a
    third would be Keras' sample weights, which a likelihood does not use.

    Raises:
      ValueError: for a conditioned flow's element without a condition.
    """
    values, condition = data, None
    if isinstance(data, (tuple, list)):
      values = data[0]
      condition = data[1] if len(data) > 1 else None
    if self.kind is None:
      return values, None
    if condition is None:
      raise ValueError(f'{name} is conditioned on {self.kind}: the data must '
                       f'be (values, {self.kind}) pairs.')
    return values, condition

  def keywords(self, condition):
    """`{'labels': c}`, `{'context': c}` or `{}`, as a flow's methods take."""
    if self.kind is None or condition is None:
      return {}
    return {self.kind: condition}
