"""The mutation run's list stays in step with the code and docs/testing.md.

`mutation/run.py` itself runs in CI after the slow tail (minutes); these
checks are what keeps its list applicable between runs.
"""

import pathlib
import re

from mutation import mutants as mutants_lib

ROOT = pathlib.Path(__file__).resolve().parent.parent
MUTANTS = mutants_lib.MUTANTS


def test_there_are_enough_mutants_and_their_names_are_unique():
  names = [m.name for m in MUTANTS]
  assert len(names) >= 25
  assert len(set(names)) == len(names)


def test_every_mutant_applies_once_and_changes_its_file():
  for mutant in MUTANTS:
    text = (ROOT / mutant.path).read_text()
    assert text.count(mutant.before) == 1, mutant.name
    assert mutant.after != mutant.before, mutant.name
    for test in mutant.tests:
      assert (ROOT / test.split('::')[0]).is_file(), (mutant.name, test)


def test_the_readme_table_lists_every_mutant_caught():
  readme = (ROOT / 'docs' / 'testing.md').read_text()
  table = readme.split('<!-- mutants: start')[1].split('<!-- mutants: end')[0]
  rows = re.findall(r'^\| `([\w-]+)` \| .* \| (.*) \|$', table, re.M)
  assert [name for name, _ in rows] == [m.name for m in MUTANTS]
  for name, caught_by in rows:
    assert caught_by.startswith('`tests/'), (name, caught_by)
  # Each is caught by one of the tests the mutant lists.
  for mutant, (_, caught_by) in zip(MUTANTS, rows):
    test_file = caught_by.strip('`').split('::')[0]
    assert any(t.split('::')[0] == test_file for t in mutant.tests), (
        mutant.name, caught_by)
