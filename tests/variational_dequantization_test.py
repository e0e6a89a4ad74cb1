"""Variational dequantization: `q(u | x)` as a bijector and a density, in a
model that trains, estimates `P(x)`, saves, loads and exports."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp import dequantization
from tfp_realnvp import variational_dequantization
from tfp_realnvp.app import export
from tfp_realnvp.app import saved_flow
from tfp_realnvp.bijectors import ConditionalChain
from tfp_realnvp.training import evaluation
from tests import bijector_test_util as util
from tests.dequantization_test import _gauss_legendre_log_integral

SHAPE = (4, 4, 1)


def _pixels(count=3, seed=1, shape=SHAPE):
  return tf.constant(np.random.default_rng(seed).integers(
      0, 256, (count,) + shape), tf.int32)


_DEQUANTIZERS = {}


def _moved_q(dtype):
  """A `q` moved away from its (uniform) start, so every check bites."""
  if dtype not in _DEQUANTIZERS:
    tf_keras.utils.set_random_seed(0)
    dequantizer = variational_dequantization.VariationalDequantizer(
        SHAPE, num_couplings=2, num_res_blocks=1, num_filters=4, dtype=dtype)
    util.randomize_variables(dequantizer, seed=0, scale=0.3)
    _DEQUANTIZERS[dtype] = dequantizer
  return _DEQUANTIZERS[dtype]


@pytest.fixture(scope='module', params=util.DTYPES, ids=lambda d: d.name)
def q(request):
  return _moved_q(request.param)


def _kwargs(q, pixels):
  return dict(conditional_input=q.context(pixels), training=False)


def _logistic(q, count=3):
  uniform = tf.random.stateless_uniform((count,) + SHAPE, [5, 6], 1e-3,
                                        1. - 1e-3, q.dtype)
  return tf.math.log(uniform) - tf.math.log1p(-uniform)


@pytest.mark.parametrize('mode', util.MODES)
def test_the_noise_flow_inverts_exactly(q, mode):
  pixels = _pixels()
  eps = _logistic(q)
  util.assert_round_trip(q.bijector, eps, mode, 'forward',
                         **_kwargs(q, pixels))
  noise = tf.identity(q.bijector.forward(eps, **_kwargs(q, pixels)))
  util.assert_round_trip(q.bijector, noise, mode, 'inverse',
                         **_kwargs(q, pixels))


@pytest.mark.parametrize('mode', util.MODES)
def test_the_noise_flows_log_dets_match_brute_force_jacobians(mode):
  q = _moved_q(tf.float64)  # The exact check; float32 round-trips above.
  pixels = _pixels()
  kwargs = _kwargs(q, pixels)
  eps = _logistic(q)
  rtol, atol = util.ldj_tolerances(q.dtype)
  fldj = util.run(mode, lambda e: q.bijector.forward_log_det_jacobian(
      e, event_ndims=3, **kwargs), eps)
  np.testing.assert_allclose(fldj, util.brute_force_log_det(
      lambda e: q.bijector.forward(tf.identity(e), **kwargs), eps, 3),
                             rtol=rtol, atol=atol)
  noise = tf.identity(q.bijector.forward(eps, **kwargs))
  ildj = util.run(mode, lambda u: q.bijector.inverse_log_det_jacobian(
      u, event_ndims=3, **kwargs), noise)
  np.testing.assert_allclose(ildj, util.brute_force_log_det(
      lambda u: q.bijector.inverse(tf.identity(u), **kwargs), noise, 3),
                             rtol=rtol, atol=atol)


def _is_the_density_of(log_q, noise, q, pixels):
  """Whether `log_q` is `log q(noise | pixels)` by change of variables.

  Independently of the bijector's own log-dets: the base density at the
  inverse, minus the brute-force log-det of the forward map there.
  """
  kwargs = _kwargs(q, pixels)
  eps = q.bijector.inverse(tf.identity(noise), **kwargs)
  expected = q.base.log_prob(eps) - util.brute_force_log_det(
      lambda e: q.bijector.forward(tf.identity(e), **kwargs), eps, 3)
  rtol, atol = util.ldj_tolerances(q.dtype)
  return np.allclose(log_q, expected, rtol=rtol, atol=atol)


def test_log_q_is_the_density_of_the_noise_it_draws(q):
  pixels = _pixels()
  values, log_q = q(pixels, q.dtype, seed=tf.constant([3, 4]))
  floor = tf.cast(pixels, q.dtype)
  assert np.all(values >= floor) and np.all(values < floor + 1.)
  noise = values - floor
  assert _is_the_density_of(log_q, noise, q, pixels)
  # `log_prob` of given noise agrees (the inverse direction).
  rtol, atol = util.ldj_tolerances(q.dtype)
  np.testing.assert_allclose(q.log_prob(noise, pixels), log_q, rtol=rtol,
                             atol=atol)


def test_the_density_check_fails_without_the_sigmoids_log_det(q):
  # Shown failing once: the couplings' log-det alone is a wrong log q.
  pixels = _pixels()
  kwargs = _kwargs(q, pixels)
  eps = _logistic(q)
  noise = q.bijector.forward(eps, **kwargs)
  couplings = ConditionalChain(q.bijector.bijectors[1:])
  wrong = q.base.log_prob(eps) - couplings.forward_log_det_jacobian(
      tf.identity(eps), event_ndims=3, **kwargs)
  assert not _is_the_density_of(wrong, noise, q, pixels)


def test_same_seed_same_draw_and_the_dtype_is_checked(q):
  pixels = _pixels()
  first = q(pixels, q.dtype, seed=tf.constant([7, 8]))
  second = q(pixels, q.dtype, seed=tf.constant([7, 8]))
  np.testing.assert_array_equal(first[0], second[0])
  other = tf.float32 if q.dtype == tf.float64 else tf.float64
  with pytest.raises(TypeError, match=f'built for {q.dtype.name}'):
    q(pixels, other)


class _Recording(variational_dequantization.VariationalDequantizer):
  """Keeps the last values it drew."""

  def __call__(self, *args, **kwargs):
    self.values, log_q = super().__call__(*args, **kwargs)
    return self.values, log_q


def _tiny_variational_flow(dtype=tf.float32, image_shape=SHAPE):
  return tfp_realnvp.RealNVP(image_shape, num_scales=1, num_res_blocks=1,
                             num_filters=4, dequantization='variational',
                             dtype=dtype)


def _uniform_objective_gap(flow, monkeypatch):
  """Largest |FlowModel's objective - the uniform objective| of the same values."""
  monkeypatch.setattr(flow.dequantizer, '__class__', _Recording)
  model = tfp_realnvp.FlowModel(flow)
  pixels = _pixels(8)
  objective = model(pixels, training=False).numpy()
  uniform = flow.log_prob(tf.identity(flow.dequantizer.values),
                          training=False).numpy()
  return float(np.max(np.abs(objective - uniform)))


