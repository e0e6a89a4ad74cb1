"""The dequantizer, the K-draw estimate of integer images' likelihood, and
integer pixels through `FlowModel`."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp import dequantization
from tfp_realnvp.training import evaluation

tfd = tfp.distributions


class _DiscretizedLogistic:
  """A density whose discrete probability is known in closed form.

  `p` is a logistic per unit, so `P(x) = prod sigmoid((x + 1 - m) / s) -
  sigmoid((x - m) / s)`; with a small scale `p` varies a lot across each
  unit cube, and one draw's bound lies far below `log P(x)`.
  """

  dtype = tf.float64
  name = 'discretized_logistic'
  dequantizer = dequantization.UniformDequantizer()

  def __init__(self, loc, scale):
    self.loc, self.scale = np.asarray(loc, np.float64), scale
    self.num_dims = len(loc)
    self._density = tfd.Independent(
        tfd.Logistic(tf.constant(self.loc), tf.constant(scale, tf.float64)),
        1)

  def log_prob(self, values, training=False):
    del training
    return self._density.log_prob(values)

  def discrete_log_prob(self, pixels):
    sigmoid = lambda z: 1. / (1. + np.exp(-z))
    return np.sum(np.log(sigmoid((pixels + 1. - self.loc) / self.scale)
                         - sigmoid((pixels - self.loc) / self.scale)), axis=-1)


_LOGISTIC = _DiscretizedLogistic([10.3, 10.9, 200.5, 4.0], 0.3)
_LOGISTIC_PIXELS = np.array([[10, 11, 200, 4]])
_REPEATS = 2000


def _mean_estimate(estimate, samples):
  """Mean and standard error of `estimate` over repeated draws."""
  pixels = tf.constant(np.repeat(_LOGISTIC_PIXELS, _REPEATS, 0))
  values = tf.function(lambda: estimate(
      _LOGISTIC, pixels, samples=samples, seed=[0, 1]), autograph=False)()
  values = values.numpy()
  return values.mean(), values.std() / np.sqrt(_REPEATS)


def _rises_towards_truth(estimate):
  """Whether the K-draw estimate's mean rises with K and reaches log P(x)."""
  truth = float(_LOGISTIC.discrete_log_prob(_LOGISTIC_PIXELS)[0])
  means = [_mean_estimate(estimate, k) for k in (1, 4, 16, 256)]
  rising = all(later[0] > earlier[0] + 2 * earlier[1]
               for earlier, later in zip(means[:-2], means[1:-1]))
  below = all(mean < truth + 3 * error for mean, error in means)
  mean, error = means[-1]
  return rising and below and abs(mean - truth) < 4 * error + 1e-3


def test_the_k_draw_estimate_rises_with_k_to_the_exact_discrete_likelihood():
  assert _rises_towards_truth(dequantization.importance_weighted_log_prob)


def test_the_check_fails_for_an_estimate_that_averages_the_logs():
  # Shown failing once: the mean of the log-weights is one draw's bound
  # whatever K is, far below log P(x).
  def mean_of_logs(flow, pixels, samples, seed):
    weights = dequantization.log_weights(
        flow.log_prob, pixels, samples, seed=seed, dtype=flow.dtype)
    return tf.reduce_mean(weights, axis=0)

  assert not _rises_towards_truth(mean_of_logs)


def _gauss_legendre_log_integral(flow, pixels, points=8):
  """`log` of the integral of `p(x + u)` over the unit cube, by quadrature."""
  nodes, weights = np.polynomial.legendre.leggauss(points)
  nodes, weights = (nodes + 1.) / 2., weights / 2.
  dims = int(np.prod(pixels.shape))
  grid = np.stack(np.meshgrid(*[nodes] * dims, indexing='ij'),
                  -1).reshape(-1, dims)
  grid_weights = np.prod(np.stack(np.meshgrid(
      *[weights] * dims, indexing='ij'), -1).reshape(-1, dims), axis=1)
  values = pixels.astype(np.float64) + grid.reshape((-1,) + pixels.shape)
  log_p = tf.function(flow.log_prob, autograph=False)(
      tf.constant(values), training=False).numpy()
  peak = log_p.max()
  return peak + np.log(np.sum(grid_weights * np.exp(log_p - peak)))


@pytest.fixture(scope='module')
def tiny_flow():
  tf_keras.utils.set_random_seed(3)
  return tfp_realnvp.RealNVP((2, 2, 1), num_scales=1, num_res_blocks=1,
                             num_filters=4, dtype=tf.float64)


def test_a_real_nvp_k_draw_estimate_matches_the_integral_over_the_cube(
    tiny_flow):
  # Pixels at both ends of the range, where the logit's slope makes p vary
  # most inside a cube.
  pixels = np.array([[[0], [3]], [[100], [254]]], np.int32)
  truth = _gauss_legendre_log_integral(tiny_flow, pixels)
  # Quadrature converged: fewer points change it by far less than the bound.
  assert abs(_gauss_legendre_log_integral(tiny_flow, pixels, 6)
             - truth) < 1e-6
  repeats = 100
  estimates = tf.function(
      lambda x: dequantization.importance_weighted_log_prob(
          tiny_flow, x, samples=256, seed=[0, 1]), autograph=False)(
              tf.constant(np.repeat(pixels[np.newaxis], repeats, 0))).numpy()
  error = estimates.std() / np.sqrt(repeats)
  assert abs(estimates.mean() - truth) < 4 * error + 1e-4
  # And the evaluator's figure is the same estimate, in bits/dim.
  batches = tf.data.Dataset.from_tensor_slices(
      np.repeat(pixels[np.newaxis], 32, 0)).batch(32)
  result = evaluation.evaluate_discrete_bits_per_dim(
      tiny_flow, batches, samples=256)
  truth_bits = -truth / (4 * np.log(2.))
  assert abs(result.bits_per_dim - truth_bits) < (
      4 * result.standard_error + 1e-4)
  assert result.samples == 256 and result.num_examples == 32


