"""Results that are never another model's, another mode's, or older weights'.

TFP caches bijector results by (bijector, input tensor, keywords) and compares
bijectors by their constructor `parameters`; these tests pin down that every
stateful bijector, chain and model is its own cache key, that the training
mode is part of every key, and that the models answer from current weights.
"""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

import tfp_realnvp
from tests import bijector_test_util
from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp import data

tfb = tfp.bijectors
tfd = tfp.distributions
SHAPE = (4, 4, 2)


def _coupling():
  return rnvp_bijectors.MaskedAffineCoupling(
      SHAPE, num_res_blocks=1, num_filters=4, dtype=tf.float64)


def _batch_norm():
  return rnvp_bijectors.BatchNormalization(SHAPE, dtype=tf.float64)


def _factor_out():
  return rnvp_bijectors.FactorOut(rnvp_bijectors.MaskedAffineCoupling(
      (4, 4, 1), num_res_blocks=1, num_filters=4, dtype=tf.float64))


def _chain():
  return rnvp_bijectors.ConditionalChain([_coupling(), _batch_norm()])


def _same_config_pair(make):
  first, second = make(), make()
  bijector_test_util.randomize_variables(first, seed=1)
  bijector_test_util.randomize_variables(second, seed=2)
  return first, second


def _x():
  return tf.random.stateless_normal((3,) + SHAPE, [5, 6], dtype=tf.float64)


@pytest.mark.parametrize('make', [_coupling, _batch_norm, _factor_out, _chain],
                         ids=['coupling', 'batch_norm', 'factor_out', 'chain'])
@pytest.mark.parametrize('mode', bijector_test_util.MODES)
def test_same_config_bijectors_give_their_own_results(make, mode):
  first, second = _same_config_pair(make)
  x = _x()

  def both(x):
    return (first.inverse(x), first.inverse_log_det_jacobian(x, 3),
            second.inverse(x), second.inverse_log_det_jacobian(x, 3),
            first.forward(x), second.forward(x))

  results = bijector_test_util.run(mode, both, x)
  expected = (first.inverse(tf.identity(x)),
              first.inverse_log_det_jacobian(tf.identity(x), 3))
  expected += (second.inverse(tf.identity(x)),
               second.inverse_log_det_jacobian(tf.identity(x), 3))
  expected += (first.forward(tf.identity(x)), second.forward(tf.identity(x)))
  for result, fresh in zip(results, expected):
    np.testing.assert_allclose(result, fresh, rtol=1e-12)
  # The two really differ, so sharing would have shown.
  assert np.max(np.abs(results[0] - results[2])) > 1e-3
  assert first != second and first == first  # pylint: disable=comparison-with-itself


def _vector_flow(seed):
  flow = tfp_realnvp.VectorRealNVP(2, num_couplings=2, num_res_blocks=1,
                                   num_hidden=8, dtype=tf.float64)
  bijector_test_util.randomize_variables(flow, seed=seed)
  return flow


def _points():
  return tf.random.stateless_normal([5, 2], [1, 1], dtype=tf.float64)


@pytest.mark.parametrize('mode', bijector_test_util.MODES)
def test_same_config_models_give_their_own_log_prob(mode):
  models = [tfp_realnvp.RealNVP((4, 4, 1), num_scales=2, num_res_blocks=1,
                                num_filters=4, dtype=tf.float64)
            for _ in range(2)]
  for seed, model in enumerate(models):
    bijector_test_util.randomize_variables(model, seed=seed)
  pixels = tf.random.stateless_uniform([3, 4, 4, 1], [2, 2], 0., 256.,
                                       dtype=tf.float64)
  # Each model's latents are held while the other runs on the same tensor.
  both = bijector_test_util.run(
      mode, lambda x: [(m.bijector.inverse(x), m.log_prob(x)) for m in models],
      pixels)
  for model, (latents, log_prob) in zip(models, both):
    fresh_latents = model.bijector.inverse(tf.identity(pixels))
    np.testing.assert_allclose(latents, fresh_latents, rtol=1e-10)
    by_hand = model.distribution.log_prob(fresh_latents) + (
        model.bijector.inverse_log_det_jacobian(tf.identity(pixels), 3))
    np.testing.assert_allclose(log_prob, by_hand, rtol=1e-10)
  assert np.max(np.abs(both[0][1] - both[1][1])) > 1e-3


def test_mixture_of_same_config_flows_is_the_log_sum_exp_of_its_parts():
  flows = [_vector_flow(seed) for seed in (1, 2)]
  mixture = tfd.Mixture(
      tfd.Categorical(probs=tf.constant([0.3, 0.7], tf.float64)), flows)
  points = _points()
  log_prob = tf.function(mixture.log_prob)(points)
  by_hand = tf.reduce_logsumexp(tf.stack(
      [np.log(0.3) + flows[0].log_prob(tf.identity(points)),
       np.log(0.7) + flows[1].log_prob(tf.identity(points))]), axis=0)
  np.testing.assert_allclose(log_prob, by_hand, rtol=1e-10)


