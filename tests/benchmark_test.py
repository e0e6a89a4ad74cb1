"""Checks that bench/benchmark.py runs and prints every column (not speed)."""

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'bench'))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position
import budget_sweep  # pylint: disable=g-import-not-at-top,wrong-import-position
import convergence  # pylint: disable=g-import-not-at-top,wrong-import-position
import reference_speed  # pylint: disable=g-import-not-at-top,wrong-import-position
import step_profile  # pylint: disable=g-import-not-at-top,wrong-import-position


@pytest.mark.slow
def test_tiny_benchmark_prints_every_column_for_both_models(tmp_path):
  output = tmp_path / 'BENCHMARKS.md'
  # jit_compile=on works the same way; it is left out here because XLA's
  # compilation alone takes most of a minute on 2 cores.
  result = subprocess.run(
      [sys.executable, str(ROOT / 'bench' / 'benchmark.py'), '--configs=tiny',
       '--repeats=1', '--batch_size=4', '--jit=off', '--isolate=false',
       '--quality_config=tiny', '--quality_minutes=0.05',
       f'--output={output}'],
      capture_output=True, text=True, timeout=900, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  text = output.read_text()
  assert text in result.stdout
  for columns in (benchmark.COLUMNS, benchmark.RATIO_COLUMNS,
                  benchmark.QUALITY_COLUMNS):
    assert '| ' + ' | '.join(columns) + ' |' in text
  rows = [line.strip('| ').split(' | ') for line in text.splitlines()
          if line.startswith('| tiny |')]
  by_width = {}
  for cells in rows:
    by_width.setdefault(len(cells), []).append(cells)
    assert not {'nan', 'inf', '-'} & set(cells), cells
  # Model rows, then ours/glow ratios, the input pipeline, quality.
  assert [(c[1], c[3]) for c in by_width[len(benchmark.COLUMNS)]] == [
      ('ours', 'float32'), ('ours', 'bfloat16'), ('glow', 'float32')]
  assert 'CPU: ' in text and 'flags ' in text
  # Ratio and quality rows are as wide: the ratios' second cell is jit's.
  ratios = [c for c in by_width[len(benchmark.RATIO_COLUMNS)]
            if c[1] == 'off']
  assert [c[2] for c in ratios] == ['float32', 'bfloat16']
  for ratio in ratios:
    assert all(float(value) > 0 for value in ratio[3:])
  (pipeline,) = by_width[4]
  assert pipeline[3].endswith('x')
  quality = [c for c in by_width[len(benchmark.QUALITY_COLUMNS)]
             if c[1] != 'off']
  assert [c[1] for c in quality] == ['ours', 'glow']
  for cells in quality:
    assert int(cells[4]) >= 1 and 0. < float(cells[6]) < 100.
  for ceiling in ('| conv3x3 float32, start of run |',
                  '| conv3x3 bfloat16, start of run |',
                  '| matmul float32, start of run |',
                  '| conv3x3 float32, in each of the 4 measuring processes |',
                  '| conv3x3 bfloat16, in each of the 2 measuring processes |',
                  '| conv3x3_train bfloat16, start of run |',
                  '| conv3x3_train bfloat16, in each of the 1 training '
                  'processes |'):
    assert ceiling in text
  for cells in by_width[len(benchmark.COLUMNS)]:
    assert float(cells[benchmark.COLUMNS.index(
        'train % training conv')].rstrip('%')) > 0.


@pytest.mark.parametrize('ulps', [1, 2])
def test_a_nudged_arm_moves_each_initial_weight_by_units_in_the_last_place(
    ulps):
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  _, _, settings = convergence.parse_arm(f'n=ours:nudge_ulps={ulps}:seed=3')
  assert settings == dict(nudge_ulps=ulps, seed=3)
  assert convergence.train_config(settings).seed == 3  # Not a TrainConfig field.
  variable = tf.Variable([[0., 1., -2.5, 3e-8]])
  before = variable.numpy().view(np.int32)
  convergence.nudge([variable], ulps)
  # Up by `ulps` representable values: a larger magnitude for zero and the
  # positives, a smaller one for the negative.
  np.testing.assert_array_equal(variable.numpy().view(np.int32) - before,
                                [[ulps, ulps, -ulps, ulps]])


@pytest.mark.slow
def test_tiny_convergence_run_writes_the_table_and_the_curves(tmp_path):
  output, plot = tmp_path / 'convergence.md', tmp_path / 'convergence.png'
  result = subprocess.run(
      [sys.executable, str(ROOT / 'bench' / 'convergence.py'), '--config=tiny',
       '--arms=defaults,previous,bf16=ours:mixed_precision=true',
       '--minutes=0.4', '--eval_every_minutes=0.2', '--at_steps=2,4',
       '--curve_examples=64', '--test_examples=64', f'--output={output}',
       f'--plot={plot}'],
      capture_output=True, text=True, timeout=900, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  text = output.read_text()
  rows = [line.strip('| ').split(' | ') for line in text.splitlines()
          if line.startswith(('| defaults |', '| previous |', '| bf16 |'))]
  assert [cells[0] for cells in rows] == ['defaults', 'previous', 'bf16']
  defaults, previous, bf16 = rows
  assert 'bfloat16 networks' in bf16[2]
  assert 'bfloat16' not in previous[2]  # Before mixed precision's auto.
  equal_steps = [line.strip('| ').split(' | ') for line in text.splitlines()
                 if line.startswith(('| 2 |', '| 4 |'))]
  assert [cells[0] for cells in equal_steps] == ['2', '4']
  assert all(len(cells) == 4 and 'min' in cells[3] for cells in equal_steps)
  # Today's defaults keep a Polyak average and train on train[:90%].
  assert 'Polyak 0.999' in defaults[2] and 'train[:90%]' in defaults[2]
  assert previous[6] != '-' and previous[7] == '-'
  assert all(float(cell) > 0 for cell in defaults[5:8])
  curve = [line for line in text.splitlines()
           if line.startswith('| 0.') and 'min' not in line]
  assert len(curve) == 2
  assert plot.read_bytes().startswith(b'\x89PNG')


@pytest.mark.slow
def test_tiny_ablation_roofline_profile_and_statistics_print_their_tables(
    tmp_path):
  runs = {
      'precision_ablation': ['--config=tiny', '--warm_steps=3', '--repeats=1',
                             '--batch_size=8',
                             '--variants=none,default',
                             '--convolution_share'],
      'roofline': ['--configs=tiny', '--batch_size=4'],
      'step_profile': ['--config=tiny', '--steps=1', '--batch_size=4',
                       '--float32_parts=head,weight_norm',
                       '--intra_op_threads=1'],
      'averaged_statistics': ['--config=tiny', '--warm_steps=2', '--steps=2',
                              '--repeats=1', '--batches=2'],
  }
  # One after another, to keep the load down: in one CI run, beside these
  # three at once, a multi-worker test's worker missed its heartbeat.
  stdouts = {}
  for name, flags in runs.items():
    result = subprocess.run(
        [sys.executable, str(ROOT / 'bench' / f'{name}.py'), *flags,
         f'--output={tmp_path / name}.md'],
        capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    stdouts[name] = result.stdout
  ablation = (tmp_path / 'precision_ablation.md').read_text()
  rows = [line.split(' | ') for line in ablation.splitlines()
          if line.startswith(('| float32 |', '| bfloat16'))]
  assert len(rows) == 3 and rows[0][2] == '1.00x'
  # Each variant's step against its own convolutions alone.
  assert '--convolution_share`' in ablation
  assert all(0. < float(row[5].strip(' |%')) for row in rows)
  assert 'CPU: ' in ablation and 'Minibatch gradient noise' in ablation
  # bfloat16 moves the gradient; the default's float32 parts move it less
  # than none. Unrounded, from the printed rows: the table's four decimals
  # can tie.
  errors = [json.loads(line)['gradient_error']
            for line in stdouts['precision_ablation'].splitlines()
            if line.startswith('{')]
  assert len(errors) == 3
  assert errors[0] == 0. and all(e > 0. for e in errors[1:])
  assert errors[2] < errors[1]
  roofline = (tmp_path / 'roofline.md').read_text()
  bounds = [line.split(' | ')[9] for line in roofline.splitlines()
            if line.startswith('| tiny |')]
  assert len(bounds) == 4 and set(bounds) <= {'compute', 'memory'}
  profile = (tmp_path / 'step_profile.md').read_text()
  # The command it prints repeats the settings it ran with.
  assert '--intra_op_threads=1 --float32_parts=head,weight_norm`' in profile
  # Every kind has a row; the convolutions were found in the trace.
  kinds = {line.split(' | ')[0].strip('| '): line.split(' | ')[1:]
           for line in profile.splitlines() if line.startswith('| ')}
  assert set(kinds) >= {kind for kind, _ in step_profile.KINDS}
  assert float(kinds['convolution: forward'][0].split()[0]) > 0.
  assert float(kinds['convolution: kernel gradient'][1].split()[0]) > 0.
  share = kinds["convolutions' share of op time"]
  assert all(0. < float(cell.strip(' |%')) < 100. for cell in share)
  # The convolutions timed alone are every convolution layer of the model.
  from tfp_realnvp import networks  # pylint: disable=g-import-not-at-top
  layers = sum(isinstance(m, networks.WeightNormConv2D) for m in
               benchmark.build_model('tiny', 'ours').submodules)
  for cell in kinds['the same convolutions alone, median (ms)']:
    assert cell.strip(' |').endswith(f'({layers} convolutions)')
  assert all(float(cell.strip(' |%')) > 0.
             for cell in kinds["step at TF's convolution rate (median of the "
                               "rounds)"])
  averaged = json.loads(stdouts['averaged_statistics'].splitlines()[0])
  assert averaged['batches'] == 2 and averaged['computation_seconds'] > 0.
  assert '| tiny | 64 |' in (tmp_path / 'averaged_statistics.md').read_text()


def test_a_sampling_profile_times_forward_convolutions_of_one_pass():
  results = step_profile.profile('tiny', 'float32', batch_size=4, steps=1,
                                 phase='sample')
  step, _, by_kind, _, (alone, count), share = results
  # Sampling evaluates each coupling's network once, forward only.
  from tfp_realnvp import networks  # pylint: disable=g-import-not-at-top
  layers = sum(isinstance(m, networks.WeightNormConv2D) for m in
               benchmark.build_model('tiny', 'ours').submodules)
  assert count == layers
  assert by_kind['convolution: forward'] > 0.
  assert by_kind['convolution: kernel gradient'] == 0.
  assert by_kind['convolution: input gradient'] == 0.
  assert step > 0. and alone > 0. and share > 0.
  text = step_profile.report('tiny', {'float32': results}, 'command',
                             phase='sample')
  assert '| kind | float32 ms/sampling pass (share) |' in text
  assert ("| sampling pass at TF's convolution rate (median of the rounds) |"
          in text)


def test_the_reference_copy_reshapes_where_it_viewed(tmp_path):
  checkout = tmp_path / 'real-nvp'
  for package in ('models', 'util'):
    (checkout / package / 'inner').mkdir(parents=True)
    (checkout / package / 'inner' / 'code.py').write_text(
        'y = x.permute(0, 2, 1).view(b, -1)\n')
  (checkout / 'train.py').write_text('x.view(1)\n')
  copy = tmp_path / 'copy'
  copy.mkdir()
  reference_speed.copy_reference(str(checkout), str(copy))
  for package in ('models', 'util'):
    assert (copy / package / 'inner' / 'code.py').read_text() == (
        'y = x.permute(0, 2, 1).reshape(b, -1)\n')
  assert not (copy / 'train.py').exists()
  # The checkout itself is left as it was.
  assert '.view(' in (checkout / 'models' / 'inner' / 'code.py').read_text()


def test_the_reference_copy_names_a_directory_that_is_not_a_checkout(
    tmp_path):
  with pytest.raises(FileNotFoundError, match='no models/ directory'):
    reference_speed.copy_reference(str(tmp_path), str(tmp_path / 'copy'))


class _Worker:

  def __init__(self, parameters, gflop_per_image, convolution_rates):
    self.info = dict(parameters=parameters, gflop_per_image=gflop_per_image,
                     convolution_rates=convolution_rates)


def test_the_reference_table_divides_our_median_by_the_reference_median():
  rates = {'ours float32': dict(train=[6., 9., 7.], sample=[20., 30., 25.]),
           'reference float32': dict(train=[5., 4., 6.],
                                     sample=[10., 100., 20.])}
  workers = {
      'ours float32': _Worker(18_501_129, 12.26, {'16x16x128': 320.4}),
      'reference float32': _Worker(19_631_640, 12.91, {
          '16x16x128': 214., '16x16x128 channels_last': 328.})}
  text = reference_speed.report(workers, rates, 'python bench/x.py',
                                precisions=['float32'], batch_size=64,
                                rounds=3, train_steps=3)
  assert '| float32 | train | 7 (6-9) | 5 (4-6) | 1.40x |' in text
  assert '| float32 | sample | 25 (20-30) | 20 (10-100) | 1.25x |' in text
  assert '| reference | 19,631,640 | 12.91 |' in text
  # Each worker's convolution rates, and its sampling GFLOP/s: the median
  # rate times its own model's GFLOP per image.
  assert ('| worker | 64x16x16x128 | 64x16x16x128 channels_last | sampling |'
          in text)
  assert '| ours float32 | 320 | - | 306 |' in text
  assert '| reference float32 | 214 | 328 | 258 |' in text


def test_a_sweep_arm_is_its_name_and_its_own_train_flags():
  assert budget_sweep.parse_arm('defaults=') == ('defaults', {})
  assert budget_sweep.parse_arm('wide=num_filters=32:batch_size=128') == (
      'wide', {'num_filters': '32', 'batch_size': '128'})
  command = budget_sweep.train_command(
      {'num_filters': '32'}, '/runs/wide', 'mnist', '/data', 10., 0, 16)
  assert command[1] == budget_sweep.TRAIN and command[1].endswith(
      'bin/train.py')
  assert command[2:] == [
      '--dataset=mnist', '--train_minutes=10.0', '--seed=0',
      '--dequantization_samples=16', '--model_dir=/runs/wide',
      '--data_dir=/data', '--num_filters=32']


@pytest.mark.parametrize('spec, message', [
    ('wide', 'Cannot read arm'),
    ('=num_filters=32', 'Cannot read arm'),
    ('wide=num_filters', 'cannot read \'num_filters\''),
    ('long=train_minutes=60', 'sets --train_minutes, which every arm shares'),
])
def test_a_sweep_arm_that_cannot_be_read_is_named(spec, message):
  with pytest.raises(ValueError, match=message):
    budget_sweep.parse_arm(spec)


def test_the_sweep_table_has_a_row_per_arm_from_its_results():
  results = dict(num_parameters=1351729, steps=1698, train_seconds=615.4,
                 validation_bits_per_dim=1.48637, test_bits_per_dim=1.48194,
                 test_discrete_bits_per_dim=1.44781,
                 test_discrete_bits_per_dim_standard_error=0.0030001)
  rows = [budget_sweep.row('defaults', {}, results),
          budget_sweep.row('wide', {'num_filters': '32'},
                           dict(results, test_discrete_bits_per_dim=None))]
  text = budget_sweep.report(rows, 'python bench/budget_sweep.py', 10.)
  assert '| ' + ' | '.join(budget_sweep.COLUMNS) + ' |' in text
  assert ('| defaults | (defaults) | 1,351,729 | 1698 | 2.76 | 1.4864 | '
          '1.4819 | 1.4478 +- 0.0030 |') in text
  assert '| wide | --num_filters=32 | 1,351,729 | 1698 | 2.76 |' in text
  assert text.rstrip().endswith('| 1.4819 | - |')
  assert 'a 10-minute budget' in text and 'CPU: ' in text


def test_a_sweep_arm_that_already_ran_is_read_not_run_again(tmp_path):
  commands = []

  def train(command, check):
    assert check
    commands.append(command)
    (tmp_path / 'results.json').write_text(json.dumps({'steps': 7}))

  assert budget_sweep.arm_results(str(tmp_path), ['train'], train) == {
      'steps': 7}
  assert budget_sweep.arm_results(str(tmp_path), ['train'], train) == {
      'steps': 7}
  assert commands == [['train']]


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
