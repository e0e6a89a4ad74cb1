"""Checks that BUILD has a target for every module, test file and binary.

Bazel does not run in CI, so this keeps BUILD from silently going stale.
"""

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
_SIZES = {'small', 'medium', 'large', 'enormous'}


def _targets():
  """Returns {rule: [keyword dict, ...]} for every rule call in BUILD."""
  tree = ast.parse((ROOT / 'BUILD').read_text())
  targets = {}
  for node in ast.walk(tree):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
      keywords = {}
      for keyword in node.keywords:
        try:
          keywords[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
          keywords[keyword.arg] = None
      targets.setdefault(node.func.id, []).append(keywords)
  return targets


def _srcs(targets, rule):
  return {src for target in targets.get(rule, []) for src in target['srcs']}


def _files(pattern):
  return {str(p.relative_to(ROOT)) for p in ROOT.glob(pattern)}


def test_every_library_module_has_a_py_library():
  missing = _files('tfp_realnvp/**/*.py') - _srcs(_targets(), 'py_library')
  assert not missing, f'modules without a py_library in BUILD: {missing}'


def test_every_test_file_has_a_sized_py_test():
  targets = _targets()
  missing = _files('tests/*_test.py') - _srcs(targets, 'py_test')
  assert not missing, f'test files without a py_test in BUILD: {missing}'
  for target in targets['py_test']:
    assert target.get('size') in _SIZES, f'{target["name"]} needs a size'


def test_every_binary_has_a_py_binary():
  targets = _targets()
  # bin/startup.py is a library the binaries import first.
  missing = ((_files('bin/*.py') | _files('bench/*.py')) - {'bin/__init__.py'}
             - _srcs(targets, 'py_binary') - _srcs(targets, 'py_library'))
  assert not missing, f'scripts without a py_binary in BUILD: {missing}'


def test_every_src_exists_and_every_local_dep_is_defined():
  targets = _targets()
  names = {t['name'] for rule in targets.values() for t in rule if 'name' in t}
  for rule in targets.values():
    for target in rule:
      for src in target.get('srcs') or []:
        assert (ROOT / src).is_file(), f'{target["name"]}: no file {src}'
      for dep in target.get('deps') or []:
        if dep.startswith(':'):
          assert dep[1:] in names, f'{target["name"]}: unknown dep {dep}'


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
