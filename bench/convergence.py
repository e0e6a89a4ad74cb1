"""Quality per compute: MNIST test bits/dim against training time, side by side.

  python bench/convergence.py                       # 10 and 60 minutes
  python bench/convergence.py --minutes=0.2 --eval_every_minutes=0.1 \
      --config=tiny --test_examples=64             # a smoke run

Trains each arm in its own process, all arms at once (so they share the
machine equally and see the same drift of its speed), for the largest of
--minutes of wall clock, tracing included; each arm's clock stops while it
evaluates. Every --eval_every_minutes it scores the first --curve_examples
test images, and at each of --minutes the whole test split (or
--test_examples), with the raw weights and, for an arm with Polyak averaging,
the averaged ones. The arms:

  defaults  our model with bin/train.py's defaults (`TrainConfig()`)
  previous  our model with the defaults before issue #17: Adam 1e-3, constant,
            no warm-up, no averaging
  glow      TFP's `tfb.Glow` (the speed benchmark's peer), Adam 1e-3

An extra arm is `name=ours:setting=value:...` (settings of `TrainConfig`:
learning_rate, warmup_steps, decay, decay_steps, polyak_decay,
validation_split, train_minutes, decay_start, seed, dequantization,
mixed_precision), for
trying candidate defaults; and `nudge_ulps=n`, which moves every initial
weight n units in the last place: two arms of one seed that differ only so
measure how far rounding alone moves a run (the noise floor against which a
precision's difference at equal steps is read). An arm
with `train_minutes` is a budgeted run: it stops at its own budget (scored
there and at the --minutes before it) and a decay without `decay_steps` runs
over that budget, as `bin/train.py --train_minutes` does. `seed` seeds the
weights and the data order, for the run-to-run spread. Each arm of ours trains on
what bin/train.py would (`train[:90%]` with the carved validation split of
today's defaults, all of `train` before).  An arm with
`dequantization=variational` learns its noise `q(u | x)` and trains on the
uint8 images. With --dequantization_samples=K > 1, or any variational arm,
every arm is scored on the integer test images through its own `q` (one
draw on the curves); at each budget the averaged weights also get the
K-draw estimate, with standard errors. `mixed_precision=true|false|auto`
sets an arm's precision as bin/train.py does (`auto`, the default, decides
by the machine; the table says what it chose). --at_steps scores every arm
on the budget test set at the same step counts too, for comparing per step.
Writes a Markdown table (--output) and the curves as a PNG (--plot).
"""

import contextlib
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS

# The settings an arm may change, and the pre-#17 values of each.
PREVIOUS_DEFAULTS = dict(learning_rate=1e-3, warmup_steps=0, decay=None,
                         decay_steps=None, polyak_decay=0.,
                         validation_split='test', mixed_precision='false')
# Settings an arm may change that have no pre-#17 value.
ARM_ONLY_SETTINGS = dict(train_minutes=None, seed=0, decay_start=None,
                         dequantization='uniform')
# Settings of the arm's model, not of `TrainConfig`.
MODEL_SETTINGS = dict(nudge_ulps=0)
ARM_SETTINGS = {**PREVIOUS_DEFAULTS, **ARM_ONLY_SETTINGS, **MODEL_SETTINGS}
STANDARD_ARMS = {
    'defaults': ('ours', {}),
    'previous': ('ours', PREVIOUS_DEFAULTS),
    'glow': ('glow', PREVIOUS_DEFAULTS),
}


def define_flags():
  flags.DEFINE_list('arms', ['defaults', 'previous', 'glow'],
                    f'Arms to train: {sorted(STANDARD_ARMS)} or '
                    'name=ours:setting=value:...')
  flags.DEFINE_list('minutes', ['10', '60'],
                    'Budgets: the whole test split is scored at each.')
  flags.DEFINE_float('eval_every_minutes', 5., 'Curve points every so often.')
  flags.DEFINE_list('at_steps', [], 'Also score at these step counts (each '
                    'arm trains until it reaches the last, and the last '
                    '--minutes).')
  flags.DEFINE_integer('curve_examples', 2000,
                       'Test images scored at each curve point.')
  flags.DEFINE_integer('test_examples', None,
                       'Test images scored at the budgets (default: all).')
  flags.DEFINE_integer('dequantization_samples', 1,
                       'K: above 1, the K-draw estimate at each budget.')
  flags.DEFINE_string('config', 'mnist', 'Benchmark configuration.')
  flags.DEFINE_integer('batch_size', 64, 'Images per step.')
  flags.DEFINE_integer('threads', 0, 'Intra-op threads per arm (0: cores '
                       'shared out among the arms).')
  flags.DEFINE_string('data_dir', benchmark.DEFAULT_DATA_DIR,
                      'TFDS data directory.')
  flags.DEFINE_string('output', None, 'Also write the Markdown here.')
  flags.DEFINE_string('plot', None, 'Write the curves here (PNG).')
  flags.DEFINE_string('single', None, 'Internal: one arm, JSON.')


