r"""Scores images with a trained Real NVP: per-image and per-scale bits/dim.

  # A folder of PNGs (e.g. written by bin/sample.py) against the run's test
  # split: a CSV row per image and a histogram of the two.
  python bin/score.py --model=runs/mnist --images='shifted/*.png' \
      --reference_split=test --output=scores.csv --histogram=scores.png
  # A TFDS split (default: the run's dataset and test split).
  python bin/score.py --model=runs/mnist/export --dataset=mnist --split=test

--model is a bin/train.py --model_dir or a SavedModel. Each CSV row holds the
example, its bits/dim, the share of each scale's latent (scale_1 is the
finest) and of the log-determinant (they add up to the bits/dim), and the
latent norm. Images must have the model's shape; they are dequantized by
the model's own noise q(u | x) with --seed (a learned q's share is the
dequantization column). --dequantization_samples=K > 1 adds each image's
K-draw estimate of its bits/dim (discrete_bits_per_dim, tighter than the
one draw).
"""

# pylint: disable=g-import-not-at-top,wrong-import-position
if __package__:  # The tfp-realnvp-* console scripts.
  from tfp_realnvp_bin import startup
else:  # python bin/score.py
  import startup

with startup.quiet_imports():
  from absl import app
  from absl import flags
  from absl import logging
  import numpy as np
  from tfp_realnvp.app import flags as flags_lib
  from tfp_realnvp.app import loading
  from tfp_realnvp.app import scoring
# pylint: enable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS


def define_flags():
  flags_lib.define_model_flag()
  flags.DEFINE_string('images', None,
                      'A folder or glob of PNG/JPEG images to score '
                      '(default: the TFDS split below).')
  flags_lib.define_data_flags()
  flags_lib.define_seed_flag('Seed of the dequantization noise.')
  flags.DEFINE_integer('max_examples', 10000,
                       'At most this many examples of a TFDS split.')
  flags.DEFINE_string('reference_images', None,
                      'A second folder or glob to compare with.')
  flags.DEFINE_string('reference_split', None,
                      'A split of the dataset to compare with (e.g. test).')
  flags.DEFINE_string('output', 'scores.csv', 'The CSV to write.')
  flags.DEFINE_string('histogram', 'scores.png',
                      'The histogram PNG, written when there is a reference.')
  flags.DEFINE_integer('batch_size', 256, 'Examples per call.')
  flags.DEFINE_integer(
      'dequantization_samples', 1,
      'Draws of noise per image: above 1, also the K-draw estimate of each '
      "image's bits/dim (the model's own q(u | x)).")
  flags_lib.list_in_help(__name__)


def _split_examples(flow, split):
  """(names, values, labels) of up to --max_examples of a TFDS split."""
  split = loading.evaluation_split(FLAGS.model, split or FLAGS.split)
  # The first --max_examples as a slice of the split (TFDS' syntax), so the
  # data are read to their end: a cached dataset left part-read makes
  # TensorFlow warn. A split sliced already is read until there are enough.
  sliced = split if '[' in split else f'{split}[:{FLAGS.max_examples}]'
  options = dict(flags_lib.data_options(), split=sliced)
  # Integer pixels, which score() dequantizes with the model's own noise.
  batches, dataset, _ = loading.evaluation_data(
      FLAGS.model, flow, batch_size=FLAGS.batch_size,
      dequantized=flow.dequantizer is None, **options)
  values, labels = [], []
  for batch in batches:
    if flow.num_classes is not None:
      batch, batch_labels = batch
      labels.append(batch_labels.numpy())
    values.append(batch.numpy())
    if sum(len(v) for v in values) >= FLAGS.max_examples:
      break
  values = np.concatenate(values)[:FLAGS.max_examples]
  labels = np.concatenate(labels)[:FLAGS.max_examples] if labels else None
  names = [f'{dataset}/{split}/{i}' for i in range(len(values))]
  return names, values, labels


def _examples(flow, images, split):
  if images is None:
    return _split_examples(flow, split)
  if flow.num_classes is not None:
    raise ValueError('A class-conditional model needs labels: score a TFDS '
                     'split, not image files.')
  names, values = scoring.load_images(images, flow.event_shape)
  return names, values, None


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:
    flow = loading.load_flow(FLAGS.model, weights=FLAGS.weights)
    names, values, labels = _examples(flow, FLAGS.images, None)
    if FLAGS.dequantization_samples < 1:
      raise ValueError('--dequantization_samples must be positive, got '
                       f'{FLAGS.dequantization_samples}.')
    scores = scoring.score(flow, values, labels, FLAGS.batch_size,
                           FLAGS.dequantization_samples, FLAGS.seed)
    scoring.write_csv(FLAGS.output, names, scores)
    logging.info('Scored %d examples of %s with %s (noise seed %d): mean '
                 '%.4f bits/dim; wrote %s', len(names),
                 FLAGS.images or FLAGS.split or 'the run\'s test split',
                 loading.describe_weights(FLAGS.model, FLAGS.weights),
                 FLAGS.seed, np.mean(scores['bits_per_dim']), FLAGS.output)
    if 'discrete_bits_per_dim' in scores:
      logging.info('%d-draw estimate: mean %.4f bits/dim.',
                   FLAGS.dequantization_samples,
                   np.mean(scores['discrete_bits_per_dim']))
    if FLAGS.reference_images or FLAGS.reference_split:
      _, reference, reference_labels = _examples(
          flow, FLAGS.reference_images, FLAGS.reference_split)
      reference_scores = scoring.score(flow, reference, reference_labels,
                                       FLAGS.batch_size)
      scoring.write_histogram(FLAGS.histogram, {
          FLAGS.images or FLAGS.split or 'scored': scores['bits_per_dim'],
          FLAGS.reference_images or FLAGS.reference_split:
              reference_scores['bits_per_dim']})
      logging.info('Reference: mean %.4f bits/dim; wrote %s',
                   np.mean(reference_scores['bits_per_dim']),
                   FLAGS.histogram)
  except ValueError as error:
    raise app.UsageError(str(error)) from error
  print(FLAGS.output)


def console_main():
  """Entry point of the `tfp-realnvp-score` console script."""
  define_flags()
  flags_lib.run_binary(main, __doc__)


if __name__ == '__main__':
  console_main()
