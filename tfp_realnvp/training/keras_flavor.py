"""Keras 3 objects handed to the tf_keras `FlowModel`: refused, with the fix.

TensorFlow >= 2.16 makes `tf.keras` Keras 3 unless `TF_USE_LEGACY_KERAS=1` is
set before TensorFlow is imported, and `import keras` is Keras 3 always;
`FlowModel` (like TFP's own layers) is a tf_keras model. Deep inside tf_keras
a Keras 3 optimizer fails as `Could not interpret optimizer identifier` and a
callback as a missing `_implements_train_batch_hooks`, neither of which says
what is wrong. `refuse_keras3` says it on the first line instead.
"""

__all__ = ['is_keras3', 'refuse_keras3']

# Where tf_keras keeps the public name of each kind of object users pass.
_TF_KERAS_HOMES = ('optimizers', 'callbacks', 'metrics', 'losses')


def is_keras3(value):
  """Whether `value` is an object of the Keras 3 package (`keras`)."""
  module = type(value).__module__ or ''
  return module == 'keras' or module.startswith('keras.')


def _flatten(values):
  if isinstance(values, dict):
    values = list(values.values())
  if isinstance(values, (list, tuple)):
    for value in values:
      yield from _flatten(value)
  elif values is not None:
    yield values


def _tf_keras_name(value):
  """`tf_keras.optimizers.Adam` for a Keras 3 `Adam`, or the class's name."""
  parts = type(value).__module__.split('.')
  name = type(value).__name__
  home = next((part for part in parts if part in _TF_KERAS_HOMES), None)
  return f'tf_keras.{home}.{name}' if home else f'the tf_keras {name}'


def refuse_keras3(values, what, method):
  """Raises `TypeError` if any of `values` (nested lists, dicts) is Keras 3.

  Args:
    values: an object, or lists, tuples and dicts of them.
    what: what they are to the caller, e.g. 'optimizer'.
    method: the `FlowModel` method given them, e.g. 'compile'.
  """
  for value in _flatten(values):
    if is_keras3(value):
      kind = f'{type(value).__module__}.{type(value).__name__}'
      raise TypeError(
          f'FlowModel.{method}: the {what} is a Keras 3 object ({kind}); '
          f'FlowModel is a tf_keras model: pass {_tf_keras_name(value)}, or '
          'set TF_USE_LEGACY_KERAS=1 before importing TensorFlow so that '
          'tf.keras is tf_keras (README "Keras 3").')
