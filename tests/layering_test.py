"""The package's layers: imports only point down (see tfp_realnvp/app)."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / 'tfp_realnvp'

# Lowest first. A module may import only modules of its own layer or below;
# within a layer, only those listed before it.
LAYERS = [
    ['compat'],
    ['batch_statistics'],
    ['networks'],
    ['bijectors'],
    ['model'],
    ['data', 'training'],
    ['app.quiet', 'app.config', 'app.figures', 'app.callbacks', 'app.export',
     'app.loading', 'app.latents', 'app.scoring', 'app.run', 'app.flags'],
]
RANK = {name: (layer, position)
        for layer, names in enumerate(LAYERS)
        for position, name in enumerate(names)}


def _unit(module):
  """The layer unit of a dotted module name inside tfp_realnvp, else None."""
  parts = module.split('.')
  if parts[0] != 'tfp_realnvp' or len(parts) == 1:
    return None
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
      yield node.module
      for alias in node.names:
        yield f'{node.module}.{alias.name}'


def _modules():
  for path in sorted(PACKAGE.rglob('*.py')):
    relative = path.relative_to(PACKAGE.parent).with_suffix('')
    name = '.'.join(relative.parts)
    if name.endswith('__init__') and name.count('.') <= 1:
      continue  # The package facades re-export both wings.
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


def test_no_library_module_reads_absl_flags():
  for name, path in _modules():
    if name == 'tfp_realnvp.app.flags':
      continue
    assert 'absl import flags' not in path.read_text(), name
