"""The library behind bin/train.py: build a model and data, train, report.

`run(config, datasets=None, strategy=None)` is what the binary calls; tests
and notebooks call it directly, injecting their own datasets.
"""

import dataclasses
import json
import os
import time

from absl import logging
import numpy as np
import tensorflow as tf
import tf_keras

from tfp_realnvp import data
from tfp_realnvp import model as model_lib
from tfp_realnvp import training

__all__ = ['TrainConfig', 'run']

EMBEDDED_DATASET = 'digits'


@dataclasses.dataclass
class TrainConfig:
  """Everything a training run depends on; saved as config.json."""

  dataset: str = EMBEDDED_DATASET
  data_dir: str | None = None
  validation_split: str = 'test'
  model_dir: str | None = None
  preset: str | None = None
  num_scales: int | None = None
  num_res_blocks: int | None = None
  num_filters: int | None = None
  batch_size: int = 64
  epochs: int = 50
  steps_per_epoch: int | None = None
  learning_rate: float = 1e-3
  l2_scale: float = 5e-5
  bn_momentum: float = 0.99
  seed: int = 0
  jit_compile: bool = False
  download: bool = True
  # None: colour images only (see data.image_dataset).
  flip: bool | None = None
  # None applies the paper's resize/crop to celeb_a and lsun/* datasets.
  recipe: str | None = None


# TFDS names whose paper preprocessing and configuration differ from their
# name: (recipe, preset).
_PAPER_DATASETS = {'celeb_a': ('celeba', 'celeba'), 'lsun': ('lsun', 'lsun')}


def _paper_defaults(config):
  """(recipe, preset) the paper used for this dataset, or (None, None)."""
  return _PAPER_DATASETS.get(config.dataset.split('/')[0], (None, None))


def _is_vector_dataset(config):
  return config.dataset in data.TOY_DATASETS


def _datasets(config):
  """(train, validation) datasets for the configured data."""
  if config.dataset == EMBEDDED_DATASET:
    return (data.digits_dataset('train', config.batch_size, seed=config.seed),
            data.digits_dataset('test', config.batch_size, shuffle=False,
                                seed=config.seed + 1))
  if _is_vector_dataset(config):
    return (data.toy_dataset(config.dataset, 10000, config.batch_size,
                             seed=config.seed),
            data.toy_dataset(config.dataset, 2000, config.batch_size,
                             shuffle=False, seed=config.seed + 1))
  recipe = config.recipe or _paper_defaults(config)[0]
  return (data.image_dataset(config.dataset, 'train', config.data_dir,
                             config.batch_size, flip=config.flip,
                             recipe=recipe, download=config.download,
                             seed=config.seed),
          data.image_dataset(config.dataset, config.validation_split,
                             config.data_dir, config.batch_size,
                             shuffle=False, recipe=recipe,
                             download=config.download, seed=config.seed + 1))


def _distribution(config, event_shape):
  """The model for `event_shape`, from the preset and explicit overrides."""
  overrides = {key: getattr(config, key)
               for key in ('num_scales', 'num_res_blocks', 'num_filters')
               if getattr(config, key) is not None}
  if len(event_shape) == 1:
    vector_kwargs = {}
    if 'num_res_blocks' in overrides:
      vector_kwargs['num_res_blocks'] = overrides['num_res_blocks']
    if 'num_filters' in overrides:
      vector_kwargs['num_hidden'] = overrides['num_filters']
    return model_lib.VectorRealNVP(event_shape[0],
                                   bn_momentum=config.bn_momentum,
                                   **vector_kwargs)
  preset = config.preset or _paper_defaults(config)[1]
  if preset is None and config.dataset in model_lib.PRESETS:
    preset = config.dataset
  if preset is not None and preset not in model_lib.PRESETS:
    raise ValueError(f'Unknown preset {preset!r}; choose one of '
                     f'{sorted(model_lib.PRESETS)}.')
  if preset is None:
    return model_lib.RealNVP(event_shape, bn_momentum=config.bn_momentum,
                             **overrides)
  preset_shape = model_lib.PRESETS[preset]['image_shape']
  if tuple(event_shape) != tuple(preset_shape):
    raise ValueError(
        f'Preset {preset!r} is for images of shape {preset_shape}, but '
        f'dataset {config.dataset!r} has {tuple(event_shape)}.')
  return model_lib.RealNVP.from_preset(
      preset, bn_momentum=config.bn_momentum, **overrides)


def run(config, datasets=None, strategy=None):
  """Trains a Real NVP as configured and returns its results.

  Args:
    config: a `TrainConfig`.
    datasets: optional `(train, validation)` batched `tf.data.Dataset`s of
      dequantized pixels (or vectors) replacing the configured data.
    strategy: optional `tf.distribute.Strategy` (default: the current one).

  Returns:
    A dict with the final `validation_bits_per_dim`, the per-epoch
    `history`, `train_seconds` and `num_parameters`; also written as
    `results.json` (beside `config.json`) when `config.model_dir` is set.
  """
  tf_keras.utils.set_random_seed(config.seed)
  strategy = strategy or tf.distribute.get_strategy()
  train_data, validation_data = datasets or _datasets(config)
  event_shape = tuple(train_data.element_spec.shape[1:])
  if config.model_dir:
    os.makedirs(config.model_dir, exist_ok=True)
    with open(os.path.join(config.model_dir, 'config.json'), 'w') as f:
      json.dump(dataclasses.asdict(config), f, indent=2)
  with strategy.scope():
    distribution = _distribution(config, event_shape)
    flow_model = training.FlowModel(distribution, l2_scale=config.l2_scale)
    flow_model.compile(
        optimizer=tf_keras.optimizers.Adam(config.learning_rate),
        jit_compile=config.jit_compile)
  num_parameters = int(sum(np.prod(v.shape)
                           for v in distribution.trainable_variables))
  logging.info('Training %s (%d parameters) on %s for %d epochs.',
               type(distribution).__name__, num_parameters, config.dataset,
               config.epochs)
  start = time.time()
  history = flow_model.fit(train_data, validation_data=validation_data,
                           epochs=config.epochs,
                           steps_per_epoch=config.steps_per_epoch,
                           verbose=2)
  train_seconds = time.time() - start
  results = dict(
      validation_bits_per_dim=float(history.history['val_bits_per_dim'][-1]),
      history={k: [float(v) for v in values]
               for k, values in history.history.items()},
      train_seconds=train_seconds,
      num_parameters=num_parameters)
  logging.info('Validation bits/dim %.4f after %d epochs, %.0f s.',
               results['validation_bits_per_dim'], config.epochs,
               train_seconds)
  if config.model_dir:
    path = os.path.join(config.model_dir, 'results.json')
    with open(path, 'w') as f:
      json.dump(results, f, indent=2)
    logging.info('Wrote %s', path)
  results['distribution'] = distribution
  return results
