"""`FlowModel`: Keras `fit` of a flow by maximum likelihood, in bits/dim.

The step and the loss live here; Polyak averaging (`polyak.py`), skipping
non-finite batches (`non_finite.py`) and `.keras` saving (`keras_saving.py`)
are mixins of their own.
"""

import contextlib
import weakref

import numpy as np
import tensorflow as tf
import tf_keras

from tfp_realnvp import compat
from tfp_realnvp import flows
from tfp_realnvp import networks
from tfp_realnvp.training import batches
from tfp_realnvp.training import dequantizing
from tfp_realnvp.training import input_checks
from tfp_realnvp.training import keras_saving
from tfp_realnvp.training import non_finite
from tfp_realnvp.training import polyak

__all__ = ['FlowModel']


@tf_keras.saving.register_keras_serializable(package='tfp_realnvp')
class FlowModel(polyak.PolyakAveraging, keras_saving.KerasSaving,
                non_finite.SkipNonFinite, dequantizing.Dequantizing,
                tf_keras.Model):
  """Trains a `tfd.TransformedDistribution` with `compile` and `fit`.

  The loss is the mean negative log-likelihood plus the paper's L2 penalty
  (`l2_scale`, 5e-5 in §4.1) on the weight-normalization scales of the
  coupling networks; gradients are clipped by global norm (`clip_norm`).
  `fit` runs batch norm in training mode, `evaluate` and `predict` in
  evaluation mode; both report `bits_per_dim = nll / (D ln 2)`, which for
  `tfp_realnvp.RealNVP` (a density over dequantized pixels in [0, 256)) is the
  paper's figure. `predict` returns per-example log-probs.

  Integer pixels (uint8 images) are dequantized in the step, one draw of
  `x + u` per image and step (`dequantizer`, uniform noise by default);
  `evaluate(..., dequantization_samples=16)` also reports the tighter
  16-draw estimate of their bits/dim (`discrete_bits_per_dim`). Float pixels
  are taken as dequantized already.

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
  the flow rebuilt from its config and every variable (the bijectors' too)
  restored; `save_weights('x.weights.h5')` holds the same variables. The
  legacy whole-model `.h5` format cannot hold a subclassed model and is
  refused at save time, as is `.keras` for a distribution that has no config
  (save its weights instead).
  """

  def __init__(self, distribution, l2_scale=5e-5, clip_norm=100.,
               polyak_decay=None, skip_non_finite=False,
               check_pixel_range=True, dequantizer=None, **kwargs):
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
        the average follows the weights closely.
      skip_non_finite: Python `bool`. If true, a step whose loss or
        gradient is not finite changes nothing: not the weights, not the
        optimizer's state (its step count included), not the batch-norm
        statistics, not the Polyak average; it is counted in the
        `skipped_batches` metric instead of the loss. If false, it reaches
        the weights and the step reports a NaN loss (which
        `tfp_realnvp.app`'s runs stop at). Under a multi-replica strategy
        it needs a `tf_keras.optimizers.legacy` optimizer.
      check_pixel_range: Python `bool`. An image flow (`RealNVP`) models
        dequantized pixels in [0, 256); `fit` and `evaluate` refuse a batch
        whose pixels all lie in [0, 1] (`x / 255.`, the most common image
        preprocessing, which trains to meaningless figures): an array's
        first rows at once, a dataset's batches as they are read; and
        integer pixels outside [0, 255]. `False` if such data are really
        meant.
      dequantizer: the noise `q(u | x)` integer batches are drawn into the
        unit cube with (`tfp_realnvp.dequantization`); default the
        distribution's own `dequantizer`, else uniform.
      **kwargs: passed to `tf_keras.Model` (e.g. `name`, `dtype`).

    Raises:
      ValueError: for an unknown event size, a negative `l2_scale` or a
        `polyak_decay` outside (0, 1).
    """
    kwargs.setdefault('dtype', distribution.dtype)
    super().__init__(**kwargs)
    if not distribution.event_shape.is_fully_defined():
      raise ValueError('The distribution needs a static event shape, got '
                       f'{distribution.event_shape}.')
    if l2_scale < 0:
      raise ValueError(f'`l2_scale` must be >= 0, got {l2_scale}.')
    if clip_norm is not None and clip_norm <= 0:
      raise ValueError(f'`clip_norm` must be positive or None, got {clip_norm}.')
    self.distribution = distribution
    self.l2_scale = float(l2_scale)
    self.clip_norm = clip_norm
    self.skip_non_finite = bool(skip_non_finite)
    self.check_pixel_range = bool(check_pixel_range)
    self._checked_data = weakref.WeakSet()
    self._init_polyak_averaging(polyak_decay)
    self._init_dequantization(dequantizer)
    self._num_dims = int(np.prod(distribution.event_shape))
    self.loss_tracker = tf_keras.metrics.Mean(name='loss')
    self.bits_per_dim_tracker = tf_keras.metrics.Mean(name='bits_per_dim')
    self.skipped_tracker = (tf_keras.metrics.Sum(name='skipped_batches')
                            if self.skip_non_finite else None)
    # The flow made every variable: nothing is left for a first call to
    # build (checkpoint restores and Keras' BackupAndRestore need it built).
    self.built = True

  @property
  def metrics(self):
    trackers = [self.loss_tracker, self.bits_per_dim_tracker]
    return trackers + ([self.skipped_tracker] if self.skipped_tracker
                       else []) + self._discrete_metrics()

  def call(self, inputs, training=None):
    """Per-example log-probs of images, or of `(images, labels or context)`.

    Of integer images, one draw's `log p(x + u) - log q(u | x)`.
    """
    training = False if training is None else training
    images, condition = batches.split_batch(inputs, self.distribution)
    values, log_q = self._dequantized(images, training)
    return batches.log_prob_in_mode(self.distribution, values, condition,
                                    training) - log_q

  def regularization_loss(self):
    """The paper's L2 penalty on the networks' weight-norm scales."""
    scales = networks.weight_scale_variables(self.distribution)
    if not scales or self.l2_scale == 0.:
      return tf.zeros([], self.dtype)
    return self.l2_scale * tf.add_n([tf.reduce_sum(tf.square(s))
                                     for s in scales])

  def _negative_log_likelihood(self, data, training):
    """`(local_nll_sum, local_count, global_count)` of a replica's batch.

    Under a `tf.distribute` strategy each replica sees part of the global
    batch; dividing its sum by the global count makes the replicas' losses
    (and so their all-reduced gradients) add up to the global mean.
    """
    nll = -self(data, training=training)
    local_count = tf.cast(tf.shape(nll)[0], nll.dtype)
    context = tf.distribute.get_replica_context()
    global_count = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                      local_count)
    return tf.reduce_sum(nll), local_count, global_count

  def train_step(self, data):
    data = batches.without_sample_weights(data)
    num_replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if self.skip_non_finite:
      statistics = self._statistics_before_step()
    with tf.GradientTape() as tape:
      nll_sum, local_count, global_count = self._negative_log_likelihood(
          data, training=True)
      regularization = self.regularization_loss()
      # Summed over replicas: the global mean NLL plus the penalty once.
      replica_loss = (nll_sum / global_count
                      + regularization / num_replicas)
    variables = self.trainable_variables
    gradients = tape.gradient(replica_loss, variables)
    # Summed across replicas first, so clipping sees the global gradient;
    # the optimizer is then told not to sum again.
    gradients = tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.SUM, gradients)
    gradient_norm = tf.linalg.global_norm(gradients)
    if self.clip_norm is not None:
      gradients, _ = tf.clip_by_global_norm(gradients, self.clip_norm,
                                            use_norm=gradient_norm)
    if self.skip_non_finite:
      return self._apply_if_finite(
          list(zip(gradients, variables)), gradient_norm, replica_loss,
          statistics, nll_sum, local_count, regularization)
    # Both Keras optimizer kinds: the legacy ones apply Adam with one fused
    # kernel per variable (the default of bin/train.py, see app/run.py).
    if isinstance(self.optimizer, tf_keras.optimizers.legacy.Optimizer):
      self.optimizer.apply_gradients(zip(gradients, variables),
                                     experimental_aggregate_gradients=False)
    else:
      self.optimizer.apply_gradients(zip(gradients, variables),
                                     skip_gradients_aggregation=True)
    self._update_polyak_averages()
    # A non-finite gradient makes the step's reported loss non-finite too,
    # so a guard watching the loss stops before the weights are saved.
    nll_sum = tf.where(tf.math.is_finite(gradient_norm), nll_sum,
                       tf.constant(float('nan'), nll_sum.dtype))
    return self._update_metrics(nll_sum, local_count, regularization)

  def _check_data(self, data, method):
    """Refuses data the flow cannot take, once per dataset, before tracing."""
    try:
      if data in self._checked_data:
        return
    except TypeError:  # Not weak-referenceable or hashable: check each time.
      pass
    input_checks.check_data(self.distribution, data, method,
                            self.check_pixel_range)
    try:
      self._checked_data.add(data)
    except TypeError:
      pass

  @contextlib.contextmanager
  def _fresh_functions_after_failure(self, method):
    # A trace that failed still counts as the tf.function's first call, and
    # anything the next one created (an optimizer's lazily made variables)
    # tf.function would refuse: after a failure, Keras builds new ones, as it
    # does for a model that was never called.
    try:
      yield
    except BaseException as error:
      self.train_function = None
      self.test_function = None
      self.predict_function = None
      if input_checks.is_unit_range_error(error):
        raise ValueError(input_checks.unit_range_message(method)) from None
      if input_checks.is_integer_range_error(error):
        raise ValueError(input_checks.integer_range_message(method)) from None
      raise

  def _checked_pixels(self, data):
    if self.check_pixel_range and isinstance(self.distribution,
                                             flows.RealNVP):
      return input_checks.with_pixel_range_check(data)
    return data

  def fit(self, x=None, y=None, *args, **kwargs):
    """`tf_keras.Model.fit`, refusing data the flow cannot take at once.

    A failed `fit` (bad data, an interrupt) leaves the model usable: the
    next call traces anew.
    """
    self._check_data(x, 'fit')
    if kwargs.get('validation_data') is not None:
      self._check_data(kwargs['validation_data'], 'fit')
      kwargs['validation_data'] = self._checked_pixels(
          kwargs['validation_data'])
    with self._fresh_functions_after_failure('fit'):
      return super().fit(self._checked_pixels(x), y, *args, **kwargs)

  def make_train_function(self, force=False):
    # The optimizer's variables are made here, eagerly: left to the step's
    # first call, they make tf.function trace the step twice (once creating
    # them, once without), which doubles the time to the first step.
    if self.train_function is None or force:
      with self.distribute_strategy.scope():
        if isinstance(self.optimizer, tf_keras.optimizers.legacy.Optimizer):
          compat.create_optimizer_slots(self.optimizer,
                                        self.trainable_variables)
        elif isinstance(self.optimizer, tf_keras.optimizers.Optimizer):
          self.optimizer.build(self.trainable_variables)
    return super().make_train_function(force)

  def evaluate(self, x=None, *args, averaged=True, dequantization_samples=None,
               **kwargs):
    """`tf_keras.Model.evaluate`, with the Polyak-averaged weights by default.

    `fit`'s validation calls this too, so with averaging its
    `val_bits_per_dim` is the averaged model's; `averaged=False` evaluates
    the raw weights. `dequantization_samples=K > 1` also reports, for
    integer pixels, `discrete_bits_per_dim` (the `K`-draw estimate) and its
    standard error; `bits_per_dim` is the first draw's. Data are checked as
    in `fit`.
    """
    self._set_evaluation_samples(dequantization_samples)
    self._check_data(x, 'evaluate')
    with self._fresh_functions_after_failure('evaluate'):
      if not averaged:
        return super().evaluate(self._checked_pixels(x), *args, **kwargs)
      with self.averaged_weights():
        return super().evaluate(self._checked_pixels(x), *args, **kwargs)

  def predict(self, x, *args, **kwargs):
    """`tf_keras.Model.predict`: per-example log-probs; data checked first."""
    self._check_data(x, 'predict')
    with self._fresh_functions_after_failure('predict'):
      return super().predict(x, *args, **kwargs)

  def test_step(self, data):
    data = batches.without_sample_weights(data)
    images, condition = batches.split_batch(data, self.distribution)
    if self.evaluation_samples > 1 and images.dtype.is_integer:
      nll_sum, local_count = self._discrete_test_step(
          images, lambda values: batches.log_prob_in_mode(
              self.distribution, values, condition, False))
    else:
      nll_sum, local_count, _ = self._negative_log_likelihood(
          data, training=False)
    results = self._update_metrics(nll_sum, local_count,
                                   self.regularization_loss())
    results = {name: value for name, value in results.items()
               if name not in ('discrete_square', 'discrete_count')}
    results.update(self._discrete_results())
    return results

  def predict_step(self, data):
    return self(batches.without_sample_weights(data), training=False)

  def _update_metrics(self, nll_sum, count, regularization):
    # Weighted by the replica's example count, so the metrics are means over
    # the global batch however it was split (an empty replica adds nothing).
    mean_nll = tf.math.divide_no_nan(nll_sum, count)
    self.loss_tracker.update_state(mean_nll + regularization,
                                   sample_weight=count)
    self.bits_per_dim_tracker.update_state(
        flows.log_prob_to_bits_per_dim(-mean_nll, self._num_dims),
        sample_weight=count)
    return {m.name: m.result() for m in self.metrics}
