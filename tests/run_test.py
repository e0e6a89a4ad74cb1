"""Tests of run(...), the library behind bin/train.py."""

import gc
import json
import logging
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import learning_rates
from tfp_realnvp.app import loading
from tfp_realnvp.app import run as run_lib
from tests import injected_data


@pytest.mark.slow
def test_run_trains_a_vector_model_on_a_toy_set_and_draws_figure_1(
    tmp_path):
  config = run_lib.TrainConfig(dataset='moons', epochs=1, steps_per_epoch=3,
                               num_res_blocks=1, num_filters=8,
                               model_dir=str(tmp_path), export=False)
  results = run_lib.run(config)
  assert isinstance(results['distribution'], tfp_realnvp.VectorRealNVP)
  assert np.isfinite(results['validation_bits_per_dim'])
  _assert_png(tmp_path / 'figure1.png')


def _assert_png(path):
  image = tf.io.decode_png(tf.io.read_file(str(path)))
  assert image.shape[0] > 0 and image.shape[1] > 0


def _tiny_config(model_dir, **overrides):
  settings = dict(dataset='injected', model_dir=str(model_dir), num_scales=1,
                  num_res_blocks=1, num_filters=4, epochs=1,
                  steps_per_epoch=2, num_samples=4)
  settings.update(overrides)
  return run_lib.TrainConfig(**settings)


def _logged_rates(model_dir):
  """{step: learning rate} from a run's TensorBoard train logs."""
  rates = {}
  for path in (model_dir / 'tensorboard' / 'train').glob('events.out.*'):
    for event in tf.compat.v1.train.summary_iterator(str(path)):
      for value in event.summary.value:
        if value.tag == 'learning_rate':
          rates[event.step] = float(tf.make_ndarray(value.tensor))
  return rates


class TestRunOutputsAndResume:
  """A 2-step run, run again, extended, and beside a fresh model_dir."""

  @pytest.mark.slow
  def test_two_steps_write_every_output_and_resume(self, tmp_path):
    model_dir = tmp_path / 'run'
    config = _tiny_config(model_dir)
    first = run_lib.run(config, datasets=injected_data.injected_datasets(32))
    assert first['steps'] == 2
    assert tf.train.latest_checkpoint(
        str(model_dir / 'checkpoints' / 'chief')) is not None
    events = list((model_dir / 'tensorboard').rglob('events.out.tfevents.*'))
    assert {p.parent.name for p in events} == {'train', 'validation',
                                               'health'}
    _assert_png(model_dir / 'samples' / 'epoch_0001.png')
    assert (model_dir / 'export' / '2' / 'saved_model.pb').exists()
    assert first['saved_model'] == str(model_dir / 'export' / '2')
    results_json = json.loads((model_dir / 'results.json').read_text())
    assert results_json['validation_bits_per_dim'] == pytest.approx(
        first['validation_bits_per_dim'])
    assert np.isfinite(first['validation_bits_per_dim'])
    assert len(first['history']['val_bits_per_dim']) == 1
    saved = json.loads((model_dir / 'config.json').read_text())
    assert saved['num_filters'] == 4 and saved['epochs'] == 1
    assert saved['model']['class'] == 'RealNVP'
    assert saved['model']['image_shape'] == [8, 8, 1]
    assert saved['event_shape'] == [8, 8, 1]

    # More epochs continue from step 2, not from 0 (without an export this
    # time: the first run's and the one below show where exports go).
    extended = run_lib.run(_tiny_config(model_dir, epochs=2, export=False),
                           datasets=injected_data.injected_datasets(32))
    assert extended['steps'] == 4
    assert len(extended['history']['loss']) == 1
    _assert_png(model_dir / 'samples' / 'epoch_0002.png')
    assert not (model_dir / 'export' / '4').exists()
    # Nothing earlier was deleted.
    assert (model_dir / 'export' / '2' / 'saved_model.pb').exists()
    assert (model_dir / 'samples' / 'epoch_0001.png').exists()

    # Another model_dir starts from zero; on a non-local filesystem too.
    _run_again_and_load_on_a_non_local_filesystem()

  @pytest.mark.slow
  def test_resumes_mid_epoch_from_a_step_checkpoint(self, tmp_path):
    pixels = injected_data.random_pixels(64, 0)
    poisoned = pixels.copy()
    poisoned[32:48] = np.nan  # The third batch of 16.

    def datasets(train_pixels):
      train = tf.data.Dataset.from_tensor_slices(train_pixels).batch(16).map(
          lambda x: tf.debugging.check_numerics(x, 'poisoned batch'))
      return train, tf.data.Dataset.from_tensor_slices(
          injected_data.random_pixels(16, 1)).batch(16)

    # A warm-up and cosine decay, to see the schedule continue at the step
    # the resumed run starts from.
    config = _tiny_config(tmp_path, steps_per_epoch=4,
                          checkpoint_every_steps=1, export=False,
                          learning_rate=1e-3, warmup_steps=2, decay='cosine',
                          log_every_steps=1)
    with pytest.raises(tf.errors.InvalidArgumentError, match='poisoned'):
      run_lib.run(config, datasets=datasets(poisoned))
    checkpoint = tf.train.latest_checkpoint(
        str(tmp_path / 'checkpoints' / 'chief'))
    assert checkpoint is not None
    # The killed epoch is finished with its 2 remaining steps, not redone.
    results = run_lib.run(config, datasets=datasets(pixels))
    assert results['steps'] == 4
    assert not (tmp_path / 'export').exists()  # export=False
    # Steps 0, 1 in the first run and 2, 3 in the resumed one: warm-up to
    # 1e-3, then the cosine over the run's 4 - 2 remaining steps.
    expected = [5e-4, 1e-3, 1e-3, 1e-3 * 0.5 * (1 + np.cos(np.pi / 2))]
    assert _logged_rates(tmp_path) == pytest.approx(
        dict(enumerate(expected)), rel=1e-5)


