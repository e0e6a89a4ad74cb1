"""The training binary's progress bar: log lines never land inside it."""

import io
import logging as std_logging
from unittest import mock

from absl import flags
from absl import logging
import numpy as np
import pytest
import tf_keras

from tfp_realnvp.app import terminal


def _screen(text):
  """The lines a terminal shows for `text` (carriage returns overwrite)."""
  lines, line, column = [], [], 0
  for character in text:
    if character == '\n':
      lines.append(''.join(line).rstrip())
      line, column = [], 0
    elif character == '\r':
      column = 0
    else:
      if column < len(line):
        line[column] = character
      else:
        line.append(character)
      column += 1
  if line:
    lines.append(''.join(line).rstrip())
  return [line for line in lines if line]


class _LogsMidEpoch(tf_keras.callbacks.Callback):

  def on_train_batch_end(self, batch, logs=None):
    if batch == 2:
      logging.warning('A LINE OF OUR OWN at batch %d', batch)


def _fit_with_bar(screen, bar_above_logs=True):
  model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
  model.compile('sgd', 'mse')
  bar = terminal.ProgressBar(file=screen, figures=('loss',))
  handler = logging.get_absl_handler().python_handler
  saved_stream = handler.stream
  handler.setStream(screen)
  # As in the binaries: absl's handler on the root logger (`app.run`), and
  # writing to its stream (flags parsed; before, straight to stderr).
  attached = logging.get_absl_handler() in std_logging.root.handlers
  logging.use_absl_handler()
  with mock.patch.object(flags.FlagValues, 'is_parsed',
                         return_value=True):
    try:
      if not bar_above_logs:
        bar.on_train_begin = lambda logs=None: None
      x = np.ones([10, 2], np.float32)
      model.fit(x, x[:, :1], batch_size=2, epochs=2, verbose=0,
                callbacks=[bar, _LogsMidEpoch()])
    finally:
      bar.close()
      handler.setStream(saved_stream)
      if not attached:
        std_logging.root.removeHandler(logging.get_absl_handler())
  return _screen(screen.getvalue())


def test_log_lines_print_whole_above_the_bar():
  lines = _fit_with_bar(io.StringIO())
  ours = [line for line in lines if 'A LINE OF OUR OWN' in line]
  assert len(ours) == 2, lines  # One per epoch.
  for line in ours:
    assert 'Epoch' not in line and 'step' not in line, lines
    assert line.endswith('A LINE OF OUR OWN at batch 2'), lines
  bars = [line for line in lines if line.startswith('Epoch')]
  assert [line.split()[0:2] for line in bars] == [
      ['Epoch', '1/2:'], ['Epoch', '2/2:']], lines
  assert all('5/5' in line and 'loss=' in line for line in bars), lines


def test_the_check_sees_a_log_line_inside_the_bar():
  # The same run with absl's lines left on the raw stream: the line is
  # written after the half-drawn bar, on its row.
  lines = _fit_with_bar(io.StringIO(), bar_above_logs=False)
  assert any('A LINE OF OUR OWN' in line and 'Epoch' in line
             for line in lines), lines


def test_close_gives_absl_its_stream_back():
  handler = logging.get_absl_handler().python_handler
  before = handler.stream
  bar = terminal.ProgressBar(file=io.StringIO())
  bar.set_model(tf_keras.Sequential())
  bar.set_params({'epochs': 1, 'steps': 1})
  bar.on_train_begin()
  assert handler.stream is not before
  bar.close()
  assert handler.stream is before


if __name__ == '__main__':
  pytest.main([__file__])
