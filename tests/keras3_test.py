"""Keras 3 objects handed to the tf_keras FlowModel are refused with the fix."""

import keras  # Keras 3, installed with TensorFlow >= 2.16.
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp


@pytest.fixture(scope='module')
def model():
  flow = tfp_realnvp.VectorRealNVP(2, num_couplings=2, num_res_blocks=1,
                                   num_hidden=4)
  return tfp_realnvp.FlowModel(flow)


def _first_line(error):
  return str(error.value).splitlines()[0]


def test_keras3_is_what_the_check_takes_it_for():
  assert keras.__version__.startswith('3.')
  assert tfp_realnvp.training.keras_flavor.is_keras3(keras.optimizers.Adam())
  assert not tfp_realnvp.training.keras_flavor.is_keras3(
      tf_keras.optimizers.Adam())


def test_a_keras3_optimizer_is_refused_with_the_fix(model):
  with pytest.raises(TypeError) as error:
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
  line = _first_line(error)
  assert 'Keras 3' in line and 'tf_keras.optimizers.Adam' in line
  assert 'TF_USE_LEGACY_KERAS=1' in line


@pytest.mark.parametrize('method', ['fit', 'evaluate', 'predict'])
def test_a_keras3_callback_is_refused_with_the_fix(model, method):
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  values = np.zeros((4, 2), np.float32)
  with pytest.raises(TypeError) as error:
    getattr(model, method)(
        values, callbacks=[keras.callbacks.EarlyStopping()], verbose=0)
  line = _first_line(error)
  assert f'FlowModel.{method}' in line
  assert 'tf_keras.callbacks.EarlyStopping' in line


def test_tf_keras_objects_pass(model):
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  history = model.fit(tf.zeros([4, 2]), epochs=1, verbose=0,
                      callbacks=[tf_keras.callbacks.EarlyStopping('loss')])
  assert np.isfinite(history.history['loss'][0])


# The Keras 3 FlowModel (tfp_realnvp.keras3).


@pytest.fixture(scope='module')
def trained_keras3(tmp_path_factory):
  """A Keras 3 FlowModel of a tiny image flow fit on uint8 pixels, saved."""
  from tfp_realnvp import keras3  # pylint: disable=g-import-not-at-top
  flow = tfp_realnvp.RealNVP((4, 4, 1), num_scales=1, num_res_blocks=1,
                             num_filters=4)
  model = keras3.FlowModel(flow, polyak_decay=0.5, seed=3)
  # Eagerly: four steps of a tiny flow take less than tracing them.
  model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
  pixels = np.random.default_rng(0).integers(0, 256, (16, 4, 4, 1), np.uint8)
  before = [v.numpy().copy() for v in flow.trainable_variables]
  history = model.fit(pixels, batch_size=8, epochs=2, verbose=0,
                      callbacks=[keras.callbacks.EarlyStopping('loss')])
  path = tmp_path_factory.mktemp('keras3') / 'flow.keras'
  model.save(path)
  return model, flow, pixels, before, history, path


def test_keras3_fit_trains_every_variable_of_the_flow(trained_keras3):
  model, flow, _, before, history, _ = trained_keras3
  assert len(model.trainable_weights) == len(flow.trainable_variables) > 0
  after = [v.numpy() for v in flow.trainable_variables]
  unchanged = [v.name for v, a, b in zip(flow.trainable_variables, after,
                                         before) if np.array_equal(a, b)]
  assert not unchanged
  assert all(np.isfinite(history.history['bits_per_dim']))


def test_keras3_file_loads_with_the_same_figures(trained_keras3):
  model, flow, pixels, _, _, path = trained_keras3
  loaded = keras.models.load_model(path)
  values = tf.constant(pixels, tf.float32) + 0.5
  np.testing.assert_allclose(
      loaded.distribution.log_prob(tf.identity(values)),
      flow.log_prob(tf.identity(values)), rtol=1e-5, atol=1e-4)
  figures = [m.evaluate(pixels, dequantization_samples=4, seed=1, verbose=0,
                        return_dict=True) for m in (model, loaded)]
  assert figures[0]['discrete_bits_per_dim'] == pytest.approx(
      figures[1]['discrete_bits_per_dim'], rel=1e-5)
  # The optimizer's state came back too: training goes on where it was.
  assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations)


def test_keras3_fit_traces_the_step_once():
  """Slots made inside the first step would make tf.function trace twice."""
  from tfp_realnvp import keras3  # pylint: disable=g-import-not-at-top
  flow = tfp_realnvp.RealNVP((4, 4, 1), num_scales=1, num_res_blocks=0,
                             num_filters=2)
  model = keras3.FlowModel(flow)
  model.compile(optimizer=keras.optimizers.Adam(1e-3))
  traces = []
  train = model.step.train
  model.step.train = lambda *args: traces.append(1) or train(*args)
  pixels = np.random.default_rng(1).integers(0, 256, (8, 4, 4, 1), np.uint8)
  model.fit(pixels, batch_size=4, epochs=1, verbose=0)
  assert len(traces) == 1


def test_keras3_model_of_nothing_to_train_is_refused():
  from tfp_realnvp import keras3  # pylint: disable=g-import-not-at-top
  import tensorflow_probability as tfp  # pylint: disable=g-import-not-at-top
  with pytest.raises(ValueError, match='no trainable variables'):
    keras3.FlowModel(tfp.distributions.Normal(0., 1.))
