"""Speed benchmark: the machine's ceiling, our Real NVP and TFP's Glow.

  python bench/benchmark.py                           # mnist and cifar10, batch 64
  python bench/benchmark.py --configs=mnist --repeats=5 --output=BENCHMARKS.md
  python bench/benchmark.py --configs=tiny --repeats=1   # seconds; what the test runs

One table: the float32 3x3 convolution and matmul GFLOP/s TensorFlow reaches
here, then for each configuration, model (ours, and TFP's `tfb.Glow` at a
similar parameter count) and `jit_compile` setting: training, evaluation
(log-prob) and sampling images/s (median of --repeats timed runs after a
warm-up, with min-max), the time to the first training step (tracing
included), peak resident memory, the FLOPs per image of one pass (a static
count of the traced graph's convolutions and matmuls, batch 1) and the achieved
share of the convolution ceiling (a training step counted as 3 passes). The
input pipeline's images/s (tf.data from ../shared/data/tfds) is measured where
the data is present. Each (model, jit) measurement runs in its own process, so
peak memory is its own.
"""

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

from absl import app
from absl import flags

FLAGS = flags.FLAGS

# Columns of the model table, in order (the test checks every one prints).
COLUMNS = ('config', 'model', 'jit', 'params', 'GFLOP/img', 'train img/s',
           'train % ceiling', 'eval img/s', 'eval % ceiling', 'sample img/s',
           'sample % ceiling', 'first step s', 'peak MB')

# (image shape, our preset or overrides, TFDS dataset, Glow blocks).
CONFIGS = {
    'tiny': ((8, 8, 1), dict(num_scales=2, num_res_blocks=1, num_filters=4),
             None, 2),
    'mnist': ((28, 28, 1), dict(preset='mnist'), 'mnist', 2),
    'cifar10': ((32, 32, 3), dict(preset='cifar10'), 'cifar10', 3),
}

_DEFAULT_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 '..', '..', 'shared', 'data', 'tfds')


def define_flags():
  flags.DEFINE_list('configs', ['mnist', 'cifar10'],
                    f'Configurations: {sorted(CONFIGS)}.')
  flags.DEFINE_list('models', ['ours', 'glow'], 'ours and/or glow.')
  flags.DEFINE_list('jit', ['off', 'on'], 'jit_compile settings.')
  flags.DEFINE_integer('batch_size', 64, 'Images per step.')
  flags.DEFINE_integer('repeats', 3, 'Timed runs after the warm-up.')
  flags.DEFINE_string('data_dir',
                      os.environ.get('TFP_REALNVP_DATA_DIR', _DEFAULT_DATA_DIR),
                      'Prepared TFDS data for the input-pipeline figure.')
  flags.DEFINE_string('output', None,
                      'Also write the results as Markdown to this file.')
  flags.DEFINE_bool('isolate', True,
                    'One process per measurement (own peak memory).')
  flags.DEFINE_string('single', None, 'Internal: config,model,jit to '
                      'measure in this process, printed as JSON.')


def _timed(fn, repeats):
  """(first call seconds, [seconds of each later call])."""
  start = time.perf_counter()
  fn()
  first = time.perf_counter() - start
  times = []
  for _ in range(repeats + 1):  # The first of these is the warm-up.
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return first, times[1:]


def _rate(count, times):
  rates = [count / t for t in times]
  return statistics.median(rates), min(rates), max(rates)


def ceiling(repeats, tiny):
  """Best GFLOP/s of float32 3x3 convolutions and of a matmul, with min-max.

  Each measurement loops inside one `tf.function` and reads back a scalar,
  so neither Python nor copying the output is timed. The convolutions are the
  shapes of the paper's CIFAR-10 networks (32x32x64 and, after the squeeze,
  16x16x128, batch 64); the best of them is the ceiling.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if tiny:
    conv_shapes, n, calls = [(4, 8, 8)], 64, 2
  else:
    conv_shapes, n, calls = [(64, 32, 64), (64, 16, 128)], 2048, 10

  def looped(op, *args):
    @tf.function
    def run():
      total = tf.constant(0.)
      for _ in tf.range(calls):
        total += tf.reduce_sum(op(*args)[:1, :1])
      return total
    return lambda: run().numpy()

  candidates = {}
  for batch, size, channels in conv_shapes:
    images = tf.random.normal([batch, size, size, channels])
    kernel = tf.random.normal([3, 3, channels, channels])
    flops = 2 * batch * size * size * 9 * channels * channels
    _, times = _timed(looped(
        lambda x, k: tf.nn.conv2d(x, k, 1, 'SAME'), images, kernel), repeats)
    candidates.setdefault('conv3x3', []).append(
        _rate(calls * flops / 1e9, times))
  a, b = tf.random.normal([n, n]), tf.random.normal([n, n])
  _, times = _timed(looped(tf.matmul, a, b), repeats)
  candidates['matmul'] = [_rate(calls * 2 * n ** 3 / 1e9, times)]
  results = {}
  for name, rates in candidates.items():
    median, low, high = max(rates)
    results[name] = dict(gflops=median, low=low, high=high)
  return results


def _graph_flops(fn, spec):
  """FLOPs of one call of `fn` on `spec`, from the traced graph."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  graph = tf.function(fn).get_concrete_function(spec).graph
  options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  options['output'] = 'none'
  return tf.compat.v1.profiler.profile(graph=graph,
                                       options=options).total_float_ops


