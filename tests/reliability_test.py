"""Training survives kills, signals and NaNs without losing more than a
checkpoint interval, and never checkpoints a broken state."""

import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp.app import callbacks as callbacks_lib
from tfp_realnvp.app import loading
from tfp_realnvp.app import run as run_lib
from tests import injected_data

ROOT = pathlib.Path(__file__).resolve().parent.parent
_TOTAL_STEPS = 150
_EVERY = 10


def _config(model_dir, **overrides):
  settings = dict(dataset='injected', model_dir=str(model_dir), num_scales=1,
                  num_res_blocks=1, num_filters=4, epochs=1,
                  steps_per_epoch=2, num_samples=4, export=False)
  settings.update(overrides)
  return run_lib.TrainConfig(**settings)


@pytest.mark.slow
def test_non_finite_loss_stops_naming_the_step_and_keeps_the_checkpoint(
    tmp_path):
  run_lib.run(_config(tmp_path),
              datasets=injected_data.injected_datasets(16))
  good, _ = loading.load_distribution(str(tmp_path))
  probe = injected_data.random_pixels(4, 2)
  with tfp_realnvp.training_mode(False):
    good_log_prob = good.log_prob(probe).numpy()
  # An absurd learning rate blows the scales up within a step or two.
  with pytest.raises(run_lib.NonFiniteLossError,
                     match=r'became nan at step \d+ .*--learning_rate'):
    run_lib.run(_config(tmp_path, epochs=2, steps_per_epoch=4,
                        learning_rate=1e8),
                datasets=injected_data.injected_datasets(16))
  restored, _ = loading.load_distribution(str(tmp_path))
  with tfp_realnvp.training_mode(False):
    np.testing.assert_allclose(restored.log_prob(probe), good_log_prob,
                               rtol=1e-6)


@pytest.mark.slow
def test_a_half_written_checkpoint_is_never_used(tmp_path):
  run_lib.run(_config(tmp_path),
              datasets=injected_data.injected_datasets(16))
  chief = tmp_path / 'checkpoints' / 'chief'
  complete = tf.train.latest_checkpoint(str(chief))
  # What a kill in the middle of a save leaves: new files, old state file.
  (chief / 'ckpt-99.index').write_bytes(b'half')
  (chief / 'ckpt-99.data-00000-of-00001').write_bytes(b'half')
  assert tf.train.latest_checkpoint(str(chief)) == complete
  results = run_lib.run(_config(tmp_path, epochs=2),
                        datasets=injected_data.injected_datasets(16))
  assert results['steps'] == 4


def _train_command(model_dir):
  return [sys.executable, str(ROOT / 'bin' / 'train.py'),
          f'--model_dir={model_dir}', '--num_scales=1', '--num_res_blocks=1',
          '--num_filters=4',
          '--epochs=1', f'--steps_per_epoch={_TOTAL_STEPS}',
          f'--checkpoint_every_steps={_EVERY}', '--export=false',
          '--num_samples=4']


def _start_and_signal(model_dir, signal_number, extra_delay):
  """Starts training; signals it once it wrote a checkpoint (plus a delay)."""
  state = pathlib.Path(model_dir) / 'checkpoints' / 'chief' / 'checkpoint'
  before = state.stat().st_mtime_ns if state.exists() else None
  process = subprocess.Popen(_train_command(model_dir),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
  deadline = time.time() + 300
  while process.poll() is None and not (
      state.exists() and state.stat().st_mtime_ns != before):
    assert time.time() < deadline, 'no checkpoint within 300 s'
    time.sleep(0.2)
  time.sleep(extra_delay)
  if process.poll() is None:
    process.send_signal(signal_number)
  output = process.communicate(timeout=300)[0]
  return process.returncode, output


def _finish(model_dir):
  result = subprocess.run(_train_command(model_dir), capture_output=True,
                          text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads((pathlib.Path(model_dir) / 'results.json').read_text())


@pytest.mark.slow
def test_kill_then_term_then_the_same_command_finishes(tmp_path):
  # One run stopped two ways in turn, each time resumed by the same command:
  # SIGKILL at a random point after a checkpoint (nothing saved, no
  # results), then SIGTERM (saves a checkpoint at the step it lands on,
  # after the resumed one), then the command finishes the run. SIGINT takes
  # SIGTERM's path (test_sigint_and_sigterm_save_and_stop_alike).
  returncode, output = _start_and_signal(tmp_path, signal.SIGKILL,
                                         random.uniform(0., 2.))
  if returncode == 0:
    pytest.skip('training finished before the kill landed')
  assert returncode == -signal.SIGKILL, output[-3000:]
  assert not (tmp_path / 'results.json').exists()
  returncode, output = _start_and_signal(tmp_path, signal.SIGTERM, 0.5)
  if returncode == 0:
    pytest.skip('training finished before the signal landed')
  assert returncode == 128 + signal.SIGTERM, output[-3000:]
  saved_at = int(output.split('SIGTERM: saved a checkpoint at step ')[1]
                 .split()[0])
  # The save happened at the signal, after the resumed step.
  assert _EVERY <= saved_at < _TOTAL_STEPS
  results = _finish(tmp_path)
  assert results['steps'] == _TOTAL_STEPS


class _Checkpoints:

  def __init__(self):
    self.current_epoch = 3
    self.saved = []

  def save(self, epoch):
    self.saved.append(epoch)


@pytest.mark.parametrize('signal_number', [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_save_and_stop_alike(signal_number):
  checkpoints = _Checkpoints()
  callback = callbacks_lib.SaveOnSignal(checkpoints)
  model = tf_keras.Sequential()
  model.stop_training = False
  callback.set_model(model)
  before = signal.getsignal(signal_number)
  callback.on_train_begin()
  try:
    os.kill(os.getpid(), signal_number)
    callback.on_train_batch_end(0)
  except KeyboardInterrupt:
    pytest.fail('SIGINT reached Python: the callback did not handle it')
  finally:
    callback.on_train_end()
  assert callback.signal_number == signal_number
  assert checkpoints.saved == [3] and model.stop_training
  assert signal.getsignal(signal_number) is before


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
