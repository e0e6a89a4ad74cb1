"""`FlowModel`: Keras `fit` of a flow by maximum likelihood, in bits/dim.

The step itself (loss, dequantization, Polyak averaging, skipping non-finite
steps, the figures) is `TrainingStep`'s; this module is the Keras plumbing
around it: `compile`/`fit`/`evaluate`/`predict`, data checks, `.keras` files.
"""

import weakref

import tf_keras

from tfp_realnvp.training import entry_points
from tfp_realnvp.training import input_checks
from tfp_realnvp.training import keras_flavor
from tfp_realnvp.training import keras_saving
from tfp_realnvp.training import optimizers
from tfp_realnvp.training import step as step_lib

__all__ = ['FlowModel']


@tf_keras.saving.register_keras_serializable(package='tfp_realnvp')
class FlowModel(entry_points.KerasAdapter, tf_keras.Model):
  """Trains a `tfd.TransformedDistribution` with `compile` and `fit`.

  The loss is the mean negative log-likelihood plus the paper's L2 penalty
  (`l2_scale`, 5e-5 in §4.1) on the weight-normalization scales of the
  coupling networks; gradients are clipped by global norm (`clip_norm`).
  `fit` runs batch norm in training mode, `evaluate` and `predict` in
  evaluation mode; both report `bits_per_dim = nll / (D ln 2)`, which for
  `tfp_realnvp.RealNVP` (a density over dequantized pixels in [0, 256)) is the
  paper's figure. `predict` returns per-example log-probs. The step is a
  `TrainingStep` (`model.step`), which a plain `tf.function` loop can run
  without Keras.

  Integer pixels (uint8 images) are dequantized in the step, one draw of
  `x + u` per image and step (the flow's `dequantizer`, uniform noise by
  default); `evaluate(..., dequantization_samples=16)` also reports the
  tighter 16-draw estimate of their bits/dim (`discrete_bits_per_dim`).
  Float pixels are taken as dequantized already; float image batches whose
  values all lie in [0, 1] or are all whole numbers are refused (see
  `check_pixel_range`).

  Datasets may yield images, or `(images, labels)` pairs. The labels condition
  a class-conditional distribution (`tfp_realnvp.ConditionalRealNVP`, which
  then requires them) and are ignored otherwise; a flow built with a
  `context_shape` takes `(values, context)` pairs the same way.

  Under a `tf.distribute` strategy (build the distribution and the model in
  `strategy.scope()`), the loss is the mean over the global batch however it
  is split, gradients are summed across replicas before clipping, and batch
  norm uses global-batch statistics: N replicas make the same update as one
  device with the whole batch.

  #### Examples

  ```python
  import tensorflow as tf
  import tf_keras
  import tfp_realnvp

  model = tfp_realnvp.FlowModel(tfp_realnvp.RealNVP.from_preset('digits'))
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  pixels = tf.random.uniform([64, 8, 8, 1], 0, 256, tf.int32)
  model.fit(tf.data.Dataset.from_tensor_slices(pixels).batch(16), epochs=1)
  model.evaluate(pixels, dequantization_samples=16, return_dict=True)
  model.save('flow.keras')   # tf_keras.models.load_model('flow.keras')
  ```

  Saving: a model of a `tfp_realnvp` flow round-trips through Keras'
  `.keras` format (`save`, `tf_keras.models.load_model`, `ModelCheckpoint`),
  after any sequence of calls, the flow rebuilt from its config and every
  variable (the bijectors' too) restored; `save_weights('x.weights.h5')`
  holds the same variables. The legacy whole-model `.h5` format cannot hold
  a subclassed model and is refused at save time, as is `.keras` for a
  distribution that has no config (save its weights instead).
  """

  def __init__(self, distribution, l2_scale=5e-5, clip_norm=100.,
               polyak_decay=None, skip_non_finite=False,
               check_pixel_range=True, dequantizer=None, seed=None,
               averaged_statistics_batches=16, **kwargs):
    """Wraps `distribution`.

    Args:
      distribution: a `tfd.Distribution` with a static event shape, e.g.
        `tfp_realnvp.RealNVP`; its variables become the model's.
      l2_scale: Python float >= 0, the L2 penalty on weight-norm scales.
      clip_norm: Python float > 0 or `None`, the global gradient norm limit.
      polyak_decay: `None`, or the decay in (0, 1) of a Polyak average of
        the trainable weights, updated after every step (see
        `averaged_weights`). Step `t` (from 0) uses
        `min(polyak_decay, (1 + t) / (10 + t))`, the rule of TF's
        `ExponentialMovingAverage(num_updates=t)`, so early in training
        the average follows the weights closely. The averaged weights carry
        batch-norm statistics of their own (`averaged_statistics_batches`).
      skip_non_finite: Python `bool`. If true, a step whose loss or
        gradient is not finite changes nothing: not the weights, not the
        optimizer's state (its step count included), not the batch-norm
        statistics, not the Polyak average; it is counted in the
        `skipped_batches` metric instead of the loss. If false, it reaches
        the weights and the step reports a NaN loss (which
        `tfp_realnvp.app`'s runs stop at).
      check_pixel_range: Python `bool`. An image flow (`RealNVP`) models
        dequantized pixels in [0, 256); `fit` and `evaluate` refuse a float
        batch whose pixels all lie in [0, 1] (`x / 255.`, the most common
        image preprocessing) or are all whole numbers (integer pixels cast
        to float, never dequantized), both of which train to meaningless
        figures, and integer pixels outside [0, 255]: an array's first rows
        at once, a dataset's batches as they are read. `False` if such data
        are really meant.
      dequantizer: the `Dequantizer` integer batches are drawn into the unit
        cube with; default the distribution's own (`flow.dequantizer`), or
        uniform noise for a distribution that is not a `tfp_realnvp` flow.
      seed: `None`, or a Python int making the training noise reproducible
        (see `TrainingStep`); also `evaluate`'s seed when it gets none, so
        every validation pass of `fit` draws the same noise.
      averaged_statistics_batches: with `polyak_decay`, the number of
        `fit`'s training batches the averaged weights' batch-norm
        statistics are computed on, in training mode with the averaged
        weights in place (as `torch.optim.swa_utils.update_bn`), whenever
        the averaged weights are used after the average moved (validation,
        `evaluate`, `averaged_weights()`); 0 scores them with the raw
        weights' statistics, which can be far off (1.50 against 1.30
        bits/dim on MNIST).
      **kwargs: passed to `tf_keras.Model` (e.g. `name`, `dtype`).

    Raises:
      ValueError: for an unknown event size, a negative `l2_scale` or a
        `polyak_decay` outside (0, 1).
    """
    kwargs.setdefault('dtype', distribution.dtype)
    super().__init__(**kwargs)
    self.distribution = distribution
    self.step = step_lib.TrainingStep(
        distribution, l2_scale=l2_scale, clip_norm=clip_norm,
        polyak_decay=polyak_decay, skip_non_finite=skip_non_finite,
        dequantizer=dequantizer, seed=seed)
    # The averages under the names checkpoints have given them since 0.2.
    polyak = self.step.polyak
    self.polyak_averages = [] if polyak is None else polyak.averages
    self.polyak_updates = None if polyak is None else polyak.updates
    self.polyak_zero_share = None if polyak is None else polyak.zero_share
    self.check_pixel_range = bool(check_pixel_range)
    self.averaged_statistics_batches = (
        entry_points.averaged_statistics_batches(averaged_statistics_batches))
    self.dequantization_samples = 1
    # Every replica's step returns the global figures (`StepMetrics`):
    # Keras' default would add them up across replicas.
    self.distribute_reduction_method = 'first'
    self._checked_data = weakref.WeakSet()
    # The flow made every variable: nothing is left for a first call to
    # build (checkpoint restores and Keras' BackupAndRestore need it built).
    self.built = True

  # The step's settings, as the constructor named them.
  l2_scale = property(lambda self: self.step.l2_scale)
  clip_norm = property(lambda self: self.step.clip_norm)
  polyak_decay = property(lambda self: self.step.polyak_decay)
  skip_non_finite = property(lambda self: self.step.skip_non_finite)
  dequantizer = property(lambda self: self.step.dequantizer)

  def regularization_loss(self):
    """The paper's L2 penalty on the networks' weight-norm scales."""
    return self.step.regularization_loss()

  # Averaged weights.

  def averaged_weights(self, own_statistics=True):
    """Within the block, the flow's weights are their Polyak averages.

    Evaluation, sampling and export inside it use the averaged model, with
    batch-norm statistics of its own: recomputed on
    `averaged_statistics_batches` of `fit`'s training batches when the
    average has moved since they were computed (or, in a loaded model, the
    ones saved with it). `own_statistics=False` keeps the raw weights'
    statistics. The raw weights and statistics come back on exit (also on
    an exception). Without averaging (or before the first update) the
    weights are left as they are.
    """
    return self.step.averaged_weights(own_statistics)

  def recompute_averaged_statistics(self, dataset=None, num_batches=None):
    """Computes the averaged weights' batch-norm statistics now.

    On `dataset` (default: `fit`'s training data), `num_batches` batches
    (default `averaged_statistics_batches`); returns the batches read.

    Raises:
      ValueError: without averaging, or without data.
    """
    if self.step.averaging is None:
      raise ValueError('The model keeps no Polyak average (polyak_decay).')
    return self.step.averaging.recompute_statistics(
        dataset, num_batches or self.averaged_statistics_batches or None)

  def use_polyak_averages(self, own_statistics=True):
    """Sets the flow's weights to their Polyak averages for good (loading).

    With the averages' own batch-norm statistics, if they were computed.
    """
    return self.step.use_averaged_weights(own_statistics)

  def debiased_polyak_averages(self):
    """The debiased averages (see `PolyakAverage.debiased`), or `None`."""
    return None if self.step.polyak is None else self.step.polyak.debiased()

  # Keras' entry points, with the data checked first.

  def compile(self, optimizer='rmsprop', *args, **kwargs):
    """`tf_keras.Model.compile`; Keras 3 objects are refused with the fix."""
    keras_flavor.refuse_keras3(optimizer, 'optimizer', 'compile')
    for what in ('loss', 'metrics', 'weighted_metrics'):
      keras_flavor.refuse_keras3(kwargs.get(what), what, 'compile')
    return super().compile(optimizer, *args, **kwargs)

  def compile_from_config(self, config):
    # Keras skips a custom `compile` when loading; this one only adds checks.
    self.compile(**tf_keras.saving.deserialize_keras_object(config))
    if isinstance(self.optimizer, tf_keras.optimizers.Optimizer):
      self.optimizer.build(self.trainable_variables)

  def _refuse_keras3_callbacks(self, kwargs, method):
    keras_flavor.refuse_keras3(kwargs.get('callbacks'), 'callback', method)

  def _check_data(self, data, method):
    """Refuses data the flow cannot take, once per dataset, before tracing."""
    try:
      if data in self._checked_data:
        return
    except TypeError:  # Not weak-referenceable or hashable: check each time.
      pass
    input_checks.check_data(self.step, data, method, self.check_pixel_range)
    try:
      self._checked_data.add(data)
    except TypeError:
      pass

  def _checked(self, data):
    return input_checks.with_pixel_checks(self.step, data,
                                          self.check_pixel_range)

  def fit(self, x=None, y=None, *args, **kwargs):
    """`tf_keras.Model.fit`, refusing data the flow cannot take at once.

    A failed `fit` (bad data, an interrupt) leaves the model usable: the
    next call traces anew.
    """
    self._refuse_keras3_callbacks(kwargs, 'fit')
    self._check_data(x, 'fit')
    if kwargs.get('validation_data') is not None:
      self._check_data(kwargs['validation_data'], 'fit')
      kwargs['validation_data'] = self._checked(kwargs['validation_data'])
    entry_points.set_statistics_data(self.step, self._checked(x),
                                     kwargs.get('batch_size'),
                                     self.averaged_statistics_batches)
    with entry_points.fresh_functions_after_failure(self, 'fit'):
      return super().fit(self._checked(x), y, *args, **kwargs)

  def make_train_function(self, force=False):
    # The optimizer's variables are made here, eagerly: left to the step's
    # first call, they make tf.function trace the step twice (once creating
    # them, once without), which doubles the time to the first step.
    if self.train_function is None or force:
      with self.distribute_strategy.scope():
        optimizers.create_variables(self.optimizer, self.trainable_variables)
    return super().make_train_function(force)

  def evaluate(self, x=None, *args, averaged=True, dequantization_samples=None,
               seed=None, **kwargs):
    """`tf_keras.Model.evaluate`, with the Polyak-averaged weights by default.

    `fit`'s validation calls this too, so with averaging its
    `val_bits_per_dim` is the averaged model's (with its own batch-norm
    statistics); `averaged=False` evaluates the raw weights. `dequantization_samples=K > 1` also reports, for
    integer pixels, `discrete_bits_per_dim` (the `K`-draw estimate) and its
    standard error; `bits_per_dim` is the first draw's. `seed` fixes the
    dequantization noise of integer pixels: the same seed and batches give
    the same figures: an image's noise depends on the seed and its position
    in `x` only, not on the batch size or the replicas (default the model's
    `seed`, else a new one each call). Data are checked as in `fit`.
    """
    samples = entry_points.dequantization_samples(dequantization_samples)
    if samples != self.dequantization_samples:
      self.dequantization_samples = samples
      self.test_function = None  # The step's graph depends on K.
    self._refuse_keras3_callbacks(kwargs, 'evaluate')
    self._check_data(x, 'evaluate')
    with entry_points.fresh_functions_after_failure(self, 'evaluate'):
      with entry_points.evaluation(self.step, seed, averaged):
        return super().evaluate(self._checked(x), *args, **kwargs)

  def predict(self, x, *args, **kwargs):
    """`tf_keras.Model.predict`: per-example log-probs; data checked first."""
    self._refuse_keras3_callbacks(kwargs, 'predict')
    self._check_data(x, 'predict')
    with entry_points.fresh_functions_after_failure(self, 'predict'):
      return super().predict(x, *args, **kwargs)

  # Saving.

  def save(self, filepath, *args, **kwargs):
    """`tf_keras.Model.save`; the `.keras` format, refusing legacy `.h5`."""
    keras_saving.check_save_path(filepath, kwargs.get('save_format'))
    return super().save(filepath, *args, **kwargs)

  def save_own_variables(self, store):
    if self.step.averaging is not None:
      self.step.averaging.update_statistics()
    keras_saving.store_variables(
        store, keras_saving.saved_variables(self.step),
        getattr(self, 'optimizer', None))

  def load_own_variables(self, store):
    keras_saving.load_variables(
        store, keras_saving.saved_variables(self.step),
        getattr(self, 'optimizer', None), self.trainable_variables,
        self.distribution.name)
