"""Smoke test of bin/train.py with tiny flags, run as a user would."""

import json
import pathlib
import re
import subprocess
import sys

import pytest
import tensorflow as tf

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_train_binary_on_the_embedded_dataset(tmp_path):
  # Variational dequantization: uint8 data, q trained, scored and exported
  # (the uniform path runs in every other run of the suite).
  result = subprocess.run(
      [sys.executable, str(ROOT / 'bin' / 'train.py'), '--epochs=1',
       '--steps_per_epoch=2', '--num_scales=1', '--num_res_blocks=1',
       '--num_filters=4',
       '--strategy=mirrored', '--log_every_steps=1',
       '--dequantization=variational',
       '--dequantization_samples=4', f'--model_dir={tmp_path}'],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((tmp_path / 'results.json').read_text())
  assert results['validation_bits_per_dim'] > 0.
  assert results['steps'] == 2
  config = json.loads((tmp_path / 'config.json').read_text())
  assert config['model']['dequantization'] == 'variational'
  # The 4-draw test estimate beside the single draw's figure.
  assert results['test_dequantization_samples'] == 4
  assert results['test_discrete_bits_per_dim_standard_error'] > 0.
  assert abs(results['test_discrete_bits_per_dim'] -
             results['test_bits_per_dim']) < 0.05
  assert 'Test bits/dim from 4 draws of noise per image' in result.stderr
  assert 'Validation bits/dim' in result.stderr
  assert (tmp_path / 'samples' / 'epoch_0001.png').exists()
  assert (tmp_path / 'checkpoints' / 'chief' / 'checkpoint').exists()
  assert 'Wrote the SavedModel' in result.stderr
  # A line per step in the log, the loss of every step in TensorBoard.
  assert 'Step 2/2: loss ' in result.stderr and 'steps/s' in result.stderr
  steps = set()
  for path in (tmp_path / 'tensorboard' / 'train').glob('events.out.*'):
    for event in tf.compat.v1.train.summary_iterator(str(path)):
      if any(value.tag == 'batch_loss' for value in event.summary.value):
        steps.add(event.step)
  assert steps >= {1, 2}, steps
  # The precision it chose and why; the epoch's health line, and its
  # figures in TensorBoard.
  # The default, auto, decides by this machine and the model's size.
  from tfp_realnvp.app import precision  # pylint: disable=g-import-not-at-top
  choice = precision.choose_for('auto', (8, 8, 1))
  chosen = 'bfloat16 compute' if choice.bfloat16 else 'float32'
  assert (f'Precision: {chosen} ({choice.reason}); float32 variables.'
          in result.stderr)
  assert re.search(r'Health after epoch 1 \((raw|averaged) weights[^)]*\): '
                   r'reconstruction error', result.stderr)
  tags = set()
  for path in (tmp_path / 'tensorboard' / 'health').glob('events.out.*'):
    for event in tf.compat.v1.train.summary_iterator(str(path)):
      tags.update(value.tag for value in event.summary.value)
  assert {'health/reconstruction_error', 'health/max_abs_latent',
          'health/probe_bits_per_dim_evaluation'} <= tags, tags
  # CPU-only: no CUDA-probe error, no framework bookkeeping lines.
  for noise in ('cuInit', 'Assets written', 'Sharding callback',
                'Writing fingerprint', 'unsupported characters'):
    assert noise not in result.stderr, noise


# An unknown dataset's line is tests/binaries_test.py's; here, missing data.
@pytest.mark.slow
@pytest.mark.parametrize('flags, message', [
    (['--dataset=mnist', '--data_dir=/nonexistent', '--download=false'],
     'tfds build mnist'),
])
def test_bad_flags_stop_at_once_with_the_reason(tmp_path, flags, message):
  result = subprocess.run(
      [sys.executable, str(ROOT / 'bin' / 'train.py'),
       f'--model_dir={tmp_path}', *flags],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 1  # absl's exit code for a usage error.
  assert message in result.stderr
  assert 'Traceback' not in result.stderr
  # One line with the reason, not the usage text of every flag.
  assert 'USAGE' not in result.stderr and '--num_scales' not in result.stderr
  assert 'train.py: ' in result.stderr
  assert '(--help lists the flags)' in result.stderr
  assert not (tmp_path / 'checkpoints').exists()


def test_train_binary_rejects_stray_arguments():
  result = subprocess.run(
      [sys.executable, str(ROOT / 'bin' / 'train.py'), 'mnist'],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode != 0
  assert 'Unexpected arguments' in result.stderr


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
