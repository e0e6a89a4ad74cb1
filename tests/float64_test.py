"""A float64 flow trains (Polyak, skipping), is scored, exported and loaded."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp.app import export
from tfp_realnvp.app import loading
from tfp_realnvp.app import scoring

_SHAPE = (4, 4, 1)


def _pixels(n, seed=0):
  return np.random.default_rng(seed).uniform(0., 256., (n,) + _SHAPE)


@pytest.fixture(scope='module')
def trained():
  flow = tfp_realnvp.RealNVP(_SHAPE, num_scales=1, num_res_blocks=1,
                             num_filters=4, dtype=tf.float64)
  model = tfp_realnvp.FlowModel(flow, polyak_decay=0.9, skip_non_finite=True)
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
  pixels = _pixels(48)
  pixels[16, 0, 0, 0] = np.nan  # The second batch is skipped.
  history = model.fit(
      tf.data.Dataset.from_tensor_slices(pixels).batch(16), epochs=1,
      verbose=0)
  return flow, model, history


def test_a_float64_flow_trains_with_polyak_and_skipping(trained):
  flow, model, history = trained
  assert history.history['skipped_batches'] == [1.]
  assert np.isfinite(history.history['loss'][0])
  assert float(model.polyak_updates.numpy()) == 2.
  assert all(a.dtype == tf.float64 for a in model.polyak_averages)
  with model.averaged_weights():
    averaged = flow.log_prob(tf.constant(_pixels(4, seed=1))).numpy()
  raw = flow.log_prob(tf.constant(_pixels(4, seed=1))).numpy()
  assert averaged.dtype == np.float64 and np.all(np.isfinite(averaged))
  assert np.max(np.abs(averaged - raw)) > 1e-6  # The average is in use.


def test_a_float64_flow_is_scored(trained):
  flow = trained[0]
  pixels = _pixels(5, seed=2)
  columns = scoring.score(flow, pixels)
  np.testing.assert_allclose(
      columns['bits_per_dim'],
      flow.bits_per_dim(tf.constant(pixels)).numpy(), rtol=1e-10)


@pytest.mark.slow
def test_a_float64_flow_is_exported_and_loaded(trained, tmp_path):
  flow = trained[0]
  path = export.export_saved_model(flow, str(tmp_path))
  pixels = _pixels(3, seed=3)
  expected = flow.log_prob(tf.constant(pixels)).numpy()
  loaded = loading.load_flow(path)
  np.testing.assert_allclose(loaded.log_prob(pixels), expected, rtol=1e-10)
  # The module's functions return tensors; the signatures named outputs.
  module = tf.saved_model.load(path)
  np.testing.assert_allclose(module.log_prob(tf.constant(pixels)).numpy(),
                             expected, rtol=1e-10)
  assert module.bits_per_dim(tf.constant(pixels)).shape == (3,)
  latents = module.encode(tf.constant(pixels))
  np.testing.assert_allclose(module.decode(latents).numpy(), pixels,
                             atol=1e-8)
  assert module.sample(tf.constant(2), tf.constant(1., tf.float64),
                       tf.constant(0)).shape == (2,) + _SHAPE
  assert set(module.signatures['log_prob'](
      images=tf.constant(pixels))) == {'log_prob'}
