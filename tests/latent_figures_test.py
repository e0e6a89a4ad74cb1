"""Smoke tests of bin/latent_figures.py, run as a user would."""

import pathlib
import subprocess
import sys

import pytest
import tensorflow as tf

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _latent_figures(*args):
  return subprocess.run(
      [sys.executable, str(ROOT / 'bin' / 'latent_figures.py'), *args],
      capture_output=True, text=True, timeout=600, check=False)


def _png_shape(path):
  return tuple(tf.io.decode_png(tf.io.read_file(str(path))).shape)


@pytest.mark.slow
def test_manifold_from_a_run_directory(trained_run_dir, tmp_path):
  output = tmp_path / 'manifold.png'
  result = _latent_figures(f'--model={trained_run_dir}', '--figure=manifold',
                           '--examples=3,1,4,5', '--num_rows=3',
                           '--num_cols=5', '--scale=1', f'--output={output}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert _png_shape(output) == (3 * 9 - 1, 5 * 9 - 1, 1)


@pytest.mark.slow
def test_compression_of_a_conditional_saved_model(trained_conditional_run_dir,
                                                  tmp_path):
  output = tmp_path / 'compression.png'
  result = _latent_figures(
      f'--model={trained_conditional_run_dir / "export"}', '--dataset=digits',
      '--figure=compression', '--examples=0,1,2', '--fractions=1,0.5,0.25',
      '--fill=zero', '--scale=1', f'--output={output}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert _png_shape(output) == (3 * 9 - 1, 4 * 9 - 1, 1)


def test_bad_flags_are_usage_errors(trained_run_dir, tmp_path):
  result = _latent_figures(f'--model={trained_run_dir}', '--figure=manifold',
                           '--examples=0,1', f'--output={tmp_path}/x.png')
  assert result.returncode != 0
  assert 'needs 4 --examples' in result.stderr
  assert 'Traceback' not in result.stderr
  assert not (tmp_path / 'x.png').exists()


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