def parse_arm(spec):
  """`(name, model, settings)` of a standard arm or a `name=ours:k=v` one."""
  if spec in STANDARD_ARMS:
    return (spec,) + STANDARD_ARMS[spec]
  name, _, rest = spec.partition('=')
  model, *pairs = rest.split(':')
  if model not in ('ours', 'glow') or not name:
    raise app.UsageError(f'Cannot read arm {spec!r}.')
  settings = {}
  for pair in pairs:
    key, _, value = pair.partition('=')
    if key not in ARM_SETTINGS:
      raise app.UsageError(f'Arm setting {key!r} is not one of '
                           f'{sorted(ARM_SETTINGS)}.')
    if key in ('decay', 'validation_split', 'dequantization',
               'mixed_precision'):
      settings[key] = value  # A decay of 'none' is a constant rate.
    else:
      settings[key] = None if value == 'none' else float(value)
  return name, model, settings


def train_config(settings):
  """`TrainConfig()` with an arm's settings."""
  from tfp_realnvp.app import config as config_lib  # pylint: disable=g-import-not-at-top
  from tfp_realnvp.app import learning_rates  # pylint: disable=g-import-not-at-top
  config = config_lib.TrainConfig()
  settings = {k: v for k, v in settings.items() if k not in MODEL_SETTINGS}
  for key in ('warmup_steps', 'decay_steps', 'seed'):
    if settings.get(key) is not None:
      settings = dict(settings, **{key: int(settings[key])})
  return learning_rates.with_default_learning_rate(
      dataclasses.replace(config, **settings))