def test_an_untrained_q_is_uniform_noise_with_the_uniform_objective(
    monkeypatch):
  tf_keras.utils.set_random_seed(1)
  flow = _tiny_variational_flow()
  # The objective log p(x + u) - log q(u | x) is today's loss, log p(x + u),
  # to float rounding.
  assert _uniform_objective_gap(flow, monkeypatch) < 1e-4
  # And the noise is uniform on the cube: its quantiles are the uniform's.
  values, log_q = flow.dequantizer(_pixels(1000), tf.float32,
                                   seed=tf.constant([1, 2]))
  noise = np.sort((values - tf.cast(_pixels(1000), tf.float32)).numpy(),
                  axis=None)
  uniform = (np.arange(noise.size) + .5) / noise.size
  assert np.max(np.abs(noise - uniform)) < 0.01  # Kolmogorov-Smirnov
  assert np.max(np.abs(log_q)) < 1e-5


def test_the_uniform_objective_check_fails_for_a_trained_q(monkeypatch):
  # Shown failing once: a q away from uniform changes the objective.
  flow = _tiny_variational_flow()
  util.randomize_variables(flow.dequantizer, scale=0.3)
  assert _uniform_objective_gap(flow, monkeypatch) > 1e-2


@pytest.fixture(scope='module')
def skewed_2x2_flow():
  """A float64 2x2 model whose q is far from uniform."""
  tf_keras.utils.set_random_seed(3)
  flow = _tiny_variational_flow(tf.float64, (2, 2, 1))
  util.randomize_variables(flow.dequantizer, seed=4, scale=0.3)
  return flow


def _k_draw_matches_integral(flow, dequantizer=None):
  pixels = np.array([[[0], [3]], [[100], [254]]], np.int32)
  truth = _gauss_legendre_log_integral(flow, pixels)
  repeats = 100
  estimates = tf.function(
      lambda x: dequantization.importance_weighted_log_prob(
          flow, x, samples=256, seed=[0, 1], dequantizer=dequantizer),
      autograph=False)(
          tf.constant(np.repeat(pixels[np.newaxis], repeats, 0))).numpy()
  error = estimates.std() / np.sqrt(repeats)
  return abs(estimates.mean() - truth) < 4 * error + 1e-4


def test_the_k_draw_estimate_through_a_learned_q_is_the_integral(
    skewed_2x2_flow):
  # Importance weighting by q's own density: any q gives log P(x), so
  # this checks log q where it matters.
  assert _k_draw_matches_integral(skewed_2x2_flow)


@pytest.mark.slow
def test_the_integral_check_fails_when_log_q_is_dropped(skewed_2x2_flow):
  # Shown failing once: q's draws weighted as if they were uniform.
  def without_log_q(pixels, dtype, seed=None, training=False,
                    first_example=0):
    values, log_q = skewed_2x2_flow.dequantizer(pixels, dtype, seed, training,
                                                first_example)
    return values, tf.zeros_like(log_q)

  assert not _k_draw_matches_integral(skewed_2x2_flow, without_log_q)