def test_fit_of_a_model_holding_two_same_config_flows_trains_both():
  flows = [tfp_realnvp.VectorRealNVP(2, num_couplings=2, num_res_blocks=1,
                                     num_hidden=8) for _ in range(2)]
  mixture = tfd.Mixture(tfd.Categorical(logits=[0., 0.]), flows)
  model = tfp_realnvp.FlowModel(mixture)
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-2))
  def output_scales(flow):
    return [b.shift_and_log_scale_fn.output_layer.weight_scale
            for b in flow.bijector.bijectors
            if isinstance(b, rnvp_bijectors.MaskedAffineCoupling)]

  before = [[v.numpy() for v in output_scales(flow)] for flow in flows]
  points = data.toy_samples('moons', 64).astype(np.float32)
  model.fit(tf.data.Dataset.from_tensors(points).repeat(2), verbose=0)
  for flow, old in zip(flows, before):
    # Zero-initialised output layers: any gradient moves them.
    for variable, old_value in zip(output_scales(flow), old):
      assert np.any(variable.numpy() != old_value)


@pytest.mark.parametrize('mode', bijector_test_util.MODES)
def test_evaluation_after_training_mode_on_the_same_tensor_is_fresh(mode):
  model = tfp_realnvp.RealNVP((4, 4, 1), num_scales=2, num_res_blocks=1,
                              num_filters=4, dtype=tf.float64)
  bijector_test_util.randomize_variables(model)
  pixels = tf.random.stateless_uniform([6, 4, 4, 1], [3, 3], 0., 256.,
                                       dtype=tf.float64)

  def train_then_evaluate(x):
    # The training-mode latents are held, so TFP's cache keeps them.
    with rnvp_bijectors.training_mode(True):
      held = model.bijector.inverse(x)
    return held, model.log_prob(x), model.encode(x)

  held, log_prob, latents = bijector_test_util.run(
      mode, train_then_evaluate, pixels)
  np.testing.assert_allclose(log_prob, model.log_prob(tf.identity(pixels)),
                             rtol=1e-10)
  np.testing.assert_allclose(latents, model.encode(tf.identity(pixels)),
                             rtol=1e-10)
  assert np.max(np.abs(held - latents)) > 1e-3


@pytest.mark.parametrize('mode', bijector_test_util.MODES)
def test_chain_caches_its_output_under_the_mode(mode):
  chain = _chain()
  bijector_test_util.randomize_variables(chain)
  x = _x()

  def train_then_evaluate(x):
    with rnvp_bijectors.training_mode(True):
      held = chain.inverse(x)
    return held, chain.inverse(x), chain.inverse_log_det_jacobian(x, 3)

  held, latents, ildj = bijector_test_util.run(mode, train_then_evaluate, x)
  np.testing.assert_allclose(latents, chain.inverse(tf.identity(x)),
                             rtol=1e-12)
  np.testing.assert_allclose(
      ildj, chain.inverse_log_det_jacobian(tf.identity(x), 3), rtol=1e-12)
  assert np.max(np.abs(held - latents)) > 1e-3


def _digits_model():
  model = tfp_realnvp.RealNVP((4, 4, 1), num_scales=2, num_res_blocks=1,
                              num_filters=4)
  bijector_test_util.randomize_variables(model)
  return model


def _every_method(model, pixels, latents):
  return dict(log_prob=model.log_prob(pixels),
              bits_per_dim=model.bits_per_dim(pixels),
              sample=model.sample_pixels(2, seed=[1, 2]),
              encode=model.encode(pixels), decode=model.decode(latents))


def _change_by_assign(model, unused_pixels):
  bijector_test_util.randomize_variables(model, seed=7)


def _change_by_optimizer_step(model, pixels):
  optimizer = tf_keras.optimizers.Adam(0.1)
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(model.log_prob(pixels))
  variables = model.trainable_variables
  optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))


def _change_by_restore(model, unused_pixels, tmp_path=None):
  other = _digits_model()
  bijector_test_util.randomize_variables(other, seed=9)
  path = tf.train.Checkpoint(model=other).save(str(tmp_path / 'other'))
  tf.train.Checkpoint(model=model).restore(path).assert_existing_objects_matched()


@pytest.mark.parametrize('change', [_change_by_assign, _change_by_optimizer_step,
                                    _change_by_restore],
                         ids=['assign', 'optimizer_step', 'restore'])
def test_models_answer_from_the_current_weights_for_a_tensor_seen_before(
    change, tmp_path):
  model = _digits_model()
  pixels = tf.random.stateless_uniform([3, 4, 4, 1], [4, 4], 0., 256.)
  latents = tf.random.stateless_normal([3, 4, 4, 1], [5, 5])
  before = _every_method(model, pixels, latents)  # `pixels` is held.
  if change is _change_by_restore:
    change(model, pixels, tmp_path=tmp_path)
  else:
    change(model, pixels)
  after = _every_method(model, pixels, latents)
  fresh = _every_method(model, tf.identity(pixels), tf.identity(latents))
  for name in before:
    np.testing.assert_allclose(after[name], fresh[name], rtol=1e-5,
                               atol=1e-4, err_msg=name)
    assert np.max(np.abs(after[name] - before[name])) > 1e-4, name


def test_a_raw_bijector_keeps_tfp_cache_semantics_as_documented():
  # docs/bijectors.md, "Caching": a raw bijector called again on the same held tensor
  # after its weights change may return the cached result; a fresh tensor
  # (`tf.identity`) never does.
  coupling = _coupling()
  bijector_test_util.randomize_variables(coupling, seed=1)
  x = _x()
  first = coupling.inverse(x)
  bijector_test_util.randomize_variables(coupling, seed=2)
  np.testing.assert_array_equal(coupling.inverse(x), first)
  fresh = coupling.inverse(tf.identity(x))
  assert np.max(np.abs(fresh - first)) > 1e-3


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
