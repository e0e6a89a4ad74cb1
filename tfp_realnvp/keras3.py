"""`FlowModel` for Keras 3 (the TensorFlow backend): `import keras` users.

```python
import keras
from tfp_realnvp import keras3

model = keras3.FlowModel(tfp_realnvp.RealNVP.from_preset('digits'))
model.compile(optimizer=keras.optimizers.Adam(1e-3))
model.fit(uint8_images, batch_size=64, epochs=5,
          callbacks=[keras.callbacks.EarlyStopping('loss')])
model.save('flow.keras')          # keras.models.load_model('flow.keras')
```

TFP's layers (and a flow's coupling networks) are tf_keras objects, which
Keras 3 neither tracks nor trains: a `keras.Model` of one's own that holds a
flow would train none of its variables. This model is the same
`TrainingStep` as `tfp_realnvp.FlowModel` (loss with dequantization, L2
penalty, clipping, Polyak average, non-finite steps, figures) with Keras 3's
plumbing around it: the flow's variables are the model's weights, Keras 3
optimizers and callbacks drive it, and `.keras` files hold the flow's config
and every variable. One device only: under a multi-replica strategy the step
sums gradients itself, which a Keras 3 optimizer cannot be told (use
`tfp_realnvp.FlowModel` with a tf_keras optimizer there).
"""

import keras

from tfp_realnvp.training import entry_points
from tfp_realnvp.training import input_checks
from tfp_realnvp.training import keras_saving
from tfp_realnvp.training import optimizers
from tfp_realnvp.training import step as step_lib

__all__ = ['FlowModel']


@keras.saving.register_keras_serializable(package='tfp_realnvp')
class FlowModel(entry_points.KerasAdapter, keras.Model):
  """Trains a `tfp_realnvp` flow with Keras 3's `compile` and `fit`.

  As `tfp_realnvp.FlowModel` (the tf_keras model): `fit` minimizes the mean
  negative log-likelihood plus the L2 penalty and reports `bits_per_dim`;
  `evaluate` uses the Polyak-averaged weights when there are any and with
  `dequantization_samples=K` also reports `discrete_bits_per_dim`;
  `predict` returns per-example log-probs; integer pixels are dequantized
  by the flow's dequantizer. Keras 3 optimizers and callbacks only.
  """

  def __init__(self, distribution, l2_scale=5e-5, clip_norm=100.,
               polyak_decay=None, skip_non_finite=False,
               check_pixel_range=True, dequantizer=None, seed=None,
               averaged_statistics_batches=16, **kwargs):
    """Wraps `distribution`; arguments as `tfp_realnvp.FlowModel`'s.

    Raises:
      ValueError: for a distribution without trainable variables (a model
        that would train nothing).
    """
    super().__init__(**kwargs)
    if not distribution.trainable_variables:
      raise ValueError(f'{distribution.name} has no trainable variables: '
                       'a FlowModel of it would train nothing.')
    self._flow = distribution
    self.step = step_lib.TrainingStep(
        distribution, l2_scale=l2_scale, clip_norm=clip_norm,
        polyak_decay=polyak_decay, skip_non_finite=skip_non_finite,
        dequantizer=dequantizer, seed=seed)
    self.check_pixel_range = bool(check_pixel_range)
    self.averaged_statistics_batches = (
        entry_points.averaged_statistics_batches(averaged_statistics_batches))
    # `evaluate`'s draws of noise per image, which `test_step` takes.
    self.dequantization_samples = 1
    # The flow made every variable; nothing is left to build.
    self.built = True

  @property
  def distribution(self):
    return self._flow

  # Keras 3 tracks only its own layers and variables: the flow's (tf_keras
  # networks inside tf.Modules) are named here.

  @property
  def trainable_weights(self):
    return list(self._flow.trainable_variables)

  @property
  def non_trainable_weights(self):
    return [v for v in self._flow.variables if not v.trainable]

  @property
  def weights(self):
    return self.trainable_weights + self.non_trainable_weights

  trainable_variables = trainable_weights
  non_trainable_variables = non_trainable_weights
  variables = weights

  def averaged_weights(self, own_statistics=True):
    """As `tfp_realnvp.FlowModel.averaged_weights`."""
    return self.step.averaged_weights(own_statistics)

  # Keras' entry points, with the data checked first.

  def _checked(self, data, method):
    input_checks.check_data(self.step, data, method, self.check_pixel_range)
    return input_checks.with_pixel_checks(self.step, data,
                                          self.check_pixel_range)

  def fit(self, x=None, y=None, **kwargs):
    """`keras.Model.fit`, refusing data the flow cannot take at once."""
    x = self._checked(x, 'fit')
    if kwargs.get('validation_data') is not None:
      kwargs['validation_data'] = self._checked(kwargs['validation_data'],
                                                'fit')
    entry_points.set_statistics_data(self.step, x, kwargs.get('batch_size'),
                                     self.averaged_statistics_batches)
    # Before the first step (the `digits` preset's first 3-step fit: 50 s
    # with the slots made inside it, 26 s without).
    optimizers.create_variables(self.optimizer, self.trainable_variables)
    with entry_points.fresh_functions_after_failure(self, 'fit'):
      return super().fit(x, y, **kwargs)

  def evaluate(self, x=None, y=None, averaged=True,
               dequantization_samples=None, seed=None, **kwargs):
    """`keras.Model.evaluate`: Polyak-averaged weights, K draws, a seed."""
    samples = entry_points.dequantization_samples(dequantization_samples)
    if samples != self.dequantization_samples:
      self.dequantization_samples = samples
      self.test_function = None  # The step's graph depends on K.
    x = self._checked(x, 'evaluate')
    with entry_points.fresh_functions_after_failure(self, 'evaluate'):
      with entry_points.evaluation(self.step, seed, averaged):
        return super().evaluate(x, y, **kwargs)

  def predict(self, x, **kwargs):
    """`keras.Model.predict`: per-example log-probs; data checked first."""
    input_checks.check_data(self.step, x, 'predict', self.check_pixel_range)
    with entry_points.fresh_functions_after_failure(self, 'predict'):
      return super().predict(x, **kwargs)

  # Saving: the flow's config and every variable (Keras 3 sees none).

  def save_own_variables(self, store):
    if self.step.averaging is not None:
      self.step.averaging.update_statistics()
    keras_saving.store_variables(
        store, keras_saving.saved_variables(self.step), None)

  def load_own_variables(self, store):
    keras_saving.load_variables(
        store, keras_saving.saved_variables(self.step), None,
        self.trainable_weights, self._flow.name)
