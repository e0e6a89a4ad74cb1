"""Where a training step's time goes: TF's profiler, op time by kind.

  python bench/step_profile.py --config=cifar10 --precisions=float32,bfloat16
  python bench/step_profile.py --config=tiny --steps=1
  python bench/step_profile.py --config=cifar10 --phase=sample

For each precision, in one process: our model's training step as `fit` runs
it (one traced step, a dataset iterator, bin/train.py's optimizer), two
untimed steps, then --steps steps traced by TF's profiler. Each op's time on
the CPU is summed by kind: the convolutions (forward, gradient for the input,
gradient for the kernel), the networks' batch norms, ReLUs, casts between
precisions, the weight normalization, the optimizer and gradient clipping,
and everything else. Ops run concurrently on the inter-op threads, so op time
exceeds wall time; the table gives each kind's share of op time and the wall
time per step beside it (traced, and without the profiler). Then the step's
own convolutions alone: every convolution of the model, read from its traced
graph, run forward and backward on tensors of the same shapes and dtypes in
one `tf.function`, and that time as a share of the step's: how close the step
comes to TF's convolution rate on its own shapes. The untraced steps and the
convolutions alone run in turn, --steps rounds of each, and the share is the
median of the rounds' ratios: the machine's speed drifts by up to 10% within
a minute, which two timings minutes apart would read as the step's.
"""

import collections
import glob
import os
import re
import statistics
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS

# (kind, test on the op's type and name), first match wins.
KINDS = (
    ('convolution: kernel gradient', lambda t, n: 'Conv2DBackpropFilter' in t),
    ('convolution: input gradient', lambda t, n: 'Conv2DBackpropInput' in t),
    ('convolution: forward', lambda t, n: 'Conv2D' in t),
    ('batch norm (networks)', lambda t, n: 'FusedBatchNorm' in t),
    ('batch norm moving averages', lambda t, n: 'moving_statistics' in n),
    ('weight normalization', lambda t, n: 'weight_norm' in n or
     'l2_normalize' in n or re.search(
        r'layer\d*/mul|/(input|output|context)/mul', n) is not None),
    ('optimizer and clipping', lambda t, n: 'Adam' in t or 'L2Loss' in t or
     'clip_by_global_norm' in n or 'Adam' in n),
    ('ReLU and its gradient', lambda t, n: t in ('Relu', 'ReluGrad')),
    ('casts', lambda t, n: t == 'Cast'),
    ('variable reads and writes', lambda t, n: 'VariableOp' in t),
    ('other', lambda t, n: True),
)
# Profiler events that enclose ops rather than being one: a function call,
# its executor ('ExecutorState::Process'), the iterator.
_ENCLOSING = re.compile(r'^__inference|:$')
_OP_TYPE = re.compile(r'^_?[A-Z][A-Za-z0-9]*$')
PHASES = ('train', 'sample')
# What one profiled call is, in the table's words.
_CALL = {'train': 'step', 'sample': 'sampling pass'}


def define_flags():
  flags.DEFINE_string('config', 'cifar10',
                      f'Configuration: {sorted(benchmark.CONFIGS)}.')
  flags.DEFINE_list('precisions', ['float32', 'bfloat16'],
                    'Compute dtypes to profile.')
  flags.DEFINE_integer('batch_size', 64, 'Images per step.')
  flags.DEFINE_enum('phase', 'train', PHASES, 'What to profile: `fit`\'s '
                    'training step, or sampling a batch in evaluation mode.')
  flags.DEFINE_integer('steps', 3, 'Profiled steps, and rounds of an '
                       'untraced step and the convolutions alone.')
  flags.DEFINE_integer('inter_op_threads', 0, 'Ops run at once (0: TF\'s '
                       'default, one per core); each op still uses every '
                       'core.')
  flags.DEFINE_integer('intra_op_threads', 0, 'Threads per op (0: TF\'s '
                       'default, every core).')
  flags.DEFINE_list('float32_parts', None, 'The parts of a bfloat16 '
                    'network kept in float32 (`networks.FLOAT32_PARTS`; '
                    'unset: the library\'s default).')
  flags.DEFINE_string('output', None, 'Also write the Markdown here.')


def op_times(trace_dir):
  """{(op type, op name): seconds} over a profiler trace's CPU planes."""
  from tfp_realnvp import compat  # pylint: disable=g-import-not-at-top
  (path,) = glob.glob(os.path.join(trace_dir, '**', '*.xplane.pb'),
                      recursive=True)
  space = compat.profiler_trace()
  with open(path, 'rb') as f:
    space.ParseFromString(f.read())
  times = collections.Counter()
  for plane in space.planes:
    if not plane.name.startswith('/host:CPU'):
      continue
    for line in plane.lines:
      for event in line.events:
        name = plane.event_metadata[event.metadata_id].name
        op_name, _, op_type = name.rpartition(':')
        if (op_name and _OP_TYPE.match(op_type)
            and not _ENCLOSING.search(op_name)):
          times[(op_type, op_name)] += event.duration_ps / 1e12
  return times