def test_the_uniform_dequantizer_stays_in_each_unit_cube():
  pixels = tf.constant([[0, 17, 254, 255]] * 5000, tf.int32)
  for dtype in (tf.float32, tf.float64):
    values, log_q = dequantization.UniformDequantizer()(
        pixels, dtype, seed=tf.constant([4, 5]))
    values = values.numpy()
    assert values.dtype == dtype.as_numpy_dtype
    floor = pixels.numpy().astype(values.dtype)
    assert np.all(values >= floor) and np.all(values < floor + 1)
    assert np.all(log_q.numpy() == 0.) and log_q.shape == (5000,)
  # Stateless: the same seed draws the same noise.
  again, _ = dequantization.UniformDequantizer()(
      pixels, tf.float64, seed=tf.constant([4, 5]))
  assert np.array_equal(again.numpy(), values)


def test_float_pixels_are_refused_by_the_k_draw_estimate(tiny_flow):
  with pytest.raises(TypeError, match='takes integer pixels'):
    dequantization.importance_weighted_log_prob(
        tiny_flow, tf.zeros([1, 2, 2, 1], tf.float64))
  floats = tf.data.Dataset.from_tensor_slices(
      tf.zeros([4, 2, 2, 1], tf.float64)).batch(2)
  with pytest.raises(TypeError, match=r'float64 of shape \(2, 2, 2, 1\) \(already dequantized\)'):
    evaluation.evaluate_discrete_bits_per_dim(tiny_flow, floats)
  with pytest.raises(ValueError, match='positive integer'):
    evaluation.evaluate_discrete_bits_per_dim(tiny_flow, floats, samples=0)


def test_pixels_outside_the_flows_range_are_named_not_averaged(tiny_flow):
  out_of_range = tf.data.Dataset.from_tensor_slices(
      tf.fill([2, 2, 2, 1], 300)).batch(2)
  with pytest.raises(ValueError, match='non-finite log-densities'):
    evaluation.evaluate_discrete_bits_per_dim(tiny_flow, out_of_range,
                                              samples=2)


class _RecordingDequantizer(dequantization.UniformDequantizer):
  """Uniform noise, keeping the last values it drew."""

  def __call__(self, pixels, dtype, seed=None, training=False):
    values, log_q = super().__call__(pixels, dtype, seed, training)
    self.values = values
    return values, log_q


def _digits_model(**kwargs):
  flow = tfp_realnvp.RealNVP((8, 8, 1), num_scales=1, num_res_blocks=1,
                             num_filters=4)
  model = tfp_realnvp.FlowModel(flow, **kwargs)
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
  return model


def test_integer_pixels_in_flow_model_are_the_float_objective_of_their_draw():
  recorder = _RecordingDequantizer()
  model = _digits_model(dequantizer=recorder)
  pixels = tf.constant(np.random.default_rng(0).integers(
      0, 256, (6, 8, 8, 1)), tf.uint8)
  log_prob = model(pixels, training=False).numpy()
  expected = model.distribution.log_prob(tf.identity(recorder.values),
                                         training=False).numpy()
  np.testing.assert_allclose(log_prob, expected, rtol=1e-6)


@pytest.fixture(scope='module')
def digits_model():
  return _digits_model()


def test_flow_model_trains_on_uint8_digits_and_reports_the_k_draw_estimate(
    digits_model):
  model = digits_model
  train = data.digits_dataset('train[:128]', 32, seed=0, dequantized=False)
  test = data.digits_dataset('test[:64]', 32, shuffle=False,
                             dequantized=False)
  history = model.fit(train, epochs=1, verbose=0)
  assert np.isfinite(history.history['bits_per_dim'][0])
  results = model.evaluate(test, verbose=0, return_dict=True,
                           dequantization_samples=8)
  assert set(results) == {'loss', 'bits_per_dim', 'discrete_bits_per_dim',
                          'discrete_bits_per_dim_standard_error'}
  assert results['discrete_bits_per_dim_standard_error'] > 0
  standalone = evaluation.evaluate_discrete_bits_per_dim(
      model.distribution, test, samples=8)
  # Other noise, the same estimate of the same quantity.
  assert abs(results['discrete_bits_per_dim'] - standalone.bits_per_dim) < (
      4 * standalone.standard_error / np.sqrt(8) + 0.02)
  # Without K the evaluation is the single draw again.
  assert set(model.evaluate(test, verbose=0, return_dict=True)) == {
      'loss', 'bits_per_dim'}


def test_integer_pixels_outside_0_255_are_refused_on_the_first_line(
    digits_model):
  model = digits_model
  wide = tf.data.Dataset.from_tensor_slices(
      tf.fill([4, 8, 8, 1], 256)).batch(2)
  with pytest.raises(ValueError) as error:
    model.fit(wide, epochs=1, verbose=0)
  assert str(error.value).startswith(
      'FlowModel.fit: integer pixels must lie in [0, 255]')
  with pytest.raises(ValueError, match=r'must lie in \[0, 255\]'):
    model.evaluate(np.full([4, 8, 8, 1], -1, np.int32), verbose=0)
