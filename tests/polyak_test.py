"""Polyak averaging of the weights: the average, its use, its state."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp import training
from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import health
from tfp_realnvp.app import loading
from tfp_realnvp.app import run as run_lib
from tests import bijector_test_util

_DECAY = 0.2  # Below the ramp at the third step, so both rules show.


def _flow():
  return tfp_realnvp.VectorRealNVP(4, num_couplings=2, num_res_blocks=1,
                                   num_hidden=8)


def _values(seed=0):
  return tf.random.stateless_normal([16, 4], seed=[seed, 0])


def _compiled(flow, **compile_kwargs):
  model = tfp_realnvp.FlowModel(flow, polyak_decay=_DECAY)
  model.compile(optimizer=tf_keras.optimizers.Adam(5e-2), **compile_kwargs)
  return model


def _weights(flow):
  return [w.numpy() for w in flow.trainable_variables]


@pytest.fixture(scope='module')
def three_steps():
  """A model after 3 single-step fits, and its weights after each step."""
  flow = _flow()
  model = _compiled(flow, run_eagerly=True)
  history = []
  for step in range(3):
    model.fit(tf.data.Dataset.from_tensors(_values(step)), epochs=1,
              verbose=0)
    history.append(_weights(flow))
  return model, flow, history


def test_average_is_the_hand_computed_debiased_average(three_steps):
  model, _, history = three_steps
  assert model.polyak_updates.numpy() == 3
  averages = model.debiased_polyak_averages()
  # TF's ExponentialMovingAverage rule: min(d, (1 + t) / (10 + t)).
  decays = [min(_DECAY, (1. + t) / (10. + t)) for t in range(3)]
  for index, average in enumerate(averages):
    expected = bijector_test_util.debiased_average(
        [weights[index] for weights in history], decays)
    np.testing.assert_allclose(average, expected, rtol=1e-5, atol=1e-7)


def test_averaged_weights_are_used_inside_the_block_only(three_steps):
  model, flow, history = three_steps
  raw = history[-1]
  averages = [a.numpy() for a in model.debiased_polyak_averages()]
  assert max(np.abs(a - r).max() for a, r in zip(averages, raw)) > 1e-4
  with model.averaged_weights():
    for weight, average in zip(_weights(flow), averages):
      np.testing.assert_allclose(weight, average, rtol=1e-6)
    averaged_log_prob = flow.log_prob(_values(9)).numpy()
  for weight, value in zip(_weights(flow), raw):
    np.testing.assert_array_equal(weight, value)
  # evaluate() reports the averaged model unless asked for the raw one.
  data = tf.data.Dataset.from_tensors(_values(9))
  averaged = model.evaluate(data, verbose=0, return_dict=True)
  raw_result = model.evaluate(data, verbose=0, return_dict=True,
                              averaged=False)
  nll = -np.mean(averaged_log_prob) + float(model.regularization_loss())
  np.testing.assert_allclose(averaged["loss"], nll, rtol=1e-4)
  assert abs(averaged['loss'] - raw_result['loss']) > 1e-4


def test_average_is_checkpointed_and_saved_in_keras_files(three_steps,
                                                          tmp_path):
  model, _, _ = three_steps
  path = tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))
  restored = tfp_realnvp.FlowModel(_flow(), polyak_decay=_DECAY)
  tf.train.Checkpoint(model=restored).restore(path).expect_partial()
  loaded = model.debiased_polyak_averages()
  model.save(str(tmp_path / 'flow.keras'))
  from_keras = tf_keras.models.load_model(str(tmp_path / 'flow.keras'))
  for other in (restored, from_keras):
    assert other.polyak_updates.numpy() == 3
    for mine, theirs in zip(loaded, other.debiased_polyak_averages()):
      np.testing.assert_array_equal(mine, theirs)


@pytest.mark.slow
def test_average_is_identical_on_every_replica(two_cpu_strategy):
  with two_cpu_strategy.scope():
    model = _compiled(_flow())
  model.fit(tf.data.Dataset.from_tensor_slices(_values()).batch(8), epochs=1,
            verbose=0)
  assert float(model.polyak_updates.numpy()) == 2
  for average in model.polyak_averages:
    first, second = two_cpu_strategy.experimental_local_results(average)
    np.testing.assert_array_equal(first, second)
    assert np.abs(first.numpy()).max() > 0.


def test_epoch_health_measures_without_moving_the_statistics(three_steps,
                                                             tmp_path):
  model, flow, _ = three_steps
  statistics = [v.numpy() for bn in training.batch_norms(flow)
                for v in (bn.moving_mean, bn.moving_variance, bn.num_updates)]
  weights = _weights(flow)
  line = health.EpochHealth(_values(5), str(tmp_path), is_chief=True)
  line.set_model(model)
  figures = line.health()
  assert figures['reconstruction_error'] < 1e-4
  assert 0. < figures['max_abs_latent'] < 100.
  assert np.isfinite(figures['probe_bits_per_dim_evaluation'])
  assert np.isfinite(figures['probe_bits_per_dim_training'])
  assert (figures['probe_bits_per_dim_evaluation']
          != figures['probe_bits_per_dim_training'])
  after = [v.numpy() for bn in training.batch_norms(flow)
           for v in (bn.moving_mean, bn.moving_variance, bn.num_updates)]
  for before, now in zip(statistics, after):
    np.testing.assert_array_equal(now, before)
  for before, now in zip(weights, _weights(flow)):
    np.testing.assert_array_equal(now, before)


def test_the_health_line_names_stale_statistics_and_their_remedy():
  """#43: a 1.6 bits/dim gap was printed with no word of what it meant."""
  stale = health.stale_statistics_advice(dict(
      probe_bits_per_dim_evaluation=6.5831,
      probe_bits_per_dim_training=4.9665))
  assert '+1.62 bits/dim' in stale
  assert 'tfp_realnvp.recompute_batch_norm_statistics' in stale
  assert hasattr(tfp_realnvp, 'recompute_batch_norm_statistics')
  for evaluation, training_mode in ((5.0, 4.6), (5.0, float('nan'))):
    assert health.stale_statistics_advice(dict(
        probe_bits_per_dim_evaluation=evaluation,
        probe_bits_per_dim_training=training_mode)) == ''


