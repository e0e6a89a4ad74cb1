"""Which model shape is best for a training budget: bin/train.py runs, alone.

  python bench/budget_sweep.py --train_minutes=10 \
      --arms='defaults=,wide=num_filters=32,deep=num_res_blocks=4'

Each arm is bin/train.py with the binary's defaults and the same
--dataset, --data_dir, --train_minutes, --seed and --dequantization_samples,
plus its own flags (`name=flag=value:flag=value`; `name=` alone is the
defaults): the preset's shape (num_scales, num_res_blocks, num_filters),
batch_size, learning_rate, polyak_decay, mixed_precision, or any other
bin/train.py flag. The arms run one after another, each alone on the
machine, as a user's run would (tracing, the budget's decay, the choice of
weights on validation and the test figure included). An arm whose directory
already holds a results.json is read, not run again, so a sweep stopped
midway resumes with the same --work_dir. The table gives each arm's
parameters, steps, steps per second of training, its validation and test
bits/dim (and the K-draw figure with --dequantization_samples=K > 1) from
the run's results.json, with the CPU's flags. The runs stay under
--work_dir (a temporary directory unless given).
"""

import json
import os
import subprocess
import sys
import tempfile

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS
TRAIN = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'bin', 'train.py')
COLUMNS = ('arm', 'flags', 'params', 'steps', 'steps/s', 'validation',
           'test', 'test, K draws')
# What every arm shares, set by this script's own flags.
SHARED_FLAGS = ('dataset', 'data_dir', 'train_minutes', 'seed',
                'dequantization_samples', 'model_dir')


def define_flags():
  flags.DEFINE_string('dataset', 'mnist', 'bin/train.py --dataset.')
  flags.DEFINE_string('data_dir', benchmark.DEFAULT_DATA_DIR,
                      'Prepared TFDS data.')
  flags.DEFINE_float('train_minutes', 10., 'Every arm\'s budget.')
  flags.DEFINE_list('arms', ['defaults='], '`name=flag=value:...`, in the '
                    'order they run.')
  flags.DEFINE_integer('dequantization_samples', 1, 'K of the test '
                       'figure\'s K-draw estimate (1: one draw only).')
  flags.DEFINE_integer('seed', 0, 'Every arm\'s --seed.')
  flags.DEFINE_string('work_dir', None, 'Where the runs are written.')
  flags.DEFINE_string('output', None, 'Also write the Markdown here.')


def parse_arm(spec):
  """`(name, {flag: value})` of `name=flag=value:flag=value`."""
  name, separator, rest = spec.partition('=')
  if not name or not separator:
    raise ValueError(f'Cannot read arm {spec!r}: write name=flag=value:... '
                     '(name= alone for the defaults).')
  settings = {}
  for pair in filter(None, rest.split(':')):
    flag, separator, value = pair.partition('=')
    if not flag or not separator:
      raise ValueError(f'Arm {name!r}: cannot read {pair!r} as flag=value.')
    if flag in SHARED_FLAGS:
      raise ValueError(f'Arm {name!r} sets --{flag}, which every arm shares '
                       'here.')
    settings[flag] = value
  return name, settings



def train_command(settings, model_dir, dataset, data_dir, train_minutes,
                  seed, dequantization_samples):
  """bin/train.py's command line for one arm."""
  command = [sys.executable, TRAIN, f'--dataset={dataset}',
             f'--train_minutes={train_minutes}', f'--seed={seed}',
             f'--dequantization_samples={dequantization_samples}',
             f'--model_dir={model_dir}']
  if data_dir:
    command.append(f'--data_dir={data_dir}')
  return command + [f'--{flag}={value}' for flag, value in settings.items()]


def row(name, settings, results):
  """The table's cells for one arm's results.json."""
  discrete = results.get('test_discrete_bits_per_dim')
  if discrete is not None:
    error = results['test_discrete_bits_per_dim_standard_error']
    discrete = f'{discrete:.4f} +- {error:.4f}'
  return [
      name,
      ' '.join(f'--{k}={v}' for k, v in settings.items()) or '(defaults)',
      f'{results["num_parameters"]:,}', str(results['steps']),
      f'{results["steps"] / results["train_seconds"]:.2f}',
      f'{results["validation_bits_per_dim"]:.4f}',
      f'{results["test_bits_per_dim"]:.4f}',
      discrete or '-',
  ]


def arm_results(model_dir, command, run=subprocess.run):
  """An arm's results.json as a dict, running `command` unless it ran."""
  results_path = os.path.join(model_dir, 'results.json')
  if not os.path.exists(results_path):
    run(command, check=True)
  with open(results_path) as f:
    return json.load(f)


def report(rows, command, train_minutes):
  lines = [f'Command: `{command}`', '',
           f'CPU: {benchmark.cpu_description()}.', '',
           f'Each arm alone, a {train_minutes:g}-minute budget; bits/dim of '
           'the weights each run chose on validation.', '',
           '| ' + ' | '.join(COLUMNS) + ' |',
           '| --- |' + ' --- |' * (len(COLUMNS) - 1)]
  lines += ['| ' + ' | '.join(cells) + ' |' for cells in rows]
  return '\n'.join(lines) + '\n'


def read_arms(specs, argv):
  """The arms of --arms; a usage error for one that cannot be read."""
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  arms = []
  for spec in specs:
    try:
      arms.append(parse_arm(spec))
    except ValueError as error:
      raise app.UsageError(str(error)) from error
  return arms


def main(argv):
  arms = read_arms(FLAGS.arms, argv)
  work_dir = FLAGS.work_dir or tempfile.mkdtemp(prefix='budget_sweep_')
  rows = []
  for name, settings in arms:
    model_dir = os.path.join(work_dir, name)
    command = train_command(settings, model_dir, FLAGS.dataset,
                            FLAGS.data_dir, FLAGS.train_minutes, FLAGS.seed,
                            FLAGS.dequantization_samples)
    rows.append(row(name, settings, arm_results(model_dir, command)))
  command = 'python bench/budget_sweep.py ' + ' '.join(
      a for a in sys.argv[1:] if not a.startswith('--work_dir'))
  benchmark.publish(report(rows, command, FLAGS.train_minutes), FLAGS.output)


if __name__ == '__main__':
  define_flags()
  app.run(main)
