"""Keras saving of a `FlowModel`: the `.keras` format with the flow's variables."""

import tf_keras

from tfp_realnvp import compat
from tfp_realnvp import flows

__all__ = ['KerasSaving']

_HDF5_SUFFIXES = ('.h5', '.hdf5')
_LEGACY_OPTIMIZER_KEY = 'legacy_optimizer_'


class KerasSaving:
  """`FlowModel`'s config, `.keras` saving and loading of every variable.

  A mixin of `FlowModel`. The `.keras` format walks Keras layers and
  new-style optimizers only: the flow's bijectors are tf.Modules, and a
  legacy optimizer (bin/train.py's fused Adam) would restart from zero, so
  the model stores both itself.
  """

  def get_config(self):
    """The flow's config and the loss settings, for the `.keras` format.

    Raises:
      NotImplementedError: for a distribution that is not a `tfp_realnvp`
        flow, which no config can rebuild.
    """
    if not isinstance(self.distribution, flows.Flow):
      raise NotImplementedError(
          f'A FlowModel of a {type(self.distribution).__name__} cannot be '
          'saved whole (.keras): only tfp_realnvp flows can be rebuilt from '
          'a config. Save the weights instead, '
          'model.save_weights("flow.weights.h5") or a tf.train.Checkpoint, '
          'and rebuild the distribution in code before loading them.')
    return dict(flow=flows.flow_config(self.distribution),
                l2_scale=self.l2_scale, clip_norm=self.clip_norm,
                polyak_decay=self.polyak_decay,
                skip_non_finite=self.skip_non_finite,
                check_pixel_range=self.check_pixel_range, name=self.name)

  @classmethod
  def from_config(cls, config, custom_objects=None):
    config = dict(config)
    return cls(flows.flow_from_config(config.pop('flow')), **config)

  def save(self, filepath, *args, **kwargs):
    """`tf_keras.Model.save`; the `.keras` format, refusing legacy `.h5`."""
    save_format = kwargs.get('save_format')
    if (save_format in ('h5', 'hdf5') or
        str(filepath).lower().endswith(_HDF5_SUFFIXES)):
      raise NotImplementedError(
          f'Cannot save a FlowModel to {filepath!s}: the legacy HDF5 format '
          'holds only Functional and Sequential models. Save to a `.keras` '
          'file instead (model.save("flow.keras"), '
          'tf_keras.callbacks.ModelCheckpoint("flow.keras")), or only the '
          'weights with save_weights("flow.weights.h5").')
    return super().save(filepath, *args, **kwargs)

  def _flow_variables(self):
    # tf.Module orders variables by attribute name, so a model rebuilt from
    # the same config lists them in the same order; the Polyak averages
    # follow the weights they average.
    averages = list(self.polyak_averages) + (
        [self.polyak_updates, self.polyak_zero_share]
        if self.polyak_averages else [])
    return list(self.distribution.variables) + averages

  def save_own_variables(self, store):
    for index, variable in enumerate(self._flow_variables()):
      store[str(index)] = variable.numpy()
    if self._has_legacy_optimizer():
      for index, value in enumerate(self.optimizer.get_weights()):
        store[f'{_LEGACY_OPTIMIZER_KEY}{index}'] = value

  def load_own_variables(self, store):
    keys = list(store.keys())
    optimizer_keys = [k for k in keys if k.startswith(_LEGACY_OPTIMIZER_KEY)]
    variables = self._flow_variables()
    if len(keys) - len(optimizer_keys) != len(variables):
      raise ValueError(
          f'The saved model holds {len(keys) - len(optimizer_keys)} flow '
          f'variables; {self.distribution.name} has {len(variables)}. It was '
          'saved from another model.')
    for index, variable in enumerate(variables):
      value = store[str(index)]
      if tuple(value.shape) != tuple(variable.shape):
        raise ValueError(
            f'Saved variable {index} has shape {tuple(value.shape)}; '
            f'{variable.name} has {tuple(variable.shape)}.')
      variable.assign(value)
    if optimizer_keys and self._has_legacy_optimizer():
      compat.create_optimizer_slots(self.optimizer, self.trainable_variables)
      self.optimizer.set_weights(
          [store[f'{_LEGACY_OPTIMIZER_KEY}{i}']
           for i in range(len(optimizer_keys))])

  def _has_legacy_optimizer(self):
    return isinstance(getattr(self, 'optimizer', None),
                      tf_keras.optimizers.legacy.Optimizer)