def nudge(variables, ulps):
  """Moves each value of `variables` `ulps` units in the last place up."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  for variable in variables:
    value = variable.numpy()
    for _ in range(ulps):
      value = np.nextafter(value, np.inf, dtype=value.dtype)
    variable.assign(value)


def run_arm(spec):
  """Trains one arm to the last budget; its curve and budget scores."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_keras  # pylint: disable=g-import-not-at-top
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  from tfp_realnvp import data  # pylint: disable=g-import-not-at-top
  from tfp_realnvp.app import config as config_lib  # pylint: disable=g-import-not-at-top
  from tfp_realnvp.app import learning_rates  # pylint: disable=g-import-not-at-top
  from tfp_realnvp.app import precision  # pylint: disable=g-import-not-at-top
  if FLAGS.threads:
    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
  name, model_name, settings = parse_arm(spec)
  config = train_config(settings)
  tf.random.set_seed(config.seed)
  # What the binary trains on: without a --validation_split it leaves out
  # the part it validates on.
  train_split = config_lib.splits(config)[0] if model_name == 'ours' else (
      'train')
  dataset_name = benchmark.CONFIGS[FLAGS.config][2]
  learns_noise = config.dequantization == 'variational'
  if dataset_name == 'digits':
    train = data.digits_dataset(train_split, FLAGS.batch_size,
                                seed=config.seed, dequantized=not learns_noise)
  elif os.path.isdir(os.path.join(FLAGS.data_dir, dataset_name)):
    train = data.image_dataset(
        dataset_name, train_split, FLAGS.data_dir, FLAGS.batch_size,
        download=False, seed=config.seed, dequantized=not learns_noise)
  else:
    raise ValueError(f'No {dataset_name} data in {FLAGS.data_dir} (see '
                     '--data_dir).')
  # Integer test images, each arm's own q draws the noise: scored alike.
  integer_scores = (FLAGS.dequantization_samples > 1 or any(
      parse_arm(arm)[2].get('dequantization') == 'variational'
      for arm in FLAGS.arms))
  test = benchmark.build_dataset(FLAGS.config, 'test', FLAGS.data_dir, 256,
                                 dequantized=not integer_scores)
  if FLAGS.test_examples:
    test = test.unbatch().take(FLAGS.test_examples).batch(256)
  curve_test = test.unbatch().take(FLAGS.curve_examples).batch(256).cache()
  choice = precision.choose_for(config.mixed_precision,
                                benchmark.CONFIGS[FLAGS.config][0])
  distribution = benchmark.build_model(
      FLAGS.config, model_name, **(
          dict(dequantization=config.dequantization,
               compute_dtype=choice.compute_dtype)
          if model_name == 'ours' else {}))
  nudge_ulps = int(settings.get('nudge_ulps') or 0)
  if nudge_ulps:
    nudge(distribution.trainable_variables, nudge_ulps)
  model = tfp_realnvp.FlowModel(distribution, l2_scale=config.l2_scale,
                                polyak_decay=config.polyak_decay or None)
  # A budgeted arm's decay runs over its budget: its clock is the share of
  # the training minutes spent, as `app.budget.TimeBudget` sets it.
  progress = tf.Variable(0., trainable=False)
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(
      learning_rates.learning_rate(config, progress)))
  dimensions = float(np.prod(benchmark.CONFIGS[FLAGS.config][0]))

  @tf.function
  def log_prob_sum(x):  # Traced again for a last, smaller batch.
    with tfp_realnvp.training_mode(False):
      return tf.reduce_sum(distribution.log_prob(x))

  def bits_per_dim(dataset):
    total, count = 0., 0
    for images in dataset:
      total += float(log_prob_sum(images))
      count += int(images.shape[0])
    return -total / (count * dimensions * np.log(2.))

  def integer_bits_per_dim(dataset, samples):
    estimate = tfp_realnvp.evaluate_discrete_bits_per_dim(
        distribution, dataset, samples=samples, seed=0)
    return estimate.single_draw_bits_per_dim, estimate

  def scores(dataset, samples=1):
    """One draw (raw and averaged); the K-draw estimate of the reported weights."""
    if not integer_scores:
      result = dict(raw=bits_per_dim(dataset))
      if model.polyak_averages:
        with model.averaged_weights():
          result['averaged'] = bits_per_dim(dataset)
      return result
    result = dict(raw=integer_bits_per_dim(dataset, 1)[0])
    with (model.averaged_weights() if model.polyak_averages
          else contextlib.nullcontext()):
      single, estimate = integer_bits_per_dim(dataset, samples)
    if model.polyak_averages:
      result['averaged'] = single
    result['single_standard_error'] = estimate.single_draw_standard_error
    if samples > 1:
      result.update(discrete=estimate.bits_per_dim,
                    discrete_standard_error=estimate.standard_error,
                    samples=samples)
    return result

  budgets = sorted(float(m) for m in FLAGS.minutes)
  if config.train_minutes:
    budgets = [m for m in budgets if m < config.train_minutes] + [
        config.train_minutes]
  curve_points = [FLAGS.eval_every_minutes * (i + 1) for i in range(
      int(budgets[-1] / FLAGS.eval_every_minutes + 1e-9))]
  marks = sorted(set(curve_points) | set(budgets))
  step_marks = sorted(int(n) for n in FLAGS.at_steps)
  curve, at_budgets, at_steps = [], [], []

  class Clock(tf_keras.callbacks.Callback):
    """Training time (tracing included), paused while scoring."""

    def on_train_begin(self, logs=None):
      self.start = time.perf_counter()
      self.paused = 0.

    def on_train_batch_end(self, batch, logs=None):
      minutes = (time.perf_counter() - self.start - self.paused) / 60.
      if config.train_minutes:
        progress.assign(min(1., minutes / config.train_minutes))
      while marks and minutes >= marks[0]:
        mark = marks.pop(0)
        pause_start = time.perf_counter()
        steps = int(self.model.optimizer.iterations.numpy())
        if mark in curve_points:
          curve.append(dict(minutes=mark, steps=steps, **scores(curve_test)))
        if mark in budgets:
          at_budgets.append(dict(minutes=mark, steps=steps, **scores(
              test, FLAGS.dequantization_samples)))
        print(json.dumps(dict(arm=name, minutes=mark, curve=curve[-1:],
                              budget=at_budgets[-1:])), file=sys.stderr,
              flush=True)
        self.paused += time.perf_counter() - pause_start
      steps = int(self.model.optimizer.iterations.numpy())
      while step_marks and steps >= step_marks[0]:
        step_marks.pop(0)
        pause_start = time.perf_counter()
        at_steps.append(dict(minutes=minutes, steps=steps, **scores(
            test, FLAGS.dequantization_samples)))
        print(json.dumps(dict(arm=name, at_steps=at_steps[-1])),
              file=sys.stderr, flush=True)
        self.paused += time.perf_counter() - pause_start
      if not marks and not step_marks:
        self.model.stop_training = True

  # Full batches only: TFP's Glow cannot trace an unknown batch size.
  train = train.unbatch().repeat().batch(FLAGS.batch_size,
                                         drop_remainder=True)
  model.fit(train, epochs=10 ** 9, steps_per_epoch=10, verbose=0,
            callbacks=[Clock()])
  settings = {k: getattr(config, k) for k in ARM_SETTINGS
              if k not in MODEL_SETTINGS}
  settings['nudge_ulps'] = nudge_ulps
  settings['train_split'] = train_split
  settings['precision'] = choice.name if model_name == 'ours' else 'float32'
  return dict(arm=name, model=model_name,
              params=benchmark.num_parameters(distribution),
              settings=settings,
              curve=curve, budgets=at_budgets, at_steps=at_steps)


