r"""Trains Real NVP on the embedded digits, a 2-D toy set or a TFDS dataset.

  python bin/train.py                                   # embedded digits
  python bin/train.py --dataset=mnist --data_dir=../shared/data/tfds \
      --download=false --epochs=5
  python bin/train.py --dataset=mnist --conditional ...   # p(image | label)

Writes checkpoints, TensorBoard logs, sample grids, config.json,
results.json and a SavedModel under --model_dir (default runs/<dataset>);
running the same command again resumes from the last checkpoint.
"""

import sys

# pylint: disable=g-import-not-at-top,wrong-import-position
if __package__:  # The tfp-realnvp-* console scripts.
  from tfp_realnvp_bin import startup
else:  # python bin/train.py
  import startup

with startup.quiet_imports():
  from absl import app
  from absl import logging
  from tfp_realnvp.app import flags as flags_lib
  from tfp_realnvp.app import run as run_lib
# pylint: enable=g-import-not-at-top,wrong-import-position

def define_flags():
  """One flag per `TrainConfig` field, with its default and help text."""
  flags_lib.define_config_flags(run_lib.TrainConfig)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  config = flags_lib.config_from_flags(run_lib.TrainConfig)
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
  flags_lib.run_binary(main, __doc__)


if __name__ == '__main__':
  console_main()
