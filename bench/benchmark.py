"""Speed benchmark: the machine's ceiling, our Real NVP and TFP's Glow.

  python bench/benchmark.py                        # mnist and cifar10, batch 64
  python bench/benchmark.py --configs=mnist --repeats=5 --output=BENCHMARKS.md
  python bench/benchmark.py --configs=tiny --repeats=1 --quality_minutes=0.1

One run, one machine. First the float32 3x3 convolution and matmul GFLOP/s
TensorFlow reaches here (the ceiling). Then for each configuration, model
(ours, and TFP's `tfb.Glow` at a similar parameter count) and `jit_compile`
setting: training, evaluation (log-prob) and sampling images/s (median of
--repeats timed runs after a warm-up, with min-max), the time to the first
training step (tracing included), peak resident memory, and FLOPs. Training
runs in one process, evaluation and sampling in another (with
--inference_inter_op_threads, to measure that setting). Each measures the
convolution ceiling again just before its timed runs, and its `% ceiling`
uses that figure: the machine's speed drifts over a run of this length.
`GFLOP/img` is the architecture's cost of one pass, every shift/log-scale
network evaluated once (a static count of the convolutions and matmuls in the
traced sampling graph, batch 1); `log_prob graph GFLOP/img` is what the traced
`log_prob` graph actually holds, which for TFP's couplings counts each network
twice. Achieved GFLOP/s and the share of the convolution ceiling use the
architecture's cost (a training step is 3 passes). Training runs like `fit`
(one traced step, a dataset iterator) with the optimizer of bin/train.py.
Then ours / Glow ratios, the input pipeline's images/s (tf.data from
../shared/data/tfds) where the data is present, and quality per compute: each
model trained on MNIST for the same wall-clock budget (tracing included), then
its test bits/dim. Each measurement runs in its own process, so peak memory
is its own.
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
COLUMNS = ('config', 'model', 'jit', 'precision', 'params', 'GFLOP/img',
           'log_prob graph GFLOP/img', 'conv ceiling GFLOP/s train, infer',
           'train img/s', 'train GFLOP/s', 'train % ceiling',
           'train % training conv', 'eval img/s', 'eval GFLOP/s',
           'eval % ceiling',
           'sample img/s', 'sample GFLOP/s', 'sample % ceiling',
           'first step s', 'peak MB')
RATIO_COLUMNS = ('config', 'jit', 'precision', 'train img/s ours/glow',
                 'train GFLOP/s ours/glow', 'eval GFLOP/s ours/glow',
                 'sample GFLOP/s ours/glow')
QUALITY_COLUMNS = ('config', 'model', 'params', 'budget min', 'steps',
                   'images seen', 'test bits/dim')
# (name, passes per image) of the timed phases.
PHASES = (('train', 3), ('eval', 1), ('sample', 1))

# (image shape, our preset or overrides, TFDS dataset, Glow blocks); the
# tiny one trains on the embedded 8x8 digits.
CONFIGS = {
    'tiny': ((8, 8, 1), dict(num_scales=1, num_res_blocks=1, num_filters=4),
             'digits', 2),
    # The main job's model (bin/train.py's default preset).
    'digits': ((8, 8, 1), dict(preset='digits'), 'digits', 2),
    'mnist': ((28, 28, 1), dict(preset='mnist'), 'mnist', 2),
    'cifar10': ((32, 32, 3), dict(preset='cifar10'), 'cifar10', 3),
}

DEFAULT_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 '..', '..', 'shared', 'data', 'tfds')


def define_flags():
  flags.DEFINE_list('configs', ['mnist', 'cifar10'],
                    f'Configurations: {sorted(CONFIGS)}.')
  flags.DEFINE_list('models', ['ours', 'glow'], 'ours and/or glow.')
  flags.DEFINE_list('jit', ['off', 'on'], 'jit_compile settings.')
  flags.DEFINE_list('precisions', ['float32', 'bfloat16'],
                    'Compute precisions of our model (TFP\'s Glow has no '
                    'mixed precision: float32 only); each phase\'s share '
                    'of the ceiling is of that precision\'s convolution.')
  flags.DEFINE_integer('batch_size', 64, 'Images per step.')
  flags.DEFINE_integer('repeats', 3, 'Timed runs after the warm-up.')
  flags.DEFINE_string('data_dir',
                      os.environ.get('TFP_REALNVP_DATA_DIR', DEFAULT_DATA_DIR),
                      'Prepared TFDS data for the input-pipeline figure.')
  flags.DEFINE_string('output', None,
                      'Also write the results as Markdown to this file.')
  flags.DEFINE_bool('isolate', True,
                    'One process per measurement (its own peak memory and '
                    'threads).')
  flags.DEFINE_float('quality_minutes', 10.,
                     'Wall-clock training budget of each model in the '
                     'quality-per-compute comparison; 0 skips it.')
  flags.DEFINE_string('quality_config', 'mnist',
                      f'Configuration trained for quality: {sorted(CONFIGS)}.')
  flags.DEFINE_float('learning_rate', 1e-3, 'Adam rate of the quality runs.')
  flags.DEFINE_integer('inference_inter_op_threads', 0,
                       'Inter-op threads of the evaluation and sampling '
                       'process (0: TensorFlow\'s choice, as the binaries '
                       'run).')
  flags.DEFINE_string('single', None, 'Internal: config,model,jit,phases '
                      '(train or inference),precision to measure in this '
                      'process, '
                      'printed as JSON.')
  flags.DEFINE_string('single_quality', None, 'Internal: config,model to '
                      'train for quality in this process, printed as JSON.')


def publish(text, output):
  """Prints a bench script's Markdown and, with `output`, writes it there."""
  print(text)
  if output:
    with open(output, 'w') as f:
      f.write(text)


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


