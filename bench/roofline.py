"""A GPU roofline on paper from the model's measured FLOPs and bytes per image.

  python bench/roofline.py                     # cifar10, float32 and bfloat16
  python bench/roofline.py --configs=tiny --batch_size=4

No GPU runs here: TensorFlow traces the model on this machine and the graph
gives, per image, the FLOPs (TF's profiler count of the sampling pass, every
shift/log-scale network once, as bench/benchmark.py counts them) and the
bytes every op writes (static output shapes of the traced `log_prob` at
--batch_size, in the dtype each op computes in, plus the variables read once
per batch). Traffic assumes each written tensor is read once more (TF's
graph without fusion; XLA fuses element-wise ops and moves less), and a
training step as 3 passes of both. The GPU's peaks come from its data sheet
(`GPUS`); attainable = min(peak, intensity x bandwidth).
"""

import json
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS

# Dense (no sparsity) peaks, TFLOP/s, and memory bandwidth, GB/s.
GPUS = {
    # NVIDIA A100 Tensor Core GPU data sheet (SXM4 80GB): FP32 19.5,
    # BF16 Tensor Core 312, HBM2e 2,039 GB/s.
    'A100-SXM4-80GB': dict(float32=19.5, bfloat16=312., bandwidth=2039.),
    # NVIDIA H100 data sheet (SXM5): FP32 67, BF16 Tensor Core 989,
    # HBM3 3.35 TB/s.
    'H100-SXM5': dict(float32=67., bfloat16=989., bandwidth=3350.),
}
TRAINING_PASSES = 3


def define_flags():
  flags.DEFINE_list('configs', ['cifar10'],
                    f'Configurations: {sorted(benchmark.CONFIGS)}.')
  flags.DEFINE_list('precisions', ['float32', 'bfloat16'], 'Precisions.')
  flags.DEFINE_integer('batch_size', 64, 'Images per traced batch.')
  flags.DEFINE_string('output', None, 'Also write the Markdown here.')


def bytes_per_image(distribution, shape, batch_size):
  """Bytes the traced `log_prob` writes per image, and its variables'."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top

  def log_prob(x):
    with tfp_realnvp.training_mode(False):
      return distribution.log_prob(x)

  graph = tf.function(log_prob).get_concrete_function(
      tf.TensorSpec((batch_size,) + shape, tf.float32)).graph
  written = 0
  for op in graph.get_operations():
    if op.type in ('Const', 'Placeholder', 'VarHandleOp', 'NoOp', 'Identity',
                   'ReadVariableOp', 'Shape', 'Reshape'):
      continue  # No data written (views, handles, shapes) or weights.
    for output in op.outputs:
      if output.shape.is_fully_defined() and output.dtype.size:
        written += output.shape.num_elements() * output.dtype.size
  weights = sum(int(np.prod(v.shape)) * v.dtype.size
                for v in distribution.variables)
  return written / batch_size, weights


def analyse(config_name, precision):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  shape = benchmark.CONFIGS[config_name][0]
  distribution = benchmark.build_model(
      config_name, 'ours',
      compute_dtype=None if precision == 'float32' else precision)

  def one_sample(seed):
    with tfp_realnvp.training_mode(False):
      return distribution.sample(1, seed=seed)

  flops = benchmark.graph_flops(
      one_sample, tf.TensorSpec([2], tf.int32))
  written, weights = bytes_per_image(distribution, shape, FLAGS.batch_size)
  traffic = 2 * written + weights / FLAGS.batch_size
  return dict(config=config_name, precision=precision, flops=flops,
              written=written, weights=weights, traffic=traffic,
              intensity=flops / traffic)


def report(rows):
  lines = ['| config | precision | GFLOP/img (one pass) | MB written/img | '
           'MB moved/img | FLOP/byte | GPU | peak TFLOP/s | ridge FLOP/byte | '
           'bound | training img/s attainable |',
           '| --- |' + ' --- |' * 10]
  for row in rows:
    for gpu, spec in GPUS.items():
      peak = spec[row['precision']] * 1e12
      bandwidth = spec['bandwidth'] * 1e9
      attainable = min(peak, row['intensity'] * bandwidth)
      bound = 'compute' if attainable == peak else 'memory'
      rate = attainable / (TRAINING_PASSES * row['flops'])
      lines.append(
          f'| {row["config"]} | {row["precision"]} | '
          f'{row["flops"] / 1e9:.3g} | {row["written"] / 1e6:.3g} | '
          f'{row["traffic"] / 1e6:.3g} | {row["intensity"]:.3g} | {gpu} | '
          f'{peak / 1e12:g} | {peak / bandwidth:.3g} | {bound} | '
          f'{rate:,.0f} |')
  return '\n'.join(lines) + '\n'


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  rows = []
  for config_name in FLAGS.configs:
    for precision in FLAGS.precisions:
      rows.append(analyse(config_name, precision))
      print(json.dumps(rows[-1]), flush=True)
  text = (f'Command: `python bench/roofline.py --configs='
          f'{",".join(FLAGS.configs)} --precisions='
          f'{",".join(FLAGS.precisions)} --batch_size={FLAGS.batch_size}`\n\n'
          + report(rows))
  benchmark.publish(text, FLAGS.output)


if __name__ == '__main__':
  define_flags()
  app.run(main)
