"""Reports a trained Real NVP's bits/dim on a dataset split (evaluation mode).

  python bin/evaluate.py --model=runs/digits
  python bin/evaluate.py --model=runs/mnist/export --dataset=mnist \
      --split=test --data_dir=../shared/data/tfds --download=false

--model is a bin/train.py --model_dir (latest checkpoint; its dataset and
validation split are the defaults) or a SavedModel (then --dataset is needed).
"""

import json

from absl import app
from absl import flags
from absl import logging

from tfp_realnvp import loading
from tfp_realnvp import run as run_lib

FLAGS = flags.FLAGS


def define_flags():
  flags.DEFINE_string('model', None,
                      'A bin/train.py --model_dir or a SavedModel directory.')
  flags.DEFINE_string('dataset', None,
                      'Dataset name (default: the training run\'s).')
  flags.DEFINE_string('split', None,
                      'Split (default: the run\'s validation split, or test).')
  flags.DEFINE_string('data_dir', None,
                      'TFDS data directory (default: the run\'s).')
  flags.DEFINE_bool('download', True, 'Let TFDS download missing data.')
  flags.DEFINE_integer('batch_size', 256, 'Evaluation batch size.')
  flags.DEFINE_integer('seed', 0, 'Seed of the dequantization noise.')
  flags.DEFINE_string('output', None, 'Optional JSON file for the result.')
  flags.mark_flag_as_required('model')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:
    flow = loading.load_flow(FLAGS.model)
    run_config = flow.config or {}
    dataset = FLAGS.dataset or run_config.get('dataset')
    if dataset is None:
      raise ValueError('--dataset is needed for a SavedModel.')
    split = FLAGS.split or run_config.get('validation_split', 'test')
    data_dir = FLAGS.data_dir or run_config.get('data_dir')
    images = run_lib.evaluation_dataset(
        dataset, split, data_dir, FLAGS.batch_size,
        recipe=run_config.get('recipe'), download=FLAGS.download,
        seed=FLAGS.seed, with_labels=flow.num_classes is not None)
    bits_per_dim = loading.evaluate_bits_per_dim(flow, images)
  except ValueError as error:
    raise app.UsageError(str(error)) from error
  result = dict(model=flow.source, dataset=dataset, split=split,
                bits_per_dim=bits_per_dim)
  logging.info('%s on %s %s: %.4f bits/dim', flow.source, dataset, split,
               bits_per_dim)
  print(json.dumps(result))
  if FLAGS.output:
    with open(FLAGS.output, 'w') as f:
      json.dump(result, f, indent=2)


def console_main():
  """Entry point of the `tfp-realnvp-evaluate` console script."""
  define_flags()
  app.run(main)


if __name__ == '__main__':
  console_main()
