"""Tests of FlowModel (Keras fit) and the plain GradientTape training path."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp import networks


def _prototype_pixels(n, seed=0):
  """Dequantized 8x8 images near 4 prototypes: easy to learn quickly."""
  rng = np.random.default_rng(seed)
  prototypes = rng.integers(0, 256, size=(4, 8, 8, 1))
  labels = rng.integers(0, 4, size=n)
  noise = rng.integers(-8, 9, size=(n, 8, 8, 1))
  pixels = np.clip(prototypes[labels] + noise, 0, 255) + rng.uniform(
      size=(n, 8, 8, 1))
  return pixels.astype(np.float32), labels


def _small_model(**kwargs):
  return tfp_realnvp.RealNVP((8, 8, 1), num_scales=2, num_res_blocks=1,
                             num_filters=8, bn_momentum=0.9, **kwargs)


def _dataset(n=128, batch_size=32, with_labels=False):
  pixels, labels = _prototype_pixels(n)
  data = (pixels, labels) if with_labels else pixels
  return tf.data.Dataset.from_tensor_slices(data).batch(batch_size)


def test_fit_lowers_validation_bits_per_dim():
  model = tfp_realnvp.FlowModel(_small_model())
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  dataset = _dataset()
  before = model.evaluate(dataset, verbose=0, return_dict=True)
  history = model.fit(dataset, validation_data=dataset, epochs=4, verbose=0)
  after = model.evaluate(dataset, verbose=0, return_dict=True)
  assert set(history.history) >= {'bits_per_dim', 'val_bits_per_dim', 'loss'}
  assert after['bits_per_dim'] < before['bits_per_dim'] - 0.1
  assert history.history['bits_per_dim'][-1] < history.history[
      'bits_per_dim'][0]


def test_fit_trains_batch_norm_evaluate_and_predict_do_not():
  distribution = _small_model()
  model = tfp_realnvp.FlowModel(distribution)
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  moving = [v for v in distribution.variables if 'moving_mean' in v.name]
  snapshot = lambda: [v.numpy().copy() for v in moving]
  before = snapshot()
  dataset = _dataset(64, with_labels=True)  # Labels are ignored.
  model.evaluate(dataset, verbose=0)
  log_probs = model.predict(dataset, verbose=0)
  assert log_probs.shape == (64,)
  assert all(np.array_equal(a, b) for a, b in zip(before, snapshot()))
  model.fit(dataset, epochs=1, verbose=0)
  assert all(not np.array_equal(a, b) for a, b in zip(before, snapshot()))


def test_reported_bits_per_dim_is_the_distributions():
  distribution = _small_model()
  model = tfp_realnvp.FlowModel(distribution, l2_scale=0.)
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  pixels, _ = _prototype_pixels(32)
  result = model.evaluate(tf.data.Dataset.from_tensor_slices(pixels).batch(32),
                          verbose=0, return_dict=True)
  expected = tf.reduce_mean(distribution.bits_per_dim(pixels))
  np.testing.assert_allclose(result['bits_per_dim'], expected, rtol=1e-5)


def test_l2_penalty_is_on_the_weight_norm_scales():
  distribution = _small_model()
  model = tfp_realnvp.FlowModel(distribution, l2_scale=5e-5)
  scales = networks.weight_scale_variables(distribution)
  # 4 + 3 + 3 couplings, each with input, 2 block and output layers.
  assert len(scales) == 10 * 4
  expected = 5e-5 * sum(float(tf.reduce_sum(s ** 2)) for s in scales)
  np.testing.assert_allclose(model.regularization_loss(), expected, rtol=1e-5)


def test_jit_compiled_training_runs():
  model = tfp_realnvp.FlowModel(_small_model())
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3), jit_compile=True)
  history = model.fit(_dataset(64), epochs=1, verbose=0)
  assert np.isfinite(history.history['bits_per_dim'][0])


def test_bad_arguments_raise():
  with pytest.raises(ValueError, match='l2_scale'):
    tfp_realnvp.FlowModel(_small_model(), l2_scale=-1.)
  with pytest.raises(ValueError, match='clip_norm'):
    tfp_realnvp.FlowModel(_small_model(), clip_norm=0.)


def test_gradient_tape_training_on_2d_toy_data_gives_a_normalized_density():
  # The plain loop for users whose own models are Keras 3: tf.keras here is
  # Keras 3, and training_mode() replaces Keras 2's training flag.
  tf.random.set_seed(0)
  distribution = tfp_realnvp.VectorRealNVP(
      2, num_couplings=6, num_res_blocks=1, num_hidden=32, bn_momentum=0.9)
  optimizer = tf.keras.optimizers.Adam(3e-3)
  points = tf.data.Dataset.from_tensor_slices(
      data.toy_samples('eight_gaussians', 4096, seed=0))
  points = points.repeat().shuffle(4096, seed=0).batch(256)

  @tf.function
  def train_step(x):
    with tfp_realnvp.training_mode(True), tf.GradientTape() as tape:
      loss = -tf.reduce_mean(distribution.log_prob(x))
    variables = distribution.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  held_out = data.toy_samples('eight_gaussians', 2048, seed=1)
  untrained_nll = -float(tf.reduce_mean(distribution.log_prob(held_out)))
  for x in points.take(600):
    train_step(x)
  trained_nll = -float(tf.reduce_mean(distribution.log_prob(held_out)))
  assert trained_nll < untrained_nll - 1.

  grid = np.linspace(-4., 4., 201, dtype=np.float32)
  xs, ys = np.meshgrid(grid, grid)
  grid_points = np.stack([xs.ravel(), ys.ravel()], axis=1)
  density = np.exp(distribution.log_prob(grid_points).numpy())
  cell_area = (grid[1] - grid[0]) ** 2
  np.testing.assert_allclose(density.sum() * cell_area, 1., atol=0.02)


def test_fit_of_a_conditional_model_learns_from_the_labels():
  distribution = tfp_realnvp.ConditionalRealNVP(
      (8, 8, 1), num_classes=4, num_scales=2, num_res_blocks=1, num_filters=8,
      bn_momentum=0.9)
  model = tfp_realnvp.FlowModel(distribution)
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  dataset = _dataset(128, with_labels=True)
  model.fit(dataset, epochs=4, verbose=0)
  pixels, labels = _prototype_pixels(128)
  # Each image is likelier under its own prototype's label than another's.
  right = distribution.log_prob(pixels, labels)
  wrong = distribution.log_prob(pixels, (labels + 1) % 4)
  assert np.mean(right.numpy() > wrong.numpy()) > 0.9
  with pytest.raises(ValueError, match='must yield \\(images, labels\\)'):
    model.evaluate(_dataset(32), verbose=0)


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
