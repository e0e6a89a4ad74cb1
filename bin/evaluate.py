r"""Reports a trained Real NVP's bits/dim on a dataset split (evaluation mode).

  python bin/evaluate.py --model=runs/digits
  python bin/evaluate.py --model=runs/digits --dequantization_samples=16
  python bin/evaluate.py --model=runs/mnist/export --dataset=mnist \
      --split=test --data_dir=../shared/data/tfds --download=false

--model is a bin/train.py --model_dir (latest checkpoint; its dataset and
test split are the defaults) or a SavedModel (then --dataset is needed).
Images are scored as integer pixels through the flow's own q(u | x), one
draw of noise each (its seed and the image's position decide it, not the
batch size). --dequantization_samples=K > 1 also reports the K-draw
estimate (tighter than one draw), with standard errors. On a run
directory's test split, the run's own seed and K are the defaults, so the
run's test figures come back to 1e-4. The output names the weights, the
split and the seed of every figure.
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
  flags_lib.define_seed_flag(
      'Seed of the dequantization noise (an image\'s draws depend on it and '
      'the image\'s position only). Default: on a run directory\'s test '
      'split, the run\'s own (results.json test_seed), which repeats its '
      'test figure; else 0.')
  flags.DEFINE_integer('batch_size', 256, 'Evaluation batch size (the '
                       'figures do not depend on it).')
  flags.DEFINE_integer(
      'dequantization_samples', None,
      'Draws of dequantization noise per image: above 1, also the K-draw '
      'estimate of the integer images\' bits/dim (images only). Default: on '
      'a run directory\'s test split, the run\'s own; else 1.',
      lower_bound=1)
  flags.DEFINE_string('output', None, 'Optional JSON file for the result.')
  flags_lib.list_in_help(__name__)


def _run_defaults(split):
  """The run's test seed and K when `split` is its test split, else {}."""
  if loading.run_config(FLAGS.model) is None:
    return {}
  results = loading.run_results(FLAGS.model)
  run_split = loading.run_config(FLAGS.model).get('test_split')
  if not results or split != run_split or 'test_seed' not in results:
    return {}
  return dict(seed=results['test_seed'],
              dequantization_samples=results.get('dequantization_samples', 1))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:
    loading.evaluation_dataset_name(FLAGS.model, FLAGS.dataset)
    flow = loading.load_flow(FLAGS.model, weights=FLAGS.weights)
    integer_pixels = flow.dequantizer is not None
    options = flags_lib.data_options()
    split = options['split'] or (loading.run_config(FLAGS.model) or {}).get(
        'test_split') or 'test'
    defaults = _run_defaults(split)
    seed = FLAGS.seed if FLAGS['seed'].present else defaults.get('seed', 0)
    samples = FLAGS.dequantization_samples or defaults.get(
        'dequantization_samples', 1)
    options['seed'] = seed
    batches, dataset, split = loading.evaluation_data(
        FLAGS.model, flow, batch_size=FLAGS.batch_size,
        dequantized=not integer_pixels, **options)
    if not integer_pixels:
      if samples > 1:
        raise ValueError('--dequantization_samples: the flow is a density '
                         'over continuous values, with no pixels to '
                         'dequantize.')
      figures = dict(bits_per_dim=training.evaluate_bits_per_dim(flow,
                                                                 batches))
    else:
      figures = training.evaluate_discrete_bits_per_dim(
          flow, batches, samples=samples, seed=seed).as_figures()
      figures['seed'] = seed
      if samples == 1:
        figures = {key: figures[key] for key in
                   ('bits_per_dim', 'bits_per_dim_standard_error', 'seed')}
  except ValueError as error:
    raise app.UsageError(str(error)) from error
  weights = loading.describe_weights(FLAGS.model, FLAGS.weights)
  result = dict(model=FLAGS.model, dataset=dataset, split=split,
                weights=weights, **figures)
  noise = (f', one draw of noise (seed {seed})' if integer_pixels else '')
  logging.info('%s on %s %s with %s: %.4f bits/dim%s', FLAGS.model, dataset,
               split, weights, figures['bits_per_dim'], noise)
  if samples > 1:
    logging.info('%d-draw estimate: %.4f +- %.4f bits/dim (seed %d)',
                 samples, figures['discrete_bits_per_dim'],
                 figures['discrete_bits_per_dim_standard_error'], seed)
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
