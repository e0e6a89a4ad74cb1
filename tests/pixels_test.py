"""What an input means: integer pixels and dequantized values, alike for
NumPy arrays and tensors in every entry point (issue #42, finding 2)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp.app import loading
from tfp_realnvp.dequantization import pixels as pixels_lib

_SHAPE = (4, 4, 1)


def _flow():
  return tfp_realnvp.RealNVP(_SHAPE, num_scales=1, num_res_blocks=1,
                             num_filters=2)


def _uint8(n=16, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n,) + _SHAPE).astype(
      np.uint8)


@pytest.mark.parametrize('kind', ['numpy', 'tensor', 'list'])
def test_integer_pixels_are_refused_by_a_density_with_the_discrete_call(kind):
  flow = _flow()
  pixels = {'numpy': _uint8(2), 'tensor': tf.constant(_uint8(2)),
            'list': _uint8(2).astype(int).tolist()}[kind]
  for method in (flow.log_prob, flow.bits_per_dim, flow.encode):
    with pytest.raises(TypeError, match=r'integer pixels.*'
                                        r'flow\.discrete_log_prob\(pixels, '
                                        r'samples=K\)'):
      method(pixels)
  # The discrete call takes them, and reads an array as it reads a tensor.
  figure = flow.discrete_log_prob(pixels, samples=2, seed=3)
  np.testing.assert_array_equal(
      figure, flow.discrete_log_prob(tf.constant(_uint8(2)), 2, seed=3))
  with pytest.raises(TypeError, match='already dequantized'):
    flow.discrete_log_prob(_uint8(2) + 0.5)


def test_a_vector_flow_names_the_cast():
  flow = tfp_realnvp.VectorRealNVP(2, num_couplings=1, num_res_blocks=0,
                                   num_hidden=4)
  with pytest.raises(TypeError, match=r'Cast them: tf.cast\(x, tf.float32\)'):
    flow.log_prob(np.array([[1, 2]]))
  with pytest.raises(TypeError, match='continuous values'):
    flow.discrete_log_prob(np.array([[1, 2]]))


def test_the_data_pipelines_noise_is_the_uniform_dequantizers():
  pixels = tf.constant(_uint8(3))
  seed = tf.constant([5, 6])
  np.testing.assert_array_equal(
      data.dequantize(pixels, seed=seed),
      tfp_realnvp.UniformDequantizer()(pixels, tf.float32, seed=seed)[0])
  # At the top of the range the sum stays below the next level.
  top = data.dequantize(tf.fill([1000], 255), seed=seed).numpy()
  assert np.all(top < 256.) and np.all(top >= 255.)


def _model(**kwargs):
  model = tfp_realnvp.FlowModel(_flow(), **kwargs)
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  return model


def test_whole_number_floats_are_named_before_training_reports_a_figure():
  whole = _uint8().astype(np.float32)
  model = _model()
  message = r'all whole numbers.*check_pixel_range=False'
  for call in (lambda: model.fit(whole, batch_size=8, verbose=0),
               lambda: model.evaluate(whole, verbose=0),
               lambda: model.fit(tf.data.Dataset.from_tensor_slices(
                   whole).batch(8), verbose=0)):
    with pytest.raises(ValueError, match=message):
      call()
  with pytest.warns(UserWarning, match='all whole numbers'):
    _flow().bits_per_dim(whole[:2])
  # The integers themselves train (dequantized in the step); so do the
  # floats when the opt-out says they are meant.
  assert np.isfinite(model.fit(_uint8(), batch_size=8, verbose=0).history[
      'loss'][0])
  meant = _model(check_pixel_range=False)
  assert np.isfinite(meant.fit(whole, batch_size=8, verbose=0).history[
      'loss'][0])


def test_fit_evaluate_and_predict_read_an_array_as_a_tensor():
  model = _model()
  pixels = _uint8()
  figures = [model.evaluate(x, dequantization_samples=2, seed=4,
                            return_dict=True, verbose=0)
             for x in (pixels, tf.constant(pixels))]
  assert figures[0] == figures[1]
  predicted = model.predict(pixels, verbose=0)
  assert predicted.shape == (16,) and np.all(np.isfinite(predicted))


def test_a_saved_model_reads_pixels_as_the_flow_does(trained_run_dir):
  saved = loading.load_flow(str(trained_run_dir / 'export'))
  pixels = np.random.default_rng(1).integers(0, 256, (2, 8, 8, 1)).astype(
      np.uint8)
  with pytest.raises(TypeError, match='flow.discrete_log_prob'):
    saved.log_prob(pixels)
  restored = loading.load_flow(str(trained_run_dir))
  np.testing.assert_allclose(saved.discrete_log_prob(pixels, 2, seed=3),
                             restored.discrete_log_prob(pixels, 2, seed=3),
                             rtol=1e-5)


def test_suspicion_names_each_kind_of_batch():
  assert pixels_lib.suspicion(np.array([[0, 300]])) is not None
  assert 'lie in [0, 1]' in pixels_lib.suspicion(np.array([0.2, 0.9]))
  assert 'whole numbers' in pixels_lib.suspicion(np.array([3., 250.]))
  assert pixels_lib.suspicion(np.array([3.5, 250.1])) is None
  assert pixels_lib.suspicion(np.array([3, 250], np.uint8)) is None