def ceiling(repeats, tiny, matmul=True, dtype='float32'):
  """Best GFLOP/s of `dtype` 3x3 convolutions and of a matmul, with min-max.

  Each measurement loops inside one `tf.function` and reads back a scalar,
  so neither Python nor copying the output is timed. The convolutions are the
  shapes of the paper's CIFAR-10 networks (32x32x64 and, after the squeeze,
  16x16x128, batch 64); the best of them is the ceiling. `conv3x3` is the
  forward convolution; `conv3x3_train` is what a training step asks of the
  same convolution: forward, then the gradients for its input and its kernel
  (3 passes' FLOPs over their time together). TF's kernel gradient is the
  slowest of the three, most of all in bfloat16, so no training step can
  reach `conv3x3`; `conv3x3_train` is the rate its convolutions can reach.
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
        total += tf.reduce_sum(
            [tf.cast(tf.reduce_sum(t[:1, :1]), tf.float32)
             for t in tf.nest.flatten(op(*args))])
      return total
    return lambda: run().numpy()

  def conv(x, k):
    return tf.nn.conv2d(x, k, 1, 'SAME')

  def conv_train(x, k, output_gradient):
    with tf.GradientTape() as tape:
      tape.watch([x, k])
      y = tf.nn.conv2d(x, k, 1, 'SAME')
    return tape.gradient(y, [x, k], output_gradients=output_gradient) + [y]

  candidates = {}
  def normal(shape):
    return tf.cast(tf.random.normal(shape), dtype)

  for batch, size, channels in conv_shapes:
    images = normal([batch, size, size, channels])
    kernel = normal([3, 3, channels, channels])
    flops = 2 * batch * size * size * 9 * channels * channels
    _, times = _timed(looped(conv, images, kernel), repeats)
    candidates.setdefault('conv3x3', []).append(
        _rate(calls * flops / 1e9, times))
    _, times = _timed(looped(conv_train, images, kernel, normal(
        [batch, size, size, channels])), repeats)
    candidates.setdefault('conv3x3_train', []).append(
        _rate(calls * 3 * flops / 1e9, times))
  if matmul:
    a, b = normal([n, n]), normal([n, n])
    _, times = _timed(looped(tf.matmul, a, b), repeats)
    candidates['matmul'] = [_rate(calls * 2 * n ** 3 / 1e9, times)]
  results = {}
  for name, rates in candidates.items():
    median, low, high = max(rates)
    results[name] = dict(gflops=median, low=low, high=high)
  return results


def graph_flops(fn, spec):
  """FLOPs of one call of `fn` on `spec`, from the traced graph."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  graph = tf.function(fn).get_concrete_function(spec).graph
  options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  options['output'] = 'none'
  return tf.compat.v1.profiler.profile(graph=graph,
                                       options=options).total_float_ops


