"""Runs the README's and the docs' Python examples exactly as written."""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _python_blocks(page='README.md'):
  return re.findall(r'```python\n(.*?)```', (ROOT / page).read_text(),
                    re.DOTALL)


def _block(page, marker):
  found = [block for block in _python_blocks(page) if marker in block]
  assert len(found) == 1, f'{page}: {len(found)} examples hold {marker!r}'
  return found[0]


def _run(code, tmp_path):
  script = tmp_path / 'readme_example.py'
  script.write_text(code)
  # In a scratch directory, as a user's would be: the example writes files.
  result = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=600, check=False, cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  return result.stdout


def test_readme_opens_with_the_short_example():
  blocks = _python_blocks()
  assert len(blocks[0].splitlines()) <= 30, 'the first is the short one'
  assert 'FlowModel' in blocks[0] and 'keras3' in blocks[1]


def test_variational_dequantization_example_runs(tmp_path):
  output = _run(_block('docs/training.md', "dequantization='variational'"),
                tmp_path)
  assert 'noise in [0, 1): True' in output
  assert 'untrained q is uniform, max |log q|: 0.0' in output
  assert 'bound (4,)' in output


@pytest.mark.slow  # 45-75 s on 2 cores: five epochs, saving, sampling.
def test_short_example_trains_saves_and_reconstructs_exactly(tmp_path):
  output = _run(_python_blocks()[0], tmp_path)
  bits = float(re.search(r'test bits/dim (\S+)', output).group(1))
  assert 0. < bits < 7.5  # better than a uniform model (8) after five epochs
  error = float(re.search(r'reconstruction error (\S+)', output).group(1))
  assert error < 1e-2
  assert 'samples (16, 8, 8, 1)' in output
  assert (tmp_path / 'digits.keras').exists()


@pytest.mark.slow
def test_a_loop_and_keras3_train_the_flow_and_the_file_loads(tmp_path):
  output = _run(_python_blocks()[1], tmp_path)
  bits = float(re.search(r'loop bits/dim (\S+)', output).group(1))
  assert 0. < bits < 9.
  difference = float(re.search(r'loaded log-prob difference (\S+)',
                               output).group(1))
  assert difference < 1e-3
  assert (tmp_path / 'digits_keras3.keras').exists()


@pytest.mark.slow
def test_long_example_runs_and_reconstructs_exactly(tmp_path):
  output = _run(_block('docs/bijectors.md', 'manifold'), tmp_path)
  assert output.count('train bits/dim') == 3
  train = [float(v) for v in re.findall(r'train bits/dim (\S+)', output)]
  evaluation = float(re.search(r'eval bits/dim (\S+)', output).group(1))
  # Evaluation mode (moving averages) agrees with training mode (batch
  # statistics) after a few steps: the debiased averages.
  assert abs(evaluation - train[-1]) < 0.5, (evaluation, train)
  error = float(re.search(r'max reconstruction error (\S+)', output).group(1))
  assert error < 1e-2
  assert 'samples (4, 8, 8, 1) finite: True' in output
  assert 'manifold (25, 8, 8, 1) compression (3, 6, 8, 8, 1)' in output
  assert 'log p(x | label) (2,)' in output


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
