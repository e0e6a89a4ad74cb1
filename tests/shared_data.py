"""Where tests find the prepared TFDS data (never copied into the project)."""

import os
import pathlib

import pytest

# The prepared TFDS data_dir beside the checkout (CI has it), or
# $TFP_REALNVP_DATA_DIR.
SHARED_TFDS_DIR = os.environ.get(
    'TFP_REALNVP_DATA_DIR',
    str(pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'data' /
        'tfds'))


def needs_tfds(name):
  """Skips a test only when the prepared dataset `name` is absent."""
  return pytest.mark.skipif(
      not os.path.isdir(os.path.join(SHARED_TFDS_DIR, name)),
      reason=f'prepared {name} not found under {SHARED_TFDS_DIR}')
