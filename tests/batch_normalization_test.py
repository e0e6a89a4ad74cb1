"""Tests of the Real NVP BatchNormalization bijector."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

from tfp_realnvp import bijectors as rnvp_bijectors
from tests import bijector_test_util

tfd = tfp.distributions


class TestBatchNormImage(bijector_test_util.BijectorChecks):
  event_shape = [2, 3, 2]

  def make_bijector(self, dtype):
    return rnvp_bijectors.BatchNormalization(self.event_shape, dtype=dtype)


class TestBatchNormVectorNoAffine(bijector_test_util.BijectorChecks):
  event_shape = [3]

  def make_bijector(self, dtype):
    return rnvp_bijectors.BatchNormalization(
        self.event_shape, center=False, scale=False, dtype=dtype)


def _moved_batch_norm(dtype=tf.float64, **kwargs):
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, 3], dtype=dtype,
                                                 **kwargs)
  bijector_test_util.randomize_variables(batch_norm)
  return batch_norm


def _dist(bijector, dtype=tf.float64):
  return tfd.TransformedDistribution(
      tfd.Sample(tfd.Normal(tf.constant(0., dtype), 1.), [2, 2, 3]), bijector)


def _images(n, seed=0, dtype=tf.float64):
  return 3. + 2. * tf.random.stateless_normal([n, 2, 2, 3], [seed, 7],
                                              dtype=dtype)


def test_eval_log_prob_of_an_example_does_not_depend_on_its_batch():
  dist = _dist(_moved_batch_norm())
  images = _images(6)
  alone = [dist.log_prob(tf.identity(images[i:i + 1]))[0] for i in range(6)]
  np.testing.assert_allclose(dist.log_prob(images), alone, rtol=1e-12)
  other_batch = tf.concat([images[:1], _images(5, seed=1)], axis=0)
  np.testing.assert_allclose(dist.log_prob(other_batch)[0], alone[0],
                             rtol=1e-12)


def test_training_normalizes_with_batch_statistics():
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, 3], dtype=tf.float64)
  # Another batch first: its statistics are then in the moving averages, so
  # normalizing with those (App. E) would be seen below.
  batch_norm.inverse(10. - _images(16, seed=1), training=True)
  images = _images(16)
  x = batch_norm.inverse(images, training=True)
  np.testing.assert_allclose(tf.reduce_mean(x, [0, 1, 2]), 0., atol=1e-12)
  np.testing.assert_allclose(tf.math.reduce_variance(x, [0, 1, 2]), 1.,
                             rtol=1e-3)
  _, variance = tf.nn.moments(images, [0, 1, 2])
  expected_ildj = -0.5 * 4. * np.sum(np.log(variance + 1e-4))
  np.testing.assert_allclose(
      batch_norm.inverse_log_det_jacobian(images, event_ndims=3, training=True),
      [expected_ildj] * 16, rtol=1e-12)


def test_moving_averages_move_in_training_only_and_are_debiased():
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, 3], momentum=0.9,
                                                 dtype=tf.float64)
  images = [_images(16, seed) for seed in range(3)]
  batch_norm.inverse(images[0])
  batch_norm.forward(images[0], training=True)  # Generative: never updates.
  np.testing.assert_array_equal(batch_norm.moving_mean, 0.)
  np.testing.assert_array_equal(batch_norm.moving_variance, 1.)
  means, variances = [], []
  for count, batch in enumerate(images, start=1):
    batch_norm.inverse(batch, training=True)
    mean, variance = tf.nn.moments(batch, [0, 1, 2])
    means.append(mean)
    variances.append(variance)
    assert batch_norm.num_updates.numpy() == count
    # The first update takes the batch's statistics: no pull towards 0 / 1.
    np.testing.assert_allclose(
        batch_norm.moving_mean,
        bijector_test_util.debiased_average(means, 0.9), rtol=1e-12)
    np.testing.assert_allclose(
        batch_norm.moving_variance,
        bijector_test_util.debiased_average(variances, 0.9), rtol=1e-12)


def test_update_count_is_checkpointed(tmp_path):
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, 3], dtype=tf.float64)
  batch_norm.inverse(_images(8), training=True)
  batch_norm.inverse(_images(8, 1), training=True)
  path = tf.train.Checkpoint(bn=batch_norm).save(str(tmp_path / 'ckpt'))
  restored = rnvp_bijectors.BatchNormalization([2, 2, 3], dtype=tf.float64)
  tf.train.Checkpoint(bn=restored).restore(path).assert_consumed()
  assert restored.num_updates.numpy() == 2.
  np.testing.assert_array_equal(restored.moving_mean, batch_norm.moving_mean)


def test_one_update_per_log_prob():
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, 3], momentum=0.5,
                                                 dtype=tf.float64)
  images = _images(8)
  with rnvp_bijectors.training_mode(True):
    _dist(batch_norm).log_prob(images)
  assert batch_norm.num_updates.numpy() == 1.
  mean, _ = tf.nn.moments(images, [0, 1, 2])
  np.testing.assert_allclose(batch_norm.moving_mean, mean, rtol=1e-12)


def test_appendix_e_normalizes_with_the_updated_moving_average():
  batch_norm = _moved_batch_norm(momentum=0.8,
                                 training_statistics='moving_average')
  old_mean = batch_norm.moving_mean.numpy()
  old_variance = batch_norm.moving_variance.numpy()
  count = batch_norm.num_updates.numpy()
  images = _images(8)
  with tf.GradientTape() as tape:
    tape.watch(images)
    x = batch_norm.inverse(images, training=True)
  mean, variance = tf.nn.moments(images, [0, 1, 2])
  # Debiased: the stored average times its weight 1 - m^t is the plain one.
  def updated(old, batch):
    plain = old * (1. - 0.8 ** count)
    return (0.8 * plain + 0.2 * batch) / (1. - 0.8 ** (count + 1))
  np.testing.assert_allclose(batch_norm.moving_mean, updated(old_mean, mean),
                             rtol=1e-12)
  np.testing.assert_allclose(batch_norm.moving_variance,
                             updated(old_variance, variance), rtol=1e-12)
  # The output equals eval mode with the updated averages.
  np.testing.assert_allclose(x, batch_norm.inverse(tf.identity(images)),
                             rtol=1e-12)
  assert tape.gradient(x, images) is not None


def test_appendix_e_first_training_step_normalizes_its_batch():
  batch_norm = rnvp_bijectors.BatchNormalization(
      [2, 2, 3], momentum=0.99, training_statistics='moving_average',
      dtype=tf.float64)
  images = _images(32) - 5.  # Mean about -2, std 2, as a raw batch might be.
  x = batch_norm.inverse(images, training=True)
  mean, variance = tf.nn.moments(x, [0, 1, 2])
  np.testing.assert_allclose(mean, 0., atol=1e-9)
  np.testing.assert_allclose(variance, 1., rtol=1e-3)


def test_tensor_training_flag():
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, 3], dtype=tf.float64)
  images = _images(8)

  @tf.function
  def inverse(training):
    return batch_norm.inverse(images, training=training)

  inverse(tf.constant(False))
  np.testing.assert_array_equal(batch_norm.moving_mean, 0.)
  inverse(tf.constant(True))
  assert np.all(batch_norm.moving_mean.numpy() != 0.)


def test_training_mode_context_under_tf_function():
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, 3], dtype=tf.float64)
  dist = _dist(batch_norm)

  @tf.function
  def train_step(images):
    with rnvp_bijectors.training_mode(True):
      return dist.log_prob(images)

  @tf.function
  def eval_step(images):
    return dist.log_prob(images)

  eval_step(_images(8))
  np.testing.assert_array_equal(batch_norm.moving_mean, 0.)
  train_step(_images(8))
  assert np.all(batch_norm.moving_mean.numpy() != 0.)


class _LogProbModel(tf_keras.Model):
  """A minimal Keras model around a distribution, as users write them."""

  def __init__(self, distribution):
    super().__init__(dtype='float64')
    self.distribution = distribution

  def call(self, images, training=None):
    # The mode is explicit: nothing is read from Keras' call context.
    return self.distribution.log_prob(
        images, bijector_kwargs={'training': bool(training)})

  def train_step(self, images):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(self(images, training=True))
    gradients = tape.gradient(loss, self.trainable_variables)
    self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
    return {'loss': loss}

  def test_step(self, images):
    return {'loss': -tf.reduce_mean(self(images, training=False))}


def test_keras_fit_trains_and_evaluate_predict_do_not():
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, 3], dtype=tf.float64)
  model = _LogProbModel(_dist(batch_norm))
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-2))
  assert len(model.trainable_variables) == 2  # shift, log_scale
  dataset = tf.data.Dataset.from_tensor_slices(_images(32)).batch(8)
  model.evaluate(dataset, verbose=0)
  model.predict(dataset, verbose=0)
  np.testing.assert_array_equal(batch_norm.moving_mean, 0.)
  np.testing.assert_array_equal(batch_norm.shift, 0.)
  model.fit(dataset, epochs=1, verbose=0)
  assert np.all(batch_norm.moving_mean.numpy() != 0.)
  assert np.all(batch_norm.shift.numpy() != 0.)
  # predict's log-prob uses the moving averages: batch-independent.
  single = model.predict(_images(32)[:1], verbose=0)
  np.testing.assert_allclose(model.predict(dataset, verbose=0)[0], single[0],
                             rtol=1e-10)


def test_statistics_are_reduced_across_replicas(two_cpu_strategy):
  strategy = two_cpu_strategy
  images = _images(8)
  with strategy.scope():
    distributed = rnvp_bijectors.BatchNormalization([2, 2, 3], momentum=0.5,
                                                    dtype=tf.float64)
  single = rnvp_bijectors.BatchNormalization([2, 2, 3], momentum=0.5,
                                             dtype=tf.float64)

  @tf.function
  def replica_step(local_images):
    return distributed.inverse_log_det_jacobian(
        local_images, event_ndims=3, training=True)

  dataset = strategy.experimental_distribute_dataset(
      tf.data.Dataset.from_tensor_slices(images).batch(8))
  per_replica = strategy.run(replica_step, args=(next(iter(dataset)),))
  distributed_ildj = tf.concat(
      strategy.experimental_local_results(per_replica), axis=0)
  single_ildj = single.inverse_log_det_jacobian(images, event_ndims=3,
                                                training=True)
  np.testing.assert_allclose(distributed_ildj, single_ildj, rtol=1e-12)
  np.testing.assert_allclose(distributed.moving_mean.numpy(),
                             single.moving_mean.numpy(), rtol=1e-12)
  np.testing.assert_allclose(distributed.moving_variance.numpy(),
                             single.moving_variance.numpy(), rtol=1e-12)


@pytest.mark.parametrize('kwargs,message', [
    (dict(event_shape=[2, 2]), 'event_shape'),
    (dict(event_shape=[2, 2, 3], momentum=1.), 'momentum'),
    (dict(event_shape=[2, 2, 3], epsilon=0.), 'epsilon'),
    (dict(event_shape=[2, 2, 3], training_statistics='running'),
     'training_statistics'),
])
def test_bad_constructor_arguments_raise(kwargs, message):
  with pytest.raises(ValueError, match=message):
    rnvp_bijectors.BatchNormalization(**kwargs)


def test_bad_inputs_raise():
  batch_norm = rnvp_bijectors.BatchNormalization([2, 2, 3])
  with pytest.raises(ValueError, match='expected an event of shape'):
    batch_norm.inverse(tf.zeros([1, 2, 2, 4]))
  with pytest.raises(TypeError, match='floating-point'):
    batch_norm.inverse(tf.zeros([1, 2, 2, 3], tf.int32))
  with pytest.raises(TypeError, match='dtype=tf.float64'):
    batch_norm.inverse(tf.zeros([1, 2, 2, 3], tf.float64))
  with pytest.raises(TypeError, match='Python bool'):
    with rnvp_bijectors.training_mode(1):
      pass


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