def build_model(config_name, model_name, dequantization='uniform',
                compute_dtype=None):
  """The distribution over pixels in [0, 256) for a configuration.

  `dequantization`, `compute_dtype` (ours only): as `RealNVP` takes them.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow_probability as tfp  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  shape, ours, _, glow_blocks = CONFIGS[config_name]
  if model_name == 'ours':
    if 'preset' in ours:
      return tfp_realnvp.RealNVP.from_preset(
          ours['preset'], dequantization=dequantization,
          compute_dtype=compute_dtype)
    return tfp_realnvp.RealNVP(shape, dequantization=dequantization,
                               compute_dtype=compute_dtype, **ours)
  # TFP's Glow behind our logit preprocessing, so both take the same pixels;
  # its width chosen for about our parameter count.
  target = num_parameters(build_model(config_name, 'ours'))
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
    distance = abs(num_parameters(distribution) - target)
    if best is None or distance < best[0]:
      best = (distance, distribution)
  return best[1]


def num_parameters(distribution):
  import numpy as np  # pylint: disable=g-import-not-at-top
  return int(sum(np.prod(v.shape) for v in distribution.trainable_variables))


def optimizer(learning_rate):
  import tf_keras  # pylint: disable=g-import-not-at-top
  # The optimizer bin/train.py uses (TF's fused Adam kernel).
  return tf_keras.optimizers.legacy.Adam(learning_rate)


def measure(config_name, model_name, jit, batch_size, repeats, phases,
            precision='float32'):
  """Part of a model-table row, as a dict: `phases` 'train' or 'inference'.

  The convolution ceiling is measured here first, so the share of it that a
  phase reaches compares two figures taken minutes, not an hour, apart.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  shape = CONFIGS[config_name][0]
  convs = ceiling(repeats, config_name == 'tiny', matmul=False,
                  dtype=precision)
  conv = convs['conv3x3']
  distribution = build_model(
      config_name, model_name,
      compute_dtype=None if precision == 'float32' else precision)
  pixels = tf.random.uniform((batch_size,) + shape, 0., 256., seed=0)
  row = dict(params=num_parameters(distribution))
  if phases == 'train':
    model = tfp_realnvp.FlowModel(distribution)
    model.compile(optimizer=optimizer(1e-4), jit_compile=jit)
    # As in `fit`: one traced step reading a dataset iterator. (Keras'
    # `train_on_batch` builds a new iterator per call and costs seconds more.)
    batches = iter(tf.data.Dataset.from_tensors(pixels).repeat())
    train_function = model.make_train_function()
    first_step, train_times = _timed(
        lambda: train_function(batches)['loss'].numpy(), repeats)
    row.update(train=_rate(batch_size, train_times), first_step=first_step,
               train_ceiling=conv['gflops'],
               train_conv_ceiling=convs['conv3x3_train']['gflops'])
  else:

    def log_prob(x):
      with tfp_realnvp.training_mode(False):
        return distribution.log_prob(x)

    def sample(n, seed):
      with tfp_realnvp.training_mode(False):
        return distribution.sample(n, seed=seed)

    evaluate = tf.function(log_prob, jit_compile=jit)
    sample_batch = tf.function(lambda: sample(batch_size, [1, 2]),
                               jit_compile=jit)
    _, eval_times = _timed(lambda: evaluate(pixels).numpy(), repeats)
    _, sample_times = _timed(lambda: sample_batch().numpy(), repeats)
    one_sample = lambda seed: sample(1, seed)

    row.update(eval=_rate(batch_size, eval_times),
               sample=_rate(batch_size, sample_times),
               inference_ceiling=conv['gflops'],
               flops=graph_flops(one_sample, tf.TensorSpec([2], tf.int32)),
               log_prob_flops=graph_flops(
                   log_prob, tf.TensorSpec((1,) + shape, tf.float32)))
  row['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.
  return row


def model_row(config_name, model_name, jit, precision):
  """One row of the model table: a training and an inference measurement."""
  row = dict(config=config_name, model=model_name, jit='on' if jit else 'off',
             precision=precision)
  peaks = []
  for phases in ('train', 'inference'):
    if FLAGS.isolate:
      part = _in_subprocess(f'--single={config_name},{model_name},'
                            f'{row["jit"]},{phases},{precision}')
    else:
      part = measure(config_name, model_name, jit, FLAGS.batch_size,
                     FLAGS.repeats, phases, precision)
    peaks.append(part.pop('peak_mb'))
    row.update(part)
  row['peak_mb'] = max(peaks)
  return row


def build_dataset(config_name, split, data_dir, batch_size, seed=0,
                  dequantized=True):
  """Dequantized pixels of a configuration's dataset, or None without it.

  `dequantized=False`: the uint8 pixels.
  """
  from tfp_realnvp import data  # pylint: disable=g-import-not-at-top
  name = CONFIGS[config_name][2]
  training = split == 'train'
  if name == 'digits':
    return data.digits_dataset(split, batch_size, shuffle=training, seed=seed,
                               dequantized=dequantized)
  if name is None or not os.path.isdir(os.path.join(data_dir, name)):
    return None
  return data.image_dataset(name, split, data_dir, batch_size,
                            shuffle=training, download=False, seed=seed,
                            dequantized=dequantized)


def quality(config_name, model_name, minutes, batch_size, data_dir,
            learning_rate):
  """Trains for `minutes` of wall clock, then the test bits/dim, as a dict."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_keras  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  train = build_dataset(config_name, 'train', data_dir, batch_size)
  test = build_dataset(config_name, 'test', data_dir, 256)
  if train is None:
    raise ValueError(f'No {CONFIGS[config_name][2]} data in {data_dir}: the '
                     'quality comparison needs it (see --data_dir).')
  distribution = build_model(config_name, model_name)
  model = tfp_realnvp.FlowModel(distribution)
  model.compile(optimizer=optimizer(learning_rate))
  budget_s = 60. * minutes

  class _StopAfterBudget(tf_keras.callbacks.Callback):

    def on_train_begin(self, logs=None):
      self.start = time.perf_counter()  # Tracing counts: it is compute.

    def on_train_batch_end(self, batch, logs=None):
      if time.perf_counter() - self.start >= budget_s:
        self.model.stop_training = True

  # Full batches only: TFP's Glow cannot trace an unknown batch size.
  train = train.unbatch().repeat().batch(batch_size, drop_remainder=True)
  model.fit(train, epochs=10 ** 9, steps_per_epoch=10, verbose=0,
            callbacks=[_StopAfterBudget()])
  steps = int(model.optimizer.iterations.numpy())

  @tf.function
  def log_prob(x):  # Traced again for the last, smaller batch.
    with tfp_realnvp.training_mode(False):
      return distribution.log_prob(x)

  total_log_prob, count = 0., 0
  for images in test:
    total_log_prob += float(tf.reduce_sum(log_prob(images)))
    count += int(images.shape[0])
  dimensions = int(np.prod(CONFIGS[config_name][0]))
  bits_per_dim = -total_log_prob / (count * dimensions * np.log(2.))
  return dict(config=config_name, model=model_name,
              params=num_parameters(distribution), minutes=minutes,
              steps=steps, images=steps * batch_size,
              bits_per_dim=float(bits_per_dim))


def pipeline_rate(config_name, data_dir, batch_size, repeats):
  """Images/s of the training input pipeline, or None without the data."""
  dataset = build_dataset(config_name, 'train', data_dir, batch_size)
  if dataset is None:
    return None
  iterator = iter(dataset.repeat())
  batches = 50

  def consume():
    for _ in range(batches):
      next(iterator)

  _, times = _timed(consume, repeats)
  return _rate(batches * batch_size, times)


def _in_subprocess(*flag_values):
  """Runs this file with `flag_values`; returns the JSON it prints last."""
  command = [sys.executable, os.path.abspath(__file__), *flag_values,
             f'--batch_size={FLAGS.batch_size}', f'--repeats={FLAGS.repeats}',
             '--inference_inter_op_threads='
             f'{FLAGS.inference_inter_op_threads}',
             f'--data_dir={FLAGS.data_dir}',
             f'--learning_rate={FLAGS.learning_rate}',
             f'--quality_minutes={FLAGS.quality_minutes}']
  result = subprocess.run(command, capture_output=True, text=True,
                          check=False)
  if result.returncode != 0:
    raise RuntimeError(f'{command} failed:\n{result.stderr[-3000:]}')
  return json.loads(result.stdout.strip().splitlines()[-1])


def cpu_description():
  """The CPU's model and the flags that set its float32/bfloat16 rates."""
  from tfp_realnvp.app import precision  # pylint: disable=g-import-not-at-top
  model = platform.processor() or 'unknown'
  if os.path.exists('/proc/cpuinfo'):
    with open('/proc/cpuinfo', encoding='utf-8', errors='replace') as f:
      for line in f:
        if line.lower().startswith('model name'):
          model = line.partition(':')[2].strip()
          break
  flags_present = precision.cpu_flags()
  wanted = ('avx2', 'fma', 'avx512f', 'avx512_vnni') + (
      precision.CPU_BFLOAT16_FLAGS + ('amx_tile', 'amx_int8'))
  present = [f for f in wanted if f in flags_present]
  absent = [f for f in wanted if f not in flags_present]
  return (f'{model}; flags {", ".join(present) or "none"}; without '
          f'{", ".join(absent) or "none"}')


def _span(rate):
  median, low, high = rate
  return f'{median:.3g} ({low:.3g}-{high:.3g})'


def _gflops(row, phase, passes):
  return row[phase][0] * row['flops'] * passes / 1e9


def _phase_ceiling(row, phase):
  return row['train_ceiling' if phase == 'train' else 'inference_ceiling']


def _table(columns, rows):
  return (['| ' + ' | '.join(columns) + ' |',
           '| ' + ' | '.join('---' for _ in columns) + ' |'] +
          ['| ' + ' | '.join(cells) + ' |' for cells in rows])


def report(ceilings, rows, pipelines, qualities, command):
  """The results as Markdown."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  inference_threads = (
      f'{FLAGS.inference_inter_op_threads} inter-op thread(s)'
      if FLAGS.inference_inter_op_threads else
      'TensorFlow\'s choice of inter-op threads')
  lines = [
      f'Command: `{command}`',
      '',
      f'Machine: {platform.platform()}, {os.cpu_count()} CPU cores, '
      f'TensorFlow {tf.__version__}, batch {FLAGS.batch_size}, median of '
      f'{FLAGS.repeats} timed runs after a warm-up (min-max); evaluation '
      f'and sampling with {inference_threads}.',
      '',
      f'CPU: {cpu_description()}.',
      '',
  ]
  ceiling_rows = [
      (f'{name} {dtype}, start of run',
       _span((values['gflops'], values['low'], values['high'])))
      for dtype, by_name in ceilings.items()
      for name, values in by_name.items()]
  for dtype in ceilings:
    per_process = [row[key] for row in rows if row['precision'] == dtype
                   for key in ('train_ceiling', 'inference_ceiling')]
    if per_process:
      ceiling_rows.append((
          f'conv3x3 {dtype}, in each of the {len(per_process)} measuring '
          'processes', _span((statistics.median(per_process),
                              min(per_process), max(per_process)))))
    per_process = [row['train_conv_ceiling'] for row in rows
                   if row['precision'] == dtype
                   and 'train_conv_ceiling' in row]
    if per_process:
      ceiling_rows.append((
          f'conv3x3_train {dtype}, in each of the {len(per_process)} training '
          'processes', _span((statistics.median(per_process),
                              min(per_process), max(per_process)))))
  lines += _table(('ceiling', 'GFLOP/s'), ceiling_rows)
  model_rows = []
  for row in rows:
    cells = [row['config'], row['model'], row['jit'], row['precision'],
             f'{row["params"]:,}',
             f'{row["flops"] / 1e9:.3g}',
             f'{row["log_prob_flops"] / 1e9:.3g}',
             f'{row["train_ceiling"]:.3g}, {row["inference_ceiling"]:.3g}']
    for phase, passes in PHASES:
      gflops = _gflops(row, phase, passes)
      cells += [_span(row[phase]), f'{gflops:.3g}',
                f'{100. * gflops / _phase_ceiling(row, phase):.0f}%']
      if phase == 'train':
        cells.append(f'{100. * gflops / row["train_conv_ceiling"]:.0f}%')
    cells += [f'{row["first_step"]:.1f}', f'{row["peak_mb"]:.0f}']
    model_rows.append(cells)
  lines += [''] + _table(COLUMNS, model_rows)
  ratio_rows = []
  for row in rows:
    # Glow's float32 row is the peer of each of ours.
    peers = [r for r in rows if r['model'] == 'glow' and
             (r['config'], r['jit']) == (row['config'], row['jit'])]
    if row['model'] != 'ours' or not peers:
      continue
    peer = peers[0]
    cells = [row['config'], row['jit'], row['precision'],
             f'{row["train"][0] / peer["train"][0]:.2f}']
    cells += [
        f'{_gflops(row, phase, passes) / _gflops(peer, phase, passes):.2f}'
        for phase, passes in PHASES]
    ratio_rows.append(cells)
  if ratio_rows:
    lines += [''] + _table(RATIO_COLUMNS, ratio_rows)
  pipeline_rows = []
  for config_name, rate in pipelines.items():
    training = max((r['train'][0] for r in rows
                    if r['config'] == config_name), default=None)
    if rate is None or not training:
      pipeline_rows.append((config_name, 'no data', '-', '-'))
    else:
      pipeline_rows.append((config_name, _span(rate), f'{training:.3g}',
                            f'{rate[0] / training:.0f}x'))
  lines += [''] + _table(('config', 'input pipeline img/s',
                          'fastest training img/s', 'ratio'), pipeline_rows)
  if qualities:
    lines += [''] + _table(QUALITY_COLUMNS, [
        (q['config'], q['model'], f'{q["params"]:,}', f'{q["minutes"]:g}',
         str(q['steps']), f'{q["images"]:,}', f'{q["bits_per_dim"]:.3f}')
        for q in qualities])
  return '\n'.join(lines) + '\n'


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if FLAGS.single:
    config_name, model_name, jit, phases, precision = FLAGS.single.split(',')
    if phases == 'inference' and FLAGS.inference_inter_op_threads:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      tf.config.threading.set_inter_op_parallelism_threads(
          FLAGS.inference_inter_op_threads)
    print(json.dumps(measure(config_name, model_name, jit == 'on',
                             FLAGS.batch_size, FLAGS.repeats, phases,
                             precision)))
    return
  if FLAGS.single_quality:
    config_name, model_name = FLAGS.single_quality.split(',')
    print(json.dumps(quality(config_name, model_name, FLAGS.quality_minutes,
                             FLAGS.batch_size, FLAGS.data_dir,
                             FLAGS.learning_rate)))
    return
  unknown = set(FLAGS.configs + [FLAGS.quality_config]) - set(CONFIGS)
  if unknown or set(FLAGS.models) - {'ours', 'glow'} or (
      set(FLAGS.jit) - {'on', 'off'}) or (
          set(FLAGS.precisions) - {'float32', 'bfloat16'}):
    raise app.UsageError(
        'Unknown --configs, --quality_config, --models, --jit or --precisions '
        f'values: {FLAGS.configs}, {FLAGS.quality_config}, {FLAGS.models}, '
        f'{FLAGS.jit}, {FLAGS.precisions}.')
  if FLAGS.quality_minutes < 0:
    raise app.UsageError('--quality_minutes must be >= 0.')
  tiny = FLAGS.configs == ['tiny']
  ceilings = {dtype: ceiling(FLAGS.repeats, tiny, dtype=dtype)
              for dtype in ['float32'] + [p for p in FLAGS.precisions
                                          if p != 'float32']}
  rows = []
  for config_name in FLAGS.configs:
    for model_name in FLAGS.models:
      for jit in FLAGS.jit:
        for precision in (FLAGS.precisions if model_name == 'ours'
                          else ['float32']):
          rows.append(model_row(config_name, model_name, jit == 'on',
                                precision))
          print(json.dumps(rows[-1]), flush=True)
  pipelines = {name: pipeline_rate(name, FLAGS.data_dir, FLAGS.batch_size,
                                   FLAGS.repeats)
               for name in FLAGS.configs}
  qualities = []
  if FLAGS.quality_minutes > 0:
    for model_name in FLAGS.models:
      if FLAGS.isolate:
        qualities.append(_in_subprocess(
            f'--single_quality={FLAGS.quality_config},{model_name}'))
      else:
        qualities.append(quality(FLAGS.quality_config, model_name,
                                 FLAGS.quality_minutes, FLAGS.batch_size,
                                 FLAGS.data_dir, FLAGS.learning_rate))
      print(json.dumps(qualities[-1]), flush=True)
  command = 'python bench/benchmark.py ' + ' '.join([
      f'--{name}={",".join(value) if isinstance(value, list) else value}'
      for name, value in (('configs', FLAGS.configs), ('models', FLAGS.models),
                          ('jit', FLAGS.jit), ('precisions', FLAGS.precisions),
                          ('batch_size', FLAGS.batch_size),
                          ('repeats', FLAGS.repeats),
                          ('inference_inter_op_threads',
                           FLAGS.inference_inter_op_threads),
                          ('quality_config', FLAGS.quality_config),
                          ('quality_minutes', FLAGS.quality_minutes),
                          ('learning_rate', FLAGS.learning_rate))])
  text = report(ceilings, rows, pipelines, qualities, command)
  publish(text, FLAGS.output)


if __name__ == '__main__':
  define_flags()
  app.run(main)
