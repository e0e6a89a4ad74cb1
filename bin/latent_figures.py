r"""Writes the paper's latent-space figures from a trained Real NVP as PNG.

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

# pylint: disable=g-import-not-at-top,wrong-import-position
if __package__:  # The tfp-realnvp-* console scripts.
  from tfp_realnvp_bin import startup
else:  # python bin/latent_figures.py
  import startup

with startup.quiet_imports():
  from absl import app
  from absl import flags
  from absl import logging
  from tfp_realnvp.app import figures
  from tfp_realnvp.app import flags as flags_lib
  from tfp_realnvp.app import latents
  from tfp_realnvp.app import loading
# pylint: enable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS

FIGURES = ('manifold', 'compression')


def define_flags():
  flags_lib.define_model_flag()
  flags.DEFINE_enum('figure', 'manifold', FIGURES, 'Which figure to write.')
  flags.DEFINE_string('output', None, 'The PNG to write (default: '
                      '<figure>.png).')
  flags_lib.define_data_flags('Dataset of the examples')
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
  flags_lib.define_seed_flag('Seed of the dequantization and redraws.')
  flags.DEFINE_integer('scale', 0, 'Pixel magnification of the PNG (0: to '
                       '~64 pixels a tile).')
  flags_lib.list_in_help(__name__)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if FLAGS.temperature < 0:
    raise app.UsageError(
        f'--temperature must be >= 0, got {FLAGS.temperature}.')
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
    flow = loading.load_flow(FLAGS.model, weights=FLAGS.weights)
    if len(flow.event_shape) != 3:
      raise ValueError('Latent figures need an image model.')
    images, labels = loading.examples(FLAGS.model, flow, indices,
                                      **flags_lib.data_options())
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
  logging.info('Wrote the %s figure of %s to %s', FLAGS.figure, FLAGS.model,
               output)
  print(output)


def console_main():
  """Entry point of the `tfp-realnvp-latent-figures` console script."""
  define_flags()
  flags_lib.run_binary(main, __doc__)


if __name__ == '__main__':
  console_main()
