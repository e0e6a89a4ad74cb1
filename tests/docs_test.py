"""The README is a guide, the docs hold the reference, and every link resolves."""

import pathlib
import re

from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import flags as flags_lib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / 'README.md'] + sorted((ROOT / 'docs').glob('*.md'))
_LINK = re.compile(r'\]\(([^)\s]+)\)')


def _anchors(page):
  """GitHub's heading anchors of a Markdown page."""
  text = re.sub(r'```.*?```', '', page.read_text(), flags=re.DOTALL)
  return {re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')
          for heading in re.findall(r'^#+ (.*)$', text, re.M)}


def test_the_readme_is_a_guide_of_at_most_400_lines():
  assert len((ROOT / 'README.md').read_text().splitlines()) <= 400


def test_every_relative_link_resolves():
  broken = []
  for page in PAGES:
    text = re.sub(r'```.*?```', '', page.read_text(), flags=re.DOTALL)
    for target in _LINK.findall(text):
      if re.match(r'[a-z]+:', target):
        continue  # https:, mailto:
      path, _, anchor = target.partition('#')
      resolved = (page.parent / path).resolve() if path else page
      if not resolved.exists():
        broken.append(f'{page.name}: {target}')
      elif anchor and resolved.suffix == '.md' and (
          anchor not in _anchors(resolved)):
        broken.append(f'{page.name}: {target} (no such heading)')
  assert not broken


def test_the_link_check_finds_a_broken_link(tmp_path):
  # The check above, shown to fail: a heading that is not there.
  page = tmp_path / 'page.md'
  page.write_text('# Title\n\n## Real heading\n')
  assert 'real-heading' in _anchors(page)
  assert 'missing-heading' not in _anchors(page)


def test_the_flags_page_is_the_generated_table():
  table = flags_lib.flags_markdown(config_lib.TrainConfig)
  page = (ROOT / 'docs' / 'flags.md').read_text()
  assert page.endswith(table), (
      'docs/flags.md is stale: replace its table with '
      'tfp_realnvp.app.flags.flags_markdown(TrainConfig)')
