"""`TrainingStep`: the objective in a state where every term matters, and a
training loop without Keras (issue #42)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tests import bijector_test_util

_SHAPE = (4, 4, 1)


def _pixels(n, seed=0):
  return tf.constant(np.random.default_rng(seed).integers(
      0, 256, (n,) + _SHAPE), tf.int32)


@pytest.fixture(scope='module')
def variational_flow():
  flow = tfp_realnvp.RealNVP(_SHAPE, num_scales=1, num_res_blocks=1,
                             num_filters=4, dequantization='variational',
                             dtype=tf.float64)
  # A moved q (and flow): an untrained q is uniform noise, log q = 0, and
  # its batch norms' statistics would equal the batch's.
  bijector_test_util.randomize_variables(flow, seed=2)
  return flow


def _by_hand(flow, pixels, seed, q_training=True):
  """`log p(x + u) - log q(u | x)` from the flow's parts, training mode."""
  values, log_q = flow.dequantizer(pixels, flow.dtype, seed=seed,
                                   training=q_training)
  return flow.log_prob(values, training=True) - log_q, log_q


def test_the_variational_objective_subtracts_a_trained_log_q(
    variational_flow):
  flow = variational_flow
  pixels = _pixels(8)
  seed = tf.constant([4, 5])
  step = tfp_realnvp.TrainingStep(flow, l2_scale=0.)
  objective = step.objective(pixels, training=True, seed=seed)
  expected, log_q = _by_hand(flow, pixels, seed)
  np.testing.assert_allclose(objective, expected, rtol=1e-9)
  # Every term matters here, so either wrong term would be seen: the sign of
  # log q, and q's batch norm in evaluation mode.
  assert np.min(np.abs(log_q)) > 1e-2
  assert not np.allclose(objective, expected + 2. * log_q, rtol=1e-4)
  in_evaluation, _ = _by_hand(flow, pixels, seed, q_training=False)
  assert not np.allclose(objective, in_evaluation, rtol=1e-4)


def test_a_training_step_reports_that_objective(variational_flow):
  flow = variational_flow
  pixels = _pixels(8, seed=1)
  # A rate of 0: the step computes its loss, and nothing moves the weights.
  model = tfp_realnvp.FlowModel(flow, l2_scale=0., seed=7)
  model.compile(optimizer=tf_keras.optimizers.SGD(0.))
  history = model.fit(pixels, batch_size=8, epochs=1, shuffle=False,
                      verbose=0).history
  expected, _ = _by_hand(flow, pixels, model.step.training_seed(0))
  np.testing.assert_allclose(history['loss'][0], -np.mean(expected),
                             rtol=1e-6)
  np.testing.assert_allclose(
      history['bits_per_dim'][0],
      -np.mean(expected) / (np.prod(_SHAPE) * np.log(2.)), rtol=1e-6)


class PlainSGD:
  """An optimizer that is no Keras object: `apply_gradients`, `iterations`."""

  def __init__(self, rate):
    self.rate = rate
    self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False)

  @property
  def variables(self):
    return [self.iterations]

  def apply_gradients(self, grads_and_vars):
    for gradient, variable in grads_and_vars:
      variable.assign_sub(self.rate * gradient)
    self.iterations.assign_add(1)


def _prototypes(n, seed=0):
  rng = np.random.default_rng(seed)
  prototypes = rng.integers(0, 256, size=(2,) + _SHAPE)
  noise = rng.integers(-4, 5, size=(n,) + _SHAPE)
  return tf.constant(np.clip(prototypes[rng.integers(0, 2, n)] + noise, 0,
                             255), tf.uint8)


def test_a_plain_tf_function_loop_trains_without_keras():
  tf_keras.utils.set_random_seed(0)
  flow = tfp_realnvp.RealNVP(_SHAPE, num_scales=1, num_res_blocks=1,
                             num_filters=4)
  step = tfp_realnvp.TrainingStep(flow, polyak_decay=0.9,
                                  skip_non_finite=True, seed=1)
  optimizer = PlainSGD(1e-2)
  train = tf.function(lambda batch: step.train(batch, optimizer),
                      autograph=False)
  batch = _prototypes(32)
  first = float(train(batch)['bits_per_dim'])
  for _ in range(20):
    step.reset_metrics()
    logs = train(batch)
  assert float(logs['bits_per_dim']) < first - 0.2
  assert float(logs['skipped_batches']) == 0.
  assert int(optimizer.iterations.numpy()) == 21
  assert float(step.polyak.updates.numpy()) == 21.
  # A non-finite step changes nothing, whatever the optimizer.
  weights = [w.numpy().copy() for w in flow.trainable_variables]
  poisoned = tf.function(
      lambda: step.train(tf.fill([4] + list(_SHAPE), np.nan), optimizer),
      autograph=False)
  step.reset_metrics()
  assert float(poisoned()['skipped_batches']) == 1.
  assert int(optimizer.iterations.numpy()) == 21
  for before, after in zip(weights, flow.trainable_variables):
    np.testing.assert_array_equal(before, after.numpy())
  # Evaluation with the same seed repeats its figure.
  figures = []
  for _ in range(2):
    step.reset_metrics()
    step.start_evaluation(seed=3)
    figures.append(float(step.evaluate(batch, samples=2)[
        'discrete_bits_per_dim']))
  assert figures[0] == figures[1]


def test_a_learned_q_that_the_flow_does_not_own_is_refused():
  flow = tfp_realnvp.RealNVP(_SHAPE, num_scales=1, num_res_blocks=1,
                             num_filters=2)
  foreign = tfp_realnvp.VariationalDequantizer(_SHAPE, num_couplings=1,
                                               num_filters=2)
  with pytest.raises(ValueError, match='does not own'):
    tfp_realnvp.TrainingStep(flow, dequantizer=foreign)
