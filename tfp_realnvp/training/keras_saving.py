"""`.keras` saving of a `FlowModel`: its config and every variable.

The `.keras` format walks Keras layers and new-style optimizers only: the
flow's bijectors are tf.Modules, and a legacy optimizer (bin/train.py's fused
Adam) would restart from zero, so `FlowModel` stores both through these.
"""

import tf_keras

from tfp_realnvp import flows
from tfp_realnvp.training import optimizers

__all__ = ['check_save_path', 'flow_config', 'load_variables',
           'saved_variables', 'store_variables']

_HDF5_SUFFIXES = ('.h5', '.hdf5')
_LEGACY_OPTIMIZER_KEY = 'legacy_optimizer_'


def flow_config(distribution):
  """The flow's config, for `FlowModel.get_config`.

  Raises:
    NotImplementedError: for a distribution that is not a `tfp_realnvp`
      flow, which no config can rebuild.
  """
  if not isinstance(distribution, flows.Flow):
    raise NotImplementedError(
        f'A FlowModel of a {type(distribution).__name__} cannot be saved '
        'whole (.keras): only tfp_realnvp flows can be rebuilt from a '
        'config. Save the weights instead, '
        'model.save_weights("flow.weights.h5") or a tf.train.Checkpoint, '
        'and rebuild the distribution in code before loading them.')
  return flows.flow_config(distribution)


def check_save_path(filepath, save_format=None):
  """Refuses the legacy whole-model HDF5 format, which cannot hold a FlowModel."""
  if (save_format in ('h5', 'hdf5') or
      str(filepath).lower().endswith(_HDF5_SUFFIXES)):
    raise NotImplementedError(
        f'Cannot save a FlowModel to {filepath!s}: the legacy HDF5 format '
        'holds only Functional and Sequential models. Save to a `.keras` '
        'file instead (model.save("flow.keras"), '
        'tf_keras.callbacks.ModelCheckpoint("flow.keras")), or only the '
        'weights with save_weights("flow.weights.h5").')


def saved_variables(step):
  """The variables a `.keras` file holds, in a fixed order.

  tf.Module orders variables by attribute name, so a model rebuilt from the
  same config lists them in the same order; the Polyak averages follow the
  weights they average.
  """
  averages = [] if step.polyak is None else (
      list(step.polyak.averages) +
      [step.polyak.updates, step.polyak.zero_share] +
      list(step.averaged_statistics.statistics) +
      [step.averaged_statistics.computed_at])
  return list(step.distribution.variables) + averages


def _is_legacy(optimizer):
  return isinstance(optimizer, tf_keras.optimizers.legacy.Optimizer)


def store_variables(store, variables, optimizer):
  """Writes `variables` (and a legacy optimizer's state) into a Keras store."""
  for index, variable in enumerate(variables):
    store[str(index)] = variable.numpy()
  if _is_legacy(optimizer):
    for index, value in enumerate(optimizer.get_weights()):
      store[f'{_LEGACY_OPTIMIZER_KEY}{index}'] = value


def load_variables(store, variables, optimizer, trainable_variables, name):
  """Reads `store_variables`' store back into `variables` (and the optimizer).

  Raises:
    ValueError: for a store of another model (count or shapes differ).
  """
  keys = list(store.keys())
  optimizer_keys = [k for k in keys if k.startswith(_LEGACY_OPTIMIZER_KEY)]
  if len(keys) - len(optimizer_keys) != len(variables):
    raise ValueError(
        f'The saved model holds {len(keys) - len(optimizer_keys)} flow '
        f'variables; {name} has {len(variables)}. It was saved from another '
        'model.')
  for index, variable in enumerate(variables):
    value = store[str(index)]
    if tuple(value.shape) != tuple(variable.shape):
      raise ValueError(
          f'Saved variable {index} has shape {tuple(value.shape)}; '
          f'{variable.name} has {tuple(variable.shape)}.')
    variable.assign(value)
  if optimizer_keys and _is_legacy(optimizer):
    optimizers.create_variables(optimizer, trainable_variables)
    optimizer.set_weights([store[f'{_LEGACY_OPTIMIZER_KEY}{i}']
                           for i in range(len(optimizer_keys))])
