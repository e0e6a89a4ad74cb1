r"""Writes a PNG grid of samples from a trained Real NVP.

  python bin/sample.py --model=runs/digits --output=samples.png
  python bin/sample.py --model=runs/digits/export --temperature=0.5,0.75,1 \
      --num_samples=8 --output=temperatures.png     # one row per temperature

  python bin/sample.py --model=runs/mnist --size_factor=2 --output=big.png
      # 56x56 samples from a model trained on 28x28 (paper App. C)

--model is a bin/train.py --model_dir (latest checkpoint) or a SavedModel. A
class-conditional model gives one row per class (--num_samples per class).
"""

import os

# pylint: disable=g-import-not-at-top,wrong-import-position
if __package__:  # The tfp-realnvp-* console scripts.
  from tfp_realnvp_bin import startup
else:  # python bin/sample.py
  import startup

with startup.quiet_imports():
  from absl import app
  from absl import flags
  from absl import logging
  from tfp_realnvp import to_uint8
  from tfp_realnvp.app import figures
  from tfp_realnvp.app import flags as flags_lib
  from tfp_realnvp.app import loading
# pylint: enable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS


def define_flags():
  flags_lib.define_model_flag()
  flags.DEFINE_string('output', 'samples.png', 'The PNG to write.')
  flags.DEFINE_integer('num_samples', 64,
                       'Samples (per temperature when several are given).')
  flags.DEFINE_list('temperature', ['1.0'],
                    'Prior standard-deviation scales; several give one row '
                    'each.')
  flags_lib.define_seed_flag('Sampling seed.')
  flags.DEFINE_integer('size_factor', 1,
                       'Samples at size_factor times the trained height and '
                       'width (fully convolutional couplings; needs a '
                       'training run directory, not a SavedModel).')
  flags.DEFINE_string('image_dir', None,
                      'Also write every sample as its own PNG here '
                      '(sample_0000.png, ...), e.g. for bin/score.py.')
  flags.DEFINE_integer('scale', 0,
                       'Pixel magnification of the PNG (0: to ~128 pixels a '
                       'tile).')
  flags_lib.list_in_help(__name__)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:
    temperatures = [float(t) for t in FLAGS.temperature]
  except ValueError as error:
    raise app.UsageError(
        f'--temperature must be numbers, got {FLAGS.temperature}.') from error
  if FLAGS.num_samples < 1 or min(temperatures) <= 0 or FLAGS.size_factor < 1:
    raise app.UsageError(
        '--num_samples, --temperature and --size_factor must be positive.')
  try:
    flow = loading.load_flow(FLAGS.model, weights=FLAGS.weights)
    if FLAGS.size_factor > 1:
      if len(flow.event_shape) != 3:
        raise ValueError('--size_factor needs an image model.')
      height, width, channels = flow.event_shape
      flow = loading.load_flow(
          FLAGS.model, image_shape=(FLAGS.size_factor * height,
                                    FLAGS.size_factor * width, channels),
          weights=FLAGS.weights)
    grid, samples = loading.sample_grid(flow, FLAGS.num_samples,
                                        temperatures, FLAGS.seed,
                                        return_samples=True)
  except ValueError as error:
    raise app.UsageError(str(error)) from error
  scale = FLAGS.scale or max(1, 128 // flow.event_shape[0])
  figures.write_png(FLAGS.output, grid, scale=scale)
  if FLAGS.image_dir:
    for index, image in enumerate(to_uint8(samples).numpy()):
      figures.write_png(
          os.path.join(FLAGS.image_dir, f'sample_{index:04d}.png'), image)
  logging.info('Wrote %d samples from %s to %s', FLAGS.num_samples *
               len(temperatures) * (flow.num_classes or 1), FLAGS.model,
               FLAGS.output)


def console_main():
  """Entry point of the `tfp-realnvp-sample` console script."""
  define_flags()
  flags_lib.run_binary(main, __doc__)


if __name__ == '__main__':
  console_main()
