"""A training budget in wall-clock minutes (`--train_minutes`).

Users think in time ("an hour on this machine"), a schedule in steps. The
budget counts the run's wall-clock time from its start (tracing, validation
and checkpoints included), stops training within one step of the budget, and
keeps what was spent in `<model_dir>/budget.json`, so a resumed run (after a
kill, or the same command again) continues with what is left instead of
starting the clock over. It also drives a schedule whose clock is the share
of the budget spent (`tfp_realnvp.training.ProgressDecay`).
"""

import json
import os
import time

from absl import logging
import tensorflow as tf
import tf_keras

__all__ = ['TimeBudget', 'budget_path', 'spent_seconds']

# How often the spent time is written: a kill loses at most this much.
_SAVE_EVERY_SECONDS = 10.


def budget_path(model_dir):
  return os.path.join(model_dir, 'budget.json')


def spent_seconds(model_dir):
  """The training time a run in `model_dir` has spent so far (0 if none)."""
  path = budget_path(model_dir)
  if not tf.io.gfile.exists(path):
    return 0.
  with tf.io.gfile.GFile(path) as f:
    return float(json.load(f)['spent_seconds'])


class TimeBudget(tf_keras.callbacks.Callback):
  """Stops training when the run has spent `minutes` of wall-clock time.

  The clock starts when the callback is made (before the first trace) and
  adds what earlier runs in the same directory spent. After each step it
  sets the model's `stop_training` once the budget is spent, so a run ends
  within one step of it and goes on as after its last epoch (checkpoint,
  test figure, export); with `progress`, it also sets that variable to the
  share spent, the clock of a `ProgressDecay` schedule.
  """

  def __init__(self, minutes, model_dir, is_chief=True, progress=None,
               clock=time.monotonic):
    """Starts the clock.

    Args:
      minutes: Python float > 0, the budget.
      model_dir: the run's directory, where `budget.json` is kept.
      is_chief: only the chief writes the file.
      progress: `None`, or a scalar float variable set to the share spent.
      clock: seconds, monotonic (tests pass their own).
    """
    super().__init__()
    self._budget = float(minutes) * 60.
    self._model_dir = model_dir
    self._is_chief = is_chief
    self._progress = progress
    self._clock = clock
    self._spent_before = spent_seconds(model_dir)
    self._start = clock()
    self._last_save = self._start
    self.stopped_at_step = None
    self._set_progress()

  @property
  def budget_seconds(self):
    return self._budget

  def spent(self):
    """Seconds spent, earlier runs in this directory included."""
    return self._spent_before + self._clock() - self._start

  def exhausted(self):
    return self.spent() >= self._budget

  def _set_progress(self):
    if self._progress is not None:
      self._progress.assign(min(1., self.spent() / self._budget))

  def save(self):
    if not self._is_chief:
      return
    tf.io.gfile.makedirs(self._model_dir)
    # Written aside and renamed: a kill mid-write leaves the last whole file.
    path = budget_path(self._model_dir)
    with tf.io.gfile.GFile(path + '.tmp', 'w') as f:
      json.dump(dict(spent_seconds=self.spent(),
                     budget_seconds=self._budget), f)
    tf.io.gfile.rename(path + '.tmp', path, overwrite=True)
    self._last_save = self._clock()

  def on_train_begin(self, logs=None):
    logging.info('Training budget: %.1f minutes, %.1f spent before this run.',
                 self._budget / 60., self._spent_before / 60.)

  def on_train_batch_end(self, batch, logs=None):
    self._set_progress()
    if self.exhausted() and self.stopped_at_step is None:
      self.stopped_at_step = int(self.model.optimizer.iterations.numpy())
      self.model.stop_training = True
      logging.info('The %.1f-minute training budget is spent: stopping at '
                   'step %d.', self._budget / 60., self.stopped_at_step)
    if self._clock() - self._last_save >= _SAVE_EVERY_SECONDS:
      self.save()

  def on_train_end(self, logs=None):
    self.save()