def _build(config_name, model_name):
  """The distribution over pixels in [0, 256) for a configuration."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow_probability as tfp  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  shape, ours, _, glow_blocks = CONFIGS[config_name]
  if model_name == 'ours':
    if 'preset' in ours:
      return tfp_realnvp.RealNVP.from_preset(ours['preset'])
    return tfp_realnvp.RealNVP(shape, **ours)
  # TFP's Glow behind our logit preprocessing, so both take the same pixels;
  # its width chosen for about our parameter count.
  target = _num_parameters(_build(config_name, 'ours'))
  tfb, tfd = tfp.bijectors, tfp.distributions
  best = None
  # (steps per block, hidden width) pairs, smallest first.
  sizes = ([(4, h) for h in (8, 16, 32)] if config_name == 'tiny' else
           [(8, h) for h in (32, 64, 128, 256, 400)] +
           [(16, h) for h in (400, 512)] + [(32, 400), (32, 512)])
  for steps, hidden in sizes:
    glow = tfb.Glow(
        output_shape=shape, num_glow_blocks=glow_blocks,
        num_steps_per_block=steps,
        coupling_bijector_fn=lambda s, h=hidden: tfb.GlowDefaultNetwork(
            s, num_hidden=h),
        exit_bijector_fn=tfb.GlowDefaultExitNetwork)
    distribution = tfd.TransformedDistribution(
        # tfb.Glow maps flat latents to images.
        tfd.Sample(tfd.Normal(0., 1.), [int(np.prod(shape))]),
        tfb.Chain([tfp_realnvp.Logit(), glow]))
    distance = abs(_num_parameters(distribution) - target)
    if best is None or distance < best[0]:
      best = (distance, distribution)
  return best[1]


def _num_parameters(distribution):
  import numpy as np  # pylint: disable=g-import-not-at-top
  return int(sum(np.prod(v.shape) for v in distribution.trainable_variables))


def measure(config_name, model_name, jit, batch_size, repeats):
  """One row of the model table, as a dict."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_keras  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  shape = CONFIGS[config_name][0]
  distribution = _build(config_name, model_name)
  model = tfp_realnvp.FlowModel(distribution)
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-4), jit_compile=jit)
  pixels = tf.random.uniform((batch_size,) + shape, 0., 256., seed=0)

  first_step, train_times = _timed(
      lambda: model.train_on_batch(pixels), repeats)

  @tf.function(jit_compile=jit)
  def evaluate(x):
    with tfp_realnvp.training_mode(False):
      return distribution.log_prob(x)

  @tf.function(jit_compile=jit)
  def sample():
    with tfp_realnvp.training_mode(False):
      return distribution.sample(batch_size, seed=[1, 2])

  _, eval_times = _timed(lambda: evaluate(pixels).numpy(), repeats)
  _, sample_times = _timed(lambda: sample().numpy(), repeats)

  def one_pass(x):
    with tfp_realnvp.training_mode(False):
      return distribution.log_prob(x)

  flops = _graph_flops(one_pass, tf.TensorSpec((1,) + shape, tf.float32))
  peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.
  row = dict(config=config_name, model=model_name, jit='on' if jit else 'off',
             params=_num_parameters(distribution), flops=flops,
             first_step=first_step, peak_mb=peak_mb)
  for name, times in (('train', train_times), ('eval', eval_times),
                      ('sample', sample_times)):
    row[name] = _rate(batch_size, times)
  del np
  return row


def pipeline_rate(config_name, data_dir, batch_size, repeats):
  """Images/s of the training input pipeline, or None without the data."""
  dataset_name = CONFIGS[config_name][2]
  if dataset_name is None or not os.path.isdir(
      os.path.join(data_dir, dataset_name)):
    return None
  from tfp_realnvp import data  # pylint: disable=g-import-not-at-top
  dataset = data.image_dataset(dataset_name, 'train', data_dir, batch_size,
                               download=False, seed=0).repeat()
  iterator = iter(dataset)
  batches = 50

  def consume():
    for _ in range(batches):
      next(iterator)

  _, times = _timed(consume, repeats)
  return _rate(batches * batch_size, times)


