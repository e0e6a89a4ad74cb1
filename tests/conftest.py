"""Test-wide TensorFlow set-up and shared fixtures."""

import fcntl
import hashlib
import os
import pathlib
import shutil
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

# Two logical CPU devices, so tests can run tf.distribute.MirroredStrategy
# replicas without a GPU. Must happen before TensorFlow initializes devices.
_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


def pytest_configure(config):
  """The README's test command runs without TensorFlow's graph optimizer.

  On the suite's tiny graphs, most traced once or twice, grappler's passes
  cost more than they save. Only the default run (`-m "not slow"`, pytest.ini)
  leaves them out: the slow tail (a CI run of it without them had a worker
  killed for memory at 13 GB; its paper-size models are the suspects), the
  compatibility suites, the mutation run and the binaries the tests start
  keep them, as users have them.
  """
  if config.getoption('markexpr') == 'not slow':
    tf.config.optimizer.set_experimental_options(
        {'disable_meta_optimizer': True})


_ROOT = pathlib.Path(__file__).resolve().parent.parent


def _code_key():
  """A digest of what a shared run's files depend on.

  The package, the binaries, this file (the runs' settings) and the
  frameworks' versions: the same key means the same run.
  """
  digest = hashlib.sha256()
  files = sorted([*(_ROOT / 'tfp_realnvp').rglob('*.py'),
                  *(_ROOT / 'bin').glob('*.py'), pathlib.Path(__file__)])
  for path in files:
    digest.update(str(path.relative_to(_ROOT)).encode())
    digest.update(path.read_bytes())
  for module in (tf, tf_keras, tfp):
    digest.update(module.__version__.encode())
  digest.update(sys.version.encode())
  return digest.hexdigest()[:16]


def _shared_run(tmp_path_factory, name, train):
  """A run directory trained once for this code, shared by every worker.

  Under pytest-xdist each worker is its own process with its own session
  fixtures; the runs are built once, under a lock, beside the sessions'
  temporary directories and keyed by `_code_key`, and only read by the
  tests. So the slow tail (`-m slow`), which CI runs right after the
  default suite on the same tree, reads the runs the default suite built;
  a change to the code trains anew.
  """
  session = tmp_path_factory.getbasetemp()
  if 'PYTEST_XDIST_WORKER' in os.environ:
    session = session.parent
  shared = session.parent / 'tfp_realnvp_shared_runs' / _code_key()
  shared.mkdir(parents=True, exist_ok=True)
  model_dir = shared / name
  with open(shared / f'{name}.lock', 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not (shared / f'{name}.done').exists():
      shutil.rmtree(model_dir, ignore_errors=True)  # A run cut short.
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
  """A class-conditional run (10 classes, 8x8 images, 2 steps), exported.

  One scale, half the tracing of two: the multi-scale parts are the
  unconditional run's.
  """

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
        dataset='digits', model_dir=str(model_dir), num_scales=1,
        num_res_blocks=1, num_filters=4, epochs=1, steps_per_epoch=2,
        num_samples=20, conditional=True,
        # Float32 wherever it runs: the tests of these runs compare the
        # checkpoint with the (float32) SavedModel to the last digit.
        mixed_precision='false')
    run_lib.run(config, datasets=datasets)

  return _shared_run(tmp_path_factory, 'trained_conditional_run', train)


# The compatibility suite .ci/run runs on every admitted TensorFlow minor
# (`-m compat`): one test of each kind that a framework upgrade could break,
# chosen so the suite takes minutes: every private hook, the bijectors' and
# the model's exactness, the per-instance cache, fit/evaluate/predict and
# their data checks, a step without Keras, `.keras` files, a SavedModel,
# a given condition, the library's imports, a training run's checkpoint and
# SavedModel read back, and Keras 3's refusal and FlowModel. The newest
# minor runs everything. A file maps to `None` (all its tests) or to the
# names its chosen tests start with.
COMPAT_TESTS = {
    'compat_test.py': None,
    'model_test.py': ('test_log_prob_matches_brute_force_jacobian_of_the_',
                      'test_round_trip_is_exact',
                      'test_conditional_log_prob_matches_brute_force'),
    'masked_affine_coupling_test.py': ('TestCheckerboardParity0::',),
    'stateful_test.py': (
        'test_same_config_models_give_their_own_log_prob[function]',
        'test_models_answer_from_the_current_weights_for_a_tensor_seen_'
        'before[assign]'),
    'first_hour_test.py': ('test_a_fit_on_boolean_pixels_is_refused',
                           'test_wrong_event_shape_and_dtype_are_named'),
    'pixels_test.py': ('test_fit_evaluate_and_predict_read_an_array',),
    'step_test.py': ('test_a_plain_tf_function_loop_trains_without_keras',),
    'keras_saving_test.py': ('test_keras_format_round_trip_gives_the_same',
                             'test_a_file_written_after_any_evaluation'),
    'export_test.py': ('TestImageExport::test_version_directory_layout',
                       'TestImageExport::test_sample_is_deterministic',
                       'TestImageExport::test_bad_pixels_raise'),
    'conditioned_test.py': ('test_given_labels_is_the_keyword_form',
                            'test_slicing_slices_the_condition',
                            'test_the_class_marginal_is_a_mixture'),
    'layering_test.py': ('test_the_library_imports_no_application',),
    # The one-scale conditional run: half the unconditional run's training.
    'loading_test.py': ('test_conditional_checkpoint_and_saved_model_agree',),
    # Keras 3 (the `keras` each minor installs beside tf_keras).
    'keras3_test.py': ('test_a_keras3_optimizer_is_refused_with_the_fix',
                       'test_keras3_fit_trains_every_variable_of_the_flow',
                       'test_keras3_fit_traces_the_step_once',
                       'test_keras3_file_loads_with_the_same_figures'),
}


def _is_compat(item):
  chosen = COMPAT_TESTS.get(item.path.name, ())
  if chosen is None:
    return True
  name = item.nodeid.split('::', 1)[1]
  return any(name.startswith(prefix) for prefix in chosen)


# The files whose tests take longest, longest first: pytest.ini hands files
# to the worker processes in collection order (`--no-loadscope-reorder`), so
# these start first and the short files fill in at the end, instead of one
# long file running alone while the other core idles. The first two each
# build one of the shared training runs above, side by side.
LONGEST_FIRST = (
    'loading_test.py', 'run_test.py', 'export_test.py', 'scoring_test.py',
    'keras_saving_test.py', 'keras3_test.py', 'seams_test.py',
    'stateful_test.py',
    'chain_test.py', 'masked_affine_coupling_test.py', 'training_test.py',
    'model_test.py', 'pixels_test.py', 'first_hour_test.py',
    'evaluate_test.py', 'sample_test.py')


# The same for the slow tail (`-m slow`), from its --durations.
LONGEST_SLOW_FIRST = (
    'run_test.py', 'benchmark_test.py', 'training_test.py',
    'reliability_test.py', 'readme_test.py', 'budget_test.py',
    'multi_worker_test.py', 'non_finite_test.py', 'data_test.py',
    'reproducible_figures_test.py', 'seams_test.py', 'distributed_test.py',
    'sample_test.py')


def pytest_collection_modifyitems(config, items):
  for item in items:
    if _is_compat(item):
      item.add_marker(pytest.mark.compat)
  if not hasattr(config, 'workerinput'):
    # One process (`-n 0`): the order given, as the mutation run lists a
    # mutant's fastest catching test first.
    return
  longest = (LONGEST_SLOW_FIRST if config.getoption('markexpr') == 'slow'
             else LONGEST_FIRST)
  rank = {name: index for index, name in enumerate(longest)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
