"""The Keras callbacks of a training run: checkpoints, guards, progress.

Listed in this order by `tfp_realnvp.app.run.run`: a non-finite loss stops
before the checkpoint callback can save it, so the last checkpoint is always
the last good state. (What a run writes for TensorBoard and samples/ is
`summaries`'.)
"""

import math
import os
import signal
import threading
import time

from absl import logging
import tensorflow as tf
import tf_keras

from tfp_realnvp import compat
from tfp_realnvp import training
from tfp_realnvp.app import config as config_lib

__all__ = [
    'Checkpoints',
    'NonFiniteLossError',
    'ProgressLog',
    'PeriodicValidation',
    'SaveOnSignal',
    'StopOnNonFiniteLoss',
    'TrainingInterrupted',
]


class NonFiniteLossError(RuntimeError):
  """Training stopped at a NaN or infinite loss or gradient."""


class TrainingInterrupted(RuntimeError):
  """Training stopped by SIGTERM or SIGINT after saving a checkpoint."""

  def __init__(self, message, signal_number):
    super().__init__(message)
    self.signal_number = signal_number


# A step interval that never comes: epoch-end saves only.
_NEVER = 2**62


class Checkpoints(tf_keras.callbacks.BackupAndRestore):
  """Keras' resumable training state, saved every epoch and every N steps.

  `BackupAndRestore` restores weights, optimizer and the epoch/step counters
  (mid-epoch too) on `fit`, and under MultiWorkerMirroredStrategy lets only
  the chief write. It is kept after training (`delete_checkpoint=False`) so a
  finished run is not repeated and bin/sample.py can read it. Saves go
  through `tf.train.CheckpointManager`, which writes the new files before
  atomically pointing its state file at them: a kill mid-save leaves the
  previous checkpoint in use.
  """

  def __init__(self, model_dir, every_steps, learning_rate):
    # Always step-based, so the step inside the epoch is recorded and a save
    # between epochs (a signal) resumes at the next step, not the next epoch.
    super().__init__(os.path.dirname(config_lib.checkpoint_dir(model_dir)),
                     save_freq=every_steps or _NEVER,
                     delete_checkpoint=False)
    self.current_epoch = 0
    self._learning_rate = learning_rate

  def on_train_begin(self, logs=None):
    super().on_train_begin(logs)
    # The restored optimizer brings its old learning rate; the command's
    # --learning_rate wins, so a run can be resumed with a lower one. (A
    # schedule is the command's already: it is not a checkpointed variable.)
    rate = self.model.optimizer.learning_rate
    if not isinstance(rate, tf_keras.optimizers.schedules.LearningRateSchedule):
      rate.assign(self._learning_rate)

  def on_epoch_begin(self, epoch, logs=None):
    super().on_epoch_begin(epoch, logs)
    self.current_epoch = epoch

  def on_epoch_end(self, epoch, logs=None):
    super().on_epoch_end(epoch, logs)
    self.save(epoch)

  def save(self, epoch):
    compat.back_up(self, epoch)


class StopOnNonFiniteLoss(tf_keras.callbacks.Callback):
  """Stops at a non-finite loss, before it can be checkpointed.

  Listed before the checkpoint callback, so the last checkpoint is the last
  good state. With `skip_limit` N > 0 (a model built with
  `skip_non_finite=True`) a bad batch is skipped instead, logged, and
  only N skipped in a row stop the run.
  """

  def __init__(self, learning_rate, checkpoint_dir, skip_limit=0):
    super().__init__()
    self._learning_rate = learning_rate
    self._checkpoint_dir = checkpoint_dir
    self._skip_limit = skip_limit
    self._epoch = 0
    self._skipped_in_epoch = 0.
    self._in_a_row = 0

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch = epoch
    self._skipped_in_epoch = 0.  # Keras resets its metrics each epoch.

  def _where(self, batch):
    step = int(self.model.optimizer.iterations.numpy())
    return f'step {step} (epoch {self._epoch + 1}, batch {batch + 1})'

  def _cause(self):
    return ('The likely cause is a diverging scale (exp(s) overflowing) '
            'after too large updates: lower --learning_rate (now '
            f'{self._learning_rate:g}) or check the data for NaN/Inf.')

  def on_train_batch_end(self, batch, logs=None):
    logs = logs or {}
    skipped = logs.get('skipped_batches')
    if skipped is not None:
      if float(skipped) > self._skipped_in_epoch:
        self._skipped_in_epoch = float(skipped)
        self._in_a_row += 1
        logging.warning('Skipped a batch with a non-finite loss or gradient '
                        'at %s: %d in a row, %d this epoch.',
                        self._where(batch), self._in_a_row, int(skipped))
        if self._in_a_row >= self._skip_limit:
          raise NonFiniteLossError(
              f'{self._in_a_row} batches in a row had a non-finite loss or '
              f'gradient (--skip_non_finite_batches={self._skip_limit}), the '
              f'last at {self._where(batch)}; none changed the model. '
              f'{self._cause()} The last checkpoint, in '
              f'{self._checkpoint_dir}, is unchanged; rerunning resumes '
              'from it.')
      else:
        self._in_a_row = 0
      return
    loss = logs.get('loss')
    if loss is None or math.isfinite(loss):
      return
    raise NonFiniteLossError(
        f'The training loss or its gradient became {loss} at '
        f'{self._where(batch)}. {self._cause()} To skip such batches '
        'instead (leaving the model as it was), rerun with '
        '--skip_non_finite_batches=N, which stops after N in a row. The '
        f'last good checkpoint, in {self._checkpoint_dir}, is unchanged; '
        'rerunning resumes from it.')


