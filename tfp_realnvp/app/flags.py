"""The binaries' absl flags, each defined once.

bin/train.py's flags are generated from `TrainConfig`'s fields (name, default,
type, help text, allowed values), so a new setting is one field. The flags the
loading binaries share (`--model` and where the evaluation data comes from)
are defined here once. Every flag is registered as a key flag of the running
script, so `--help` of `python bin/x.py` and of the installed console script
alike lists them.
"""

import dataclasses
import functools
import os
import sys
import typing

from absl import app
from absl import flags

from tfp_realnvp.app import quiet

__all__ = [
    'binary_main',
    'run_binary',
    'config_from_flags',
    'data_options',
    'define_config_flags',
    'define_data_flags',
    'define_model_flag',
    'define_seed_flag',
    'flags_markdown',
    'list_in_help',
    'one_line_errors',
    'parse_flags',
]

FLAGS = flags.FLAGS


def _own(flag_holder, flag_values=FLAGS):
  # absl's --help lists the key flags of sys.argv[0]; flags defined in this
  # module would otherwise be listed only by --helpfull.
  flag_values.register_key_flag_for_module(sys.argv[0],
                                           flag_values[flag_holder.name])
  return flag_holder


def list_in_help(module_name):
  """Lists the flags a binary defined itself in its `--help`.

  Call at the end of a binary's `define_flags` with its `__name__`: run as an
  installed console script, the binary is not the main module, and absl's
  `--help` would list none of them.
  """
  if module_name == '__main__':
    return  # absl files them under sys.argv[0] already.
  for flag in FLAGS.get_flags_for_module(module_name):
    FLAGS.register_key_flag_for_module(sys.argv[0], flag)


def _value_type(field):
  """`int` for `int | None`, and so on."""
  types = [t for t in typing.get_args(field.type) if t is not type(None)]
  return types[0] if types else field.type


_DEFINERS = {str: flags.DEFINE_string, int: flags.DEFINE_integer,
             float: flags.DEFINE_float, bool: flags.DEFINE_bool}


# Enum flags that were bools: their bare and `--no` forms still parse.
_FORMERLY_BOOLEAN = set()


def _with_boolean_forms_spelled_out(argv):
  """`--name` -> `--name=true`, `--noname` -> `--name=false` for those flags."""
  spelled = list(argv[:1])
  for index, arg in enumerate(argv[1:], 1):
    if arg == '--':
      return spelled + list(argv[index:])
    name = arg.lstrip('-') if arg.startswith('-') else None
    if name in _FORMERLY_BOOLEAN:
      arg = f'--{name}=true'
    elif name and name.startswith('no') and name[2:] in _FORMERLY_BOOLEAN:
      arg = f'--{name[2:]}=false'
    spelled.append(arg)
  return spelled


def parse_flags(argv, flag_values=FLAGS):
  """Parses `argv` into `flag_values`; the remaining arguments."""
  return flag_values(_with_boolean_forms_spelled_out(argv))


def define_config_flags(config_class, flag_values=FLAGS):
  """One flag per field of the dataclass `config_class`, its default included."""
  for field in dataclasses.fields(config_class):
    help_text = field.metadata.get('help', field.name)
    choices = field.metadata.get('choices')
    if choices and {'true', 'false'} <= set(choices):
      # A setting that was a bool and gained more values (e.g. 'auto'):
      # `--name` alone and `--noname` still mean true and false
      # (`parse_flags`); an enum flag, so that --help lists its values.
      _FORMERLY_BOOLEAN.add(field.name)
      help_text += f' --{field.name} alone: true; --no{field.name}: false.'
      holder = flags.DEFINE_enum(field.name, field.default, list(choices),
                                 help_text, flag_values=flag_values)
    elif choices:
      holder = flags.DEFINE_enum(field.name, field.default, list(choices),
                                 help_text, flag_values=flag_values)
    else:
      holder = _DEFINERS[_value_type(field)](
          field.name, field.default, help_text, flag_values=flag_values)
    _own(holder, flag_values)