def test_bad_decays_are_refused():
  with pytest.raises(ValueError, match='polyak_decay'):
    tfp_realnvp.FlowModel(_flow(), polyak_decay=1.)
  with pytest.raises(ValueError, match='--polyak_decay must be in'):
    config_lib.check_config(run_lib.TrainConfig(polyak_decay=1.5))


@pytest.mark.slow
def test_a_run_exports_and_loads_the_weights_it_chose(tmp_path):
  rng = np.random.default_rng(0)
  pixels = rng.uniform(0., 256., size=(64, 8, 8, 1)).astype(np.float32)
  datasets = (tf.data.Dataset.from_tensor_slices(pixels[:48]).batch(16),
              tf.data.Dataset.from_tensor_slices(pixels[48:]).batch(16))
  config = run_lib.TrainConfig(
      dataset='injected', model_dir=str(tmp_path), num_scales=1,
      num_res_blocks=1, num_filters=4, epochs=1, steps_per_epoch=3,
      num_samples=4, polyak_decay=0.5, learning_rate=1e-2)
  results = run_lib.run(config, datasets=datasets)
  probe = pixels[:8]
  best = loading.load_flow(str(tmp_path))
  averaged = loading.load_flow(str(tmp_path), weights='averaged')
  raw = loading.load_flow(str(tmp_path), weights='raw')
  saved = loading.load_flow(str(tmp_path / 'export'))
  # The run's own flow holds the raw weights after training.
  np.testing.assert_allclose(raw.log_prob(probe),
                             results['distribution'].log_prob(probe),
                             rtol=1e-6)
  assert np.abs(averaged.log_prob(probe) - raw.log_prob(probe)).max() > 1e-3
  # Every candidate was scored on validation; the best is the run's choice,
  # which the default load, the SavedModel and the final figure use.
  by_weights = results['validation_bits_per_dim_by_weights']
  assert set(by_weights) == {'averaged', 'raw', 'averaged_raw_statistics'}
  candidates = {name: loading.load_flow(str(tmp_path), weights=name)
                for name in by_weights}
  for name, flow in candidates.items():
    np.testing.assert_allclose(
        by_weights[name],
        tfp_realnvp.evaluate_bits_per_dim(flow, datasets[1]), rtol=1e-5)
  assert results['weights'] == min(by_weights, key=by_weights.get)
  chosen = candidates[results['weights']]
  np.testing.assert_allclose(best.log_prob(probe), chosen.log_prob(probe),
                             rtol=1e-6)
  np.testing.assert_allclose(saved.log_prob(probe), chosen.log_prob(probe),
                             rtol=1e-5)
  assert results['validation_bits_per_dim'] == by_weights[results['weights']]
  assert (tmp_path / 'samples' / 'final.png').exists()
  with pytest.raises(ValueError, match='needs the run directory'):
    loading.load_flow(str(tmp_path / 'export'), weights='raw')
