"""Trains Real NVP on the embedded digits, a 2-D toy set or a TFDS dataset.

  python bin/train.py                                   # embedded digits
  python bin/train.py --dataset=mnist --data_dir=../shared/data/tfds \
      --download=false --epochs=5
  python bin/train.py --dataset=mnist --conditional ...   # p(image | label)

Writes checkpoints, TensorBoard logs, sample grids, config.json,
results.json and a SavedModel under --model_dir (default runs/<dataset>);
running the same command again resumes from the last checkpoint.
"""

import dataclasses
import sys

from absl import app
from absl import flags
from absl import logging

from tfp_realnvp import run as run_lib

FLAGS = flags.FLAGS


def define_flags():
  """Defines one flag per `TrainConfig` field, with its defaults."""
  defaults = run_lib.TrainConfig()
  flags.DEFINE_string('dataset', defaults.dataset,
                      '"digits" (embedded, offline), a 2-D toy set (moons, '
                      'circles, eight_gaussians, checkerboard) or a TFDS name.')
  flags.DEFINE_string('data_dir', defaults.data_dir, 'TFDS data directory.')
  flags.DEFINE_string('validation_split', defaults.validation_split,
                      'TFDS split for validation.')
  flags.DEFINE_string('model_dir', defaults.model_dir,
                      'Where checkpoints, logs, samples and the SavedModel '
                      'go (default: runs/<dataset>); resumed if it holds a '
                      'checkpoint.')
  flags.DEFINE_string('preset', defaults.preset,
                      'A paper configuration (default: the dataset name if '
                      'it is one).')
  flags.DEFINE_integer('num_scales', defaults.num_scales, 'Overrides preset.')
  flags.DEFINE_integer('num_res_blocks', defaults.num_res_blocks,
                       'Overrides preset.')
  flags.DEFINE_integer('num_filters', defaults.num_filters,
                       'Overrides preset.')
  flags.DEFINE_integer('batch_size', defaults.batch_size, 'Batch size.')
  flags.DEFINE_integer('epochs', defaults.epochs, 'Epochs.')
  flags.DEFINE_integer('steps_per_epoch', defaults.steps_per_epoch,
                       'Steps per epoch (default: the whole split).')
  flags.DEFINE_integer('checkpoint_every_steps',
                       defaults.checkpoint_every_steps,
                       'Also checkpoint every N steps (0: each epoch only).')
  flags.DEFINE_float('learning_rate', defaults.learning_rate, 'Adam rate.')
  flags.DEFINE_float('l2_scale', defaults.l2_scale,
                     'L2 penalty on weight-norm scales.')
  flags.DEFINE_float('bn_momentum', defaults.bn_momentum,
                     'Momentum of every batch norm\'s debiased moving '
                     'averages.')
  flags.DEFINE_integer('seed', defaults.seed, 'Random seed.')
  flags.DEFINE_bool('jit_compile', defaults.jit_compile, 'Compile with XLA.')
  flags.DEFINE_bool('mixed_precision', defaults.mixed_precision,
                    'bfloat16 in the coupling networks (float32 variables, '
                    'log-dets and batch-norm bijectors).')
  flags.DEFINE_bool('conditional', defaults.conditional,
                    'Class-conditional model on the dataset\'s labels (paper '
                    'App. F); sample grids get one row per class.')
  flags.DEFINE_float('temperature', defaults.temperature,
                     'Temperature of the sample grids written each epoch.')
  flags.DEFINE_integer('num_samples', defaults.num_samples,
                       'Images in each epoch\'s sample grid.')
  flags.DEFINE_string('export_dir', defaults.export_dir,
                      'Base directory of the SavedModel versions (default: '
                      '<model_dir>/export).')
  flags.DEFINE_bool('export', defaults.export,
                    'Write a SavedModel at the end of training.')
  flags.DEFINE_enum('strategy', defaults.strategy, run_lib.STRATEGIES,
                    'tf.distribute strategy: default, one_device, mirrored '
                    '(all local GPUs), multi_worker (from TF_CONFIG), tpu. '
                    '--batch_size is the global batch.')
  flags.DEFINE_string('tpu', defaults.tpu,
                      'TPU address for --strategy=tpu (empty: the resolver\'s '
                      'default).')
  flags.DEFINE_bool('download', defaults.download,
                    'Let TFDS download missing data.')
  flags.DEFINE_bool('flip', defaults.flip,
                    'Random horizontal flips in training (default: for '
                    'colour images only).')
  flags.DEFINE_enum('recipe', defaults.recipe, ['celeba', 'lsun'],
                    "The paper's resize and crop (default: celeba for celeb_a, "
                    'lsun for lsun/*).')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  config = run_lib.TrainConfig(**{
      field.name: FLAGS[field.name].value
      for field in dataclasses.fields(run_lib.TrainConfig)})
  try:
    run_lib.run(config)
  except ValueError as error:
    # A configuration or data problem: the message says what to change.
    raise app.UsageError(str(error)) from error
  except run_lib.NonFiniteLossError as error:
    logging.error('%s', error)
    sys.exit(1)
  except run_lib.TrainingInterrupted as error:
    logging.info('%s', error)
    sys.exit(128 + error.signal_number)


def console_main():
  """Entry point of the `tfp-realnvp-train` console script."""
  define_flags()
  app.run(main)


if __name__ == '__main__':
  console_main()