def flags_markdown(config_class):
  """The Markdown table of `define_config_flags`' flags (docs/flags.md)."""
  rows = ['| flag | default | what it sets |', '| --- | --- | --- |']
  for field in dataclasses.fields(config_class):
    default = 'unset' if field.default is None else f'`{field.default}`'
    if field.default == '':
      default = "`''`"
    text = field.metadata.get('help', field.name)
    choices = field.metadata.get('choices')
    if choices:
      text = f'One of {", ".join(f"`{c}`" for c in choices)}. {text}'
    rows.append(f'| `--{field.name}` | {default} | '
                f'{text.replace("|", chr(92) + "|")} |')
  return '\n'.join(rows) + '\n'


def config_from_flags(config_class, flag_values=FLAGS):
  """A `config_class` holding the parsed flags' values."""
  return config_class(**{field.name: flag_values[field.name].value
                         for field in dataclasses.fields(config_class)})


def define_model_flag():
  """`--model` (a run directory or a SavedModel, required) and `--weights`."""
  _own(flags.DEFINE_string(
      'model', None, 'A bin/train.py --model_dir or a SavedModel directory.'))
  flags.mark_flag_as_required('model')
  _own(flags.DEFINE_enum(
      'weights', 'best', ['best', 'averaged', 'raw', 'averaged_raw_statistics'],
      "A run directory's weights: best, the ones the run chose on validation "
      "when it ended (results.json; before that, averaged); averaged, the "
      "Polyak average (if it kept one: --polyak_decay) with the batch-norm "
      "statistics computed for it; raw, the trained weights; "
      "averaged_raw_statistics, the average with the raw weights' "
      "statistics."))


def define_data_flags(what='Dataset'):
  """Where evaluation data comes from; a run directory gives the defaults."""
  _own(flags.DEFINE_string(
      'dataset', None, f"{what} (default: the training run's)."))
  _own(flags.DEFINE_string(
      'split', None, "Split (default: the run's test split, --test_split, or "
      "'test')."))
  _own(flags.DEFINE_string(
      'data_dir', None, "TFDS data directory (default: the run's)."))
  _own(flags.DEFINE_bool('download', True, 'Let TFDS download missing data.'))


def define_seed_flag(help_text):
  _own(flags.DEFINE_integer('seed', 0, help_text))


def data_options():
  """`define_data_flags`' values as `loading.evaluation_data` keywords."""
  return dict(dataset=FLAGS.dataset, split=FLAGS.split,
              data_dir=FLAGS.data_dir, download=FLAGS.download,
              seed=FLAGS.seed)


def run_binary(main, doc):
  """`app.run` of `binary_main(main)`, with `doc` as the usage text.

  absl's `--help` opens with `__main__.__doc__`, which for a console script
  is pip's wrapper's (none); the binary's own docstring is given instead.
  """
  sys.modules['__main__'].__doc__ = doc
  app.run(binary_main(main), flags_parser=lambda argv: (
      app.parse_flags_with_usage(_with_boolean_forms_spelled_out(argv))))


def binary_main(main):
  """`main` for `app.run`, with framework noise filtered and one-line errors.

  Starts TensorFlow's runtime at once, without the CUDA-probe lines of a
  CPU-only machine (`app.run` would start it, unfiltered, before `main`), and
  silences TensorFlow's Python INFO lines; see `tfp_realnvp.app.quiet` and
  `one_line_errors`.
  """
  quiet.quiet_framework_logs()
  return one_line_errors(main)


def one_line_errors(main):
  """`main` whose `app.UsageError`s print one line, not the whole usage.

  absl answers a UsageError with every flag's help and the message at the
  end; a mistyped value deserves the message alone, and where to look. The
  exit code stays absl's (the error's `exitcode`, 1).
  """

  @functools.wraps(main)
  def wrapped(argv):
    try:
      return main(argv)
    except app.UsageError as error:
      program = os.path.basename(sys.argv[0])
      sys.stderr.write(f'{program}: {error} (--help lists the flags)\n')
      sys.exit(error.exitcode)

  return wrapped
