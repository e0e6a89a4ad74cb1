"""The binaries' messages say what is true (issue #44, finding 3)."""

import ast
import csv
import pathlib

from absl import flags
import numpy as np
import pytest

from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import flags as flags_lib
from tfp_realnvp.app import loading
from tfp_realnvp.app import scoring

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_a_missing_model_directory_is_named_as_missing(tmp_path):
  missing = str(tmp_path / 'nope')
  for call in (lambda: loading.evaluation_dataset_name(missing),
               lambda: loading.evaluation_dataset_name(missing, 'mnist'),
               lambda: loading.load_flow(missing)):
    with pytest.raises(ValueError, match='is not a directory'):
      call()
  # A directory that holds no run: --dataset is what is missing.
  with pytest.raises(ValueError, match='holds no training run.*--dataset'):
    loading.evaluation_dataset_name(str(tmp_path))


def test_a_different_model_names_what_each_run_is(tmp_path):
  # A uniform run's description has no `dequantization` key (older runs).
  path = str(tmp_path / 'config.json')
  config_lib.write_json(path, {'model': {'name': 'real_nvp'}})
  with pytest.raises(ValueError) as error:
    config_lib.check_same_model(
        path, {'name': 'real_nvp', 'dequantization': 'variational'})
  assert "dequantization: 'uniform' there, 'variational' now" in str(
      error.value)
  assert 'None' not in str(error.value)


def test_the_mixed_precision_flag_lists_its_values_in_help():
  values = flags.FlagValues()
  flags_lib.define_config_flags(config_lib.TrainConfig, values)
  help_text = values.get_help()
  assert '--[no]mixed_precision' not in help_text
  assert '--mixed_precision: <auto|true|false>' in help_text


def test_score_says_the_split_its_flag_says():
  doc = ast.get_docstring(ast.parse((ROOT / 'bin' / 'score.py').read_text()))
  assert "test split" in doc and 'validation split' not in doc
  source = (ROOT / 'tfp_realnvp' / 'app' / 'flags.py').read_text()
  assert "default: the run's test split" in source


def test_scores_are_written_into_a_folder_that_is_not_there_yet(tmp_path):
  path = tmp_path / 'new' / 'folder' / 'scores.csv'
  scores = {'bits_per_dim': np.array([1.5]), 'log_det': np.array([0.25])}
  scoring.write_csv(str(path), ['a'], scores)
  rows = list(csv.reader(path.open()))
  assert rows == [['example', 'bits_per_dim', 'log_det'],
                  ['a', '1.500000', '0.250000']]