@pytest.mark.slow
def test_mirrored_run_writes_outputs_that_load_on_one_device(
    tmp_path, two_cpu_strategy):
  strategy = two_cpu_strategy
  results = run_lib.run(_tiny_config(tmp_path, batch_size=16),
                        datasets=injected_data.injected_datasets(32),
                        strategy=strategy)
  assert results['steps'] == 2
  pixels = injected_data.random_pixels(4, 7)
  with tfp_realnvp.training_mode(False):
    expected = results['distribution'].log_prob(pixels).numpy()
  restored, _ = loading.load_distribution(str(tmp_path), weights='raw')
  averaged, _ = loading.load_distribution(str(tmp_path))
  with tfp_realnvp.training_mode(False):
    np.testing.assert_allclose(restored.log_prob(pixels), expected,
                               rtol=1e-5)
    expected_served = averaged.log_prob(pixels).numpy()
  # The export holds the Polyak average (on by default).
  served = tf.saved_model.load(results['saved_model']).signatures['log_prob']
  np.testing.assert_allclose(served(images=tf.constant(pixels))['log_prob'],
                             expected_served, rtol=1e-5)


def test_make_strategy_knows_the_strategies():
  assert run_lib.make_strategy('default') is tf.distribute.get_strategy()
  one_device = run_lib.make_strategy('one_device')
  assert isinstance(one_device, tf.distribute.OneDeviceStrategy)
  with pytest.raises(ValueError, match="Unknown --strategy 'horovod'"):
    run_lib.make_strategy('horovod')


class TestBadConfigurations:

  def test_image_size_not_divisible_by_the_scales(self, tmp_path):
    with pytest.raises(ValueError, match='divisible by 4'):
      run_lib.run(_tiny_config(tmp_path, num_scales=3),
                  datasets=(tf.data.Dataset.from_tensor_slices(
                      np.zeros([4, 6, 6, 1], np.float32)).batch(2),) * 2)

  def test_unknown_dataset(self, tmp_path):
    with pytest.raises(ValueError, match="Unknown dataset 'no_such_images'"):
      run_lib.run(run_lib.TrainConfig(dataset='no_such_images',
                                      model_dir=str(tmp_path),
                                      download=False))

  def test_data_dir_without_the_data_says_how_to_prepare_it(self, tmp_path):
    with pytest.raises(ValueError, match=r'tfds build mnist --data_dir'):
      run_lib.run(run_lib.TrainConfig(dataset='mnist',
                                      data_dir=str(tmp_path / 'empty'),
                                      model_dir=str(tmp_path),
                                      download=False))

  @pytest.mark.parametrize('flag, value', [
      ('batch_size', 0), ('epochs', -1), ('learning_rate', 0.),
      ('steps_per_epoch', 0), ('checkpoint_every_steps', -1),
      ('temperature', 0.), ('bn_momentum', 1.), ('strategy', 'horovod'),
      ('warmup_steps', -1), ('decay_rate', 0.), ('decay', 'linear')])
  def test_bad_numbers_name_the_flag(self, tmp_path, flag, value):
    with pytest.raises(ValueError, match=f'--{flag} must be|Unknown --{flag}'):
      run_lib.run(_tiny_config(tmp_path, **{flag: value}),
                  datasets=injected_data.injected_datasets(32))
    assert not os.listdir(tmp_path)

  def test_a_decay_needs_its_length(self, tmp_path):
    with pytest.raises(ValueError, match='--decay=cosine needs --decay_steps'):
      run_lib.run(_tiny_config(tmp_path, decay='cosine',
                               steps_per_epoch=None),
                  datasets=injected_data.injected_datasets(32))