def timed_call(function):
  """Wall seconds of one call of `function`, its result read back."""
  start = time.perf_counter()
  function().numpy()
  return time.perf_counter() - start


def sample_in_evaluation_mode(distribution, batch_size):
  """A batch of samples in evaluation mode, as the benchmarks time it."""
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  with tfp_realnvp.training_mode(False):
    return distribution.sample(batch_size, seed=[1, 2])


def convolutions_alone(distribution, batch_size, phase='train'):
  """A function running the step's convolutions and nothing else, warmed up.

  The 3x3 (and other) convolutions of one training step, read from the
  traced `log_prob` graph: each forward with the gradients for its input and
  kernel, as a step computes them, on random tensors of the same shapes and
  dtype, all in one `tf.function`. Its time over the step's is the share of
  TF's own convolution rate on the model's shapes that the step reaches.
  With `phase='sample'`, those of a sampling pass, read from its graph, each
  forward only.

  Returns:
    The function (traced and run once) and the number of convolutions.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  shape = (batch_size,) + tuple(distribution.event_shape)

  def log_prob(x):
    with tfp_realnvp.training_mode(True):
      return distribution.log_prob(x)

  if phase == 'train':
    graph = tf.function(log_prob).get_concrete_function(
        tf.TensorSpec(shape, tf.float32)).graph
  else:
    graph = tf.function(lambda: sample_in_evaluation_mode(
        distribution, batch_size)).get_concrete_function().graph
  counts = collections.Counter()
  for op in graph.get_operations():
    if op.type == 'Conv2D':
      counts[(tuple(op.inputs[0].shape), tuple(op.inputs[1].shape),
              op.inputs[0].dtype, op.get_attr('padding'))] += 1
  tensors = [
      (tf.random.normal(x_shape, dtype=dtype),
       tf.random.normal(k_shape, dtype=dtype),
       tf.random.normal(x_shape[:-1] + k_shape[-1:], dtype=dtype), padding,
       count)
      for (x_shape, k_shape, dtype, padding), count in counts.items()]

  @tf.function
  def run():
    total = tf.constant(0.)
    for x, k, output_gradient, padding, count in tensors:
      for _ in tf.range(count):
        with tf.GradientTape() as tape:
          tape.watch([x, k])
          y = tf.nn.conv2d(x, k, 1, padding.decode())
        if phase == 'train':
          for t in tape.gradient(y, [x, k],
                                 output_gradients=output_gradient):
            total += tf.cast(tf.reduce_sum(t[:1, :1]), tf.float32)
        total += tf.cast(tf.reduce_sum(y[:1, :1]), tf.float32)
    return total

  run().numpy()
  return run, sum(counts.values())


def profile(config_name, precision, batch_size, steps, phase='train'):
  """(median wall seconds per step, the same under the profiler,
  {kind: op seconds per step}, {op type: ...}, (median seconds of the
  convolutions alone, their number), median of the rounds' alone / step).

  With `phase='sample'`, a step is a sampling pass.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  distribution = benchmark.build_model(
      config_name, 'ours',
      compute_dtype=None if precision == 'float32' else precision)
  if phase == 'train':
    model = tfp_realnvp.FlowModel(distribution)
    model.compile(optimizer=benchmark.optimizer(1e-4))
    shape = benchmark.CONFIGS[config_name][0]
    pixels = tf.random.uniform((batch_size,) + shape, 0., 256., seed=0)
    batches = iter(tf.data.Dataset.from_tensors(pixels).repeat())
    train_function = model.make_train_function()
    step = lambda: train_function(batches)['loss']
  else:
    step = tf.function(
        lambda: sample_in_evaluation_mode(distribution, batch_size))
  for _ in range(2):
    step().numpy()
  alone, count = convolutions_alone(distribution, batch_size, phase)
  # A step and the convolutions alone in turn, so each ratio is of two
  # timings a few seconds apart: the machine's speed drifts by up to 10%
  # within a minute, which timings minutes apart would read as the step's.
  untraced, alone_times = [], []
  for _ in range(steps):
    untraced.append(timed_call(step))
    alone_times.append(timed_call(alone))
  with tempfile.TemporaryDirectory() as trace_dir:
    tf.profiler.experimental.start(trace_dir)
    start = time.perf_counter()
    for _ in range(steps):
      step().numpy()
    wall = (time.perf_counter() - start) / steps
    tf.profiler.experimental.stop()
    times = op_times(trace_dir)
  by_kind, by_type = collections.Counter(), collections.Counter()
  for (op_type, op_name), seconds in times.items():
    kind = next(k for k, test in KINDS if test(op_type, op_name))
    by_kind[kind] += seconds / steps
    by_type[op_type] += seconds / steps
  return (statistics.median(untraced), wall, by_kind, by_type,
          (statistics.median(alone_times), count),
          statistics.median(a / u for a, u in zip(alone_times, untraced)))


def report(config_name, results, command, phase='train'):
  """The results as Markdown; `phase` names what one call is."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  lines = [f'Command: `{command}`', '',
           f'CPU: {benchmark.cpu_description()}; TensorFlow {tf.__version__}; '
           f'{os.cpu_count()} cores.', '']
  precisions = list(results)
  call = _CALL[phase]
  lines += ['| kind | ' + ' | '.join(
      f'{p} ms/{call} (share)' for p in precisions) + ' |',
            '| --- |' + ' --- |' * len(precisions)]
  for kind, _ in KINDS:
    cells = []
    for p in precisions:
      by_kind = results[p][2]
      total = sum(by_kind.values())
      share = 100 * by_kind[kind] / total
      cells.append(f'{1e3 * by_kind[kind]:.1f} ({share:.1f}%)')
    lines.append(f'| {kind} | ' + ' | '.join(cells) + ' |')
  rows = {name: [] for name in (
      'all ops (op time)', 'convolutions\' share of op time',
      f'wall time per {call}, traced (ms)',
      f'wall time per {call}, median (ms)',
      'the same convolutions alone, median (ms)',
      f'{call} at TF\'s convolution rate (median of the rounds)')}
  for p in precisions:
    step, traced, by_kind, _, (alone, count), rate_share = results[p]
    share = sum(v for k, v in by_kind.items() if k.startswith('convolution'))
    for name, cell in zip(rows, (
        f'{1e3 * sum(by_kind.values()):.0f}',
        f'{100 * share / sum(by_kind.values()):.1f}%',
        f'{1e3 * traced:.0f}', f'{1e3 * step:.0f}',
        f'{1e3 * alone:.0f} ({count} convolutions)',
        f'{100 * rate_share:.0f}%')):
      rows[name].append(cell)
  lines += [f'| {name} | ' + ' | '.join(cells) + ' |'
            for name, cells in rows.items()] + ['']
  lines += [f'Busiest op types ({config_name}, ms of op time per {call}):',
            '']
  for p in precisions:
    by_type = results[p][3]
    lines.append(f'- {p}: ' + ', '.join(
        f'{t} {1e3 * s:.1f}' for t, s in by_type.most_common(12)))
  return '\n'.join(lines) + '\n'


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if FLAGS.config not in benchmark.CONFIGS or not set(FLAGS.precisions) <= {
      'float32', 'bfloat16'}:
    raise app.UsageError(f'Unknown --config or --precisions: {FLAGS.config}, '
                         f'{FLAGS.precisions}.')
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from tfp_realnvp import networks  # pylint: disable=g-import-not-at-top
  unknown_parts = (set(FLAGS.float32_parts or ())
                   - set(networks.FLOAT32_PART_NAMES))
  if unknown_parts:
    raise app.UsageError(f'Unknown --float32_parts {sorted(unknown_parts)}; '
                         f'the parts are {networks.FLOAT32_PART_NAMES}.')
  if FLAGS.inter_op_threads:
    tf.config.threading.set_inter_op_parallelism_threads(
        FLAGS.inter_op_threads)
  if FLAGS.intra_op_threads:
    tf.config.threading.set_intra_op_parallelism_threads(
        FLAGS.intra_op_threads)
  if FLAGS.float32_parts is not None:
    networks.FLOAT32_PARTS = frozenset(FLAGS.float32_parts)
  results = {p: profile(FLAGS.config, p, FLAGS.batch_size, FLAGS.steps,
                       FLAGS.phase)
             for p in FLAGS.precisions}
  command = (f'python bench/step_profile.py --config={FLAGS.config} '
             f'--precisions={",".join(FLAGS.precisions)} '
             f'--batch_size={FLAGS.batch_size} --steps={FLAGS.steps}')
  if FLAGS.phase != 'train':
    command += f' --phase={FLAGS.phase}'
  if FLAGS.inter_op_threads:
    command += f' --inter_op_threads={FLAGS.inter_op_threads}'
  if FLAGS.intra_op_threads:
    command += f' --intra_op_threads={FLAGS.intra_op_threads}'
  if FLAGS.float32_parts is not None:
    command += f' --float32_parts={",".join(FLAGS.float32_parts)}'
  text = report(FLAGS.config, results, command, FLAGS.phase)
  benchmark.publish(text, FLAGS.output)


if __name__ == '__main__':
  define_flags()
  app.run(main)