@pytest.fixture(scope='module')
def trained_digits_model():
  """A variational model after a few steps on uint8 digits."""
  tf_keras.utils.set_random_seed(2)
  flow = _tiny_variational_flow(image_shape=(8, 8, 1))
  model = tfp_realnvp.FlowModel(flow, polyak_decay=0.9)
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
  before = [v.numpy().copy() for v in flow.dequantizer.trainable_variables]
  pixels = tfp_realnvp.data.digits_dataset('train', 16, dequantized=False)
  model.fit(pixels.take(6), epochs=1, verbose=0)
  return model, before


@pytest.mark.slow
def test_q_trains_with_the_flow_on_uint8_images(trained_digits_model):
  model, before = trained_digits_model
  after = model.distribution.dequantizer.trainable_variables
  moved = [not np.array_equal(a.numpy(), b) for a, b in zip(after, before)]
  # The zero-initialized output layers and everything before them.
  assert sum(moved) > len(moved) // 2
  # It counts among the model's weights (optimizer, Polyak average).
  names = {v.name for v in model.trainable_variables}
  assert all(v.name in names for v in after)


def test_float_pixels_are_refused_by_a_variational_fit():
  model = tfp_realnvp.FlowModel(_tiny_variational_flow(image_shape=(8, 8, 1)))
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
  floats = tf.random.uniform([16, 8, 8, 1], 0., 256.)
  with pytest.raises(TypeError, match=r'^FlowModel.fit: the data are float32'
                     r'.*learns its dequantization noise'):
    model.fit(floats, epochs=1, verbose=0)
  # Evaluating floats is the continuous density, as for any flow.
  model.evaluate(floats, verbose=0)


def test_a_learned_q_outside_the_flow_is_refused():
  flow = tfp_realnvp.RealNVP((8, 8, 1), num_scales=1, num_res_blocks=1,
                             num_filters=4)
  stray = variational_dequantization.VariationalDequantizer(
      (8, 8, 1), num_couplings=1, num_res_blocks=0, num_filters=2)
  with pytest.raises(ValueError, match='that the flow does not own'):
    tfp_realnvp.FlowModel(flow, dequantizer=stray)
  with pytest.raises(ValueError, match="'uniform' or 'variational'"):
    tfp_realnvp.RealNVP((8, 8, 1), dequantization='learned')


@pytest.mark.slow
def test_keras_file_checkpoint_and_saved_model_keep_q(trained_digits_model,
                                                      tmp_path):
  model, _ = trained_digits_model
  flow = model.distribution
  pixels = _pixels(4, shape=(8, 8, 1))
  seed = tf.constant([9, 9], tf.int64)
  expected = flow.dequantizer(pixels, tf.float32, seed=seed)

  model.save(str(tmp_path / 'flow.keras'))
  loaded = tf_keras.models.load_model(str(tmp_path / 'flow.keras'))
  assert loaded.distribution.get_config()['dequantization'] == 'variational'
  again = loaded.distribution.dequantizer(pixels, tf.float32, seed=seed)
  np.testing.assert_array_equal(again[0], expected[0])
  np.testing.assert_array_equal(again[1], expected[1])

  checkpoint = tf.train.Checkpoint(flow=flow)
  path = checkpoint.write(str(tmp_path / 'ckpt'))
  restored = _tiny_variational_flow(image_shape=(8, 8, 1))
  tf.train.Checkpoint(flow=restored).read(path).assert_consumed()
  np.testing.assert_array_equal(
      restored.dequantizer(pixels, tf.float32, seed=seed)[1], expected[1])

  # The SavedModel's discrete likelihood of uint8 images uses the learned q,
  # and its loaded form evaluates as the flow does.
  saved = export.export_saved_model(flow, str(tmp_path / 'export'))
  loaded_flow = saved_flow.SavedFlow(saved)
  uint8 = tf.cast(pixels, tf.uint8)
  np.testing.assert_allclose(
      loaded_flow._loaded.discrete_log_prob(uint8, 8, 5),  # pylint: disable=protected-access
      dequantization.importance_weighted_log_prob(
          flow, pixels, samples=8, seed=tf.constant([5, 0])),
      rtol=1e-5)
  batches = tf.data.Dataset.from_tensor_slices(pixels).batch(4)
  by_saved = evaluation.evaluate_discrete_bits_per_dim(loaded_flow, batches,
                                                      samples=4)
  by_flow = evaluation.evaluate_discrete_bits_per_dim(flow, batches,
                                                      samples=4)
  assert by_saved.bits_per_dim == pytest.approx(by_flow.bits_per_dim,
                                                rel=1e-5)


@pytest.mark.slow
def test_recomputed_statistics_reach_q_through_integer_batches(
    trained_digits_model):
  model, _ = trained_digits_model
  flow = model.distribution
  q_norms = tfp_realnvp.training.batch_norms(flow.dequantizer)
  before = [bn.moving_mean.numpy().copy() for bn in q_norms]
  pixels = tfp_realnvp.data.digits_dataset('test', 32, shuffle=False,
                                           dequantized=False)
  assert tfp_realnvp.recompute_batch_norm_statistics(flow, pixels.take(2)) == 2
  assert all(bn.num_updates.numpy() == 2 for bn in q_norms)
  assert any(not np.allclose(bn.moving_mean.numpy(), old)
             for bn, old in zip(q_norms, before))
