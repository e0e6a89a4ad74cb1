"""Tests of run(...), the library behind bin/train.py."""

import json
import sys

import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp import run as run_lib


def _pixels(n, seed):
  rng = np.random.default_rng(seed)
  return rng.uniform(0., 256., size=(n, 8, 8, 1)).astype(np.float32)


def _injected_datasets():
  return (tf.data.Dataset.from_tensor_slices(_pixels(64, 0)).batch(16),
          tf.data.Dataset.from_tensor_slices(_pixels(32, 1)).batch(16))


def test_run_with_injected_data_writes_config_and_results(tmp_path):
  config = run_lib.TrainConfig(dataset='injected', model_dir=str(tmp_path),
                               num_scales=2, num_res_blocks=1, num_filters=4,
                               epochs=2)
  results = run_lib.run(config, datasets=_injected_datasets())
  assert isinstance(results['distribution'], tfp_realnvp.RealNVP)
  assert len(results['history']['val_bits_per_dim']) == 2
  saved_config = json.loads((tmp_path / 'config.json').read_text())
  assert saved_config['num_filters'] == 4 and saved_config['epochs'] == 2
  saved = json.loads((tmp_path / 'results.json').read_text())
  assert saved['validation_bits_per_dim'] == pytest.approx(
      results['validation_bits_per_dim'])
  assert np.isfinite(saved['validation_bits_per_dim'])


def test_run_trains_a_vector_model_on_a_toy_set():
  config = run_lib.TrainConfig(dataset='moons', epochs=1, steps_per_epoch=3,
                               num_res_blocks=1, num_filters=8)
  results = run_lib.run(config)
  assert isinstance(results['distribution'], tfp_realnvp.VectorRealNVP)
  assert np.isfinite(results['validation_bits_per_dim'])


def test_preset_for_other_image_shape_raises():
  config = run_lib.TrainConfig(dataset='injected', preset='cifar10')
  with pytest.raises(ValueError, match=r"Preset 'cifar10' is for images of "
                     r'shape \(32, 32, 3\)'):
    run_lib.run(config, datasets=_injected_datasets())


def test_unknown_preset_raises():
  config = run_lib.TrainConfig(dataset='injected', preset='svhn')
  with pytest.raises(ValueError, match="Unknown preset 'svhn'"):
    run_lib.run(config, datasets=_injected_datasets())


def test_paper_datasets_get_their_recipe_and_preset():
  celeba = run_lib.TrainConfig(dataset='celeb_a')
  lsun = run_lib.TrainConfig(dataset='lsun/church_outdoor')
  assert run_lib._paper_defaults(celeba) == ('celeba', 'celeba')
  assert run_lib._paper_defaults(lsun) == ('lsun', 'lsun')
  assert run_lib._paper_defaults(run_lib.TrainConfig()) == (None, None)


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
