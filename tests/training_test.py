"""Tests of FlowModel (Keras fit) and the plain GradientTape training path."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp import networks
from tfp_realnvp import training as training_lib


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
  return tfp_realnvp.RealNVP((8, 8, 1), num_scales=1, num_res_blocks=1,
                             num_filters=8, bn_momentum=0.9, **kwargs)


def _dataset(n=128, batch_size=32, with_labels=False):
  pixels, labels = _prototype_pixels(n)
  data = (pixels, labels) if with_labels else pixels
  return tf.data.Dataset.from_tensor_slices(data).batch(batch_size)


@pytest.mark.slow
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


@pytest.mark.slow
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
  # The optimizer's variables were made before the step was traced, so it
  # was traced once (a step that makes them is traced twice).
  assert model.train_function.experimental_get_tracing_count() == 1


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
  # 4 couplings (one scale), each with input, 2 block and output layers.
  assert len(scales) == 4 * 4
  expected = 5e-5 * sum(float(tf.reduce_sum(s ** 2)) for s in scales)
  np.testing.assert_allclose(model.regularization_loss(), expected, rtol=1e-5)


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
  right = distribution.log_prob(pixels, labels=labels)
  wrong = distribution.log_prob(pixels, labels=(labels + 1) % 4)
  assert np.mean(right.numpy() > wrong.numpy()) > 0.9
  with pytest.raises(ValueError, match='must be \\(values, labels\\) pairs'):
    model.evaluate(_dataset(32), verbose=0)


def _digits_batch():
  pixels = next(iter(data.digits_dataset('train', batch_size=64)))
  return pixels[0] if isinstance(pixels, tuple) else pixels


def _three_high_rate_steps(distribution, pixels):
  """3 Adam steps at 1e-2 in training mode: batch norm lags the weights."""
  optimizer = tf_keras.optimizers.Adam(1e-2)
  for _ in range(3):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(distribution.log_prob(
          pixels, bijector_kwargs=dict(training=True)))
    variables = distribution.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))


def _evaluation_and_training_bits_per_dim(distribution, pixels):
  evaluation = float(tf.reduce_mean(distribution.bits_per_dim(pixels)))
  with tfp_realnvp.training_mode(True):  # Last: it moves the averages.
    training = float(tf.reduce_mean(distribution.bits_per_dim(pixels)))
  return evaluation, training


@pytest.mark.parametrize('overrides', [
    {},
    pytest.param(dict(num_res_blocks=8, num_filters=4),
                 marks=pytest.mark.slow),
], ids=['digits', 'cifar10_depth'])
def test_evaluation_mode_is_usable_after_three_high_rate_steps(overrides):
  # The debiased moving averages: without them evaluation mode barely
  # normalizes early on and the error compounds through the couplings
  # (before the fix: 9.2 against 7.5 in training mode for the digits preset,
  # 11.3 against 7.6 at the cifar10 preset's depth).
  tf.random.set_seed(0)
  distribution = tfp_realnvp.RealNVP.from_preset('digits', **overrides)
  pixels = _digits_batch()
  _three_high_rate_steps(distribution, pixels)
  evaluation, training = _evaluation_and_training_bits_per_dim(
      distribution, pixels)
  assert np.isfinite(evaluation)
  assert abs(evaluation - training) < 0.5, (evaluation, training)
  latents = distribution.encode(pixels)
  assert float(tf.reduce_max(tf.abs(latents))) < 100.
  np.testing.assert_allclose(distribution.decode(latents), pixels, atol=1e-2)


def test_recompute_batch_norm_statistics_restores_evaluation_mode():
  tf.random.set_seed(0)
  distribution = tfp_realnvp.RealNVP.from_preset('digits')
  pixels = _digits_batch()
  _three_high_rate_steps(distribution, pixels)
  # Statistics as an old checkpoint's might be: far from the weights'.
  batch_norms = [m for m in distribution.submodules
                 if hasattr(m, 'moving_mean') and hasattr(m, 'num_updates')]
  assert len(batch_norms) == 10 + 10 * 3  # Bijectors, then network layers.
  for bn in batch_norms:
    bn.moving_mean.assign(tf.zeros_like(bn.moving_mean))
    bn.moving_variance.assign(tf.ones_like(bn.moving_variance))
  weights = [v.numpy() for v in distribution.trainable_variables]
  stale, training = _evaluation_and_training_bits_per_dim(distribution,
                                                         pixels)
  assert stale - training > 0.5

  halves = tf.data.Dataset.from_tensor_slices(pixels).batch(32)
  assert tfp_realnvp.recompute_batch_norm_statistics(
      distribution, halves) == 2
  for variable, old in zip(distribution.trainable_variables, weights):
    np.testing.assert_array_equal(variable, old)
  assert all(bn.num_updates.numpy() == 2 for bn in batch_norms)
  # The first batch norm (right after the logit) sees the data directly:
  # its moving statistics are the mean of the two halves' statistics.
  first_bn = distribution.bijector.bijectors[1].bijectors[1]
  logits = distribution.bijector.bijectors[0].inverse(tf.identity(pixels))
  coupled = distribution.bijector.bijectors[1].bijectors[0].inverse(
      tf.identity(logits), training=True)
  moments = [tf.nn.moments(half, [0, 1, 2])
             for half in tf.split(coupled, 2)]
  np.testing.assert_allclose(
      first_bn.moving_mean, (moments[0][0] + moments[1][0]) / 2, rtol=1e-4,
      atol=1e-5)
  np.testing.assert_allclose(
      first_bn.moving_variance, (moments[0][1] + moments[1][1]) / 2,
      rtol=1e-4)
  evaluation, training = _evaluation_and_training_bits_per_dim(
      distribution, pixels)
  assert abs(evaluation - training) < 0.1, (evaluation, training)


def test_recompute_batch_norm_statistics_errors():
  with pytest.raises(ValueError, match='no tfp_realnvp batch norm'):
    training_lib.recompute_batch_norm_statistics(
        tfp.distributions.Normal(0., 1.),
        tf.data.Dataset.from_tensors(tf.zeros([1])))
  with pytest.raises(ValueError, match='no batch'):
    training_lib.recompute_batch_norm_statistics(
        _small_model(), tf.data.Dataset.from_tensors(
            tf.zeros([1, 8, 8, 1])).take(0))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))


@pytest.mark.parametrize('decay', [None, 'cosine', 'exponential'])
def test_warmup_decay_schedule_values(decay):
  schedule = training_lib.WarmupDecay(1e-2, warmup_steps=4, decay=decay,
                                  decay_steps=10, decay_rate=0.5)
  rates = [float(schedule(step)) for step in range(20)]
  # Linear warm-up: rate * (step + 1) / 4.
  np.testing.assert_allclose(rates[:4], [2.5e-3, 5e-3, 7.5e-3, 1e-2],
                             rtol=1e-6)
  t = np.arange(16.)  # Steps 4..19, from the end of the warm-up.
  expected = {
      None: np.full(16, 1e-2),
      'cosine': 1e-2 * 0.5 * (1 + np.cos(np.pi * np.minimum(t, 10) / 10)),
      'exponential': 1e-2 * 0.5 ** (t / 10),
  }[decay]
  np.testing.assert_allclose(rates[4:], expected, rtol=1e-5, atol=1e-9)
  rebuilt = training_lib.WarmupDecay(**schedule.get_config())
  assert float(rebuilt(7)) == pytest.approx(rates[7])


def test_warmup_decay_rejects_what_cannot_work():
  with pytest.raises(ValueError, match='decay_steps'):
    training_lib.WarmupDecay(1e-3, decay='cosine')
  with pytest.raises(ValueError, match='decay'):
    training_lib.WarmupDecay(1e-3, decay='linear', decay_steps=3)
  with pytest.raises(ValueError, match='warmup_steps'):
    training_lib.WarmupDecay(1e-3, warmup_steps=-1)
