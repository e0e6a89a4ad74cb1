"""--train_minutes: a wall-clock budget that stops, resumes and clocks a decay."""

import json
import math
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp.app import budget as budget_lib
from tfp_realnvp.app import callbacks as callbacks_lib
from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import learning_rates
from tfp_realnvp.app import run as run_lib

ROOT = pathlib.Path(__file__).resolve().parent.parent


class _Clock:
  """A clock that moves one second per training step."""

  def __init__(self):
    self.now = 0.

  def __call__(self):
    return self.now


class _Tick(tf_keras.callbacks.Callback):

  def __init__(self, clock):
    super().__init__()
    self._clock = clock

  def on_train_batch_begin(self, batch, logs=None):
    self._clock.now += 1.


def _model():
  model = tfp_realnvp.FlowModel(tfp_realnvp.VectorRealNVP(
      2, num_couplings=1, num_res_blocks=0, num_hidden=4))
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
  return model


def _points():
  return tf.data.Dataset.from_tensor_slices(
      np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
  ).batch(8).repeat()


def _fit_with_budget(model, model_dir, seconds):
  clock = _Clock()
  budget = budget_lib.TimeBudget(seconds / 60., str(model_dir), clock=clock)
  model.fit(_points(), epochs=100, steps_per_epoch=4, verbose=0,
            callbacks=[_Tick(clock), budget])
  return budget


def test_the_budget_stops_within_one_step_and_a_resume_continues(tmp_path):
  model = _model()
  budget = _fit_with_budget(model, tmp_path, 6.5)
  # The step that passed 6.5 s was the 7th: it ends the run.
  assert int(model.optimizer.iterations.numpy()) == 7
  assert budget.stopped_at_step == 7
  saved = json.loads((tmp_path / 'budget.json').read_text())
  assert saved['spent_seconds'] == pytest.approx(7.)
  # Resumed with a larger budget: the 7 s spent count, 3 more steps run.
  _fit_with_budget(model, tmp_path, 10.)
  assert int(model.optimizer.iterations.numpy()) == 10
  assert budget_lib.spent_seconds(str(tmp_path)) == pytest.approx(10.)


class _Expected(tf_keras.callbacks.Callback):
  """Records `(step, time, total, seconds left)` after every step."""

  def __init__(self, progress, clock):
    super().__init__()
    self._progress, self._clock = progress, clock
    self.seen = []

  def on_train_batch_end(self, batch, logs=None):
    step = int(self.model.optimizer.iterations.numpy())
    self.seen.append((step, self._clock.now, *self._progress.expected(step)))


def _progress_under_budget(model_dir, seconds, epochs):
  """`(step, time, total, seconds left)` after each step of a budgeted fit."""
  clock = _Clock()
  budget = budget_lib.TimeBudget(seconds / 60., str(model_dir), clock=clock)
  progress = callbacks_lib.ProgressLog(1, None, budget, clock=clock)
  expected = _Expected(progress, clock)
  _model().fit(_points(), epochs=epochs, steps_per_epoch=4, verbose=0,
               callbacks=[_Tick(clock), budget, progress, expected])
  return expected.seen


def test_the_progress_total_and_eta_follow_the_budget(tmp_path):
  """#43: under --train_minutes the ETA came from --epochs (79 hours)."""
  # One step a second: 10 steps in the budget, not the epochs' 400.
  seen = _progress_under_budget(tmp_path / 'short', 10., epochs=100)
  assert len(seen) == 10
  for step, now, total, left in seen:
    assert left == pytest.approx(10. - now) and total == 10, (step, now)
  # A budget longer than the epochs: they bound the total and the ETA.
  seen = _progress_under_budget(tmp_path / 'long', 1000., epochs=2)
  assert [(total, left) for _, _, total, left in seen] == [
      (8, 8. - step) for step in range(1, 9)]


def test_the_progress_clock_drives_the_decay_by_its_formula():
  progress = tf.Variable(0.)
  cosine = tfp_realnvp.training.ProgressDecay(2e-3, progress, 'cosine',
                                              final_fraction=0.1)
  exponential = tfp_realnvp.training.ProgressDecay(2e-3, progress,
                                                   'exponential',
                                                   decay_rate=0.01)
  warm = tfp_realnvp.training.ProgressDecay(2e-3, progress, 'cosine',
                                            warmup_steps=10)
  late = tfp_realnvp.training.ProgressDecay(2e-3, progress, 'cosine',
                                            decay_start=0.6)
  for share in (0., 0.25, 0.5, 0.8, 1., 1.5):
    progress.assign(share)
    p = min(share, 1.)
    late_p = max(p - 0.6, 0.) / 0.4
    assert float(late(100)) == pytest.approx(
        2e-3 * 0.5 * (1. + math.cos(math.pi * late_p)), rel=1e-5, abs=1e-10)
    assert float(cosine(100)) == pytest.approx(
        2e-3 * (0.1 + 0.9 * 0.5 * (1. + math.cos(math.pi * p))), rel=1e-6)
    assert float(exponential(100)) == pytest.approx(2e-3 * 0.01 ** p,
                                                    rel=1e-5)
    assert float(warm(4)) == pytest.approx(
        2e-3 * 0.5 * 0.5 * (1. + math.cos(math.pi * p)), rel=1e-6)


