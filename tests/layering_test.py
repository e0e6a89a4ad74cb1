"""The package's layers: imports only point down (docs/layout.md)."""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / 'tfp_realnvp'

# Lowest first. A module may import only modules of its own layer or below;
# within a layer, only those listed before it.
LAYERS = [
    ['compat'],
    ['batch_statistics', 'weight_norm', 'condition', 'batch_norm_layer'],
    ['networks'],
    ['bijectors'],
    ['dequantization'],
    ['flows'],
    ['toy_data', 'data', 'training'],
    ['root', 'keras3'],
    ['app.quiet', 'app.budget', 'app.precision', 'app.config',
     'app.learning_rates', 'app.run_data', 'app.figures', 'app.summaries',
     'app.callbacks', 'app.terminal', 'app.health',
     'app.export',
     'app.weight_choice', 'app.saved_flow', 'app.loading', 'app.latents', 'app.scoring', 'app.run', 'app.flags'],
]
RANK = {name: (layer, position)
        for layer, names in enumerate(LAYERS)
        for position, name in enumerate(names)}


def _unit(module):
  """The layer unit of a dotted module name inside tfp_realnvp, else None."""
  parts = module.split('.')
  if parts[0] != 'tfp_realnvp':
    return None
  if len(parts) == 1:
    return 'root'  # The package facade: the library only.
  if parts[1] == 'app':
    return '.'.join(parts[1:3]) if len(parts) > 2 else 'app'
  return parts[1]


def _imports(path):
  tree = ast.parse(path.read_text())
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield alias.name
    elif isinstance(node, ast.ImportFrom) and node.module:
      # `from tfp_realnvp import compat` asks for the submodule, not the
      # facade's names.
      if node.module != 'tfp_realnvp':
        yield node.module
      for alias in node.names:
        yield f'{node.module}.{alias.name}'


def _modules():
  for path in sorted(PACKAGE.rglob('*.py')):
    relative = path.relative_to(PACKAGE.parent).with_suffix('')
    name = '.'.join(relative.parts)
    yield name.removesuffix('.__init__'), path


def _violations(name, path):
  own = _unit(name)
  for imported in _imports(path):
    unit = _unit(imported)
    if unit is None or unit == own or unit not in RANK:
      continue
    if RANK[unit] > RANK[own]:
      yield f'{name} imports {imported} (layer {RANK[unit]} > {RANK[own]})'


def test_every_module_has_a_layer():
  units = {_unit(name) for name, _ in _modules()}
  assert units - {'app'} <= set(RANK), units - set(RANK)


@pytest.mark.parametrize('name,path', list(_modules()),
                         ids=[name for name, _ in _modules()])
def test_imports_point_down(name, path):
  assert list(_violations(name, path)) == []


def test_an_upward_import_is_caught(tmp_path):
  module = tmp_path / 'networks.py'
  module.write_text('from tfp_realnvp.bijectors import batch_normalization\n')
  assert list(_violations('tfp_realnvp.networks', module))


def test_the_root_cannot_import_the_application():
  module = PACKAGE / '__init__.py'
  assert not list(_violations('tfp_realnvp', module))
  assert RANK['root'] < RANK['app.run']


def test_an_application_import_in_the_root_is_caught(tmp_path):
  module = tmp_path / '__init__.py'
  module.write_text('from tfp_realnvp.app.loading import load_flow\n')
  assert list(_violations('tfp_realnvp', module))


# What importing the library may not load. TensorFlow itself imports Keras 3,
# which imports scikit-learn and matplotlib when they are installed, so those
# are checked against what the frameworks alone load.
_HEAVY = ('tfp_realnvp.app', 'tensorflow_datasets', 'sklearn', 'matplotlib')
_PROBE = """
import sys
import tensorflow, tensorflow_probability, tf_keras
frameworks = set(sys.modules)
import {module}
print('\\n'.join(sorted(set(sys.modules) - frameworks)))
"""


def test_the_library_imports_no_application_and_no_heavy_dependency():
  # One process for the three entry points a user imports (each TensorFlow
  # import costs seconds); the root's closure is inside the others'.
  modules = ('tfp_realnvp', 'tfp_realnvp.bijectors', 'tfp_realnvp.data')
  loaded = subprocess.run(
      [sys.executable, '-c', _PROBE.format(module=', '.join(modules))],
      check=True, capture_output=True, text=True, env=dict(
          os.environ, PYTHONPATH=str(PACKAGE.parent))).stdout.split()
  assert set(modules) <= set(loaded)
  assert [m for m in loaded if m.startswith(_HEAVY)] == []


def test_the_moved_names_load_the_application_on_first_use():
  import tfp_realnvp  # pylint: disable=g-import-not-at-top
  from tfp_realnvp.app import loading  # pylint: disable=g-import-not-at-top
  with pytest.warns(DeprecationWarning, match='tfp_realnvp.app.loading'):
    assert tfp_realnvp.load_flow is loading.load_flow
  with pytest.raises(AttributeError, match='no_such_name'):
    tfp_realnvp.no_such_name  # pylint: disable=pointless-statement


def test_no_library_module_reads_absl_flags():
  for name, path in _modules():
    if name == 'tfp_realnvp.app.flags':
      continue
    assert 'absl import flags' not in path.read_text(), name
