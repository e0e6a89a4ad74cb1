"""MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfp_realnvp.app import loading
from tfp_realnvp.app import run as run_lib

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Starting two worker processes takes over a minute on 2 cores.
pytestmark = pytest.mark.slow

# One worker: makes the strategy first (TensorFlow requires it before any
# other work), trains 2 steps through run(...), saves its final variables and
# the evaluation-mode log_prob of a probe batch.
_WORKER = '''
import json, sys
import numpy as np
import tensorflow as tf
from tfp_realnvp.app import run as run_lib
strategy = run_lib.make_strategy('multi_worker')
sys.path.insert(0, sys.argv[3])
from tests import multi_worker_test as spec
train, validation = spec.datasets()
results = run_lib.run(spec.config(sys.argv[1], 'multi_worker'),
                      datasets=(train, validation), strategy=strategy)
distribution = results['distribution']
np.savez(sys.argv[2], *[v.numpy() for v in distribution.variables])
'''


def datasets():
  rng = np.random.default_rng(0)
  pixels = rng.uniform(0., 256., size=(24, 8, 8, 1)).astype(np.float32)
  # Global batch 8: two steps of training, one of validation.
  return (tf.data.Dataset.from_tensor_slices(pixels[:16]).batch(8),
          tf.data.Dataset.from_tensor_slices(pixels[16:]).batch(8))


def config(model_dir, strategy):
  return run_lib.TrainConfig(
      dataset='injected', model_dir=model_dir, num_scales=1,
      num_res_blocks=1, num_filters=4, batch_size=8, epochs=1,
      num_samples=2, learning_rate=1e-3, strategy=strategy,
      # No average: its statistics pass and weight choice would trace in
      # both workers; averages across replicas are polyak_test.py's.
      polyak_decay=0.,
      # Float32 on any machine: the comparison's tolerance is float32's
      # summation order, not bfloat16's rounding.
      mixed_precision='false')


def _free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(('127.0.0.1', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


@pytest.fixture(scope='module')
def two_worker_run(tmp_path_factory):
  base = tmp_path_factory.mktemp('multi_worker')
  model_dir = base / 'run'
  workers = [f'127.0.0.1:{port}' for port in _free_ports(2)]
  processes = []
  for index in range(2):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='',
               TF_CONFIG=json.dumps({'cluster': {'worker': workers},
                                     'task': {'type': 'worker',
                                              'index': index}}))
    processes.append(subprocess.Popen(
        [sys.executable, '-c', _WORKER, str(model_dir),
         str(base / f'worker{index}.npz'), str(ROOT)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
  outputs = []
  for process in processes:
    try:
      outputs.append(process.communicate(timeout=600)[0])
    except subprocess.TimeoutExpired:
      for p in processes:
        p.kill()
      raise
  for process, output in zip(processes, outputs):
    assert process.returncode == 0, output[-4000:]
  return base, model_dir


def _load(path):
  with np.load(path) as values:
    return [values[f'arr_{i}'] for i in range(len(values.files))]


def test_workers_end_with_identical_weights(two_worker_run):
  base, _ = two_worker_run
  chief, other = _load(base / 'worker0.npz'), _load(base / 'worker1.npz')
  assert len(chief) == len(other) > 0
  for a, b in zip(chief, other):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_equal_to_a_single_process_run_on_the_same_data(two_worker_run,
                                                        tmp_path):
  base, _ = two_worker_run
  results = run_lib.run(config(str(tmp_path), 'default'),
                        datasets=datasets())
  assert results['steps'] == 2
  variables = results['distribution'].variables
  single = [v.numpy() for v in variables]
  distributed = _load(base / 'worker0.npz')
  assert len(distributed) == len(single)
  weights = [(a, b) for a, b, v in zip(distributed, single, variables)
             if v.trainable]
  statistics = [(a, b, v.name) for a, b, v in zip(distributed, single,
                                                   variables)
                if not v.trainable]
  # Adam's steps are about the learning rate (1e-3) in size: 2% of one step
  # is the tolerance. A few parameters have a true gradient of zero or
  # nearly (the batch-norm bijector's shift and log-scale right after a
  # normalization, an output bias summed over a checkerboard), so theirs is
  # rounding noise, which a different summation order changes and Adam's
  # g / (|g| + eps) scales to a full step: those (under 1% here) may differ,
  # but by no more than 2 steps.
  close = [np.isclose(a, b, rtol=1e-4, atol=2e-5) for a, b in weights]
  num_close = sum(int(c.sum()) for c in close)
  num_units = sum(c.size for c in close)
  assert num_close >= 0.99 * num_units, (num_close, num_units)
  for a, b in weights:
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=2 * 1e-3)
  # The debiased moving statistics are the batch statistics themselves (not
  # 1% of them), taken in step 2 at weights that differ by that noise.
  for a, b, name in statistics:
    if 'num_updates' in name:
      np.testing.assert_array_equal(a, b)
    else:
      np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3, err_msg=name)


def test_chief_writes_the_outputs_and_they_load_on_one_device(two_worker_run):
  _, model_dir = two_worker_run
  assert (model_dir / 'checkpoints' / 'chief' / 'checkpoint').exists()
  assert (model_dir / 'results.json').exists()
  assert (model_dir / 'export' / '2' / 'saved_model.pb').exists()
  # Non-chief scratch directories are gone.
  assert sorted(p.name for p in (model_dir / 'checkpoints').iterdir()) == [
      'chief']
  probe = np.random.default_rng(9).uniform(
      0., 256., size=(5, 8, 8, 1)).astype(np.float32)
  from_checkpoint = loading.load_flow(str(model_dir)).log_prob(probe)
  from_saved_model = loading.load_flow(
      str(model_dir / 'export')).log_prob(probe)
  np.testing.assert_allclose(from_checkpoint, from_saved_model, rtol=1e-5)
  assert np.all(np.isfinite(from_checkpoint))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
