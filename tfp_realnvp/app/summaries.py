"""What a training run writes for TensorBoard and `samples/`.

Keras' `TensorBoard` callback writes the epoch figures; `StepSummaries`
writes single steps' figures every N steps (the binary's
`--log_every_steps`). Keras' per-step writes (`update_freq=1`) took about
17 ms of Python after every step and 320 ms after the first, more than a
small model's step: what made Keras warn that the batch hooks are slow.
"""

import os

import numpy as np
import tensorflow as tf
import tf_keras

from tfp_realnvp.app import figures

__all__ = ['EpochFigures', 'StepSummaries']


class StepSummaries(tf_keras.callbacks.Callback):
  """Every N steps: the step's loss, bits/dim and learning rate.

  As Keras' `TensorBoard(update_freq=N)` wrote them, `batch_loss` and
  `batch_bits_per_dim` at the number of steps taken; `learning_rate`, the
  rate the step used, at that step's index (from 0), as the schedule counts.
  """

  def __init__(self, log_dir, every_steps, is_chief):
    super().__init__()
    self._writer = tf.summary.create_file_writer(
        os.path.join(log_dir, 'train'))
    self._every = int(every_steps)
    self._is_chief = is_chief

  def on_train_batch_end(self, batch, logs=None):
    if not self._is_chief:
      return
    steps = int(self.model.optimizer.iterations.numpy())
    if steps % self._every:
      return
    logs = logs or {}
    with self._writer.as_default(step=steps):
      for name in ('loss', 'bits_per_dim'):
        if logs.get(name) is not None:
          tf.summary.scalar(f'batch_{name}', logs[name])
    with self._writer.as_default(step=steps - 1):
      tf.summary.scalar('learning_rate',
                        _learning_rate(self.model.optimizer, steps - 1))

  def on_epoch_end(self, epoch, logs=None):
    self._writer.flush()


class EpochFigures(tf_keras.callbacks.Callback):
  """After each epoch: a PNG sample grid and TensorBoard images and scalars."""

  def __init__(self, distribution, model_dir, log_dir, num_samples,
               temperature, seed, is_chief):
    super().__init__()
    self._distribution = distribution
    self._model_dir = model_dir
    self._is_chief = is_chief
    self._writer = tf.summary.create_file_writer(
        os.path.join(log_dir, 'train'))
    self._is_image = len(distribution.event_shape) == 3

    self._num_rows = None
    label_kwargs = {}
    num_classes = distribution.num_classes
    if num_classes is not None:
      # One row per class.
      self._num_rows = num_classes
      per_class = max(1, num_samples // num_classes)
      label_kwargs['labels'] = tf.repeat(tf.range(num_classes), per_class)
      num_samples = num_classes * per_class

    @tf.function(autograph=False)
    def sample():
      # The same latents every epoch, so the grids show training progress.
      return distribution.sample_values(num_samples, temperature,
                                        seed=tf.constant([seed, 0]),
                                        **label_kwargs)

    self._sample = sample

  def on_epoch_end(self, epoch, logs=None):
    # The averaged model's samples, when the run keeps a Polyak average.
    with self.model.averaged_weights():
      grid = self.write_grid(f'epoch_{epoch + 1:04d}')
    if grid is not None:
      with self._writer.as_default(step=epoch):
        tf.summary.image('samples', grid[np.newaxis])
      self._writer.flush()

  def write_grid(self, name):
    """Samples of the weights as they are to `samples/<name>.png`.

    Returns the grid on the chief of an image model, else `None`.
    """
    if not self._is_image:
      return None
    # Every worker samples (reading batch-norm statistics may be a
    # collective across workers); only the chief writes.
    pixels = self._sample().numpy()
    if not self._is_chief:
      return None
    grid = figures.image_grid(pixels, num_rows=self._num_rows)
    figures.write_png(os.path.join(self._model_dir, 'samples', f'{name}.png'),
                      grid, scale=max(1, 128 // pixels.shape[1]))
    return grid


def _learning_rate(optimizer, step):
  rate = optimizer.learning_rate
  if callable(rate):
    rate = rate(step)
  return tf.cast(rate, tf.float32)