def test_preset_for_other_image_shape_raises(tmp_path):
  config = run_lib.TrainConfig(dataset='injected', preset='cifar10',
                               model_dir=str(tmp_path))
  with pytest.raises(ValueError, match=r"Preset 'cifar10' is for images of "
                     r'shape \(32, 32, 3\)'):
    run_lib.run(config, datasets=injected_data.injected_datasets(32))


def test_unknown_preset_raises(tmp_path):
  config = run_lib.TrainConfig(dataset='injected', preset='svhn',
                               model_dir=str(tmp_path))
  with pytest.raises(ValueError, match="Unknown --preset 'svhn'"):
    run_lib.run(config, datasets=injected_data.injected_datasets(32))


def test_paper_datasets_get_their_recipe_and_preset():
  celeba = run_lib.TrainConfig(dataset='celeb_a')
  lsun = run_lib.TrainConfig(dataset='lsun/church_outdoor')
  assert data.paper_defaults(celeba.dataset) == ('celeba', 'celeba')
  assert data.paper_defaults(lsun.dataset) == ('lsun', 'lsun')
  assert data.paper_defaults(run_lib.TrainConfig().dataset) == (None, None)


def test_conditional_run_writes_a_row_per_class_and_rebuilds(
    trained_conditional_run_dir):
  config = json.loads((trained_conditional_run_dir / 'config.json').read_text())
  assert config['conditional'] and config['model']['class'] == (
      'ConditionalRealNVP')
  assert config['model']['num_classes'] == 10
  # Unset, the rate is resolved before anything reads it, and recorded.
  assert config['learning_rate'] == learning_rates.IMAGE_LEARNING_RATE
  grid = tf.io.decode_png(tf.io.read_file(
      str(trained_conditional_run_dir / 'samples' / 'epoch_0001.png')))
  # 20 samples, 2 per class, one row per class, tiles magnified 16x.
  assert grid.shape == ((10 * 9 - 1) * 16, (2 * 9 - 1) * 16, 1)
  distribution, _ = loading.load_distribution(str(trained_conditional_run_dir))
  assert isinstance(distribution, tfp_realnvp.ConditionalRealNVP)


def test_conditional_needs_labels(tmp_path):
  with pytest.raises(ValueError, match='unlabelled 2-D toy'):
    run_lib.run(run_lib.TrainConfig(dataset='moons', conditional=True,
                                    model_dir=str(tmp_path)))
  with pytest.raises(ValueError, match=r'\(images, labels\)'):
    run_lib.run(_tiny_config(tmp_path, conditional=True),
                datasets=injected_data.injected_datasets(32))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))


class _WarningsOf(logging.Handler):
  """Collects the warnings a logger emits until `stop()`."""

  def __init__(self, logger):
    super().__init__(logging.WARNING)
    self.messages = []
    self._logger = logger
    logger.addHandler(self)

  def emit(self, record):
    self.messages.append(record.getMessage())

  def stop(self):
    self._logger.removeHandler(self)


