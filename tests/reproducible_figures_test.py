"""A run's figures can be trusted and repeated (#43): a 150-step run on the
embedded digits, then its figures checked against the tools and against
statistics recomputed from scratch."""

import json
import pathlib
import subprocess
import sys

import pytest

import tfp_realnvp
from tfp_realnvp import training
from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import loading
from tfp_realnvp.app import run as run_lib
from tfp_realnvp.app import run_data

ROOT = pathlib.Path(__file__).resolve().parent.parent
_SAMPLES = 4

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  """150 steps, in two epochs, with a Polyak average and a 4-draw test."""
  model_dir = tmp_path_factory.mktemp('digits_run')
  config = run_lib.TrainConfig(
      dataset='digits', model_dir=str(model_dir), num_scales=1,
      num_res_blocks=1, num_filters=8, epochs=2, steps_per_epoch=75,
      dequantization_samples=_SAMPLES, export=False, num_samples=4,
      mixed_precision='false')
  results = run_lib.run(config)
  return model_dir, config, results


def test_results_name_every_candidate_and_the_test_noise(run):
  model_dir, config, results = run
  saved = json.loads((model_dir / 'results.json').read_text())
  assert set(saved['validation_bits_per_dim_by_weights']) == {
      'averaged', 'raw', 'averaged_raw_statistics'}
  assert saved['weights'] == min(
      saved['validation_bits_per_dim_by_weights'],
      key=saved['validation_bits_per_dim_by_weights'].get)
  assert saved['test_seed'] == config.seed + 2
  assert saved['dequantization_samples'] == _SAMPLES
  assert saved['test_discrete_bits_per_dim'] < saved['test_bits_per_dim']
  # The same noise and statistics: the final figure of weights that did not
  # change since the last epoch is that epoch's.
  if saved['weights'] == 'averaged':
    assert results['history']['val_bits_per_dim'][-1] == pytest.approx(
        saved['validation_bits_per_dim'], abs=1e-4)


def test_evaluate_repeats_the_runs_test_figures_at_another_batch_size(run):
  model_dir, _, results = run
  command = [sys.executable, str(ROOT / 'bin' / 'evaluate.py'),
             f'--model={model_dir}', '--batch_size=7']
  result = subprocess.run(command, capture_output=True, text=True,
                          timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  figures = json.loads(result.stdout.strip().splitlines()[-1])
  assert figures['split'] == 'test' and figures['seed'] == results['test_seed']
  assert figures['dequantization_samples'] == _SAMPLES
  assert figures['bits_per_dim'] == pytest.approx(
      results['test_bits_per_dim'], abs=1e-4)
  assert figures['discrete_bits_per_dim'] == pytest.approx(
      results['test_discrete_bits_per_dim'], abs=1e-4)
  kept = {'averaged': 'the averaged weights', 'raw': 'the raw weights',
          'averaged_raw_statistics': 'the averaged weights with the raw'}
  assert figures['weights'].startswith(kept[results['weights']])
  assert f'with {figures["weights"]}' in result.stderr


def test_the_kept_figure_is_within_0_3_of_statistics_recomputed_at_length(
    run):
  model_dir, config, results = run
  flow = loading.load_flow(str(model_dir))
  validation = lambda: run_data.validation_dataset(config)  # pylint: disable=unnecessary-lambda-assignment
  # Validation noise: the model's seed (FlowModel(seed=config.seed)).
  loaded = training.evaluate_discrete_bits_per_dim(
      flow, validation(), samples=1, seed=config.seed)
  assert loaded.single_draw_bits_per_dim == pytest.approx(
      results['validation_bits_per_dim'], abs=1e-4)
  tfp_realnvp.recompute_batch_norm_statistics(
      flow, run_data.training_dataset(config_lib.TrainConfig(
          **{**config.__dict__, 'seed': 7})), num_batches=40)
  recomputed = training.evaluate_discrete_bits_per_dim(
      flow, validation(), samples=1, seed=config.seed)
  assert abs(recomputed.single_draw_bits_per_dim -
             results['validation_bits_per_dim']) < 0.3
