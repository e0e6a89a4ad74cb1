"""`TrainingStep`: the one owner of a flow's training and evaluation step.

The loss (integer pixels dequantized by the flow's `Dequantizer`), the
paper's L2 penalty, gradient clipping, skipping non-finite steps, the Polyak
average and the reported figures live here, behind a public interface that
any loop calls: `FlowModel` (Keras `fit`) is this step plus Keras plumbing,
and a plain `tf.function` loop needs nothing else:

```python
step = tfp_realnvp.training.TrainingStep(flow, polyak_decay=0.999)
optimizer = tf_keras.optimizers.Adam(1e-3)
optimizer.build(flow.trainable_variables)  # Slots first: traced once, not twice.

@tf.function
def train(batch):
  return step.train(batch, optimizer)      # {'loss': ..., 'bits_per_dim': ...}

for batch in dataset:
  logs = train(batch)
```
"""

import contextlib

import numpy as np
import tensorflow as tf

from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp import condition as condition_lib
from tfp_realnvp import flows
from tfp_realnvp import networks
from tfp_realnvp.dequantization import estimate
from tfp_realnvp.dequantization import noise
from tfp_realnvp.dequantization import pixels as pixels_lib
from tfp_realnvp.dequantization import uniform
from tfp_realnvp.dequantization import units
from tfp_realnvp.training import averaged_weights
from tfp_realnvp.training import metrics as metrics_lib
from tfp_realnvp.training import non_finite
from tfp_realnvp.training import optimizers
from tfp_realnvp.training import polyak

__all__ = ['TrainingStep']


