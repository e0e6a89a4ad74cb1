"""Writes the paper's latent-space figures from a trained Real NVP as PNG.

  # Paper eq. 19: the sheet through the latents of four test images.
  python bin/latent_figures.py --model=runs/mnist --figure=manifold \
      --examples=0,1,2,3 --output=manifold.png
  # Paper App. D: each test image, then decoded from 100%, 50%, 25%, 12.5%
  # and 6.25% of its latents (the coarsest scales), the rest resampled.
  python bin/latent_figures.py --model=runs/mnist --figure=compression \
      --examples=0,1,2,3,4,5 --output=compression.png

--model is a bin/train.py --model_dir or a SavedModel; the examples come from
--dataset/--split (default: the training run's dataset and validation split).
"""

from absl import app
from absl import flags
from absl import logging

from tfp_realnvp import figures
from tfp_realnvp import latents
from tfp_realnvp import loading
from tfp_realnvp import run as run_lib

FLAGS = flags.FLAGS

FIGURES = ('manifold', 'compression')


def define_flags():
  flags.DEFINE_string('model', None,
                      'A bin/train.py --model_dir or a SavedModel directory.')
  flags.DEFINE_enum('figure', 'manifold', FIGURES, 'Which figure to write.')
  flags.DEFINE_string('output', None, 'The PNG to write (default: '
                      '<figure>.png).')
  flags.DEFINE_string('dataset', None,
                      'Dataset of the examples (default: the training run\'s).')
  flags.DEFINE_string('split', None,
                      'Split (default: the run\'s validation split, or test).')
  flags.DEFINE_string('data_dir', None,
                      'TFDS data directory (default: the run\'s).')
  flags.DEFINE_bool('download', True, 'Let TFDS download missing data.')
  flags.DEFINE_list('examples', None,
                    'Indices of the examples in the split: 4 for manifold '
                    '(corners: top left, top right, bottom left, bottom '
                    'right; default 0,1,2,3), any number for compression '
                    '(one row each; default 0..7).')
  flags.DEFINE_integer('num_rows', 8, 'Manifold: values of phi.')
  flags.DEFINE_integer('num_cols', 8, 'Manifold: values of phi\'.')
  flags.DEFINE_list('fractions',
                    [str(f) for f in latents.COMPRESSION_FRACTIONS],
                    'Compression: shares of the latent dimensions kept, one '
                    'column each.')
  flags.DEFINE_enum('fill', 'sample', ('sample', 'zero'),
                    'Compression: redraw dropped latents from the prior, or '
                    'set them to zero.')
  flags.DEFINE_float('temperature', 1.0,
                     'Compression: standard deviation of redrawn latents.')
  flags.DEFINE_integer('label', None,
                       'Manifold with a class-conditional model: the class '
                       '(default: the first example\'s).')
  flags.DEFINE_integer('num_scales', None,
                       'Number of scales, for SavedModels that do not record '
                       'it.')
  flags.DEFINE_integer('seed', 0, 'Seed of the dequantization and redraws.')
  flags.DEFINE_integer('scale', 0, 'Pixel magnification of the PNG (0: to '
                       '~64 pixels a tile).')
  flags.mark_flag_as_required('model')


def _examples(flow, indices):
  """(images, labels or None) at `indices` of the configured split."""
  run_config = flow.config or {}
  dataset = FLAGS.dataset or run_config.get('dataset')
  if dataset is None:
    raise ValueError('--dataset is needed for a SavedModel.')
  split = FLAGS.split or run_config.get('validation_split', 'test')
  conditional = flow.num_classes is not None
  examples = run_lib.evaluation_dataset(
      dataset, split, FLAGS.data_dir or run_config.get('data_dir'),
      batch_size=max(indices) + 1, recipe=run_config.get('recipe'),
      download=FLAGS.download, seed=FLAGS.seed, with_labels=conditional)
  batch = next(iter(examples.take(1)))
  images, labels = batch if conditional else (batch, None)
  if images.shape[0] <= max(indices):
    raise ValueError(f'{dataset} {split} has {images.shape[0]} examples; '
                     f'--examples asks for index {max(indices)}.')
  images = images.numpy()[indices]
  if tuple(images.shape[1:]) != tuple(flow.event_shape):
    raise ValueError(f'{dataset} images have shape {images.shape[1:]}, the '
                     f'model expects {tuple(flow.event_shape)}.')
  return images, None if labels is None else labels.numpy()[indices]


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  default_examples = ('0,1,2,3' if FLAGS.figure == 'manifold'
                      else '0,1,2,3,4,5,6,7')
  try:
    indices = [int(i) for i in (FLAGS.examples or default_examples.split(','))]
    fractions = [float(f) for f in FLAGS.fractions]
  except ValueError as error:
    raise app.UsageError(
        f'--examples must be integers and --fractions numbers: {error}'
    ) from error
  if min(indices) < 0:
    raise app.UsageError('--examples must be non-negative indices.')
  if FLAGS.figure == 'manifold' and len(indices) != 4:
    raise app.UsageError(
        f'--figure=manifold needs 4 --examples, got {len(indices)}.')
  output = FLAGS.output or f'{FLAGS.figure}.png'
  try:
    flow = loading.load_flow(FLAGS.model)
    if len(flow.event_shape) != 3:
      raise ValueError('Latent figures need an image model.')
    images, labels = _examples(flow, indices)
    if FLAGS.figure == 'manifold':
      label = None
      if labels is not None:
        label = FLAGS.label if FLAGS.label is not None else int(labels[0])
      pixels = latents.manifold(flow, images, FLAGS.num_rows, FLAGS.num_cols,
                                labels=label)
      grid = figures.image_grid(pixels, num_rows=FLAGS.num_rows)
    else:
      columns = latents.conceptual_compression(
          flow, images, num_scales=FLAGS.num_scales, fractions=fractions,
          fill=FLAGS.fill, temperature=FLAGS.temperature, seed=FLAGS.seed,
          labels=labels)
      grid = latents.compression_figure(columns)
  except ValueError as error:
    raise app.UsageError(str(error)) from error
  scale = FLAGS.scale or max(1, 64 // flow.event_shape[0])
  figures.write_png(output, grid, scale=scale)
  logging.info('Wrote the %s figure of %s to %s', FLAGS.figure, flow.source,
               output)
  print(output)


def console_main():
  """Entry point of the `tfp-realnvp-latent-figures` console script."""
  define_flags()
  app.run(main)


if __name__ == '__main__':
  console_main()