def _measure_in_subprocess(config_name, model_name, jit):
  command = [sys.executable, os.path.abspath(__file__),
             f'--single={config_name},{model_name},{jit}',
             f'--batch_size={FLAGS.batch_size}', f'--repeats={FLAGS.repeats}']
  result = subprocess.run(command, capture_output=True, text=True,
                          check=False)
  if result.returncode != 0:
    raise RuntimeError(f'{command} failed:\n{result.stderr[-3000:]}')
  return json.loads(result.stdout.strip().splitlines()[-1])


def _span(rate):
  median, low, high = rate
  return f'{median:.3g} ({low:.3g}-{high:.3g})'


def _share(rate, flops, passes, conv_gflops):
  return f'{100. * rate[0] * flops * passes / 1e9 / conv_gflops:.0f}%'


def report(ceilings, rows, pipelines, command):
  """The results as Markdown."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  conv = ceilings['conv3x3']['gflops']
  lines = [
      f'Command: `{command}`',
      '',
      f'Machine: {platform.platform()}, {os.cpu_count()} CPU cores, '
      f'TensorFlow {tf.__version__}, batch {FLAGS.batch_size}, median of '
      f'{FLAGS.repeats} timed runs after a warm-up (min-max).',
      '',
      '| ceiling | GFLOP/s |',
      '| --- | --- |',
  ]
  for name, values in ceilings.items():
    lines.append(f'| {name} float32 | {_span((values["gflops"], values["low"], values["high"]))} |')
  lines += ['', '| ' + ' | '.join(COLUMNS) + ' |',
            '| ' + ' | '.join('---' for _ in COLUMNS) + ' |']
  for row in rows:
    flops = row['flops']
    cells = [row['config'], row['model'], row['jit'], f'{row["params"]:,}',
             f'{flops / 1e9:.3g}',
             _span(row['train']), _share(row['train'], flops, 3, conv),
             _span(row['eval']), _share(row['eval'], flops, 1, conv),
             _span(row['sample']), _share(row['sample'], flops, 1, conv),
             f'{row["first_step"]:.1f}', f'{row["peak_mb"]:.0f}']
    lines.append('| ' + ' | '.join(cells) + ' |')
  lines += ['', '| config | input pipeline img/s | fastest training img/s | '
            'ratio |', '| --- | --- | --- | --- |']
  for config_name, rate in pipelines.items():
    training = max((r['train'][0] for r in rows
                    if r['config'] == config_name), default=None)
    if rate is None or not training:
      lines.append(f'| {config_name} | no data | - | - |')
    else:
      lines.append(f'| {config_name} | {_span(rate)} | {training:.3g} | '
                   f'{rate[0] / training:.0f}x |')
  return '\n'.join(lines) + '\n'


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if FLAGS.single:
    config_name, model_name, jit = FLAGS.single.split(',')
    print(json.dumps(measure(config_name, model_name, jit == 'on',
                             FLAGS.batch_size, FLAGS.repeats)))
    return
  unknown = set(FLAGS.configs) - set(CONFIGS)
  if unknown or set(FLAGS.models) - {'ours', 'glow'} or (
      set(FLAGS.jit) - {'on', 'off'}):
    raise app.UsageError('Unknown --configs, --models or --jit values: '
                         f'{FLAGS.configs}, {FLAGS.models}, {FLAGS.jit}.')
  tiny = FLAGS.configs == ['tiny']
  ceilings = ceiling(FLAGS.repeats, tiny)
  rows = []
  for config_name in FLAGS.configs:
    for model_name in FLAGS.models:
      for jit in FLAGS.jit:
        if FLAGS.isolate:
          rows.append(_measure_in_subprocess(config_name, model_name, jit))
        else:
          rows.append(measure(config_name, model_name, jit == 'on',
                              FLAGS.batch_size, FLAGS.repeats))
        print(json.dumps(rows[-1]), flush=True)
  pipelines = {name: pipeline_rate(name, FLAGS.data_dir, FLAGS.batch_size,
                                   FLAGS.repeats)
               for name in FLAGS.configs}
  command = 'python bench/benchmark.py ' + ' '.join([
      f'--{name}={",".join(value) if isinstance(value, list) else value}'
      for name, value in (('configs', FLAGS.configs), ('models', FLAGS.models),
                          ('jit', FLAGS.jit), ('batch_size', FLAGS.batch_size),
                          ('repeats', FLAGS.repeats))])
  text = report(ceilings, rows, pipelines, command)
  print(text)
  if FLAGS.output:
    with open(FLAGS.output, 'w') as f:
      f.write(text)


if __name__ == '__main__':
  define_flags()
  app.run(main)