def _counter(dtype=tf.int64):
  # Per replica, untracked: a run's position, not the model's state.
  return tf.Variable(tf.zeros([], dtype), trainable=False,
                     synchronization=tf.VariableSynchronization.ON_READ,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


class _RunState:
  """Variables of a run that no checkpoint of the model holds."""

  def __init__(self, num_dims):
    self.metrics = metrics_lib.StepMetrics(num_dims)
    self.evaluation_seed = tf.Variable(
        tf.zeros([2], tf.int64), trainable=False,
        synchronization=tf.VariableSynchronization.ON_READ,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    # The examples evaluated since `start_evaluation`, over all replicas:
    # the position of the next batch's first example.
    self.evaluation_examples = _counter()


class TrainingStep(tf.Module):
  """A flow's training step, evaluation step and per-example objective.

  ```none
  objective(x)  = log p(x + u) - log q(u | x),  u ~ q(. | x)   integer pixels
                = log p(x)                                      float values
  loss          = mean over the global batch of -objective
                  + l2_scale * sum(weight-norm scales ** 2)   (paper §4.1)
  ```

  A training step runs batch norm (the flow's and a learned `q`'s) in
  training mode, sums gradients across replicas, clips them by global norm,
  applies them (or, with `skip_non_finite`, undoes a non-finite step) and
  updates the Polyak average. An evaluation step runs in evaluation mode
  and, with `samples=K > 1`, also scores integer pixels by the `K`-draw
  estimate. Both report means over every example since `reset_metrics()`:
  `loss`, `bits_per_dim` (`-objective / (D ln 2)`), and `skipped_batches`,
  `discrete_bits_per_dim` (with its standard error) where they apply.

  Under a `tf.distribute` strategy (make the step in `strategy.scope()` and
  call it in `strategy.run`) N replicas make the same update as one device
  with the whole batch.
  """

  def __init__(self, distribution, l2_scale=5e-5, clip_norm=100.,
               polyak_decay=None, skip_non_finite=False, dequantizer=None,
               seed=None, name='training_step'):
    """Makes the step's state for `distribution`.

    Args:
      distribution: a `tfd.Distribution` with a static event shape, e.g.
        `tfp_realnvp.RealNVP`; its trainable variables are trained.
      l2_scale: Python float >= 0, the L2 penalty on weight-norm scales.
      clip_norm: Python float > 0 or `None`, the global gradient norm limit.
      polyak_decay: `None`, or the decay in (0, 1) of a Polyak average of
        the weights (`polyak`, see `PolyakAverage`).
      skip_non_finite: Python `bool`: a step whose loss or gradient is not
        finite changes nothing (see `NonFiniteGuard`) and is counted in
        `skipped_batches`; else it reaches the weights and reports a NaN
        loss.
      dequantizer: the `Dequantizer` of integer batches; default the flow's
        own (`flow.dequantizer`; a vector flow takes no integers), or for
        another distribution uniform noise.
      seed: `None` (stateful training noise) or a Python int: training draw
        `t` of a replica then uses a stateless seed from `(seed, t,
        replica)`, with `t` the optimizer's step count.
      name: the module's name.

    Raises:
      ValueError: for an unknown event size, a negative `l2_scale`, a
        non-positive `clip_norm`, a `polyak_decay` outside (0, 1), or a
        learned `dequantizer` that the flow does not own.
    """
    super().__init__(name=name)
    if not distribution.event_shape.is_fully_defined():
      raise ValueError('The distribution needs a static event shape, got '
                       f'{distribution.event_shape}.')
    if l2_scale < 0:
      raise ValueError(f'`l2_scale` must be >= 0, got {l2_scale}.')
    if clip_norm is not None and clip_norm <= 0:
      raise ValueError(
          f'`clip_norm` must be positive or None, got {clip_norm}.')
    is_flow = isinstance(distribution, flows.Flow)
    own = distribution.dequantizer if is_flow else None
    if dequantizer is not None and dequantizer.is_learned and (
        dequantizer is not own):
      raise ValueError(
          'FlowModel(dequantizer=...) got a learned q(u | x) that the flow '
          'does not own: its weights would not be saved or exported with '
          'the flow. Build it into the flow instead, '
          'RealNVP(..., dequantization=\'variational\').')
    if dequantizer is None:
      dequantizer = own if is_flow else uniform.UniformDequantizer()
    self.distribution = distribution
    self.dequantizer = dequantizer
    self.l2_scale = float(l2_scale)
    self.clip_norm = clip_norm
    self.seed = seed
    self.condition_spec = (distribution.condition_spec if is_flow
                           else condition_lib.ConditionSpec())
    self.num_dims = int(np.prod(distribution.event_shape))
    self.polyak = (None if polyak_decay is None else polyak.PolyakAverage(
        distribution.trainable_variables, polyak_decay))
    # The averaged weights' own batch-norm statistics, checkpointed with
    # the averages.
    self.averaged_statistics = (
        None if self.polyak is None else
        averaged_weights.AveragedStatistics(distribution))
    self.averaging = (None if self.polyak is None else
                      averaged_weights.AveragedWeights(
                          self.polyak, self.averaged_statistics,
                          distribution, self.objective))
    self._guard = (non_finite.NonFiniteGuard(distribution)
                   if skip_non_finite else None)
    self._run = _RunState(self.num_dims)

  @property
  def skip_non_finite(self):
    return self._guard is not None

  @property
  def polyak_decay(self):
    return None if self.polyak is None else self.polyak.decay

  # The objective.

  def dequantize(self, values, training=False, seed=None):
    """`(values, log q(u | x))`: integers drawn into the cube, floats as they are.

    Raises:
      TypeError: for integers to a flow over continuous values.
    """
    if not pixels_lib.is_integer(values):
      return values, tf.zeros([], self.distribution.dtype)
    if self.dequantizer is None:
      pixels_lib.require_values(values, self.name, self.distribution)
    return self.dequantizer(values, self.distribution.dtype, seed=seed,
                            training=training)

  def _density(self, values, condition, training):
    """`log p(values)` in the given batch-norm mode."""
    distribution = self.distribution
    if isinstance(distribution, flows.Flow):
      if condition is not None:
        distribution = distribution.given(
            **self.condition_spec.keywords(condition))
      return distribution.log_prob(values, training=training)
    # Another distribution (a tfd.Mixture of flows, a plain tfb.Chain) cannot
    # take the mode as a keyword; its stateful bijectors read it here.
    with rnvp_bijectors.training_mode(training):
      return distribution.log_prob(values)

  # Graph-ready code (no Python branch on a tensor): left unconverted by
  # autograph, which would otherwise convert every function it calls, TFP's
  # and Keras' included (a step's first trace takes 15-20% longer).
  @tf.autograph.experimental.do_not_convert
  def objective(self, data, training=False, seed=None):
    """Per example, one draw of `log p(x + u) - log q(u | x)` (or `log p(x)`).

    Args:
      data: values, or `(values, labels or context)`; a third element
        (Keras' sample weights) is ignored.
      training: batch norm's mode, the flow's and a learned `q`'s.
      seed: `None` or a shape-[2] seed of the dequantization noise.

    Returns:
      `[batch]` log-densities.
    """
    values, condition = self.condition_spec.split(data,
                                                  self.distribution.name)
    values, log_q = self.dequantize(values, training, seed)
    return self._density(values, condition, training) - log_q

  def regularization_loss(self):
    """The paper's L2 penalty on the networks' weight-norm scales."""
    scales = networks.weight_scale_variables(self.distribution)
    if not scales or self.l2_scale == 0.:
      return tf.zeros([], self.distribution.dtype)
    return self.l2_scale * tf.add_n([tf.reduce_sum(tf.square(s))
                                     for s in scales])

  # The steps.

  def training_seed(self, step_count):
    """The noise seed of training step `step_count` on this replica, or `None`.

    `None` without a `seed` (stateful noise).
    """
    if self.seed is None:
      return None
    return noise.replica_seed([self.seed, 0], step_count)

  @tf.autograph.experimental.do_not_convert
  def train(self, data, optimizer):
    """One training step on a replica's batch; the figures so far.

    Args:
      data: a batch, as `objective` takes it.
      optimizer: a tf_keras optimizer (legacy or new), or under one replica
        any optimizer with `apply_gradients` and `iterations`.

    Returns:
      A dict of scalar tensors: `loss`, `bits_per_dim` and with
      `skip_non_finite` `skipped_batches`.
    """
    values, _ = self.condition_spec.split(data, self.distribution.name)
    if not pixels_lib.is_integer(values) and self.dequantizer is not None and (
        self.dequantizer.is_learned):
      # Data Keras reads only as it trains (generators) reach this.
      raise TypeError(pixels_lib.float_pixels_message(
          self.distribution, pixels_lib.describe(values)))
    num_replicas = tf.distribute.get_strategy().num_replicas_in_sync
    statistics = (self._guard.statistics_before_step() if self._guard
                  else None)
    with tf.GradientTape() as tape:
      log_prob = self.objective(data, training=True,
                                seed=self.training_seed(optimizer.iterations))
      nll_sum = -tf.reduce_sum(log_prob)
      local_count = tf.cast(tf.size(log_prob), log_prob.dtype)
      global_count = tf.distribute.get_replica_context().all_reduce(
          tf.distribute.ReduceOp.SUM, local_count)
      regularization = self.regularization_loss()
      # Summed over replicas: the global mean NLL plus the penalty once.
      replica_loss = nll_sum / global_count + regularization / num_replicas
    variables = self.distribution.trainable_variables
    gradients = tape.gradient(replica_loss, variables)
    # Summed across replicas first, so clipping sees the global gradient;
    # the optimizer is then told not to sum again.
    gradients = tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.SUM, gradients)
    gradient_norm = tf.linalg.global_norm(gradients)
    if self.clip_norm is not None:
      gradients, _ = tf.clip_by_global_norm(gradients, self.clip_norm,
                                            use_norm=gradient_norm)
    grads_and_vars = list(zip(gradients, variables))
    if self._guard is None:
      optimizers.apply_gradients(optimizer, grads_and_vars)
      finite = None
      # A non-finite gradient makes the reported loss non-finite too, so a
      # guard watching the loss stops before the weights are saved.
      nll_sum = tf.where(tf.math.is_finite(gradient_norm), nll_sum,
                         tf.constant(float('nan'), nll_sum.dtype))
    else:
      finite = self._guard.apply(optimizer, grads_and_vars, gradient_norm,
                                 replica_loss, statistics)
      # A skipped step adds nothing to the loss and bits/dim means.
      nll_sum = tf.where(finite, nll_sum, tf.zeros_like(nll_sum))
      local_count = tf.where(finite, local_count, tf.zeros_like(local_count))
    if self.polyak is not None:
      self.polyak.update(variables, finite)
    increments = dict(examples=local_count, nll=nll_sum,
                      loss=nll_sum + regularization * local_count)
    if finite is not None:
      increments['skipped'] = tf.cast(tf.logical_not(finite),
                                      tf.float32) / num_replicas
    self._run.metrics.add(**increments)
    return self._run.metrics.results(skipped=self.skip_non_finite)

  def start_evaluation(self, seed=None):
    """Sets the noise of the evaluation steps that follow (eager).

    The `n`-th example evaluated from here on (over all replicas, in the
    data's order) draws its noise from `(seed, n)` alone: the same seed and
    data give the same figures at any batch size or number of replicas
    (`noise.uniform`). `None` uses the step's `seed`, or without one draws
    a seed.
    """
    if seed is None:
      seed = self.seed if self.seed is not None else np.random.randint(
          2**31 - 1)
    self._run.evaluation_seed.assign(noise.seed_pair(seed))
    self._run.evaluation_examples.assign(tf.zeros([], tf.int64))

  def _first_example(self, values):
    """The data position of this replica's first example; counts the batch."""
    context = tf.distribute.get_replica_context()
    count = tf.shape(values, out_type=tf.int64)[:1]
    # A global batch is split over the replicas in order.
    counts = context.all_gather(count, axis=0)
    replica = context.replica_id_in_sync_group
    first = (tf.convert_to_tensor(self._run.evaluation_examples)
             + tf.reduce_sum(counts[:replica]))
    with tf.control_dependencies([first]):
      self._run.evaluation_examples.assign_add(tf.reduce_sum(counts))
    return first

  @tf.autograph.experimental.do_not_convert
  def evaluate(self, data, samples=1):
    """One evaluation step (evaluation mode); the figures so far.

    Args:
      data: a batch, as `objective` takes it.
      samples: Python int `K`; above 1, integer pixels are also scored by
        the `K`-draw estimate (`discrete_bits_per_dim`). The single-draw
        figure is always the estimate's first draw, so `K` does not change
        it.

    Returns:
      A dict of scalar tensors: `loss`, `bits_per_dim`, and for `K > 1`
      `discrete_bits_per_dim` and its standard error.
    """
    values, condition = self.condition_spec.split(data,
                                                  self.distribution.name)
    increments = {}
    integer = pixels_lib.is_integer(values)
    discrete = samples > 1 and integer
    if integer:
      if self.dequantizer is None:
        pixels_lib.require_values(values, self.name, self.distribution)
      first_example = self._first_example(values)
      weights = estimate.log_weights(
          lambda v: self._density(v, condition, False), values, samples,
          self.dequantizer, tf.convert_to_tensor(self._run.evaluation_seed),
          self.distribution.dtype, first_example=first_example)
      log_prob = weights[0]
      if discrete:
        bits = tf.cast(units.log_prob_to_bits_per_dim(
            estimate.log_mean_exp(weights), self.num_dims), tf.float32)
        increments.update(discrete_examples=tf.size(bits),
                          discrete_bits=tf.reduce_sum(bits),
                          discrete_square=tf.reduce_sum(tf.square(bits)))
    else:
      log_prob = self._density(values, condition, False)
    count = tf.cast(tf.size(log_prob), log_prob.dtype)
    nll_sum = -tf.reduce_sum(log_prob)
    self._run.metrics.add(
        examples=count, nll=nll_sum,
        loss=nll_sum + self.regularization_loss() * count, **increments)
    return self._run.metrics.results(discrete=discrete)

  def reset_metrics(self):
    """Starts the figures afresh (Keras: every epoch and evaluation)."""
    self._run.metrics.reset()

  # The averaged weights: `averaging` (an `AveragedWeights`, or `None`)
  # also computes their batch-norm statistics.

  def averaged_weights(self, own_statistics=True):
    """Within the block the flow's weights are their Polyak averages.

    With their own batch-norm statistics unless `own_statistics=False`
    (see `AveragedWeights.swapped_in`). Without averaging (or before the
    first update) the weights stay as they are.
    """
    if self.averaging is None:
      return contextlib.nullcontext()
    return self.averaging.swapped_in(own_statistics)

  def use_averaged_weights(self, own_statistics=True):
    """Sets the flow's weights to their averages for good; whether it did."""
    return self.averaging is not None and self.averaging.use_for_good(
        own_statistics)
