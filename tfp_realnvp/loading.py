"""A trained flow from a training run directory or a SavedModel, one interface.

bin/sample.py, bin/evaluate.py and the latent-space tools take either a
`--model_dir` of bin/train.py (the model is rebuilt from config.json and its
latest checkpoint) or a SavedModel written by `tfp_realnvp.export` (a
version directory, or its base directory: the newest version is used).
"""

import os

import numpy as np
import tensorflow as tf

from tfp_realnvp import figures
from tfp_realnvp import run as run_lib
from tfp_realnvp.bijectors import training_mode

__all__ = ['LoadedFlow', 'evaluate_bits_per_dim', 'load_flow', 'sample_grid']


class LoadedFlow:
  """Evaluation-mode `log_prob`, `sample`, `encode`, `decode` of a flow.

  Attributes:
    event_shape: the shape of one image (or vector).
    config: the training run's config.json as a dict, or `None` for a
      SavedModel.
    source: the path it was loaded from.
  """

  def __init__(self, log_prob, sample, encode, decode, event_shape, config,
               source):
    self._log_prob = log_prob
    self._sample = sample
    self._encode = encode
    self._decode = decode
    self.event_shape = tuple(event_shape)
    self.config = config
    self.source = source

  @property
  def num_dims(self):
    return int(np.prod(self.event_shape))

  def log_prob(self, values):
    return self._log_prob(tf.convert_to_tensor(values, tf.float32))

  def bits_per_dim(self, values):
    return -self.log_prob(values) / (self.num_dims * np.log(2.))

  def sample(self, num_samples, temperature=1.0, seed=0):
    """`num_samples` samples (pixels in [0, 256) for images), stateless."""
    return self._sample(tf.constant(num_samples, tf.int32),
                        tf.constant(temperature, tf.float32),
                        tf.constant(seed, tf.int32))

  def encode(self, values):
    return self._encode(tf.convert_to_tensor(values, tf.float32))

  def decode(self, latents):
    return self._decode(tf.convert_to_tensor(latents, tf.float32))


def _newest_version(path):
  versions = [name for name in tf.io.gfile.listdir(path)
              if name.rstrip('/').isdigit()]
  if not versions:
    return None
  newest = max(versions, key=lambda name: int(name.rstrip('/')))
  return os.path.join(path, newest.rstrip('/'))


def _from_saved_model(path):
  loaded = tf.saved_model.load(path)
  signatures = loaded.signatures
  output = 'images' if 'images' in signatures['decode'].structured_outputs \
      else 'values'
  event_shape = signatures['decode'].structured_outputs[output].shape[1:]

  def sample(num_samples, temperature, seed):
    return signatures['sample'](num_samples=num_samples,
                                temperature=temperature, seed=seed)[output]

  return LoadedFlow(
      log_prob=lambda x: signatures['log_prob'](**{output: x})['log_prob'],
      sample=sample,
      encode=lambda x: signatures['encode'](**{output: x})['latents'],
      decode=lambda z: signatures['decode'](latents=z)[output],
      event_shape=event_shape, config=None, source=path)


def _from_model_dir(path):
  distribution, config = run_lib.load_distribution(path)
  is_image = len(distribution.event_shape) == 3

  @tf.function
  def log_prob(values):
    with training_mode(False):
      return distribution.log_prob(values)

  @tf.function
  def sample(num_samples, temperature, seed):
    seed = tf.stack([seed, 0])
    with training_mode(False):
      if is_image:
        return distribution.sample_pixels(num_samples, temperature, seed=seed)
      latents = distribution.distribution.sample(num_samples, seed=seed)
      return distribution.bijector.forward(latents * temperature)

  @tf.function
  def encode(values):
    with training_mode(False):
      return distribution.bijector.inverse(values)

  @tf.function
  def decode(latents):
    with training_mode(False):
      return distribution.bijector.forward(latents)

  return LoadedFlow(log_prob, sample, encode, decode,
                    distribution.event_shape.as_list(), config, path)


def load_flow(path):
  """Loads a flow from a run directory or a SavedModel.

  Args:
    path: a bin/train.py `--model_dir` (config.json + checkpoints), a
      SavedModel directory, or a directory of numbered SavedModel versions.

  Returns:
    A `LoadedFlow`.

  Raises:
    ValueError: when `path` is none of these, saying what was looked for.
  """
  if not tf.io.gfile.isdir(path):
    raise ValueError(f'{path!r} is not a directory: pass a bin/train.py '
                     '--model_dir or a SavedModel directory.')
  if tf.io.gfile.exists(os.path.join(path, 'config.json')):
    return _from_model_dir(path)
  if tf.io.gfile.exists(os.path.join(path, 'saved_model.pb')):
    return _from_saved_model(path)
  newest = _newest_version(path)
  if newest and tf.io.gfile.exists(os.path.join(newest, 'saved_model.pb')):
    return _from_saved_model(newest)
  raise ValueError(
      f'{path!r} holds neither config.json (a training run) nor '
      'saved_model.pb (a SavedModel), nor numbered SavedModel versions.')


def sample_grid(flow, num_samples, temperatures=(1.0,), seed=0):
  """A uint8 image grid of samples, one row per temperature.

  Args:
    flow: a `LoadedFlow` of images.
    num_samples: samples per temperature (with one temperature, the grid is
      about square).
    temperatures: standard-deviation scales of the prior, one row each.
    seed: the same seed for every row, so rows differ only by temperature.

  Returns:
    A uint8 `(height, width, channels)` numpy array.
  """
  if len(flow.event_shape) != 3:
    raise ValueError('Sample grids need an image model, got event shape '
                     f'{flow.event_shape}.')
  rows = [flow.sample(num_samples, t, seed).numpy() for t in temperatures]
  return figures.image_grid(np.concatenate(rows, axis=0),
                            num_rows=len(temperatures)
                            if len(temperatures) > 1 else None)


def evaluate_bits_per_dim(flow, dataset):
  """Mean bits/dim of `flow` over a batched dataset of images (or vectors)."""
  total, count = 0., 0
  for batch in dataset:
    if isinstance(batch, (tuple, list)):
      batch = batch[0]
    values = flow.bits_per_dim(batch).numpy()
    total += float(np.sum(values))
    count += len(values)
  if not count:
    raise ValueError('The evaluation dataset is empty.')
  return total / count
