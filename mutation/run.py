r"""Applies every mutant of `mutants.py` to a copy of the tree and runs its tests.

  python mutation/run.py                 # every mutant; exit 1 if one lives
  python mutation/run.py --only=k-draw-forgets-log-k,polyak-not-debiased
  python mutation/run.py --readme        # and rewrite docs/testing.md's table

Each mutant is applied to a scratch copy of the tree (the working tree as
git sees it), its tests run there with `pytest -x`, and the copy is restored.
A mutant is caught when its tests fail; the first failing test is named in
the table. The unmutated copies' tests run first and must pass, so a failure
means the mutant, not the tree (`--skip_baseline` leaves that to a caller
that has just run them, as .ci/run has). Two copies work side by side (one per core).
"""

import argparse
import concurrent.futures
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mutation import mutants as mutants_lib  # pylint: disable=g-import-not-at-top,wrong-import-position

README_START = '<!-- mutants: start (python mutation/run.py --readme) -->'
README_END = '<!-- mutants: end -->'


def _tree_files():
  """The files of the working tree that git tracks or would (not ignored)."""
  listed = subprocess.run(
      ['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'],
      cwd=ROOT, check=True, capture_output=True).stdout.decode()
  return [name for name in listed.split('\0')
          if name and (ROOT / name).is_file()]


def _copy_tree(destination):
  for name in _tree_files():
    target = destination / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / name, target)


def _pytest(copy, tests):
  """`(passed, first failing test or '', seconds)` of `tests` in `copy`."""
  environment = dict(os.environ, PYTHONPATH=str(copy),
                     PYTHONDONTWRITEBYTECODE='1')
  start = time.time()
  result = subprocess.run(
      [sys.executable, '-m', 'pytest', '-x', '-q', '-rf', '-n', '0',
       '-p', 'no:cacheprovider', '-m', 'slow or not slow', *tests],
      cwd=copy, env=environment, capture_output=True, text=True)
  if result.returncode not in (0, 1):
    # Usage errors, no test collected: the run says nothing of a mutant.
    raise RuntimeError(f'pytest {" ".join(tests)} exited with '
                       f'{result.returncode}:\n{result.stdout[-2000:]}')
  failed = re.findall(r'^(?:FAILED|ERROR) (\S+)', result.stdout, re.M)
  return result.returncode == 0, failed[0] if failed else '', (
      time.time() - start)


def _check_copy_imports_itself(copy):
  environment = dict(os.environ, PYTHONPATH=str(copy))
  found = subprocess.run(
      [sys.executable, '-c',
       'import tfp_realnvp.dequantization as d; print(d.__file__)'],
      cwd=copy, env=environment, capture_output=True, text=True, check=True)
  if not found.stdout.strip().splitlines()[-1].startswith(str(copy)):
    raise RuntimeError(f'The copy imports tfp_realnvp from elsewhere: '
                       f'{found.stdout.strip()}')


def _apply(copy, mutant):
  path = copy / mutant.path
  text = path.read_text()
  if text.count(mutant.before) != 1:
    raise ValueError(f'{mutant.name}: its text stands '
                     f'{text.count(mutant.before)} times in {mutant.path}.')
  path.write_text(text.replace(mutant.before, mutant.after))
  return text


def _run_one(copy, mutant):
  original = _apply(copy, mutant)
  try:
    passed, caught, seconds = _pytest(copy, mutant.tests)
  finally:
    (copy / mutant.path).write_text(original)
  return mutant, (not passed), caught, seconds


def table(results):
  """docs/testing.md's Markdown table of `(mutant, caught, test, seconds)`."""
  lines = ['| mutant | what it breaks | caught by |',
           '| --- | --- | --- |']
  for mutant, caught, test, _ in results:
    where = f'`{test}`' if caught else '**not caught**'
    lines.append(f'| `{mutant.name}` | {mutant.breaks} | {where} |')
  return '\n'.join(lines)


def _write_readme(text):
  readme = ROOT / 'docs' / 'testing.md'
  content = readme.read_text()
  start, end = content.index(README_START), content.index(README_END)
  readme.write_text(content[:start + len(README_START)] + '\n\n' + text +
                    '\n\n' + content[end:])


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--only', default='',
                      help='Comma-separated mutant names (default: all).')
  parser.add_argument('--readme', action='store_true',
                      help="Rewrite docs/testing.md's mutation table.")
  parser.add_argument('--workers', type=int, default=2,
                      help='Copies working side by side.')
  parser.add_argument(
      '--skip_baseline', action='store_true',
      help='Do not first run the listed tests on the unmutated tree (.ci/run: '
           'the default suite and the slow tail just passed on it).')
  args = parser.parse_args()
  chosen = [m for m in mutants_lib.MUTANTS
            if not args.only or m.name in args.only.split(',')]
  if args.only and len(chosen) != len(args.only.split(',')):
    known = sorted(m.name for m in mutants_lib.MUTANTS)
    parser.error(f'unknown mutant in --only; known: {known}')
  start = time.time()
  scratch = pathlib.Path(tempfile.mkdtemp(prefix='tfp_realnvp_mutants_'))
  copies = [scratch / f'copy_{i}' for i in range(max(1, args.workers))]
  try:
    for copy in copies:
      _copy_tree(copy)
    _check_copy_imports_itself(copies[0])
    # The unmutated tree passes every listed test, so a failure below is
    # the mutant's.
    tests = sorted({t for m in chosen for t in m.tests})
    # Split over the copies, one process each, side by side.
    shares = [tests[i::len(copies)] for i in range(len(copies))]
    with concurrent.futures.ThreadPoolExecutor(len(copies)) as pool:
      runs = ([] if args.skip_baseline
              else list(pool.map(_pytest, copies, shares)))
    failed_test = next((run[1] for run in runs if not run[0]), '')
    if runs:
      print(f'unmutated: {len(tests)} test targets '
            f'{"FAIL: " + failed_test if failed_test else "pass"} '
            f'({max(run[2] for run in runs):.0f} s)', flush=True)
    if any(not run[0] for run in runs):
      return 2
    results = []
    with concurrent.futures.ThreadPoolExecutor(len(copies)) as pool:
      free = list(copies)
      pending = {}
      queue = list(chosen)
      while queue or pending:
        while queue and free:
          copy = free.pop()
          future = pool.submit(_run_one, copy, queue.pop(0))
          pending[future] = copy
        done, _ = concurrent.futures.wait(
            pending, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
          free.append(pending.pop(future))
          result = future.result()
          results.append(result)
          mutant, caught, test, seconds = result
          print(f'{mutant.name}: {"caught by " + test if caught else "LIVES"}'
                f' ({seconds:.0f} s)', flush=True)
  finally:
    shutil.rmtree(scratch, ignore_errors=True)
  order = {m.name: i for i, m in enumerate(mutants_lib.MUTANTS)}
  results.sort(key=lambda r: order[r[0].name])
  text = table(results)
  print(text)
  survivors = [r[0].name for r in results if not r[1]]
  print(f'{len(results) - len(survivors)} of {len(results)} mutants caught '
        f'in {time.time() - start:.0f} s.', flush=True)
  if args.readme and not args.only:
    _write_readme(text)
  return 1 if survivors else 0


if __name__ == '__main__':
  sys.exit(main())
