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

  For a class-conditional flow every method also takes `labels` (integers:
  one per example, or one for all).

  Attributes:
    event_shape: the shape of one image (or vector).
    num_scales: the number of scales of an image model (`None` when an older
      SavedModel does not record it).
    num_classes: `None` for an unconditional flow.
    config: the training run's config.json as a dict, or `None` for a
      SavedModel.
    source: the path it was loaded from.
  """

  def __init__(self, log_prob, sample, encode, decode, event_shape, config,
               source, num_scales=None, num_classes=None):
    self._log_prob = log_prob
    self._sample = sample
    self._encode = encode
    self._decode = decode
    self.event_shape = tuple(event_shape)
    self.num_scales = num_scales
    self.num_classes = num_classes
    self.config = config
    self.source = source

  @property
  def num_dims(self):
    return int(np.prod(self.event_shape))

  def _labels(self, labels, batch_size):
    if self.num_classes is None:
      if labels is not None:
        raise ValueError(f'{self.source} is not class-conditional; do not '
                         'pass labels.')
      return None
    if labels is None:
      raise ValueError(f'{self.source} is class-conditional (num_classes='
                       f'{self.num_classes}): pass labels.')
    labels = np.asarray(labels, np.int32).reshape([-1])
    return tf.constant(np.broadcast_to(labels, [batch_size]))

  def log_prob(self, values, labels=None):
    values = tf.convert_to_tensor(values, tf.float32)
    return self._log_prob(values, self._labels(labels, values.shape[0]))

  def bits_per_dim(self, values, labels=None):
    return -self.log_prob(values, labels) / (self.num_dims * np.log(2.))

  def sample(self, num_samples, temperature=1.0, seed=0, labels=None):
    """`num_samples` samples (pixels in [0, 256) for images), stateless."""
    return self._sample(tf.constant(num_samples, tf.int32),
                        tf.constant(temperature, tf.float32),
                        tf.constant(seed, tf.int32),
                        self._labels(labels, num_samples))

  def encode(self, values, labels=None):
    values = tf.convert_to_tensor(values, tf.float32)
    return self._encode(values, self._labels(labels, values.shape[0]))

  def decode(self, latents, labels=None):
    latents = tf.convert_to_tensor(latents, tf.float32)
    return self._decode(latents, self._labels(labels, latents.shape[0]))


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
  # Exports before these were recorded lack them.
  num_scales = (int(loaded.num_scales.numpy())
                if hasattr(loaded, 'num_scales') else None)
  num_classes = (int(loaded.num_classes.numpy())
                 if hasattr(loaded, 'num_classes') else 0) or None

  def label_kwargs(labels):
    return {} if labels is None else {'labels': labels}

  def sample(num_samples, temperature, seed, labels):
    return signatures['sample'](num_samples=num_samples,
                                temperature=temperature, seed=seed,
                                **label_kwargs(labels))[output]

  return LoadedFlow(
      log_prob=lambda x, labels: signatures['log_prob'](
          **{output: x}, **label_kwargs(labels))['log_prob'],
      sample=sample,
      encode=lambda x, labels: signatures['encode'](
          **{output: x}, **label_kwargs(labels))['latents'],
      decode=lambda z, labels: signatures['decode'](
          latents=z, **label_kwargs(labels))[output],
      event_shape=event_shape, config=None, source=path,
      num_scales=num_scales, num_classes=num_classes)


def _from_model_dir(path, image_shape=None):
  distribution, config = run_lib.load_distribution(path, image_shape)
  is_image = len(distribution.event_shape) == 3
  num_classes = getattr(distribution, 'num_classes', None)

  def label_kwargs(labels):
    return {} if labels is None else {'conditional_input': labels}

  @tf.function
  def log_prob(values, labels):
    with training_mode(False):
      if labels is None:
        return distribution.log_prob(values)
      return distribution.log_prob(values, labels)

  @tf.function
  def sample(num_samples, temperature, seed, labels):
    seed = tf.stack([seed, 0])
    with training_mode(False):
      if labels is not None:
        return distribution.sample_pixels(num_samples, labels, temperature,
                                          seed=seed)
      if is_image:
        return distribution.sample_pixels(num_samples, temperature, seed=seed)
      latents = distribution.distribution.sample(num_samples, seed=seed)
      return distribution.bijector.forward(latents * temperature)

  @tf.function
  def encode(values, labels):
    with training_mode(False):
      return distribution.bijector.inverse(values, **label_kwargs(labels))

  @tf.function
  def decode(latents, labels):
    with training_mode(False):
      return distribution.bijector.forward(latents, **label_kwargs(labels))

  return LoadedFlow(log_prob, sample, encode, decode,
                    distribution.event_shape.as_list(), config, path,
                    num_scales=getattr(distribution, 'num_scales', None),
                    num_classes=num_classes)


def load_flow(path, image_shape=None):
  """Loads a flow from a run directory or a SavedModel.

  Args:
    path: a bin/train.py `--model_dir` (config.json + checkpoints), a
      SavedModel directory, or a directory of numbered SavedModel versions.
    image_shape: `None`, or another `(H, W, C)` to build a run directory's
      image model at (e.g. twice the trained size, paper App. C); a
      SavedModel's functions have their trained shape.

  Returns:
    A `LoadedFlow`.

  Raises:
    ValueError: when `path` is none of these, saying what was looked for.
  """
  if not tf.io.gfile.isdir(path):
    raise ValueError(f'{path!r} is not a directory: pass a bin/train.py '
                     '--model_dir or a SavedModel directory.')
  if tf.io.gfile.exists(os.path.join(path, 'config.json')):
    return _from_model_dir(path, image_shape)
  if image_shape is not None:
    raise ValueError(
        f'{path!r} is not a training run directory: only a run directory '
        '(config.json + checkpoint) can be rebuilt at another image size; a '
        'SavedModel keeps its trained shape.')
  if tf.io.gfile.exists(os.path.join(path, 'saved_model.pb')):
    return _from_saved_model(path)
  newest = _newest_version(path)
  if newest and tf.io.gfile.exists(os.path.join(newest, 'saved_model.pb')):
    return _from_saved_model(newest)
  raise ValueError(
      f'{path!r} holds neither config.json (a training run) nor '
      'saved_model.pb (a SavedModel), nor numbered SavedModel versions.')


def sample_grid(flow, num_samples, temperatures=(1.0,), seed=0):
  """A uint8 image grid of samples, one row per temperature (and class).

  Args:
    flow: a `LoadedFlow` of images.
    num_samples: samples per temperature (with one temperature, the grid is
      about square); for a class-conditional flow, samples per class and
      temperature, each class in its own row.
    temperatures: standard-deviation scales of the prior, one row each.
    seed: the same seed for every row, so rows differ only by temperature
      (and class).

  Returns:
    A uint8 `(height, width, channels)` numpy array.
  """
  if len(flow.event_shape) != 3:
    raise ValueError('Sample grids need an image model, got event shape '
                     f'{flow.event_shape}.')
  if flow.num_classes is not None:
    rows = [flow.sample(num_samples, t, seed, labels=[label]).numpy()
            for t in temperatures for label in range(flow.num_classes)]
    return figures.image_grid(np.concatenate(rows, axis=0),
                              num_rows=len(rows))
  rows = [flow.sample(num_samples, t, seed).numpy() for t in temperatures]
  return figures.image_grid(np.concatenate(rows, axis=0),
                            num_rows=len(temperatures)
                            if len(temperatures) > 1 else None)


def evaluate_bits_per_dim(flow, dataset):
  """Mean bits/dim of `flow` over a batched dataset of images (or vectors).

  Batches may be `(images, labels)`; a class-conditional flow needs them.
  """
  total, count = 0., 0
  for batch in dataset:
    labels = None
    if isinstance(batch, (tuple, list)):
      batch, labels = batch[0], batch[1] if len(batch) > 1 else None
    if flow.num_classes is None:
      labels = None
    elif labels is None:
      raise ValueError(f'{flow.source} is class-conditional: evaluate it on '
                       '(images, labels) batches.')
    values = flow.bits_per_dim(batch, labels).numpy()
    total += float(np.sum(values))
    count += len(values)
  if not count:
    raise ValueError('The evaluation dataset is empty.')
  return total / count
