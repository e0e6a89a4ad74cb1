"""What each float32 part of a bfloat16 network costs and buys, side by side.

  python bench/precision_ablation.py                 # mnist preset
  python bench/precision_ablation.py --config=tiny --warm_steps=5 --repeats=1

Under mixed precision the coupling networks keep some parts in float32
(`tfp_realnvp.networks.FLOAT32_PARTS`, by default the weight normalization,
the residual sum and the output head; the input layer may join them). For
float32 and for bfloat16 with none, each part alone, the head with the
weight normalization (the default without the residual sum), the default
and the default with the input layer (--variants chooses), in one process:
the training step's images/s (median of --repeats after a warm-up, all variants
interleaved round by round, so they see the same drift of the machine),
and, at the weights of a float32 model trained --warm_steps steps (the same
weights for every variant), how far the variant's figures are from
float32's on the same batch: bits/dim (evaluation mode) and the loss
gradient's relative error `|g - g_float32| / |g_float32|`, beside the
minibatch noise it competes with,
`|g_float32(batch 1) - g_float32(batch 2)| / |g_float32|`.
With --convolution_share, each round also times each variant's own
convolutions alone (`step_profile.convolutions_alone`: the same shapes and
dtypes, forward and both gradients) right after its step, and the table
gives the median of the rounds' ratios: the share of TF's convolution rate
that the variant's step reaches, for every variant side by side.
"""

import json
import os
import statistics
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position
import step_profile  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS

# Name (for --variants): the table's label, the float32 parts (None: all).
VARIANTS = {
    'float32': ('float32', None),
    'none': ('bfloat16, nothing in float32', ()),
    'input': ('bfloat16 + input', ('input',)),
    'weight_norm': ('bfloat16 + weight_norm', ('weight_norm',)),
    'residual': ('bfloat16 + residual', ('residual',)),
    'head': ('bfloat16 + head', ('head',)),
    'head+weight_norm': ('bfloat16 + head, weight_norm',
                         ('head', 'weight_norm')),
    'default': ('bfloat16 + head, residual, weight_norm (the default)',
                ('head', 'residual', 'weight_norm')),
    'default+input': ('bfloat16 + the default and input',
                      ('head', 'input', 'residual', 'weight_norm')),
}


def define_flags():
  flags.DEFINE_string('config', 'mnist', 'Benchmark configuration.')
  flags.DEFINE_integer('batch_size', 64, 'Images per step.')
  flags.DEFINE_integer('warm_steps', 200, 'Float32 training steps before '
                       'the figures are compared.')
  flags.DEFINE_integer('repeats', 5, 'Timed steps per variant.')
  flags.DEFINE_string('data_dir', benchmark.DEFAULT_DATA_DIR,
                      'Prepared TFDS data.')
  flags.DEFINE_list('variants', list(VARIANTS),
                    f'Which of {list(VARIANTS)}; float32, the reference, '
                    'is always first.')
  flags.DEFINE_bool('convolution_share', False, 'Also time each variant\'s '
                    'convolutions alone, round by round, for its share of '
                    'TF\'s convolution rate.')
  flags.DEFINE_string('output', None, 'Also write the Markdown here.')


