"""Smoke tests of bin/sample.py, run as a user would."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _sample(*args):
  return subprocess.run(
      [sys.executable, str(ROOT / 'bin' / 'sample.py'), *args],
      capture_output=True, text=True, timeout=600, check=False)


# The SavedModel's rows repeat the checkpoint's path through a slower load.
@pytest.mark.parametrize('source', [
    '', pytest.param('export', marks=pytest.mark.slow)])
def test_writes_one_row_per_temperature(trained_run_dir, tmp_path, source):
  output = tmp_path / 'grid.png'
  result = _sample(f'--model={trained_run_dir / source}', f'--output={output}',
                   '--num_samples=3', '--temperature=0.5,1', '--scale=1',
                   f'--image_dir={tmp_path / "images"}')
  assert result.returncode == 0, result.stderr[-3000:]
  image = tf.io.decode_png(tf.io.read_file(str(output)))
  assert image.shape == (2 * 9 - 1, 3 * 9 - 1, 1)
  # Each sample also as its own PNG: the grid's first tile is the first one.
  singles = sorted((tmp_path / 'images').glob('sample_*.png'))
  assert len(singles) == 6
  first = tf.io.decode_png(tf.io.read_file(str(singles[0]))).numpy()
  np.testing.assert_array_equal(first, image.numpy()[:8, :8])


@pytest.mark.slow
def test_a_missing_model_is_a_usage_error(tmp_path):
  result = _sample(f'--model={tmp_path}', f'--output={tmp_path}/x.png')
  assert result.returncode != 0
  assert 'neither config.json' in result.stderr
  assert not (tmp_path / 'x.png').exists()


@pytest.mark.slow
def test_a_conditional_model_gives_one_row_per_class(
    trained_conditional_run_dir, tmp_path):
  output = tmp_path / 'classes.png'
  result = _sample(f'--model={trained_conditional_run_dir}',
                   f'--output={output}', '--num_samples=2', '--scale=1')
  assert result.returncode == 0, result.stderr[-3000:]
  image = tf.io.decode_png(tf.io.read_file(str(output)))
  assert image.shape == (10 * 9 - 1, 2 * 9 - 1, 1)


@pytest.mark.slow
def test_size_factor_samples_at_twice_the_trained_size(trained_run_dir,
                                                       tmp_path):
  output = tmp_path / 'big.png'
  result = _sample(f'--model={trained_run_dir}', f'--output={output}',
                   '--num_samples=2', '--size_factor=2', '--scale=1')
  assert result.returncode == 0, result.stderr[-3000:]
  image = tf.io.decode_png(tf.io.read_file(str(output)))
  assert image.shape == (16, 2 * 17 - 1, 1)


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
