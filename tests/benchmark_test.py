"""Checks that bench/benchmark.py runs and prints every column (not speed)."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'bench'))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position


def test_tiny_benchmark_prints_every_column_for_both_models(tmp_path):
  output = tmp_path / 'BENCHMARKS.md'
  # jit_compile=on works the same way; it is left out here because XLA's
  # compilation alone takes most of a minute on 2 cores.
  result = subprocess.run(
      [sys.executable, str(ROOT / 'bench' / 'benchmark.py'), '--configs=tiny',
       '--repeats=1', '--batch_size=4', '--jit=off', '--isolate=false',
       f'--output={output}'],
      capture_output=True, text=True, timeout=900, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  text = output.read_text()
  assert text in result.stdout
  header = '| ' + ' | '.join(benchmark.COLUMNS) + ' |'
  assert header in text
  rows = [line for line in text.splitlines() if line.startswith('| tiny |')]
  models = [row.split(' | ')[1] for row in rows if row.count('|') > 10]
  assert models == ['ours', 'glow']
  for row in rows:
    assert 'nan' not in row and 'inf' not in row
  assert '| conv3x3 float32 |' in text and '| matmul float32 |' in text
  assert '| tiny | no data |' in text


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