def _threads_per_arm(num_arms):
  return FLAGS.threads or max(1, (os.cpu_count() or 1) // num_arms)


def run_side_by_side(specs):
  """Starts every arm's process at once; their results in `specs` order."""
  threads = _threads_per_arm(len(specs))
  cores = sorted(os.sched_getaffinity(0))
  processes = []
  for index, spec in enumerate(specs):
    command = [sys.executable, os.path.abspath(__file__), f'--single={spec}',
               f'--threads={threads}'] + [
                   f'--{key}={value}' for key, value in _shared_flags()]
    pin = None
    if len(specs) <= len(cores):  # A core of its own for each arm.
      core = {cores[index]}
      pin = lambda core=core: os.sched_setaffinity(0, core)
    processes.append((command, subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, preexec_fn=pin)))
  results = []
  for command, process in processes:
    stdout, _ = process.communicate()
    if process.returncode != 0:
      raise RuntimeError(f'{command} failed (its stderr is above).')
    results.append(json.loads(stdout.strip().splitlines()[-1]))
  return results


def _shared_flags():
  values = [('minutes', ','.join(FLAGS.minutes)),
            ('eval_every_minutes', FLAGS.eval_every_minutes),
            ('at_steps', ','.join(FLAGS.at_steps)),
            ('curve_examples', FLAGS.curve_examples),
            ('config', FLAGS.config), ('batch_size', FLAGS.batch_size),
            ('data_dir', FLAGS.data_dir)]
  if FLAGS.test_examples is not None:
    values.append(('test_examples', FLAGS.test_examples))
  if FLAGS.dequantization_samples > 1:
    values.append(('dequantization_samples', FLAGS.dequantization_samples))
  # Every arm decides from the whole list whether scores are of integers.
  values.append(('arms', ','.join(FLAGS.arms)))
  return values


def _describe(settings):
  parts = [f'Adam {settings["learning_rate"]:g}']
  if settings['warmup_steps']:
    parts.append(f'{settings["warmup_steps"]}-step warm-up')
  from tfp_realnvp.app import config as config_lib  # pylint: disable=g-import-not-at-top
  from tfp_realnvp.app import learning_rates  # pylint: disable=g-import-not-at-top
  # What the run uses: a budget decays unless told not to.
  decay, decay_start = learning_rates.budget_decay(config_lib.TrainConfig(
      decay=settings['decay'], decay_steps=settings['decay_steps'],
      decay_start=settings.get('decay_start'),
      train_minutes=settings.get('train_minutes')))
  if decay is None:
    if settings.get('train_minutes'):
      parts.append(f'constant rate, stops at {settings["train_minutes"]:g} min')
  elif settings['decay_steps']:
    parts.append(f'{decay} decay over {settings["decay_steps"]}')
  elif decay_start:
    parts.append(f'constant, then {decay} decay over the last '
                 f'{1 - decay_start:.0%} of {settings["train_minutes"]:g} min')
  else:
    parts.append(f'{decay} decay over {settings["train_minutes"]:g} min')
  parts.append(f'Polyak {settings["polyak_decay"]:g}'
               if settings['polyak_decay'] else 'no averaging')
  parts.append(f'trains on {settings["train_split"]}')
  if settings.get('seed'):
    parts.append(f'seed {settings["seed"]}')
  if settings.get('dequantization', 'uniform') != 'uniform':
    parts.append(f'{settings["dequantization"]} dequantization')
  if settings.get('precision', 'float32') != 'float32':
    parts.append(f'{settings["precision"]} networks')
  if settings.get('nudge_ulps'):
    parts.append(f'initial weights {settings["nudge_ulps"]} ulp up')
  return ', '.join(parts)


