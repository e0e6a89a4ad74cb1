"""What a user sees first from each binary: its own line, no TensorFlow start-up."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPTS = ('train', 'sample', 'evaluate', 'latent_figures', 'score')

# Lines TensorFlow writes from C++ when it is imported on a CPU-only machine.
_STARTUP = ('I0000', 'W0000', 'E0000', 'absl::InitializeLog', 'oneDNN',
            'cpu_feature_guard', 'cuda', 'To enable the following')


def _run_all(argvs):
  """Runs the binaries at once (each mostly imports TensorFlow)."""
  processes = [subprocess.Popen(
      [sys.executable, str(ROOT / 'bin' / f'{script}.py'), *args],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for script, args in argvs]
  return [process.communicate(timeout=300) for process in processes]


def no_startup_noise(text):
  return [line for line in text.splitlines() if line.startswith(_STARTUP)
          or any(mark in line for mark in _STARTUP[3:])] == []


@pytest.mark.slow
def test_a_wrong_flag_or_value_is_the_first_line():
  (_, unknown), (_, negative), (_, misspelt) = _run_all([
      ('evaluate', ['--model=x', '--no_such_flag']),
      ('train', ['--epochs=-1']),
      ('train', ['--dataset=mnsit', '--data_dir=/nonexistent',
                 '--nodownload']),
  ])
  assert unknown.splitlines()[0] == (
      "FATAL Flags parsing error: Unknown command line flag 'no_such_flag'")
  assert negative.splitlines()[0] == (
      'train.py: --epochs must be positive, got -1. (--help lists the flags)')
  first = misspelt.splitlines()[0]
  assert first.startswith("train.py: Unknown dataset 'mnsit' (did you mean "
                          "'mnist'?)"), misspelt[:2000]


def _startup_module():
  sys.path.insert(0, str(ROOT / 'bin'))
  try:
    import startup  # pylint: disable=g-import-not-at-top
  finally:
    sys.path.remove(str(ROOT / 'bin'))
  return startup


def test_tensorflow_info_lines_are_off_unless_the_user_asks(monkeypatch):
  # TF's C++ INFO lines (TF 2.19's "Local rendezvous is aborting" after a
  # dataset's end) stay out of the binaries' output; a user's setting wins.
  startup = _startup_module()
  monkeypatch.delenv('TF_CPP_MIN_LOG_LEVEL', raising=False)
  with startup.quiet_imports():
    pass
  assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '1'
  monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', '0')
  with startup.quiet_imports():
    pass
  assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '0'