def _run_again_and_load_on_a_non_local_filesystem():
  """A fresh run on TF's in-memory filesystem (a stand-in for gs://), resumed.

  Nothing may go through Python's open/os, and the export cannot rename a
  directory there.
  """
  model_dir = 'ram://run_test/non_local'
  config = _tiny_config(model_dir, checkpoint_every_steps=1)
  first = run_lib.run(config, datasets=injected_data.injected_datasets(32))
  assert first['steps'] == 2
  assert first['saved_model'] == model_dir + '/export/2'
  assert set(tf.io.gfile.listdir(model_dir)) >= {
      'checkpoints', 'config.json', 'export', 'results.json', 'samples',
      'tensorboard'}
  # The same command again: the run is finished, nothing is redone, every
  # value is restored at once (TensorFlow warns on exit about any left
  # pending); another model is refused, naming what differs.
  pending = _WarningsOf(tf.get_logger())
  again = run_lib.run(config, datasets=injected_data.injected_datasets(32))
  assert again['steps'] == 2 and again['history'] == {}
  assert again['validation_bits_per_dim'] == pytest.approx(
      first['validation_bits_per_dim'], rel=1e-4)
  gc.collect()
  pending.stop()
  assert not [m for m in pending.messages
              if 'unrestored' in m or 'could not be found' in m], (
                  pending.messages[:3])
  with pytest.raises(ValueError, match=r'different model \(num_filters: 4 '
                                       r'there, 8 now\)'):
    run_lib.run(_tiny_config(model_dir, num_filters=8),
                datasets=injected_data.injected_datasets(32))
  # The restored weights are the trained ones.
  pixels = injected_data.random_pixels(2, 7)
  restored, saved_config = loading.load_distribution(model_dir,
                                                     weights='raw')
  assert saved_config['num_filters'] == 4
  np.testing.assert_allclose(restored.log_prob(pixels),
                             first['distribution'].log_prob(pixels),
                             rtol=1e-6)
  from_checkpoint = loading.load_flow(model_dir)
  from_saved_model = loading.load_flow(model_dir + '/export')
  np.testing.assert_allclose(from_checkpoint.bits_per_dim(pixels),
                             from_saved_model.bits_per_dim(pixels), rtol=1e-5)
  assert loading.sample_grid(from_saved_model, 4).shape == (17, 17, 1)


class _CountsSteps(tf_keras.callbacks.Callback):

  def __init__(self):
    super().__init__()
    self.steps = 0

  def on_train_batch_end(self, batch, logs=None):
    self.steps += 1


def _logged_validation(model_dir):
  """{step: validation bits/dim} from the every-N-steps TensorBoard log."""
  figures = {}
  for path in (model_dir / 'tensorboard' / 'validation_by_step').glob(
      'events.out.*'):
    for event in tf.compat.v1.train.summary_iterator(str(path)):
      for value in event.summary.value:
        if value.tag == 'validation_bits_per_dim':
          figures[event.step] = float(tf.make_ndarray(value.tensor))
  return figures


@pytest.mark.slow
def test_validation_every_steps_keeps_the_best_checkpoint(tmp_path):
  counter = _CountsSteps()
  config = _tiny_config(tmp_path, steps_per_epoch=4, validation_every_steps=1,
                        validation_examples=16, learning_rate=5e-2,
                        export=False)
  run_lib.run(config, datasets=injected_data.injected_datasets(32),
              callbacks=[counter])
  assert counter.steps == 4  # the extra callback ran with the run's own
  figures = _logged_validation(tmp_path)
  assert sorted(figures) == [1, 2, 3, 4]
  best = json.loads(
      (tmp_path / 'checkpoints' / 'best' / 'best.json').read_text())
  best_step = min(figures, key=figures.get)
  assert best['step'] == best_step
  assert best['bits_per_dim'] == pytest.approx(figures[best_step], rel=1e-6)
  # The checkpoint holds that step's model: its averaged weights, with the
  # statistics computed for them then, score the same on the same 16
  # validation examples.
  model = tfp_realnvp.FlowModel(config_lib.build_flow(config, (8, 8, 1), None),
                                polyak_decay=config.polyak_decay)
  checkpoint = tf.train.latest_checkpoint(str(tmp_path / 'checkpoints' /
                                              'best'))
  assert checkpoint.endswith(f'-{best_step}')
  tf.train.Checkpoint(model=model).restore(checkpoint).expect_partial()
  assert model.step.averaged_statistics.has_statistics()
  validation = injected_data.injected_datasets(32)[1].unbatch().take(
      16).batch(64)
  with model.averaged_weights():
    assert tfp_realnvp.evaluate_bits_per_dim(
        model.distribution, validation) == pytest.approx(
            best['bits_per_dim'], rel=1e-5)
