"""Step figures for TensorBoard every N steps, not after every step."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from tfp_realnvp.app import summaries


def _logged(log_dir):
  """{tag: {step: value}} from the events under `log_dir`/train."""
  logged = {}
  for path in (log_dir / 'train').glob('events.out.*'):
    for event in tf.compat.v1.train.summary_iterator(str(path)):
      for value in event.summary.value:
        logged.setdefault(value.tag, {})[event.step] = float(
            tf.make_ndarray(value.tensor))
  return logged


def test_step_figures_are_written_every_n_steps(tmp_path):
  schedule = tf_keras.optimizers.schedules.PolynomialDecay(0.01, 10, 0.005)
  model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
  model.compile(tf_keras.optimizers.SGD(schedule), 'mse')
  x = np.ones([10, 2], np.float32)
  seen = {}
  record = tf_keras.callbacks.LambdaCallback(
      on_train_batch_end=lambda batch, logs: seen.update({batch + 1: logs}))
  model.fit(x, x[:, :1], batch_size=2, epochs=1, verbose=0,
            callbacks=[summaries.StepSummaries(tmp_path, 2, is_chief=True),
                       record])
  logged = _logged(tmp_path)
  # Keras' names, at the steps taken: 2 and 4 of 5.
  assert sorted(logged['batch_loss']) == [2, 4]
  # The figure Keras reported after that step.
  assert logged['batch_loss'][4] == pytest.approx(seen[4]['loss'])
  # The rate that step used, at its index from 0.
  assert logged['learning_rate'] == pytest.approx(
      {1: float(schedule(1)), 3: float(schedule(3))})


def test_a_worker_that_is_not_the_chief_writes_nothing(tmp_path):
  model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
  model.compile('sgd', 'mse')
  x = np.ones([4, 2], np.float32)
  model.fit(x, x[:, :1], batch_size=2, verbose=0,
            callbacks=[summaries.StepSummaries(tmp_path, 1, is_chief=False)])
  assert _logged(tmp_path) == {}
