r"""Reports a trained Real NVP's bits/dim on a dataset split (evaluation mode).

  python bin/evaluate.py --model=runs/digits
  python bin/evaluate.py --model=runs/digits --dequantization_samples=16
  python bin/evaluate.py --model=runs/mnist/export --dataset=mnist \
      --split=test --data_dir=../shared/data/tfds --download=false

--model is a bin/train.py --model_dir (latest checkpoint; its dataset and
test split are the defaults) or a SavedModel (then --dataset is needed).
--dequantization_samples=K > 1 also reports the K-draw estimate of the
integer images' bits/dim (tighter than one draw of noise), with standard
errors (tfp_realnvp.dequantization). A model with a learned q(u | x)
(--dequantization=variational) is always scored on the integer images
through its q, as it trained.
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
  flags.DEFINE_integer(
      'dequantization_samples', 1,
      'Draws of dequantization noise per image: above 1, also the K-draw '
      'estimate of the integer images\' bits/dim (images only).',
      lower_bound=1)
  flags.DEFINE_string('output', None, 'Optional JSON file for the result.')
  flags_lib.list_in_help(__name__)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:
    loading.evaluation_dataset_name(FLAGS.model, FLAGS.dataset)
    flow = loading.load_flow(FLAGS.model, weights=FLAGS.weights)
    samples = FLAGS.dequantization_samples
    integer_pixels = samples > 1 or (flow.dequantizer is not None and
                                     flow.dequantizer.is_learned)
    batches, dataset, split = loading.evaluation_data(
        FLAGS.model, flow, batch_size=FLAGS.batch_size,
        dequantized=not integer_pixels, **flags_lib.data_options())
    if not integer_pixels:
      figures = dict(bits_per_dim=training.evaluate_bits_per_dim(flow,
                                                                 batches))
    else:
      figures = training.evaluate_discrete_bits_per_dim(
          flow, batches, samples=samples, seed=FLAGS.seed).as_figures()
      if samples == 1:
        figures = {key: figures[key] for key in
                   ('bits_per_dim', 'bits_per_dim_standard_error')}
  except ValueError as error:
    raise app.UsageError(str(error)) from error
  result = dict(model=FLAGS.model, dataset=dataset, split=split, **figures)
  logging.info('%s on %s %s: %.4f bits/dim', FLAGS.model, dataset, split,
               figures['bits_per_dim'])
  if samples > 1:
    logging.info('%d-draw estimate: %.4f +- %.4f bits/dim', samples,
                 figures['discrete_bits_per_dim'],
                 figures['discrete_bits_per_dim_standard_error'])
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