def build(parts):
  """A model of the configuration in one variant, initialized alike."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from tfp_realnvp import networks  # pylint: disable=g-import-not-at-top
  if parts is not None:
    networks.FLOAT32_PARTS = frozenset(parts)
  tf.random.set_seed(0)
  return benchmark.build_model(
      FLAGS.config, 'ours',
      compute_dtype=None if parts is None else 'bfloat16')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_keras  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  train = benchmark.build_dataset(FLAGS.config, 'train', FLAGS.data_dir,
                                  FLAGS.batch_size)
  batches = iter(train.unbatch().repeat().batch(FLAGS.batch_size,
                                                drop_remainder=True))
  reference = build(None)
  model = tfp_realnvp.FlowModel(reference)
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
  model.fit(batches, steps_per_epoch=FLAGS.warm_steps, epochs=1, verbose=0)
  probes = [next(batches) for _ in range(2)]

  def figures(flow):
    """Evaluation bits/dim of probe 1, gradients of both (training mode)."""
    with tfp_realnvp.training_mode(False):
      bits = float(tf.reduce_mean(flow.bits_per_dim(tf.identity(probes[0]))))
    gradients = []
    for probe in probes:
      with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(flow.log_prob(tf.identity(probe),
                                             training=True))
      gradients.append(tf.concat([tf.reshape(g, [-1]) for g in tape.gradient(
          loss, flow.trainable_variables)], 0))
    return bits, gradients

  unknown = set(FLAGS.variants) - set(VARIANTS)
  if unknown:
    raise app.UsageError(f'Unknown --variants {sorted(unknown)}; the '
                         f'variants are {list(VARIANTS)}.')
  variants = [VARIANTS['float32']] + [
      VARIANTS[name] for name in VARIANTS
      if name in FLAGS.variants and name != 'float32']
  rows, step_functions, convolution_functions = [], [], []
  for name, parts in variants:
    flow = build(parts)
    for source, target in zip(reference.variables, flow.variables):
      target.assign(source)
    bits, gradients = figures(flow)
    rows.append(dict(variant=name, bits=bits, gradients=gradients))
    # Its own model and optimizer for timing, from the same weights.
    timed = tfp_realnvp.FlowModel(flow)
    timed.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-4))
    step = timed.make_train_function()
    step(batches)  # Traced here, outside the timed rounds.
    step_functions.append(step)
    if FLAGS.convolution_share:
      convolution_functions.append(
          step_profile.convolutions_alone(flow, FLAGS.batch_size)[0])
  times = [[] for _ in variants]
  convolution_times = [[] for _ in variants]
  for _ in range(FLAGS.repeats + 1):  # The first round warms up.
    for i, step in enumerate(step_functions):
      times[i].append(
          step_profile.timed_call(lambda step=step: step(batches)['loss']))
      if FLAGS.convolution_share:
        convolution_times[i].append(
            step_profile.timed_call(convolution_functions[i]))
  base_bits, base_gradients = rows[0]['bits'], rows[0]['gradients']
  norm = float(tf.norm(base_gradients[0]))
  noise = float(tf.norm(base_gradients[1] - base_gradients[0])) / norm
  lines = [
      f'Command: `python bench/precision_ablation.py --config={FLAGS.config} '
      f'--batch_size={FLAGS.batch_size} --warm_steps={FLAGS.warm_steps} '
      f'--repeats={FLAGS.repeats} --variants={",".join(FLAGS.variants)}'
      + (' --convolution_share`' if FLAGS.convolution_share else '`'),
      '',
      f'CPU: {benchmark.cpu_description()}; TensorFlow {tf.__version__}.',
      '', f'Minibatch gradient noise (two batches, float32): {noise:.3f}.', '',
      '| variant | train img/s | vs float32 | bits/dim - float32\'s | '
      'gradient error |' + (' share of the convolution rate |'
                            if FLAGS.convolution_share else ''),
      '| --- | --- | --- | --- | --- |'
      + (' --- |' if FLAGS.convolution_share else '')]
  base_rate = None
  for row, variant_times, alone_times in zip(rows, times,
                                             convolution_times):
    rate = FLAGS.batch_size / statistics.median(variant_times[1:])
    base_rate = base_rate or rate
    error = float(tf.norm(row['gradients'][0] - base_gradients[0])) / norm
    row.update(rate=rate, gradient_error=error)
    line = (f'| {row["variant"]} | {rate:.3g} | {rate / base_rate:.2f}x '
            f'| {row["bits"] - base_bits:+.5f} | {error:.4f} |')
    if FLAGS.convolution_share:
      row['convolution_share'] = statistics.median(
          alone / step for alone, step in zip(alone_times[1:],
                                              variant_times[1:]))
      line += f' {100 * row["convolution_share"]:.0f}% |'
    lines.append(line)
    print(json.dumps({k: v for k, v in row.items() if k != 'gradients'}),
          flush=True)
  text = '\n'.join(lines) + '\n'
  benchmark.publish(text, FLAGS.output)


if __name__ == '__main__':
  define_flags()
  app.run(main)
