"""Smoke tests of bin/evaluate.py and of the installed console scripts."""

import importlib.metadata
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _evaluate(*args, executable=None):
  command = ([executable] if executable else
             [sys.executable, str(ROOT / 'bin' / 'evaluate.py')])
  return subprocess.run(command + list(args), capture_output=True, text=True,
                        timeout=600, check=False)


@pytest.mark.slow
def test_checkpoint_and_saved_model_give_the_same_bits_per_dim(
    trained_run_dir, tmp_path):
  output = tmp_path / 'result.json'
  from_checkpoint = _evaluate(f'--model={trained_run_dir}',
                              f'--output={output}')
  assert from_checkpoint.returncode == 0, from_checkpoint.stderr[-3000:]
  result = json.loads(output.read_text())
  assert result['dataset'] == 'digits' and result['split'] == 'test'
  assert result['bits_per_dim'] > 0.
  from_saved_model = _evaluate(f'--model={trained_run_dir / "export"}',
                               '--dataset=digits', '--split=test')
  assert from_saved_model.returncode == 0, from_saved_model.stderr[-3000:]
  last_line = from_saved_model.stdout.strip().splitlines()[-1]
  assert json.loads(last_line)['bits_per_dim'] == pytest.approx(
      result['bits_per_dim'], rel=1e-5)


@pytest.mark.slow
def test_the_k_draw_estimate_sits_beside_the_single_draw(trained_run_dir):
  result = _evaluate(f'--model={trained_run_dir}',
                     '--dequantization_samples=8')
  assert result.returncode == 0, result.stderr[-3000:]
  figures = json.loads(result.stdout.strip().splitlines()[-1])
  assert figures['dequantization_samples'] == 8
  assert figures['discrete_bits_per_dim_standard_error'] > 0.
  # Both estimate the same model's figure from the same noise; K draws can
  # only sit below one draw's bound on average, by little for this model.
  assert (figures['discrete_bits_per_dim'] <
          figures['bits_per_dim'] + figures['bits_per_dim_standard_error'])
  assert '8-draw estimate:' in result.stderr


def test_console_scripts_are_installed_and_run_the_binaries(trained_run_dir):
  scripts = {entry.name: entry.value
             for entry in importlib.metadata.entry_points(
                 group='console_scripts')
             if entry.name.startswith('tfp-realnvp-')}
  assert scripts == {
      'tfp-realnvp-train': 'tfp_realnvp_bin.train:console_main',
      'tfp-realnvp-sample': 'tfp_realnvp_bin.sample:console_main',
      'tfp-realnvp-evaluate': 'tfp_realnvp_bin.evaluate:console_main',
      'tfp-realnvp-latent-figures':
          'tfp_realnvp_bin.latent_figures:console_main',
      'tfp-realnvp-score': 'tfp_realnvp_bin.score:console_main',
  }
  executable = shutil.which('tfp-realnvp-evaluate',
                            path=str(pathlib.Path(sys.executable).parent))
  assert executable is not None
  # The installed script is the binary: a SavedModel without --dataset is
  # its usage error (the slow tail evaluates through it in full).
  result = _evaluate(f'--model={trained_run_dir / "export"}',
                     executable=executable)
  assert result.returncode != 0
  assert ('holds no training run (config.json) that names its dataset: '
          'pass --dataset.') in result.stderr


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
