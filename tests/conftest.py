"""Test-wide TensorFlow set-up and shared fixtures."""

import fcntl
import os

import numpy as np
import pytest
import tensorflow as tf

# Two logical CPU devices, so tests can run tf.distribute.MirroredStrategy
# replicas without a GPU. Must happen before TensorFlow initializes devices.
_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


def _shared_run(tmp_path_factory, name, train):
  """A run directory trained once per test session, shared by every worker.

  Under pytest-xdist each worker is its own process with its own session
  fixtures; the runs are built once, under a lock, in the directory the
  workers share (this session's), and only read by the tests.
  """
  if 'PYTEST_XDIST_WORKER' not in os.environ:
    model_dir = tmp_path_factory.mktemp(name)
    train(model_dir)
    return model_dir
  shared = tmp_path_factory.getbasetemp().parent
  model_dir = shared / name
  with open(shared / f'{name}.lock', 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not (shared / f'{name}.done').exists():
      train(model_dir)
      (shared / f'{name}.done').touch()
  return model_dir


@pytest.fixture(scope='session')
def trained_run_dir(tmp_path_factory):
  """A bin/train.py-style run directory: 2 steps on 8x8 images, exported."""

  def train(model_dir):
    from tfp_realnvp.app import run as run_lib  # pylint: disable=g-import-not-at-top
    rng = np.random.default_rng(0)
    pixels = rng.uniform(0., 256., size=(64, 8, 8, 1)).astype(np.float32)
    datasets = (tf.data.Dataset.from_tensor_slices(pixels[:48]).batch(16),
                tf.data.Dataset.from_tensor_slices(pixels[48:]).batch(16))
    config = run_lib.TrainConfig(
        dataset='digits', model_dir=str(model_dir), num_scales=2,
        num_res_blocks=1, num_filters=4, epochs=1, steps_per_epoch=2,
        num_samples=4,
        # Float32 wherever it runs: the tests of these runs compare the
        # checkpoint with the (float32) SavedModel to the last digit.
        mixed_precision='false')
    run_lib.run(config, datasets=datasets)

  return _shared_run(tmp_path_factory, 'trained_run', train)


@pytest.fixture(scope='session')
def two_cpu_strategy():
  """One MirroredStrategy over the 2 logical CPUs, shared by every test.

  Strategies made separately in one process reuse collective keys, and
  TensorFlow then aborts a collective whose dtype differs from an earlier
  one's under the same key.
  """
  devices = [d.name for d in tf.config.list_logical_devices('CPU')][:2]
  assert len(devices) == 2
  return tf.distribute.MirroredStrategy(devices)


@pytest.fixture(scope='session')
def trained_conditional_run_dir(tmp_path_factory):
  """A class-conditional run (10 classes, 8x8 images, 2 steps), exported."""

  def train(model_dir):
    from tfp_realnvp.app import run as run_lib  # pylint: disable=g-import-not-at-top
    rng = np.random.default_rng(1)
    pixels = rng.uniform(0., 256., size=(64, 8, 8, 1)).astype(np.float32)
    labels = rng.integers(0, 10, size=64)
    datasets = tuple(
        tf.data.Dataset.from_tensor_slices(
            (pixels[part], labels[part])).batch(16)
        for part in (slice(0, 48), slice(48, None)))
    config = run_lib.TrainConfig(
        dataset='digits', model_dir=str(model_dir), num_scales=2,
        num_res_blocks=1, num_filters=4, epochs=1, steps_per_epoch=2,
        num_samples=20, conditional=True,
        # Float32 wherever it runs: the tests of these runs compare the
        # checkpoint with the (float32) SavedModel to the last digit.
        mixed_precision='false')
    run_lib.run(config, datasets=datasets)

  return _shared_run(tmp_path_factory, 'trained_conditional_run', train)


# The compatibility suite .ci/run runs on every admitted TensorFlow minor
# (`-m compat`): every private hook, the bijectors' exactness, fit,
# evaluate and predict (and their data checks),
# `.keras` and SavedModel round trips, a given condition and the main job
# (bin/train.py, two steps). The newest minor runs everything.
COMPAT_FILES = frozenset({
    'compat_test.py', 'invertibility_test.py', 'model_test.py',
    'masked_affine_coupling_test.py', 'stateful_test.py',
    'first_hour_test.py', 'keras_saving_test.py', 'export_test.py',
    'conditioned_test.py', 'layering_test.py', 'train_test.py',
})


def pytest_collection_modifyitems(config, items):
  del config  # unused
  for item in items:
    if item.path.name in COMPAT_FILES:
      item.add_marker(pytest.mark.compat)
