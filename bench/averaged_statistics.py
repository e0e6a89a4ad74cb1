"""The cost of the averaged weights' own batch-norm statistics, beside a step.

  python bench/averaged_statistics.py                      # mnist, batch 64
  python bench/averaged_statistics.py --config=tiny --steps=4 --repeats=1

A `FlowModel` with a Polyak average trains --warm_steps (tracing included),
then times a training step (median over --repeats runs of --steps steps) and
one computation of the averaged weights' statistics on --batches training
batches (its pass traced once before, as a run keeps it). It reports the
computation in steps and as a share of an epoch of --epoch_steps steps (a
run computes them once an epoch, before validation), and what the other way
would cost: a second set of moving averages kept under the averaged weights
needs one more forward pass in training mode every step, the computation's
time per batch over a step's.
"""

import json
import os
import statistics
import sys
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS


def define_flags():
  flags.DEFINE_string('config', 'mnist',
                      f'Configuration: {sorted(benchmark.CONFIGS)}.')
  flags.DEFINE_integer('batch_size', 64, 'Images per step.')
  flags.DEFINE_integer('batches', 16, 'Batches a computation of the '
                       'statistics reads (--averaged_statistics_batches).')
  flags.DEFINE_integer('warm_steps', 5, 'Steps before timing.')
  flags.DEFINE_integer('steps', 20, 'Steps per timed run.')
  flags.DEFINE_integer('repeats', 3, 'Timed runs of each.')
  flags.DEFINE_integer('epoch_steps', 844, 'Steps an epoch (MNIST: 54,000 '
                       'training images at batch 64).')
  flags.DEFINE_string('output', None, 'Also write the Markdown here.')


def measure():
  """Seconds per training step and per computation of the statistics."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_keras  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top

  shape = benchmark.CONFIGS[FLAGS.config][0]
  tf_keras.utils.set_random_seed(0)
  flow = benchmark.build_model(FLAGS.config, 'ours')
  model = tfp_realnvp.FlowModel(flow, polyak_decay=0.999,
                                averaged_statistics_batches=FLAGS.batches)
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
  pixels = tf.random.stateless_uniform((8 * FLAGS.batch_size,) + shape,
                                       [0, 1], 0., 256.)
  dataset = tf.data.Dataset.from_tensor_slices(pixels).batch(
      FLAGS.batch_size, drop_remainder=True).repeat()
  model.fit(dataset, epochs=1, steps_per_epoch=FLAGS.warm_steps, verbose=0)
  model.recompute_averaged_statistics()  # Traces the pass.
  step_seconds, pass_seconds = [], []
  for _ in range(FLAGS.repeats):
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=FLAGS.steps, verbose=0)
    step_seconds.append((time.perf_counter() - start) / FLAGS.steps)
    start = time.perf_counter()
    model.recompute_averaged_statistics()
    pass_seconds.append(time.perf_counter() - start)
  return statistics.median(step_seconds), statistics.median(pass_seconds)


def main(argv):
  del argv
  step, computation = measure()
  per_batch = computation / FLAGS.batches
  row = dict(config=FLAGS.config, batch_size=FLAGS.batch_size,
             step_seconds=step, computation_seconds=computation,
             batches=FLAGS.batches, computation_in_steps=computation / step,
             share_of_an_epoch=computation / (step * FLAGS.epoch_steps),
             second_averages_share_of_a_step=per_batch / step)
  print(json.dumps(row))
  command = 'python bench/averaged_statistics.py ' + ' '.join(
      f'--{name}={FLAGS[name].value}' for name in
      ('config', 'batch_size', 'batches', 'warm_steps', 'steps', 'repeats',
       'epoch_steps'))
  text = '\n'.join([
      f'Command: `{command}`', '',
      f'CPU: {benchmark.cpu_description()}.', '',
      '| config | batch | training step | statistics on N batches | in steps '
      '| share of an epoch | a second set of averages: share of every step |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      f'| {FLAGS.config} | {FLAGS.batch_size} | {step * 1e3:.0f} ms | '
      f'{computation:.2f} s (N = {FLAGS.batches}) | '
      f'{computation / step:.1f} | '
      f'{100 * row["share_of_an_epoch"]:.2f}% of {FLAGS.epoch_steps} steps | '
      f'{100 * row["second_averages_share_of_a_step"]:.0f}% |'])
  benchmark.publish(text, FLAGS.output)


if __name__ == '__main__':
  define_flags()
  app.run(main)
