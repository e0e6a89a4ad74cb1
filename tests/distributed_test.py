"""tf.distribute training gives what one device gives on the whole batch."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tests import bijector_test_util


def _pixels(n, seed=0):
  rng = np.random.default_rng(seed)
  return rng.uniform(0., 256., size=(n, 8, 8, 1)).astype(np.float32)


def _build(strategy, optimizer_module=tf_keras.optimizers):
  with strategy.scope():
    distribution = tfp_realnvp.RealNVP((8, 8, 1), num_scales=1,
                                       num_res_blocks=1, num_filters=4,
                                       bn_momentum=0.5)
    # Clipping binds (the global norm is well above 1), so it must see the
    # aggregated gradient. SGD keeps the update linear in the gradient: Adam's
    # first step, g / (|g| + eps), would magnify float rounding in tiny
    # gradients.
    model = tfp_realnvp.FlowModel(distribution, clip_norm=1.)
    model.compile(optimizer=optimizer_module.SGD(0.5))
  return model


def _values(model):
  # Variable names repeat across couplings; the order is deterministic.
  return [(v.name, v.numpy()) for v in model.distribution.variables]


def _one_step(strategy, initial_values, images,
              optimizer_module=tf_keras.optimizers):
  model = _build(strategy, optimizer_module)
  for variable, (_, value) in zip(model.distribution.variables,
                                  initial_values):
    variable.assign(value)
  history = model.fit(tf.data.Dataset.from_tensor_slices(images).batch(8),
                      epochs=1, verbose=0)
  return history.history, _values(model)


@pytest.fixture(scope='module')
def initial_values():
  model = _build(tf.distribute.get_strategy())
  bijector_test_util.randomize_variables(model.distribution, scale=0.2)
  return _values(model)


# The new optimizer kind (told not to aggregate by another API than the
# legacy one, whose mirrored step non_finite_test.py checks).
@pytest.mark.slow
def test_mirrored_step_equals_one_device_step(initial_values,
                                             two_cpu_strategy):
  optimizer_module = tf_keras.optimizers
  images = _pixels(8)
  single_history, single = _one_step(tf.distribute.get_strategy(),
                                     initial_values, images, optimizer_module)
  mirrored_history, mirrored = _one_step(two_cpu_strategy, initial_values,
                                         images, optimizer_module)
  np.testing.assert_allclose(mirrored_history['loss'],
                             single_history['loss'], rtol=1e-5)
  np.testing.assert_allclose(mirrored_history['bits_per_dim'],
                             single_history['bits_per_dim'], rtol=1e-5)
  assert [n for n, _ in single] == [n for n, _ in mirrored]
  moved = 0
  for (name, value), (_, other), (_, initial) in zip(single, mirrored,
                                                     initial_values):
    # Weights after one step, and the moving statistics of both kinds
    # of batch norm (bijectors and network layers), agree.
    np.testing.assert_allclose(other, value, rtol=1e-4, atol=1e-5,
                               err_msg=name)
    moved += not np.allclose(value, initial)
  assert moved > len(single) // 2  # The step changed most variables.


def test_per_replica_statistics_would_differ(initial_values):
  """The check above can fail: unsynchronized halves give another loss."""
  model = _build(tf.distribute.get_strategy())
  for variable, (_, value) in zip(model.distribution.variables,
                                  initial_values):
    variable.assign(value)
  images = _pixels(8)
  with tfp_realnvp.training_mode(True):
    whole = -tf.reduce_mean(model.distribution.log_prob(images))
    halves = -0.5 * (tf.reduce_mean(model.distribution.log_prob(images[:4]))
                     + tf.reduce_mean(model.distribution.log_prob(images[4:])))
  # 10x the tolerance of the loss comparison above.
  assert abs(float(whole) - float(halves)) > 1e-4 * abs(float(whole))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