def _best(point):
  """The figure an arm reports: averaged weights when it has them."""
  return point.get('averaged', point['raw'])


def report(results, command, threads):
  """The results as Markdown."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  lines = [
      f'Command: `{command}`', '',
      f'Machine: {platform.platform()}, {os.cpu_count()} CPU cores, '
      f'TensorFlow {tf.__version__}. The {len(results)} arms trained at once, '
      f'{threads} intra-op thread(s) each; minutes are each arm\'s wall '
      'clock, tracing included, paused while it scored.', '',
      '| arm | model | settings | params | budget min | steps | '
      'test bits/dim (raw) | test bits/dim (averaged) | K-draw (averaged) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |']
  for result in results:
    for point in result['budgets']:
      discrete = '-'
      if 'discrete' in point:
        discrete = (f'{point["discrete"]:.3f} +- '
                    f'{point["discrete_standard_error"]:.3f} '
                    f'(K={point["samples"]})')
      lines.append(
          f'| {result["arm"]} | {result["model"]} | '
          f'{_describe(result["settings"])} | {result["params"]:,} | '
          f'{point["minutes"]:g} | {point["steps"]} | {point["raw"]:.3f} | '
          f'{point.get("averaged", float("nan")):.3f} | '
          f'{discrete} |'.replace('nan', '-'))
  lines += ['', f'Curve (first {FLAGS.curve_examples} test images; the '
            'averaged weights where an arm has them):', '',
            '| minutes | ' + ' | '.join(r['arm'] for r in results) + ' |',
            '| --- |' + ' --- |' * len(results)]
  for i, point in enumerate(results[0]['curve']):
    cells = [f'{_best(r["curve"][i]):.3f}' if i < len(r['curve']) else '-'
             for r in results]
    lines.append(f'| {point["minutes"]:g} | ' + ' | '.join(cells) + ' |')
  if FLAGS.at_steps:
    lines += ['', 'At equal steps (the budget test images; averaged '
              'weights, raw in brackets, and the arm\'s minutes):', '',
              '| steps | ' + ' | '.join(r['arm'] for r in results) + ' |',
              '| --- |' + ' --- |' * len(results)]
    for i, steps in enumerate(sorted(int(n) for n in FLAGS.at_steps)):
      cells = []
      for result in results:
        point = result['at_steps'][i]
        cells.append(f'{_best(point):.3f} ({point["raw"]:.3f}), '
                     f'{point["minutes"]:.1f} min')
      lines.append(f'| {steps} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def plot(results, path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  figure, axes = pyplot.subplots(figsize=(6, 4), dpi=100)
  for result in results:
    minutes = [p['minutes'] for p in result['curve']]
    axes.plot(minutes, [_best(p) for p in result['curve']], marker='o',
              label=f'{result["arm"]}: {_describe(result["settings"])}')
  axes.set_xlabel('training minutes (wall clock, side by side)')
  axes.set_ylabel(f'test bits/dim (first {FLAGS.curve_examples} images)')
  axes.grid(alpha=.3)
  axes.legend(fontsize=7)
  figure.tight_layout()
  figure.savefig(path)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if FLAGS.single:
    print(json.dumps(run_arm(FLAGS.single)))
    return
  for spec in FLAGS.arms:
    parse_arm(spec)
  if FLAGS.config not in benchmark.CONFIGS:
    raise app.UsageError(f'Unknown --config {FLAGS.config!r}.')
  results = run_side_by_side(FLAGS.arms)
  command = ('python bench/convergence.py ' + ' '.join(
      [f'--arms={",".join(FLAGS.arms)}'] +
      [f'--{key}={value}' for key, value in _shared_flags()
       if key not in ('data_dir', 'arms')]))
  text = report(results, command, _threads_per_arm(len(FLAGS.arms)))
  benchmark.publish(text, FLAGS.output)
  if FLAGS.plot:
    plot(results, FLAGS.plot)


if __name__ == '__main__':
  define_flags()
  app.run(main)
