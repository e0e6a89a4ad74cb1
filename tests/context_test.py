"""Flows conditioned on a float context through `conditional_input`."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp.app import export
from tfp_realnvp.app import loading
from tests import bijector_test_util


def _coupling(event_shape, context_shape, mask_type='checkerboard'):
  coupling = rnvp_bijectors.MaskedAffineCoupling(
      event_shape, mask_type=mask_type, num_res_blocks=1, num_filters=4,
      context_shape=context_shape, dtype=tf.float64)
  bijector_test_util.randomize_variables(coupling)
  return coupling


def _normal(shape, seed):
  return tf.random.stateless_normal(shape, seed=[seed, 0], dtype=tf.float64)


# An image context twice the coupling's size exercises the pooling.
_CASES = [
    ([4, 4, 2], [3], 'checkerboard'),
    ([4, 4, 2], [8, 8, 2], 'checkerboard'),
    ([4, 4, 2], [4, 4, 1], 'channel'),
    ([4], [3], 'channel'),
]


@pytest.mark.parametrize('event_shape,context_shape,mask_type', _CASES)
def test_coupling_with_context_inverts_and_has_the_brute_force_log_det(
    event_shape, context_shape, mask_type):
  coupling = _coupling(event_shape, context_shape, mask_type)
  x = _normal([3] + event_shape, 1)
  context = _normal([3] + context_shape, 2)
  kwargs = dict(conditional_input=context)
  bijector_test_util.assert_round_trip(coupling, x, **kwargs)
  log_det = coupling.forward_log_det_jacobian(
      tf.identity(x), event_ndims=len(event_shape), **kwargs)
  expected = bijector_test_util.brute_force_log_det(
      lambda t: coupling.forward(tf.identity(t), **kwargs), x,
      len(event_shape))
  np.testing.assert_allclose(log_det, expected, rtol=1e-8, atol=1e-8)


def test_each_context_gets_its_own_result_never_a_cached_one():
  coupling = _coupling([4, 4, 2], [3], 'checkerboard')
  # One input tensor, two contexts: the cache is keyed by both.
  x = _normal([2, 4, 4, 2], 1)
  first, second = _normal([2, 3], 2), _normal([2, 3], 3)
  y_first = coupling.forward(x, conditional_input=first)
  y_second = coupling.forward(x, conditional_input=second)
  assert np.abs(y_first - y_second).max() > 1e-3
  fresh = coupling.forward(tf.identity(x), conditional_input=tf.identity(second))
  np.testing.assert_allclose(y_second, fresh, rtol=1e-12)
  # A context per example: the first example's result is its own.
  mixed = tf.stack([first[0], second[1]])
  y_mixed = coupling.forward(tf.identity(x), conditional_input=mixed)
  np.testing.assert_allclose(y_mixed[0], y_first[0], rtol=1e-12)
  np.testing.assert_allclose(y_mixed[1], y_second[1], rtol=1e-12)


@pytest.fixture(scope='module')
def image_flow():
  flow = tfp_realnvp.RealNVP((4, 4, 1), num_scales=2, num_res_blocks=1,
                             num_filters=4, context_shape=(4, 4, 2),
                             dtype=tf.float64)
  bijector_test_util.randomize_variables(flow)
  return flow


def test_whole_model_with_context_inverts_and_has_the_exact_log_det(
    image_flow):
  # Latents to pixels, so the inputs stay inside the logit's domain.
  latents = _normal([2, 4, 4, 1], 1)
  context = _normal([2, 4, 4, 2], 2)
  kwargs = dict(conditional_input=context, training=False)
  bijector = image_flow.bijector
  bijector_test_util.assert_round_trip(bijector, latents, **kwargs)
  log_det = bijector.forward_log_det_jacobian(tf.identity(latents),
                                              event_ndims=3, **kwargs)
  expected = bijector_test_util.brute_force_log_det(
      lambda t: bijector.forward(tf.identity(t), **kwargs), latents, 3)
  np.testing.assert_allclose(log_det, expected, rtol=1e-8, atol=1e-8)
  # The flow's own methods route the context the same way.
  pixels = bijector.forward(tf.identity(latents), **kwargs)
  np.testing.assert_allclose(
      image_flow.encode(pixels, context=context), latents, atol=1e-8)


def test_gradients_reach_the_users_encoder_in_one_function():
  flow = tfp_realnvp.VectorRealNVP(4, num_couplings=2, num_res_blocks=1,
                                   num_hidden=8, context_shape=(3,))
  bijector_test_util.randomize_variables(flow)
  encoder = tf_keras.layers.Dense(3)
  features = tf.random.stateless_normal([8, 5], seed=[1, 0])
  values = tf.random.stateless_normal([8, 4], seed=[2, 0])

  @tf.function
  def loss_and_gradients():
    with tf.GradientTape() as tape:
      context = encoder(features)
      loss = -tf.reduce_mean(flow.log_prob(values, context=context,
                                           training=True))
    variables = list(encoder.trainable_variables) + list(
        flow.trainable_variables)
    return loss, tape.gradient(loss, variables)

  loss, gradients = loss_and_gradients()
  assert np.isfinite(loss.numpy())
  kernel_gradient = gradients[0]
  assert kernel_gradient is not None
  assert np.all(np.isfinite(kernel_gradient))
  assert np.abs(kernel_gradient).max() > 1e-6


def test_fit_takes_values_and_context_pairs():
  flow = tfp_realnvp.VectorRealNVP(4, num_couplings=2, num_res_blocks=1,
                                   num_hidden=8, context_shape=(2,))
  model = tfp_realnvp.FlowModel(flow)
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-2), run_eagerly=True)
  context = tf.random.stateless_normal([32, 2], seed=[1, 0])
  # Values that depend on the context: the conditional density learns it.
  values = tf.concat([context, context], axis=-1) + 0.1 * (
      tf.random.stateless_normal([32, 4], seed=[2, 0]))
  history = model.fit(tf.data.Dataset.from_tensor_slices(
      (values, context)).batch(16), epochs=3, verbose=0)
  assert np.all(np.isfinite(history.history['loss']))
  with pytest.raises(ValueError, match=r'\(values, context\) pairs'):
    model.predict(tf.data.Dataset.from_tensor_slices(values).batch(16),
                  verbose=0)


def test_saved_model_takes_the_context(tmp_path):
  flow = tfp_realnvp.VectorRealNVP(4, num_couplings=2, num_res_blocks=1,
                                   num_hidden=8, context_shape=(3,))
  bijector_test_util.randomize_variables(flow)
  values = tf.random.stateless_normal([3, 4], seed=[1, 0])
  context = tf.random.stateless_normal([3, 3], seed=[2, 0])
  saved = loading.SavedFlow(export.export_saved_model(flow, str(tmp_path)))
  assert saved.context_shape == (3,)
  np.testing.assert_allclose(saved.log_prob(values, context=context),
                             flow.log_prob(values, context=context),
                             rtol=1e-5)
  # One context for the whole batch is broadcast.
  np.testing.assert_allclose(
      saved.bits_per_dim(values, context=context[0]),
      flow.bits_per_dim(values, context=tf.stack([context[0]] * 3)),
      rtol=1e-5)
  np.testing.assert_allclose(
      saved.sample_values(3, seed=4, context=context),
      flow.sample_values(3, seed=4, context=context), rtol=1e-5, atol=1e-5)
  with pytest.raises(ValueError, match='pass `context`'):
    saved.log_prob(values)


def test_bad_contexts_are_refused_with_the_reason():
  coupling = _coupling([4, 4, 2], [3], 'checkerboard')
  x = _normal([2, 4, 4, 2], 1)
  with pytest.raises(ValueError, match='pass `conditional_input=context`'):
    coupling.forward(x)
  with pytest.raises(TypeError, match='float tensor, got dtype int32'):
    coupling.forward(x, conditional_input=tf.zeros([2, 3], tf.int32))
  with pytest.raises(ValueError, match=r'shape \(batch..., 3\), got \(2, 4\)'):
    coupling.forward(x, conditional_input=tf.zeros([2, 4], tf.float64))
  with pytest.raises(ValueError, match='not both'):
    rnvp_bijectors.MaskedAffineCoupling([4, 4, 2], num_classes=3,
                                        context_shape=[3])
  with pytest.raises(ValueError, match='multiples'):
    tfp_realnvp.RealNVP((4, 4, 1), context_shape=(6, 6, 1))
  with pytest.raises(ValueError, match=r'must be \(K,\)'):
    tfp_realnvp.VectorRealNVP(4, context_shape=(2, 2, 1))
  flow = tfp_realnvp.VectorRealNVP(4, num_couplings=1, context_shape=(3,))
  with pytest.raises(ValueError, match='pass `context`'):
    flow.log_prob(tf.zeros([2, 4]))
  with pytest.raises(ValueError, match='takes no context'):
    tfp_realnvp.VectorRealNVP(4, num_couplings=1).log_prob(
        tf.zeros([2, 4]), context=tf.zeros([2, 3]))
