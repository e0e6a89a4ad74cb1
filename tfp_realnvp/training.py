"""Keras `fit` training of a flow by maximum likelihood, reported in bits/dim."""

import contextlib
import math

import numpy as np
import tensorflow as tf
import tf_keras

from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp import compat
from tfp_realnvp import model as model_lib
from tfp_realnvp import networks

__all__ = ['BitsPerDimEvaluator', 'FlowModel', 'WarmupDecay',
           'batch_norms', 'evaluate_bits_per_dim', 'log_prob_in_mode',
           'recompute_batch_norm_statistics', 'split_batch']


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
  kind = model_lib.condition_name(distribution)
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
  if isinstance(distribution, model_lib.Flow):
    return distribution.log_prob(
        values, training=training,
        **model_lib.condition_kwargs(distribution, condition))
  with rnvp_bijectors.training_mode(training):
    return distribution.log_prob(values)


_HDF5_SUFFIXES = ('.h5', '.hdf5')
_LEGACY_OPTIMIZER_KEY = 'legacy_optimizer_'


@tf_keras.saving.register_keras_serializable(package='tfp_realnvp')
class FlowModel(tf_keras.Model):
  """Trains a `tfd.TransformedDistribution` with `compile` and `fit`.

  The loss is the mean negative log-likelihood plus the paper's L2 penalty
  (`l2_scale`, 5e-5 in §4.1) on the weight-normalization scales of the
  coupling networks; gradients are clipped by global norm (`clip_norm`).
  `fit` runs batch norm in training mode, `evaluate` and `predict` in
  evaluation mode; both report `bits_per_dim = nll / (D ln 2)`, which for
  `tfp_realnvp.RealNVP` (a density over dequantized pixels in [0, 256)) is the
  paper's figure. `predict` returns per-example log-probs.

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
  pixels = tf.random.uniform([64, 8, 8, 1], 0., 256.)
  model.fit(tf.data.Dataset.from_tensor_slices(pixels).batch(16), epochs=1)
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
               polyak_decay=None, skip_non_finite=False, **kwargs):
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
    if polyak_decay is not None and not 0. < polyak_decay < 1.:
      raise ValueError(
          f'`polyak_decay` must be None or in (0, 1), got {polyak_decay!r}.')
    self.distribution = distribution
    self.l2_scale = float(l2_scale)
    self.clip_norm = clip_norm
    self.polyak_decay = None if polyak_decay is None else float(polyak_decay)
    self.skip_non_finite = bool(skip_non_finite)
    self.polyak_averages = []
    self.polyak_updates = None
    self.polyak_zero_share = None
    if polyak_decay is not None:
      # Replicas apply the same all-reduced update, so they compute the same
      # average; ONLY_FIRST_REPLICA keeps one value and lets replicas assign.
      def average_variable(name, initial):
        return tf.Variable(
            initial, trainable=False, name=name,
            synchronization=tf.VariableSynchronization.ON_WRITE,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

      self.polyak_averages = [
          average_variable(f'polyak_average_{i}', tf.zeros_like(w))
          for i, w in enumerate(distribution.trainable_variables)]
      self.polyak_updates = average_variable(
          'polyak_updates', tf.zeros([], tf.float32))
      # The product of the decays so far: the share of the zero start that
      # the average still holds, divided out when it is read.
      self.polyak_zero_share = average_variable(
          'polyak_zero_share', tf.ones([], tf.float32))
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
                       else [])

  def get_config(self):
    """The flow's config and the loss settings, for the `.keras` format.

    Raises:
      NotImplementedError: for a distribution that is not a `tfp_realnvp`
        flow, which no config can rebuild.
    """
    if not isinstance(self.distribution, model_lib.Flow):
      raise NotImplementedError(
          f'A FlowModel of a {type(self.distribution).__name__} cannot be '
          'saved whole (.keras): only tfp_realnvp flows can be rebuilt from '
          'a config. Save the weights instead, '
          'model.save_weights("flow.weights.h5") or a tf.train.Checkpoint, '
          'and rebuild the distribution in code before loading them.')
    return dict(flow=model_lib.flow_config(self.distribution),
                l2_scale=self.l2_scale, clip_norm=self.clip_norm,
                polyak_decay=self.polyak_decay,
                skip_non_finite=self.skip_non_finite, name=self.name)

  @classmethod
  def from_config(cls, config, custom_objects=None):
    config = dict(config)
    return cls(model_lib.flow_from_config(config.pop('flow')), **config)

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

  # The `.keras` format walks Keras layers and new-style optimizers only: the
  # flow's bijectors are tf.Modules, and a legacy optimizer (bin/train.py's
  # fused Adam) would restart from zero, so the model stores both itself.
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

  @property
  def is_conditional(self):
    return getattr(self.distribution, 'num_classes', None) is not None

  def call(self, inputs, training=None):
    """Per-example log-probs of images, or of `(images, labels or context)`."""
    images, condition = split_batch(inputs, self.distribution)
    return log_prob_in_mode(self.distribution, images, condition,
                            False if training is None else training)

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

  def _batch_norm_statistics(self):
    return [variable for norm in batch_norms(self.distribution)
            for variable in (norm.moving_mean, norm.moving_variance,
                             norm.num_updates)]

  def train_step(self, data):
    data = self._without_sample_weights(data)
    num_replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if self.skip_non_finite:
      # Read before the forward pass updates them (automatic control
      # dependencies keep program order), to put back after a bad batch.
      statistics = self._batch_norm_statistics()
      statistics_before = [tf.identity(v) for v in statistics]
    with tf.GradientTape() as tape:
      nll_sum, local_count, global_count = self._negative_log_likelihood(
          data, training=True)
      regularization = self.regularization_loss()
      # Summed over replicas: the global mean NLL plus the penalty once.
      replica_loss = (nll_sum / global_count
                      + regularization / num_replicas)
    variables = self.trainable_variables
    gradients = tape.gradient(replica_loss, variables)
    # Aggregate across replicas first, so clipping sees the global gradient.
    # Both Keras optimizer kinds: the legacy ones apply Adam with one fused
    # kernel per variable (the default of bin/train.py, see app/run.py).
    legacy = isinstance(self.optimizer, tf_keras.optimizers.legacy.Optimizer)
    gradients = [g for g, _ in compat.aggregate_gradients(
        self.optimizer, list(zip(gradients, variables)))]
    gradient_norm = tf.linalg.global_norm(gradients)
    if self.clip_norm is not None:
      gradients, _ = tf.clip_by_global_norm(gradients, self.clip_norm,
                                            use_norm=gradient_norm)
    if self.skip_non_finite:
      return self._apply_if_finite(
          list(zip(gradients, variables)), gradient_norm, replica_loss,
          statistics, statistics_before, nll_sum, local_count,
          regularization)
    if legacy:
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

  def _apply_if_finite(self, grads_and_vars, gradient_norm, replica_loss,
                       statistics, statistics_before, nll_sum, local_count,
                       regularization):
    """The update of a finite step; nothing (but a count) for another."""
    context = tf.distribute.get_replica_context()
    # The gradient norm is already global; a replica's loss is not.
    bad_losses = context.all_reduce(
        tf.distribute.ReduceOp.SUM,
        tf.cast(tf.logical_not(tf.math.is_finite(replica_loss)), tf.float32))
    finite = tf.logical_and(tf.math.is_finite(gradient_norm),
                            tf.equal(bad_losses, 0.))
    with tf.control_dependencies([compat.apply_gradients_if(
        self.optimizer, finite, grads_and_vars)]):
      for variable, before in zip(statistics, statistics_before):
        variable.assign(tf.where(finite, variable, before))
    self._update_polyak_averages(finite)
    self.skipped_tracker.update_state(
        tf.cast(tf.logical_not(finite), tf.float32) / tf.cast(
            tf.distribute.get_strategy().num_replicas_in_sync, tf.float32))
    # A skipped step adds nothing to the loss and bits/dim means.
    return self._update_metrics(
        tf.where(finite, nll_sum, tf.zeros_like(nll_sum)),
        tf.where(finite, local_count, tf.zeros_like(local_count)),
        tf.where(finite, regularization, tf.zeros_like(regularization)))

  def polyak_step_decay(self):
    """The decay of the next update: `min(d, (1 + t) / (10 + t))`."""
    updates = self.polyak_updates
    return tf.minimum(self.polyak_decay, (1. + updates) / (10. + updates))

  def _update_polyak_averages(self, finite=None):
    """`a <- d_t a + (1 - d_t) w` for every weight; one more update counted.

    With `finite` false (a skipped step) every average stays as it is.
    """
    if not self.polyak_averages:
      return
    decay = self.polyak_step_decay()
    if finite is not None:
      decay = tf.where(finite, decay, 1.)
    weights = self.distribution.trainable_variables
    for average, weight in zip(self.polyak_averages, weights):
      average.assign(decay * average
                     + (1. - decay) * tf.cast(weight, average.dtype))
    self.polyak_zero_share.assign(self.polyak_zero_share * decay)
    self.polyak_updates.assign_add(
        1. if finite is None else tf.cast(finite, tf.float32))

  def _has_polyak_averages(self):
    # .numpy(): float() cannot read a MirroredVariable.
    return (bool(self.polyak_averages) and
            float(self.polyak_updates.numpy()) > 0.)

  def debiased_polyak_averages(self):
    """The averages divided by `1 - prod(d_i)` (as Adam's moments), or `None`.

    Zero-initialised averages start biased toward zero; after `t` updates
    with decays `d_i` the debiased value is
    `sum_i (1 - d_i) prod_{j > i}(d_j) w_i / (1 - prod_i(d_i))`, a weighted
    mean of the weights seen. `None` when there is no average yet.
    """
    if not self._has_polyak_averages():
      return None
    correction = 1. - self.polyak_zero_share
    return [average / tf.cast(correction, average.dtype)
            for average in self.polyak_averages]

  @contextlib.contextmanager
  def averaged_weights(self):
    """Within the block, the flow's weights are their Polyak averages.

    Evaluation, sampling and export inside it use the averaged model; the
    raw weights come back on exit (also on an exception). Without averaging
    (or before the first update) the weights are left as they are.
    """
    if not self._has_polyak_averages():
      yield
      return
    weights = self.distribution.trainable_variables
    raw = [tf.identity(weight) for weight in weights]
    self.use_polyak_averages()
    try:
      yield
    finally:
      for weight, value in zip(weights, raw):
        weight.assign(value)

  def use_polyak_averages(self):
    """Sets the flow's weights to their Polyak averages for good (loading)."""
    averages = self.debiased_polyak_averages()
    if averages is not None:
      for weight, average in zip(self.distribution.trainable_variables,
                                 averages):
        weight.assign(tf.cast(average, weight.dtype))
    return averages is not None

  def evaluate(self, *args, averaged=True, **kwargs):
    """`tf_keras.Model.evaluate`, with the Polyak-averaged weights by default.

    `fit`'s validation calls this too, so with averaging its
    `val_bits_per_dim` is the averaged model's; `averaged=False` evaluates
    the raw weights.
    """
    if not averaged:
      return super().evaluate(*args, **kwargs)
    with self.averaged_weights():
      return super().evaluate(*args, **kwargs)

  def test_step(self, data):
    nll_sum, local_count, _ = self._negative_log_likelihood(
        self._without_sample_weights(data), training=False)
    return self._update_metrics(nll_sum, local_count,
                                self.regularization_loss())

  def predict_step(self, data):
    return self(self._without_sample_weights(data), training=False)

  def _without_sample_weights(self, data):
    # (images,), (images, labels): a third element would be Keras' sample
    # weights, which a likelihood does not use.
    if isinstance(data, (tuple, list)):
      return tuple(data[:2]) if len(data) > 1 else data[0]
    return data

  def _update_metrics(self, nll_sum, count, regularization):
    # Weighted by the replica's example count, so the metrics are means over
    # the global batch however it was split (an empty replica adds nothing).
    mean_nll = tf.math.divide_no_nan(nll_sum, count)
    self.loss_tracker.update_state(mean_nll + regularization,
                                   sample_weight=count)
    self.bits_per_dim_tracker.update_state(
        model_lib.log_prob_to_bits_per_dim(-mean_nll, self._num_dims),
        sample_weight=count)
    return {m.name: m.result() for m in self.metrics}


def batch_norms(module):
  """Every batch norm (bijector or network layer) inside `module`."""
  kinds = (rnvp_bijectors.BatchNormalization, networks.BatchNorm)
  return [m for m in module.submodules if isinstance(m, kinds)]


def recompute_batch_norm_statistics(distribution, dataset, num_batches=None):
  """Sets every batch norm's moving statistics from a pass over `dataset`.

  For checkpoints trained before the moving averages were debiased (or any
  whose statistics lag the weights): each batch runs through the flow in
  training mode, where batch norm normalizes with the batch's own
  statistics, and each batch norm's moving mean and variance become the mean
  of its batch statistics over the pass. Trainable weights do not change.
  The update counts are set to the number of batches, so training resumes
  with a fully debiased average.

  Args:
    distribution: a flow holding `tfp_realnvp` batch norms, e.g.
      `tfp_realnvp.RealNVP`; class-conditional ones need `(images, labels)`.
    dataset: a `tf.data.Dataset` (or iterable) of images or `(images, labels)`
      batches, as `FlowModel.fit` takes.
    num_batches: `None` for the whole dataset, else at most this many batches.

  Returns:
    The number of batches used.

  Raises:
    ValueError: if `distribution` holds no batch norm, or `dataset` no batch.
  """
  norms = batch_norms(distribution)
  if not norms:
    raise ValueError(f'{distribution.name} holds no tfp_realnvp batch norm.')

  @tf.function(autograph=False)
  def batch_statistics(images, condition):
    # With the count at zero, one debiased update stores the batch's own
    # statistics, which are then read back.
    for bn in norms:
      bn.num_updates.assign(tf.zeros_like(bn.num_updates))
    log_prob = log_prob_in_mode(distribution, images, condition,
                                training=True)
    with tf.control_dependencies([log_prob]):
      return [(tf.identity(bn.moving_mean), tf.identity(bn.moving_variance))
              for bn in norms]

  sums, count = None, 0
  for data in dataset:
    if num_batches is not None and count >= num_batches:
      break
    statistics = batch_statistics(*split_batch(data, distribution))
    sums = statistics if sums is None else tf.nest.map_structure(
        tf.add, sums, statistics)
    count += 1
  if not count:
    raise ValueError('`dataset` yielded no batch.')
  for bn, (mean_sum, variance_sum) in zip(norms, sums):
    bn.moving_mean.assign(mean_sum / count)
    bn.moving_variance.assign(variance_sum / count)
    bn.num_updates.assign(tf.cast(count, bn.num_updates.dtype))
  return count


class BitsPerDimEvaluator:
  """Mean bits/dim of a flow over datasets, with one traced function.

  `evaluate_bits_per_dim` for repeated use (validation every N steps): the
  function is traced once per input signature, not once per call.
  """

  def __init__(self, flow):
    self._flow = flow

    @tf.function(autograph=False)
    def bits_per_dim(values, condition):
      return flow.bits_per_dim(values,
                               **model_lib.condition_kwargs(flow, condition))

    self._bits_per_dim = bits_per_dim

  def __call__(self, dataset):
    total, count = 0., 0
    for data in dataset:
      values = self._bits_per_dim(*split_batch(data, self._flow)).numpy()
      total += float(np.sum(values))
      count += len(values)
    if not count:
      raise ValueError('The evaluation dataset is empty.')
    return total / count


def evaluate_bits_per_dim(flow, dataset):
  """Mean bits/dim of `flow` in evaluation mode over a batched dataset.

  Args:
    flow: anything with the flows' `bits_per_dim`: a `tfp_realnvp` model,
      or a flow from `tfp_realnvp.app.loading.load_flow`.
    dataset: a `tf.data.Dataset` (or iterable) of values or `(values,
      labels or context)` batches; a conditioned flow needs them.

  Returns:
    A Python float, the mean over every example.

  Raises:
    ValueError: for an empty dataset or missing labels.
  """
  return BitsPerDimEvaluator(flow)(dataset)


DECAYS = ('cosine', 'exponential')


@tf_keras.saving.register_keras_serializable(package='tfp_realnvp')
class WarmupDecay(tf_keras.optimizers.schedules.LearningRateSchedule):
  """A linear warm-up, then a cosine or exponential decay of the rate.

  With `t = step - warmup_steps`:

  ```none
  warm-up (step < warmup_steps): rate * (step + 1) / warmup_steps
  cosine:       rate * (f + (1 - f) * (1 + cos(pi * min(t, T) / T)) / 2)
  exponential:  rate * decay_rate ** (t / T)
  none:         rate
  ```

  with `T = decay_steps` and `f = final_fraction`. The step is the
  optimizer's `iterations`, which checkpoints hold, so a resumed run
  continues the schedule where it stopped.
  """

  def __init__(self, learning_rate, warmup_steps=0, decay=None,
               decay_steps=None, decay_rate=0.1, final_fraction=0.):
    """Builds the schedule.

    Args:
      learning_rate: Python float > 0, the peak rate.
      warmup_steps: Python int >= 0, steps of the linear warm-up.
      decay: `None`, `'cosine'` or `'exponential'`.
      decay_steps: Python int > 0, `T` above; needed with a decay.
      decay_rate: the exponential decay's factor per `decay_steps`.
      final_fraction: the cosine decay's final share of the rate.

    Raises:
      ValueError: naming the argument that cannot work.
    """
    super().__init__()
    if not learning_rate > 0:
      raise ValueError(f'`learning_rate` must be > 0, got {learning_rate!r}.')
    if warmup_steps < 0:
      raise ValueError(f'`warmup_steps` must be >= 0, got {warmup_steps!r}.')
    if decay is not None and decay not in DECAYS:
      raise ValueError(f'`decay` must be None or one of {DECAYS}, got '
                       f'{decay!r}.')
    if decay is not None and not (decay_steps and decay_steps > 0):
      raise ValueError(f'A {decay} decay needs `decay_steps` > 0, got '
                       f'{decay_steps!r}.')
    if not 0. < decay_rate <= 1. or not 0. <= final_fraction <= 1.:
      raise ValueError('`decay_rate` must be in (0, 1] and `final_fraction` '
                       f'in [0, 1], got {decay_rate!r}, {final_fraction!r}.')
    self.learning_rate = float(learning_rate)
    self.warmup_steps = int(warmup_steps)
    self.decay = decay
    self.decay_steps = decay_steps
    self.decay_rate = float(decay_rate)
    self.final_fraction = float(final_fraction)

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    rate = tf.constant(self.learning_rate, tf.float32)
    if self.warmup_steps:
      rate *= tf.minimum(1., (step + 1.) / self.warmup_steps)
    since_warmup = tf.maximum(step - self.warmup_steps, 0.)
    if self.decay == 'cosine':
      progress = tf.minimum(since_warmup, self.decay_steps) / self.decay_steps
      cosine = 0.5 * (1. + tf.cos(math.pi * progress))
      rate *= self.final_fraction + (1. - self.final_fraction) * cosine
    elif self.decay == 'exponential':
      rate *= self.decay_rate ** (since_warmup / self.decay_steps)
    return rate

  def get_config(self):
    return dict(learning_rate=self.learning_rate,
                warmup_steps=self.warmup_steps, decay=self.decay,
                decay_steps=self.decay_steps, decay_rate=self.decay_rate,
                final_fraction=self.final_fraction)
