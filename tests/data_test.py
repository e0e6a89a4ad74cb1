"""Tests of the data pipelines, on real MNIST/CIFAR-10 prepared for TFDS."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import run as run_lib
from tfp_realnvp.app import run_data
from tests import shared_data

SHARED_TFDS_DIR = shared_data.SHARED_TFDS_DIR
needs_shared_data = shared_data.needs_tfds('mnist')


def test_dequantize_stays_in_pixel_bins():
  images = tf.constant([[0, 17, 255]], tf.uint8)
  pixels = data.dequantize(images, seed=[1, 2]).numpy()
  assert np.all(pixels >= [0, 17, 255]) and np.all(pixels < [1, 18, 256])


@needs_shared_data
@pytest.mark.parametrize('name,shape', [('mnist', (28, 28, 1)),
                                        ('cifar10', (32, 32, 3))])
def test_tfds_images_load_offline_as_dequantized_pixels(name, shape):
  dataset = data.image_dataset(name, 'test[:64]', data_dir=SHARED_TFDS_DIR,
                               batch_size=32, download=False, seed=0)
  batch = next(iter(dataset)).numpy()
  assert batch.shape == (32,) + shape and batch.dtype == np.float32
  assert batch.min() >= 0. and batch.max() < 256.
  assert len(np.unique(np.floor(batch))) > 50  # Real images, not noise.


@needs_shared_data
def test_flips_mirror_images():
  unflipped = next(iter(data.image_dataset(
      'mnist', 'test[:8]', data_dir=SHARED_TFDS_DIR, batch_size=8,
      shuffle=False, download=False)))
  tf.random.set_seed(3)
  flipped = next(iter(data.image_dataset(
      'mnist', 'test[:8]', data_dir=SHARED_TFDS_DIR, batch_size=8,
      shuffle=False, flip=True, download=False)))
  same = np.floor(flipped) == np.floor(unflipped)
  mirrored = np.floor(flipped) == np.floor(unflipped)[:, :, ::-1]
  per_image = [s.all() or m.all() for s, m in zip(same, mirrored)]
  assert all(per_image)
  assert not all(s.all() for s in same)


@needs_shared_data
@pytest.mark.parametrize('name,flips', [('mnist', False), ('cifar10', True)])
def test_default_flip_is_for_colour_images_only(name, flips):
  def first_batch(flip):
    tf.random.set_seed(5)
    return np.floor(next(iter(data.image_dataset(
        name, 'test[:16]', data_dir=SHARED_TFDS_DIR, batch_size=16,
        shuffle=False, flip=flip, download=False))))
  unflipped = first_batch(False)
  auto = first_batch(None)
  assert np.array_equal(auto, unflipped) != flips


def test_missing_dataset_names_the_place_looked(tmp_path):
  with pytest.raises(ValueError, match=f'mnist.*{tmp_path}'):
    data.image_dataset('mnist', 'train', data_dir=str(tmp_path),
                       download=False)


def test_corrupt_dataset_directory_names_the_problem(tmp_path):
  version = tmp_path / 'mnist' / '3.0.1'
  version.mkdir(parents=True)
  (version / 'dataset_info.json').write_text('not json {')
  with pytest.raises(ValueError, match=r"corrupt or partly prepared .*"
                     r"tfds build mnist"):
    data.image_dataset('mnist', 'train', str(tmp_path), download=False)


@needs_shared_data
def test_empty_split_names_the_problem():
  with pytest.raises(ValueError, match=r"'mnist' split 'test\[:0\]'.*"
                     r'An empty split'):
    data.image_dataset('mnist', 'test[:0]', SHARED_TFDS_DIR, download=False)


def test_unknown_recipe_raises():
  with pytest.raises(ValueError, match='recipe'):
    data.image_dataset('mnist', 'train', recipe='imagenet')


@pytest.mark.parametrize('recipe,shape', [('celeba', (218, 178, 3)),
                                          ('lsun', (120, 160, 3))])
def test_paper_recipes_give_64x64(recipe, shape):
  image = tf.cast(tf.random.uniform(shape, 0, 256, tf.int32), tf.uint8)
  assert data._RECIPES[recipe](image).shape == (64, 64, 3)


def test_embedded_digits_need_no_network():
  train = np.concatenate(list(data.digits_dataset('train', batch_size=500)))
  test = np.concatenate(list(data.digits_dataset('test', batch_size=500)))
  assert train.shape == (1500, 8, 8, 1) and test.shape == (297, 8, 8, 1)
  assert train.min() >= 0. and train.max() < 256.
  assert np.floor(train).max() == 255.
  with pytest.raises(ValueError, match='split'):
    data.digits_dataset('validation')


def test_dequantized_pixels_stay_below_256():
  # A million pixels at 255: float32 rounds 255 + u up to 256 for about 8 of
  # them, unless dequantize clamps.
  pixels = data.dequantize(tf.fill([1000, 1000], tf.constant(255, tf.uint8)),
                           seed=[1, 2])
  assert float(tf.reduce_max(pixels)) < 256.
  assert float(tf.reduce_min(pixels)) >= 255.


def _sorted_pixels(dataset):
  """The digits' grey levels of `dataset` as sorted rows (a multiset).

  Levels, not floor(pixels): float32 rounds a rare k + u up to k + 1.
  """
  pixels = np.round(np.floor(np.concatenate(list(dataset))) * 16. / 255.)
  return _lexsorted(pixels.reshape(-1, 64))


def _lexsorted(rows):
  return rows[np.lexsort(rows.T[::-1])]


def test_carved_validation_split_is_the_rest_of_the_training_split():
  config = run_lib.TrainConfig()
  train_split, validation_split = config_lib.splits(config)
  assert (train_split, validation_split) == ('train[:90%]', 'train[90%:]')
  train = run_data.training_dataset(config)
  validation = run_data.validation_dataset(config)
  train_pixels = _sorted_pixels(train)
  validation_pixels = _sorted_pixels(validation)
  assert len(train_pixels) == 1350 and len(validation_pixels) == 150
  # Together exactly the training split: nothing validated is trained on.
  np.testing.assert_array_equal(
      _lexsorted(np.concatenate([train_pixels, validation_pixels])),
      _sorted_pixels(data.digits_dataset('train', 500)))
  # A given validation split leaves the whole training split to training.
  assert config_lib.splits(run_lib.TrainConfig(validation_split='test')) == (
      'train', 'test')


def test_a_runs_evaluation_data_are_its_pixels_in_a_fixed_order():
  # The model dequantizes them with noise of its seed and each image's
  # position, so every pass and copy is scored with the same noise.
  config = run_lib.TrainConfig()
  first = run_data.validation_dataset(config)
  first_pass = np.concatenate(list(first))
  assert first_pass.dtype == np.uint8
  np.testing.assert_array_equal(np.concatenate(list(first)), first_pass)
  np.testing.assert_array_equal(
      np.concatenate(list(run_data.validation_dataset(config))), first_pass)
  vectors = run_data.validation_dataset(run_lib.TrainConfig(dataset='moons'))
  assert next(iter(vectors)).dtype == tf.float32


def test_digits_splits_slice_as_tfds_does():
  assert len(np.concatenate(list(data.digits_dataset('test[:64]', 500)))) == 64
  assert len(np.concatenate(list(data.digits_dataset('train[-10%:]',
                                                     500)))) == 150
  with pytest.raises(ValueError, match="'train\\[5:5\\]'.*empty"):
    data.digits_dataset('train[5:5]')


@pytest.mark.parametrize('name', sorted(data.TOY_DATASETS))
def test_toy_datasets(name):
  points = data.toy_samples(name, 1000, seed=0)
  assert points.shape == (1000, 2) and points.dtype == np.float32
  assert np.all(np.abs(points) < 4.)
  np.testing.assert_array_equal(points, data.toy_samples(name, 1000, seed=0))
  assert next(iter(data.toy_dataset(name, 512, batch_size=128))).shape == (
      128, 2)


@pytest.mark.slow
@needs_shared_data
def test_short_fit_on_mnist_lowers_validation_bits_per_dim():
  tf.random.set_seed(0)
  train = data.image_dataset('mnist', 'train[:1024]', data_dir=SHARED_TFDS_DIR,
                             batch_size=64, download=False, seed=0)
  validation = data.image_dataset('mnist', 'test[:256]',
                                  data_dir=SHARED_TFDS_DIR, batch_size=128,
                                  shuffle=False, download=False)
  model = tfp_realnvp.FlowModel(tfp_realnvp.RealNVP(
      (28, 28, 1), num_scales=2, num_res_blocks=1, num_filters=8,
      bn_momentum=0.9))
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  before = model.evaluate(validation, verbose=0, return_dict=True)
  model.fit(train, epochs=2, verbose=0)
  after = model.evaluate(validation, verbose=0, return_dict=True)
  assert after['bits_per_dim'] < before['bits_per_dim'] - 0.5


def test_embedded_digits_with_labels():
  images, labels = next(iter(data.digits_dataset(
      'test', batch_size=297, shuffle=False, seed=0, with_labels=True)))
  assert images.shape == (297, 8, 8, 1) and labels.dtype == tf.int64
  assert set(labels.numpy()) == set(range(10))
  assert data.num_classes('digits') == 10


@needs_shared_data
def test_tfds_labels_come_with_their_images():
  images, labels = next(iter(data.image_dataset(
      'mnist', 'test[:32]', data_dir=SHARED_TFDS_DIR, batch_size=32,
      shuffle=False, download=False, seed=0, with_labels=True)))
  plain = next(iter(data.image_dataset(
      'mnist', 'test[:32]', data_dir=SHARED_TFDS_DIR, batch_size=32,
      shuffle=False, download=False, seed=0)))
  np.testing.assert_array_equal(images, plain)
  assert labels.shape == (32,) and labels.dtype == tf.int64
  assert data.num_classes('mnist', SHARED_TFDS_DIR) == 10


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