class ProgressLog(tf_keras.callbacks.Callback):
  """One log line every N steps: step, loss, bits/dim, speed and ETA.

  For logs that are not a terminal (where Keras' progress bar is not
  shown): a long epoch is followed step by step, not only at its end. Under
  a time budget the total is the steps expected at the measured rate in the
  time left (`--epochs` stays an upper bound), so the ETA never passes the
  budget.
  """

  def __init__(self, every_steps, total_steps, budget=None, clock=time.time):
    """Logs every `every_steps`; `budget` a `TimeBudget`, or `None`."""
    super().__init__()
    self._every = int(every_steps)
    self._total = total_steps
    self._budget = budget
    self._clock = clock
    self._start = None
    self._start_step = 0

  def on_train_begin(self, logs=None):
    self._start = self._clock()
    self._start_step = int(self.model.optimizer.iterations.numpy())
    if self._total is None and self.params.get('steps'):
      self._total = self.params['steps'] * self.params['epochs']

  def _rate(self, step):
    return (step - self._start_step) / max(self._clock() - self._start, 1e-9)

  def expected(self, step):
    """`(total steps or None, seconds left or None)` as of `step`."""
    rate = self._rate(step)
    total = self._total
    left = (total - step) / rate if total and rate > 0 else None
    if self._budget is not None:
      budget_left = max(self._budget.budget_seconds - self._budget.spent(),
                        0.)
      if left is None or budget_left < left:
        left = budget_left
        total = step + int(rate * budget_left)
    return total, left

  def on_train_batch_end(self, batch, logs=None):
    step = int(self.model.optimizer.iterations.numpy())
    if step % self._every:
      return
    logs = logs or {}
    rate = self._rate(step)
    total, left = self.expected(step)
    approximate = '~' if total != self._total else ''
    eta = f', ETA {_duration(left)}' if left is not None else ''
    total = f'/{approximate}{total}' if total else ''
    logging.info('Step %d%s: loss %.4f, bits/dim %.4f, %.2f steps/s%s',
                 step, total, logs.get('loss', math.nan),
                 logs.get('bits_per_dim', math.nan), rate, eta)


def _duration(seconds):
  minutes, seconds = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f'{hours}:{minutes:02d}:{seconds:02d}'


class SaveOnSignal(tf_keras.callbacks.Callback):
  """On SIGTERM or SIGINT: finish the step, checkpoint, stop training."""

  def __init__(self, checkpoints):
    super().__init__()
    self._checkpoints = checkpoints
    self._previous = {}
    self.signal_number = None

  def _handle(self, signal_number, frame):
    del frame
    self.signal_number = signal_number

  def on_train_begin(self, logs=None):
    if threading.current_thread() is not threading.main_thread():
      return  # Only the main thread may install handlers.
    for signal_number in (signal.SIGTERM, signal.SIGINT):
      self._previous[signal_number] = signal.signal(signal_number,
                                                    self._handle)

  def on_train_batch_end(self, batch, logs=None):
    if self.signal_number is not None and not self.model.stop_training:
      self._checkpoints.save(self._checkpoints.current_epoch)
      self.model.stop_training = True

  def on_train_end(self, logs=None):
    for signal_number, handler in self._previous.items():
      signal.signal(signal_number, handler)
    self._previous = {}


class PeriodicValidation(tf_keras.callbacks.Callback):
  """Validates every N steps and keeps the best-by-validation checkpoint.

  The figure is the validation bits/dim of the averaged weights when the
  model keeps a Polyak average (`FlowModel.averaged_weights`), else of the
  weights; it goes to TensorBoard as `validation_bits_per_dim` by step. A
  lower figure than any before replaces the checkpoint in
  `config.best_checkpoint_dir(model_dir)` (the model, its weights as
  trained) and `best.json` beside it says which step and figure it holds,
  so a resumed run keeps comparing against it.
  """

  def __init__(self, validation_data, every_steps, model_dir, log_dir,
               is_chief):
    super().__init__()
    self._data = validation_data
    self._every = int(every_steps)
    self._dir = config_lib.best_checkpoint_dir(model_dir)
    self._record = os.path.join(self._dir, 'best.json')
    self._writer = tf.summary.create_file_writer(
        os.path.join(log_dir, 'validation_by_step'))
    self._is_chief = is_chief
    self._manager = None
    self._best = math.inf

  def on_train_begin(self, logs=None):
    # The noise of fit's validation: the model's seed.
    seed = self.model.step.seed
    self._evaluate = training.BitsPerDimEvaluator(
        self.model.distribution, seed=0 if seed is None else seed)
    self._manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(model=self.model), self._dir, max_to_keep=1)
    if tf.io.gfile.exists(self._record):
      self._best = config_lib.read_json(self._record)['bits_per_dim']

  def on_train_batch_end(self, batch, logs=None):
    step = int(self.model.optimizer.iterations.numpy())
    if step % self._every:
      return
    with self.model.averaged_weights():
      bits_per_dim = self._evaluate(self._data)
    with self._writer.as_default(step=step):
      tf.summary.scalar('validation_bits_per_dim', bits_per_dim)
    self._writer.flush()
    if bits_per_dim < self._best and self._is_chief:
      self._best = bits_per_dim
      self._manager.save(checkpoint_number=step)
      config_lib.write_json(self._record,
                            dict(step=step, bits_per_dim=bits_per_dim))
