"""A training run's progress bar at a terminal, with log lines above it.

Keras' own bar redraws one line with carriage returns, and a log line
written meanwhile (a checkpoint, a health line, a step's figures) lands in
the middle of it, after which the bar goes on from the log line's end.
`ProgressBar` draws the bar with tqdm and, while it is shown, sends absl's
log lines through `tqdm.write`, which clears the bar, prints the line and
draws the bar again below it. (`tqdm.keras.TqdmCallback` subclasses
`import keras`'s callback, a Keras 3 class that tf_keras' `fit` refuses.)
"""

import contextlib
import math
import sys

from absl import logging
import tf_keras
import tqdm

__all__ = ['ProgressBar', 'closed_after']


class _AboveTheBar:
  """A text stream whose writes go above the bars tqdm shows on `stream`."""

  def __init__(self, stream):
    self._stream = stream

  def write(self, text):
    tqdm.tqdm.write(text, file=self._stream, end='')

  def flush(self):
    self._stream.flush()


class ProgressBar(tf_keras.callbacks.Callback):
  """One tqdm bar per epoch: steps, rate, ETA, loss and bits/dim.

  For `fit(..., verbose=0)` at a terminal. The epoch's bar stays as one line
  with its final figures (and the validation figure); log lines printed
  meanwhile appear above it, whole. `file` is where the bar goes (standard
  output by default, as Keras' bar).
  """

  @classmethod
  def at_a_terminal(cls):
    """A bar if standard output is a terminal, else `None`."""
    return cls() if sys.stdout.isatty() else None

  def __init__(self, file=None, figures=('loss', 'bits_per_dim')):
    super().__init__()
    self._file = file
    self._figures = figures
    self._bar = None
    self._handler_stream = None
    self._epochs = None

  @property
  def _stream(self):
    return self._file or sys.stdout

  def on_train_begin(self, logs=None):
    self._epochs = self.params.get('epochs')
    handler = logging.get_absl_handler().python_handler
    self._handler_stream = handler.stream
    handler.setStream(_AboveTheBar(self._handler_stream))

  def on_epoch_begin(self, epoch, logs=None):
    self._close_bar()
    of = f'/{self._epochs}' if self._epochs else ''
    self._bar = tqdm.tqdm(total=self.params.get('steps'),
                          desc=f'Epoch {epoch + 1}{of}', unit='step',
                          file=self._stream, dynamic_ncols=True, leave=True)

  def _show(self, logs, names):
    shown = {}
    for name in names:
      value = (logs or {}).get(name)
      if value is not None and math.isfinite(float(value)):
        shown[name] = f'{float(value):.4f}'
    # Redrawn at tqdm's own pace (`mininterval`), not each step.
    self._bar.set_postfix(shown, refresh=False)

  def on_train_batch_end(self, batch, logs=None):
    if self._bar is not None:
      self._bar.update(1)
      self._show(logs, self._figures)

  def on_epoch_end(self, epoch, logs=None):
    if self._bar is not None:
      validation = tuple(f'val_{name}' for name in self._figures)
      self._show(logs, self._figures + validation)
      self._close_bar()

  def _close_bar(self):
    if self._bar is not None:
      self._bar.close()
      self._bar = None

  def on_train_end(self, logs=None):
    self.close()

  def close(self):
    """Closes the bar and gives absl's lines their stream back.

    Keras calls it at the end of `fit`; also call it when `fit` raised.
    """
    self._close_bar()
    if self._handler_stream is not None:
      logging.get_absl_handler().python_handler.setStream(
          self._handler_stream)
      self._handler_stream = None


@contextlib.contextmanager
def closed_after(progress_bar):
  """Closes `progress_bar` (if any) when the block ends, also by an error."""
  try:
    yield
  finally:
    if progress_bar is not None:
      progress_bar.close()
