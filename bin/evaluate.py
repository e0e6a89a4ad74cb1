r"""Reports a trained Real NVP's bits/dim on a dataset split (evaluation mode).

  python bin/evaluate.py --model=runs/digits
  python bin/evaluate.py --model=runs/mnist/export --dataset=mnist \
      --split=test --data_dir=../shared/data/tfds --download=false

--model is a bin/train.py --model_dir (latest checkpoint; its dataset and
test split are the defaults) or a SavedModel (then --dataset is needed).
"""

import json

# pylint: disable=g-import-not-at-top,wrong-import-position
if __package__:  # The tfp-realnvp-* console scripts.
  from tfp_realnvp_bin import startup
else:  # python bin/evaluate.py
  import startup

with startup.quiet_imports():
  from absl import app
  from absl import flags
  from absl import logging
  import tensorflow as tf
  from tfp_realnvp import training
  from tfp_realnvp.app import flags as flags_lib
  from tfp_realnvp.app import loading
# pylint: enable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS


def define_flags():
  flags_lib.define_model_flag()
  flags_lib.define_data_flags()
  flags_lib.define_seed_flag('Seed of the dequantization noise.')
  flags.DEFINE_integer('batch_size', 256, 'Evaluation batch size.')
  flags.DEFINE_string('output', None, 'Optional JSON file for the result.')
  flags_lib.list_in_help(__name__)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:
    flow = loading.load_flow(FLAGS.model, weights=FLAGS.weights)
    batches, dataset, split = loading.evaluation_data(
        FLAGS.model, flow, batch_size=FLAGS.batch_size,
        **flags_lib.data_options())
    bits_per_dim = training.evaluate_bits_per_dim(flow, batches)
  except ValueError as error:
    raise app.UsageError(str(error)) from error
  result = dict(model=FLAGS.model, dataset=dataset, split=split,
                bits_per_dim=bits_per_dim)
  logging.info('%s on %s %s: %.4f bits/dim', FLAGS.model, dataset, split,
               bits_per_dim)
  print(json.dumps(result))
  if FLAGS.output:
    with tf.io.gfile.GFile(FLAGS.output, 'w') as f:
      json.dump(result, f, indent=2)


def console_main():
  """Entry point of the `tfp-realnvp-evaluate` console script."""
  define_flags()
  flags_lib.run_binary(main, __doc__)


if __name__ == '__main__':
  console_main()
