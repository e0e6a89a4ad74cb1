"""The binaries' flags: defined once, listed by every script's own --help."""

import ast
import dataclasses
import pathlib
import shutil
import subprocess
import sys

from absl import flags
import pytest

from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import learning_rates
from tfp_realnvp.app import flags as flags_lib
from tests import binaries_test

BIN = pathlib.Path(sys.executable).parent
ROOT = pathlib.Path(__file__).resolve().parent.parent

# A flag of each script's own, and one it shares through app/flags.py.
OWN_FLAGS = {
    'tfp-realnvp-train': ['--bn_momentum', '--checkpoint_every_steps'],
    'tfp-realnvp-sample': ['--size_factor', '--model'],
    'tfp-realnvp-evaluate': ['--batch_size', '--split'],
    'tfp-realnvp-latent-figures': ['--fractions', '--data_dir'],
    'tfp-realnvp-score': ['--reference_split', '--dataset'],
}


@pytest.mark.slow
def test_every_console_script_help_lists_its_own_flags():
  # All five at once: each spends most of its time importing TensorFlow.
  # What a user sees first: the binary's own line, its flags, no
  # TensorFlow start-up lines.
  processes = {}
  for script in OWN_FLAGS:
    executable = shutil.which(script, path=str(BIN))
    assert executable is not None, f'{script} is not installed'
    processes[script] = subprocess.Popen(
        [executable, '--help'], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
  outputs = {}
  for script, process in processes.items():
    stdout, stderr = process.communicate(timeout=300)
    # absl exits with 1 after printing the help.
    assert 'Traceback' not in stderr, stderr[-2000:]
    # Opens with the binary's own description, not pip's wrapper's (none).
    module = script.removeprefix('tfp-realnvp-').replace('-', '_')
    assert stdout.splitlines()[0] == ast.get_docstring(ast.parse(
        (ROOT / 'bin' / f'{module}.py').read_text())).splitlines()[0], script
    assert binaries_test.no_startup_noise(stderr), (script, stderr[:2000])
    for flag in OWN_FLAGS[script]:
      assert flag in stdout, f'{script} --help does not list {flag}'
    outputs[script] = stdout
  assert "(default: the run's test split" in outputs['tfp-realnvp-evaluate']
  # A usage example continued with a backslash keeps its line break.
  assert '--data_dir=../shared/data/tfds \\\n      --download=false' in (
      outputs['tfp-realnvp-train'])


def test_train_flags_are_generated_from_the_config_fields():
  values = flags.FlagValues()
  flags_lib.define_config_flags(config_lib.TrainConfig, flag_values=values)
  fields = dataclasses.fields(config_lib.TrainConfig)
  assert {field.name for field in fields} == set(values)
  for field in fields:
    assert values[field.name].default == field.default, field.name
    # An enum's help starts with its values.
    assert field.metadata['help'] in values[field.name].help, field.name
  assert values['strategy'].parser.enum_values == list(config_lib.STRATEGIES)
  values(['train', '--num_scales=3', '--conditional', '--recipe=lsun'])
  config = flags_lib.config_from_flags(config_lib.TrainConfig,
                                       flag_values=values)
  assert (config.num_scales, config.conditional, config.recipe) == (
      3, True, 'lsun')
  with pytest.raises(flags.IllegalFlagValueError, match='strategy'):
    values(['train', '--strategy=mirored'])


def test_the_paper_preset_of_flags_sets_the_papers_optimization():
  values = flags.FlagValues()
  flags_lib.define_config_flags(config_lib.TrainConfig, flag_values=values)
  preset = ROOT / 'presets' / 'paper_training.flags'
  values(['train', f'--flagfile={preset}', '--dataset=cifar10'])
  config = flags_lib.config_from_flags(config_lib.TrainConfig,
                                       flag_values=values)
  paper = dict(learning_rate=1e-3, batch_size=64, l2_scale=5e-5,
               warmup_steps=0, decay=None, polyak_decay=0.)
  assert {name: getattr(config, name) for name in paper} == paper
  # Today's defaults differ from it (else the preset would be pointless).
  assert config_lib.TrainConfig().polyak_decay != paper['polyak_decay']


def test_the_default_learning_rate_follows_the_kind_of_data():
  resolve = learning_rates.with_default_learning_rate
  assert resolve(config_lib.TrainConfig()).learning_rate == 3e-3
  # The mnist preset's own rate, from the budget sweep; by preset, not name.
  assert resolve(config_lib.TrainConfig(dataset='mnist')).learning_rate == 6e-3
  assert resolve(config_lib.TrainConfig(dataset='digits',
                                        preset='mnist')).learning_rate == 6e-3
  assert resolve(config_lib.TrainConfig(dataset='mnist',
                                        preset='digits')).learning_rate == 3e-3
  assert resolve(config_lib.TrainConfig(dataset='moons')).learning_rate == 1e-3
  given = config_lib.TrainConfig(dataset='moons', learning_rate=5e-4)
  assert resolve(given).learning_rate == 5e-4
  with pytest.raises(ValueError, match='--learning_rate must be positive'):
    config_lib.check_config(config_lib.TrainConfig(learning_rate=0.))


def test_dequantization_is_for_images_and_named_in_the_model():
  for setting in (dict(dequantization='variational'),
                  dict(dequantization_samples=4)):
    with pytest.raises(ValueError, match='no pixels to dequantize'):
      config_lib.check_config(config_lib.TrainConfig(dataset='moons',
                                                     **setting))
  with pytest.raises(ValueError, match='Unknown --dequantization'):
    config_lib.check_config(config_lib.TrainConfig(dequantization='learned'))
  # Absent from a uniform model's description, so older runs still match.
  assert 'dequantization' not in config_lib.build_flow(
      config_lib.TrainConfig(num_res_blocks=0, num_filters=2),
      (8, 8, 1)).get_config()
  variational = config_lib.build_flow(
      config_lib.TrainConfig(num_res_blocks=0, num_filters=2,
                             dequantization='variational'), (8, 8, 1))
  assert variational.get_config()['dequantization'] == 'variational'


def test_every_config_field_has_help_text():
  for field in dataclasses.fields(config_lib.TrainConfig):
    assert field.metadata.get('help'), field.name


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