def test_a_decay_over_the_budget_needs_no_step_count():
  config = config_lib.TrainConfig(dataset='digits', decay='cosine',
                                  train_minutes=5., learning_rate=1e-3,
                                  decay_start=0.)
  config_lib.check_config(config)
  progress = tf.Variable(0.5)
  rate = learning_rates.learning_rate(config, progress)
  assert isinstance(rate, tfp_realnvp.training.ProgressDecay)
  assert float(rate(0)) == pytest.approx(5e-4)
  with pytest.raises(ValueError, match='--train_minutes must be positive'):
    config_lib.check_config(config_lib.TrainConfig(train_minutes=0.))
  with pytest.raises(ValueError, match=r'--decay_start must be in \[0, 1\)'):
    config_lib.check_config(config_lib.TrainConfig(decay_start=1.))
  with pytest.raises(ValueError, match='`decay_start` must be in'):
    tfp_realnvp.training.ProgressDecay(1e-3, progress, decay_start=-0.1)


def test_a_budget_schedule_saves_its_decay_start():
  schedule = tfp_realnvp.training.ProgressDecay(
      1e-3, tf.Variable(0.), 'cosine', decay_start=0.8)
  rebuilt = tfp_realnvp.training.ProgressDecay.from_config(
      schedule.get_config())
  assert rebuilt.decay_start == 0.8
  assert rebuilt.get_config() == schedule.get_config()


def test_a_budget_decays_late_unless_told_and_none_keeps_the_rate():
  progress = tf.Variable(0.9)

  def rate(**settings):
    config = config_lib.TrainConfig(dataset='digits', learning_rate=1e-3,
                                    **settings)
    config_lib.check_config(config)
    return learning_rates.learning_rate(config, progress)

  assert rate() == 1e-3
  # The budget's default: the peak for 80%, then a cosine over the rest;
  # at 90% spent that is halfway down.
  assert learning_rates.BUDGET_DECAY == ('cosine', 0.8)
  assert float(rate(train_minutes=5.)(0)) == pytest.approx(5e-4)
  assert float(rate(train_minutes=5., decay_start=0.)(0)) == pytest.approx(
      1e-3 * 0.5 * (1. + math.cos(math.pi * 0.9)))
  assert rate(train_minutes=5., decay='none') == 1e-3
  # A step count, not the budget, is then the clock: nothing by default.
  assert rate(train_minutes=5., decay_steps=100) == 1e-3
  assert float(rate(decay='none', warmup_steps=10)(4)) == pytest.approx(5e-4)
  assert float(rate(train_minutes=5., decay='exponential')(0)) == (
      pytest.approx(1e-3 * 0.1 ** 0.5))


@pytest.mark.slow
def test_a_budgeted_run_ends_cleanly_and_its_rerun_trains_no_step(tmp_path):
  rng = np.random.default_rng(1)
  pixels = rng.uniform(0., 256., size=(48, 8, 8, 1)).astype(np.float32)
  datasets = (tf.data.Dataset.from_tensor_slices(pixels[:32]).batch(16),
              tf.data.Dataset.from_tensor_slices(pixels[32:]).batch(16))
  config = run_lib.TrainConfig(
      dataset='digits', model_dir=str(tmp_path), num_scales=1,
      num_res_blocks=0, num_filters=4, epochs=10000, steps_per_epoch=2,
      num_samples=4, train_minutes=0.05, decay='cosine')
  results = run_lib.run(config, datasets=datasets)
  # Ended by the budget (10,000 epochs would take hours), then as usual.
  assert 0 < results['steps'] < 20000
  assert results['saved_model'] and (tmp_path / 'results.json').exists()
  assert budget_lib.spent_seconds(str(tmp_path)) >= 3.
  again = run_lib.run(config, datasets=datasets)
  assert again['steps'] == results['steps']


def _budgeted_train_command(model_dir, minutes):
  return [sys.executable, str(ROOT / 'bin' / 'train.py'),
          f'--model_dir={model_dir}', '--num_scales=1', '--num_res_blocks=1',
          '--num_filters=4',
          '--epochs=100000', '--steps_per_epoch=5',
          '--checkpoint_every_steps=5', '--export=false', '--num_samples=4',
          '--validation_examples=16', f'--train_minutes={minutes}']


@pytest.mark.slow
def test_a_killed_budgeted_run_resumes_with_what_is_left(tmp_path):
  minutes = 1.
  process = subprocess.Popen(_budgeted_train_command(tmp_path, minutes),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
  state = tmp_path / 'checkpoints' / 'chief' / 'checkpoint'
  deadline = time.time() + 300
  # Killed once a checkpoint and 24 s of spent time are on disk: a margin
  # between resuming (spends what is left) and restarting (all again) that
  # a loaded machine's slower start does not eat.
  while not (state.exists() and
             budget_lib.spent_seconds(str(tmp_path)) >= 24.):
    assert process.poll() is None, process.communicate()[0][-3000:]
    assert time.time() < deadline, 'no checkpoint within 300 s'
    time.sleep(0.2)
  process.kill()
  output = process.communicate(timeout=60)[0]
  assert process.returncode == -signal.SIGKILL, output[-3000:]
  spent_before = budget_lib.spent_seconds(str(tmp_path))
  assert 24. <= spent_before < minutes * 60.

  result = subprocess.run(_budgeted_train_command(tmp_path, minutes),
                          capture_output=True, text=True, timeout=600,
                          check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert f'{spent_before / 60.:.1f} spent before this run' in result.stderr
  spent = budget_lib.spent_seconds(str(tmp_path))
  # The whole budget is spent, the resumed run spending only what was left
  # (a restart would have spent all of it again).
  assert spent >= minutes * 60.
  assert spent - spent_before < minutes * 60. - 5.
  results = json.loads((tmp_path / 'results.json').read_text())
  assert results['steps'] >= 5
