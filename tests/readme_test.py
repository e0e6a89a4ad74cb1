"""Runs the README's Python example exactly as written, as a user would."""

import pathlib
import re
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / 'README.md'


def test_readme_example_runs_and_reconstructs_exactly(tmp_path):
  blocks = re.findall(r'```python\n(.*?)```', README.read_text(), re.DOTALL)
  assert len(blocks) == 1, 'the README should hold one runnable example'
  script = tmp_path / 'readme_example.py'
  script.write_text(blocks[0])
  result = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  output = result.stdout
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
