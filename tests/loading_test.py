"""Tests of loading a trained flow from a run directory or a SavedModel."""

import sys

import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp.app import loading
from tfp_realnvp.app import run as run_lib


def _pixels(n, seed=0):
  rng = np.random.default_rng(seed)
  return rng.uniform(0., 256., size=(n, 8, 8, 1)).astype(np.float32)


@pytest.fixture(scope='module')
def flows(trained_run_dir):
  return {
      'checkpoint': loading.load_flow(str(trained_run_dir)),
      'saved_model': loading.load_flow(str(trained_run_dir / 'export')),
  }


def test_checkpoint_and_saved_model_agree(flows, trained_run_dir):
  pixels = _pixels(5)
  from_checkpoint = flows['checkpoint'].log_prob(pixels).numpy()
  from_saved_model = flows['saved_model'].log_prob(pixels).numpy()
  np.testing.assert_allclose(from_checkpoint, from_saved_model, rtol=1e-5)
  assert flows['saved_model'].source == str(trained_run_dir / 'export' / '2')
  assert loading.run_config(str(trained_run_dir))['dataset'] == 'digits'
  assert loading.run_config(str(trained_run_dir / 'export')) is None


@pytest.mark.parametrize('kind', ['checkpoint', 'saved_model'])
def test_encode_decode_round_trip_and_samples(flows, kind):
  flow = flows[kind]
  pixels = _pixels(3, 1)
  np.testing.assert_allclose(flow.decode(flow.encode(pixels)), pixels,
                             atol=1e-3)
  samples = flow.sample_values(6, 0.7, seed=2).numpy()
  assert samples.shape == (6, 8, 8, 1)
  assert samples.min() >= 0. and samples.max() < 256.
  np.testing.assert_array_equal(samples, flow.sample_values(6, 0.7, seed=2))


def test_sample_grid_has_one_row_per_temperature(flows):
  grid = loading.sample_grid(flows['checkpoint'], 5, (0.5, 0.8, 1.0))
  assert grid.dtype == np.uint8
  assert grid.shape == (3 * 9 - 1, 5 * 9 - 1, 1)


def test_evaluate_matches_the_mean_of_log_prob(flows):
  pixels = _pixels(10, 3)
  dataset = tf.data.Dataset.from_tensor_slices(pixels).batch(4)
  flow = flows['saved_model']
  expected = np.mean(flow.bits_per_dim(pixels).numpy())
  assert tfp_realnvp.evaluate_bits_per_dim(flow, dataset) == pytest.approx(
      expected, rel=1e-6)
  with pytest.raises(ValueError, match='empty'):
    tfp_realnvp.evaluate_bits_per_dim(flow, dataset.take(0))


def test_evaluation_dataset_of_the_embedded_digits_is_fixed():
  first = next(iter(data.evaluation_dataset('digits', 'test', seed=3)))
  again = next(iter(data.evaluation_dataset('digits', 'test', seed=3)))
  np.testing.assert_array_equal(first, again)


def test_bad_paths_say_what_was_expected(tmp_path):
  with pytest.raises(ValueError, match='not a directory'):
    loading.load_flow(str(tmp_path / 'missing'))
  with pytest.raises(ValueError, match='neither config.json'):
    loading.load_flow(str(tmp_path))
  (tmp_path / 'config.json').write_text('{}')
  with pytest.raises(ValueError, match='No checkpoint'):
    loading.load_flow(str(tmp_path))


@pytest.fixture(scope='module')
def conditional_flows(trained_conditional_run_dir):
  return {
      'checkpoint': loading.load_flow(str(trained_conditional_run_dir)),
      'saved_model': loading.load_flow(
          str(trained_conditional_run_dir / 'export')),
  }


def test_conditional_checkpoint_and_saved_model_agree(conditional_flows):
  pixels, labels = _pixels(4), [0, 3, 9, 3]
  checkpoint = conditional_flows['checkpoint']
  saved_model = conditional_flows['saved_model']
  assert checkpoint.num_classes == saved_model.num_classes == 10
  assert checkpoint.num_scales == saved_model.num_scales == 1
  np.testing.assert_allclose(checkpoint.log_prob(pixels, labels=labels),
                             saved_model.log_prob(pixels, labels=labels),
                             rtol=1e-5)
  for flow in (checkpoint, saved_model):
    latents = flow.encode(pixels, labels=labels)
    np.testing.assert_allclose(flow.decode(latents, labels=labels), pixels,
                               atol=1e-3)
    with pytest.raises(ValueError, match='pass `labels`'):
      flow.log_prob(pixels)
  # Same latents, another label: another image.
  assert np.max(np.abs(saved_model.decode(latents, labels=5) - pixels)) > 1e-2
  grid = loading.sample_grid(saved_model, 3)
  assert grid.shape == (10 * 9 - 1, 3 * 9 - 1, 1)


def test_a_run_directory_samples_at_twice_the_trained_size(trained_run_dir):
  flow = loading.load_flow(str(trained_run_dir), image_shape=(16, 16, 1))
  assert flow.event_shape == (16, 16, 1)
  samples = flow.sample_values(3, 1.0, seed=1).numpy()
  assert samples.shape == (3, 16, 16, 1) and np.all(np.isfinite(samples))
  assert samples.min() >= 0. and samples.max() < 256.
  with pytest.raises(ValueError, match='keeps its trained shape'):
    loading.load_flow(str(trained_run_dir / 'export'), image_shape=(16, 16, 1))
  with pytest.raises(ValueError, match=r'\(H, W, 1\)'):
    loading.load_flow(str(trained_run_dir), image_shape=(16, 16, 3))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))


def test_given_binds_labels_on_both_sources(conditional_flows):
  pixels, labels = _pixels(4), [0, 3, 9, 3]
  for flow in conditional_flows.values():
    given = flow.given(labels=labels)
    np.testing.assert_allclose(given.log_prob(tf.identity(pixels)),
                               flow.log_prob(pixels, labels=labels),
                               rtol=1e-6)
    np.testing.assert_allclose(given.bits_per_dim(tf.identity(pixels)),
                               flow.bits_per_dim(pixels, labels=labels),
                               rtol=1e-6)
    np.testing.assert_allclose(given.decode(given.encode(pixels)), pixels,
                               atol=1e-3)
    assert given.sample_values(2, seed=1).shape == (2, 4, 8, 8, 1)
    assert flow.given(labels=5).sample_values(3, seed=1).shape == (3, 8, 8, 1)
    with pytest.raises(ValueError, match='pass `labels`'):
      flow.given()
