"""Checks pyproject.toml against the tree it installs.

An installed package that misses a subpackage fails only on a user's machine
(an editable install finds every directory anyway), so the list is checked
here; CI installs with a fresh venv's own pip and with the newest one and
runs a console script after each (.ci/run).
"""

import pathlib

import pytest

tomllib = pytest.importorskip('tomllib')  # Python >= 3.11

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _pyproject():
  return tomllib.loads((ROOT / 'pyproject.toml').read_text())


def test_every_package_of_the_tree_is_installed():
  setuptools = _pyproject()['tool']['setuptools']
  directories = {'tfp_realnvp_bin': 'bin'} | setuptools['package-dir']
  listed = {}
  for package in setuptools['packages']:
    top, *rest = package.split('.')
    listed[package] = ROOT.joinpath(directories.get(top, top), *rest)
  in_tree = {
      '.'.join(p.parent.relative_to(ROOT).parts)
      for p in ROOT.glob('tfp_realnvp/**/__init__.py')} | {'tfp_realnvp_bin'}
  assert set(listed) == in_tree
  assert all((path / '__init__.py').is_file() for path in listed.values())


def test_every_console_script_names_a_function_of_bin():
  scripts = _pyproject()['project']['scripts']
  assert scripts, 'no console scripts'
  for name, target in scripts.items():
    module, function = target.split(':')
    assert module.startswith('tfp_realnvp_bin.'), name
    source = (ROOT / 'bin' / (module.split('.')[1] + '.py')).read_text()
    assert f'def {function}(' in source, (name, target)
