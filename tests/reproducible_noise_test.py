"""An evaluation's noise belongs to each example: the same seed gives the same
figures at any batch size, through every entry point that scores pixels."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp.app import scoring
from tfp_realnvp.dequantization import noise
from tfp_realnvp.training import evaluation

_SEED = 3
_SAMPLES = 3


@pytest.mark.parametrize('dtype', [tf.float32, tf.float64, tf.bfloat16])
def test_an_examples_noise_depends_on_its_position_only(dtype):
  # 25 units an example: not a whole number of Philox blocks.
  seed = noise.seed_pair(_SEED)
  whole = noise.uniform([10, 5, 5, 1], seed, dtype)
  tail = noise.uniform([7, 5, 5, 1], seed, dtype, first_example=3)
  np.testing.assert_array_equal(whole[3:], tail)
  one = noise.uniform([1, 5, 5, 1], seed, dtype, first_example=9)
  np.testing.assert_array_equal(whole[9:], one)
  values = whole.numpy().astype(np.float64)
  assert values.min() >= 0. and values.max() < 1.
  # Examples, and units within one, differ.
  assert np.unique(values[:, 0, 0, 0]).size == 10
  assert np.unique(values[0]).size > 20
  other = noise.uniform([10, 5, 5, 1], noise.draw_seed(seed, 1), dtype)
  assert not np.array_equal(whole, other)


def test_minval_bounds_a_draw_away_from_zero():
  draws = noise.uniform([64, 4], noise.seed_pair(0), tf.float32, minval=0.5)
  assert 0.5 <= float(tf.reduce_min(draws)) < float(tf.reduce_max(draws)) < 1.


@pytest.fixture(scope='module')
def flow_and_pixels():
  tf_keras.utils.set_random_seed(4)
  flow = tfp_realnvp.RealNVP((4, 4, 1), num_scales=1, num_res_blocks=1,
                             num_filters=4)
  pixels = np.random.default_rng(5).integers(0, 256, size=(12, 4, 4, 1),
                                             dtype=np.uint8)
  return flow, pixels


def _batches(pixels, batch_size):
  return tf.data.Dataset.from_tensor_slices(pixels).batch(batch_size)


def test_every_figure_is_the_same_at_any_batch_size(flow_and_pixels):
  flow, pixels = flow_and_pixels
  model = tfp_realnvp.FlowModel(flow)
  model.compile()
  by_batch_size = {
      size: model.evaluate(_batches(pixels, size), verbose=0,
                           return_dict=True, seed=_SEED,
                           dequantization_samples=_SAMPLES)
      for size in (5, 12)}
  first, second = by_batch_size.values()
  for name in ('bits_per_dim', 'discrete_bits_per_dim'):
    assert first[name] == pytest.approx(second[name], abs=1e-5)
  # K changes the estimate, not the single draw: it is draw 0 of K.
  single = model.evaluate(_batches(pixels, 7), verbose=0, return_dict=True,
                          seed=_SEED)
  assert single['bits_per_dim'] == pytest.approx(first['bits_per_dim'],
                                                 abs=1e-5)
  # bin/evaluate.py's function and bin/score.py's columns, other batches.
  estimate = evaluation.evaluate_discrete_bits_per_dim(
      flow, _batches(pixels, 7), samples=_SAMPLES, seed=_SEED)
  assert estimate.single_draw_bits_per_dim == pytest.approx(
      first['bits_per_dim'], abs=1e-5)
  assert estimate.bits_per_dim == pytest.approx(
      first['discrete_bits_per_dim'], abs=1e-5)
  columns = scoring.score(flow, pixels, batch_size=4,
                          dequantization_samples=_SAMPLES, seed=_SEED)
  assert np.mean(columns['bits_per_dim']) == pytest.approx(
      first['bits_per_dim'], abs=1e-5)
  assert np.mean(columns['discrete_bits_per_dim']) == pytest.approx(
      first['discrete_bits_per_dim'], abs=1e-5)
  # Another seed, other noise.
  other = model.evaluate(_batches(pixels, 5), verbose=0, return_dict=True,
                         seed=_SEED + 1)
  assert abs(other['bits_per_dim'] - first['bits_per_dim']) > 1e-4


@pytest.mark.slow
def test_replicas_draw_each_examples_noise_as_one_device_does(
    flow_and_pixels, two_cpu_strategy):
  _, pixels = flow_and_pixels
  figures = []
  for strategy in (tf.distribute.get_strategy(), two_cpu_strategy):
    with strategy.scope():
      tf_keras.utils.set_random_seed(4)
      flow = tfp_realnvp.RealNVP((4, 4, 1), num_scales=1, num_res_blocks=1,
                                 num_filters=4)
      model = tfp_realnvp.FlowModel(flow)
      model.compile()
    figures.append(model.evaluate(_batches(pixels, 6), verbose=0,
                                  return_dict=True, seed=_SEED,
                                  dequantization_samples=_SAMPLES))
  for name in ('bits_per_dim', 'discrete_bits_per_dim'):
    assert figures[0][name] == pytest.approx(figures[1][name], abs=1e-5)
