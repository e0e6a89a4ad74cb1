"""`flow.given(...)`: a condition bound once, a real `tfd.Distribution`."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_realnvp
from tests import bijector_test_util

tfd = tfp.distributions

_SHAPE = (4, 4, 1)


@pytest.fixture(scope='module')
def labelled():
  flow = tfp_realnvp.ConditionalRealNVP(
      _SHAPE, num_classes=3, num_scales=1, num_res_blocks=1, num_filters=4,
      dtype=tf.float64)
  # Random weights: a fresh coupling is the identity, whatever the label.
  bijector_test_util.randomize_variables(flow)
  return flow


@pytest.fixture(scope='module')
def with_context():
  flow = tfp_realnvp.VectorRealNVP(4, num_couplings=2, num_res_blocks=1,
                                   num_hidden=8, context_shape=(2,),
                                   dtype=tf.float64)
  bijector_test_util.randomize_variables(flow)
  return flow


def _pixels(n, seed=0):
  return tf.constant(np.random.default_rng(seed).uniform(
      0., 256., (n,) + _SHAPE))


def test_given_labels_is_the_keyword_form_with_the_labels_batch(labelled):
  given = labelled.given(labels=[0, 1, 2])
  assert isinstance(given, tfd.Distribution)
  assert given.batch_shape == [3] and given.event_shape == _SHAPE
  pixels = _pixels(3)
  np.testing.assert_allclose(
      given.log_prob(tf.identity(pixels)),
      labelled.log_prob(tf.identity(pixels), labels=[0, 1, 2]), rtol=1e-12)
  np.testing.assert_allclose(
      given.bits_per_dim(tf.identity(pixels)),
      labelled.bits_per_dim(tf.identity(pixels), labels=[0, 1, 2]),
      rtol=1e-12)
  # The label matters: another class, another density.
  other = labelled.given(labels=[1, 2, 0]).log_prob(tf.identity(pixels))
  assert not np.allclose(other, given.log_prob(tf.identity(pixels)))


def test_sampling_draws_per_condition_and_encode_inverts_decode(labelled):
  given = labelled.given(labels=[0, 2])
  samples = given.sample(5, seed=1)
  assert samples.shape == (5, 2) + _SHAPE
  assert given.sample_values(5, seed=1).shape == (5, 2) + _SHAPE
  latents = tf.random.stateless_normal((2,) + _SHAPE, [1, 2], dtype=tf.float64)
  np.testing.assert_allclose(
      given.encode(given.decode(tf.identity(latents))), latents, atol=1e-9)


def test_a_scalar_label_serves_any_batch(labelled):
  sevens = labelled.given(labels=1)
  assert sevens.batch_shape == []
  pixels = _pixels(4, seed=2)
  np.testing.assert_allclose(
      sevens.log_prob(tf.identity(pixels)),
      labelled.log_prob(tf.identity(pixels), labels=[1, 1, 1, 1]),
      rtol=1e-12)


def test_given_works_inside_independent_and_mixture(labelled):
  pixels = _pixels(2, seed=3)
  given = labelled.given(labels=[0, 1])
  independent = tfd.Independent(given, reinterpreted_batch_ndims=1)
  np.testing.assert_allclose(
      independent.log_prob(tf.identity(pixels)),
      np.sum(labelled.log_prob(tf.identity(pixels), labels=[0, 1])),
      rtol=1e-12)
  mixture = tfd.Mixture(
      tfd.Categorical(probs=tf.constant([0.25, 0.75], tf.float64)),
      [labelled.given(labels=0), labelled.given(labels=2)])
  expected = np.logaddexp(
      np.log(0.25) + labelled.log_prob(tf.identity(pixels), labels=0),
      np.log(0.75) + labelled.log_prob(tf.identity(pixels), labels=2))
  np.testing.assert_allclose(mixture.log_prob(tf.identity(pixels)), expected,
                             rtol=1e-9)


def test_given_context_has_the_context_batch(with_context):
  context = tf.constant(np.random.default_rng(4).normal(size=(3, 2)))
  given = with_context.given(context=context)
  assert given.batch_shape == [3] and given.event_shape == [4]
  values = tf.constant(np.random.default_rng(5).normal(size=(3, 4)))
  np.testing.assert_allclose(
      given.log_prob(tf.identity(values)),
      with_context.log_prob(tf.identity(values), context=context),
      rtol=1e-12)


def test_the_condition_is_checked_once_where_it_is_bound(labelled,
                                                         with_context):
  with pytest.raises(ValueError, match='class-conditional: pass `labels`'):
    labelled.given()
  with pytest.raises(TypeError, match='labels must be integers'):
    labelled.given(labels=[0.5])
  with pytest.raises(ValueError, match=r'must lie in \[0, 3\)'):
    labelled.given(labels=[0, 3])
  with pytest.raises(ValueError, match='takes no context'):
    labelled.given(labels=[0], context=[[1., 2.]])
  with pytest.raises(ValueError, match=r'context must have shape \(batch..., 2\)'):
    with_context.given(context=tf.zeros([3, 5], tf.float64))
  with pytest.raises(TypeError, match='context must be a float tensor'):
    with_context.given(context=tf.zeros([3, 2], tf.int32))


def test_a_batch_that_does_not_broadcast_is_named(labelled):
  given = labelled.given(labels=[0, 1, 2])
  with pytest.raises(ValueError, match=r'batch shape \(4,\) do not broadcast '
                                       r'with the condition\'s batch shape '
                                       r'\(3,\)'):
    given.log_prob(_pixels(4))


def test_an_unconditional_flow_has_nothing_to_bind():
  flow = tfp_realnvp.VectorRealNVP(2, num_couplings=1, num_res_blocks=0,
                                   num_hidden=4)
  with pytest.raises(ValueError, match='takes no labels or context'):
    flow.given()


# Findings 3-5 of issue #42: the condition sliced, carried and broadcast.


def test_slicing_slices_the_condition_with_the_batch(labelled):
  """`given(labels=y)[s]` is `given(labels=y[s])` (it kept y whole before)."""
  labels = tf.constant([0, 1, 2])
  pixels = _pixels(3, seed=7)
  given = labelled.given(labels=labels)
  reversed_given = given[::-1]
  assert reversed_given.batch_shape == [3]
  np.testing.assert_allclose(
      reversed_given.log_prob(tf.identity(pixels[::-1])),
      labelled.log_prob(tf.identity(pixels[::-1]), labels=labels[::-1]),
      rtol=1e-12)
  # The label matters here, so keeping it unsliced would be seen.
  assert not np.allclose(
      reversed_given.log_prob(tf.identity(pixels[::-1])),
      labelled.log_prob(tf.identity(pixels[::-1]), labels=labels))
  one = given[1]
  assert one.batch_shape == []
  np.testing.assert_allclose(
      one.log_prob(tf.identity(pixels[1])),
      labelled.log_prob(tf.identity(pixels[1:2]), labels=[1])[0], rtol=1e-12)


def test_a_sliced_context_keeps_its_context_axes(with_context):
  context = tf.constant(np.random.default_rng(8).normal(size=(3, 2)))
  values = tf.constant(np.random.default_rng(9).normal(size=(2, 4)))
  given = with_context.given(context=context)[1:]
  assert given.batch_shape == [2]
  np.testing.assert_allclose(
      given.log_prob(tf.identity(values)),
      with_context.log_prob(tf.identity(values), context=context[1:]),
      rtol=1e-12)


def test_the_class_marginal_is_a_mixture_of_the_given_flows(labelled):
  """`MixtureSameFamily(pi, given(labels=range(C)))` is the logsumexp by hand."""
  probs = tf.constant([0.2, 0.3, 0.5], tf.float64)
  marginal = tfd.MixtureSameFamily(
      tfd.Categorical(probs=probs), labelled.given(labels=tf.range(3)))
  pixels = _pixels(4, seed=10)
  by_class = tf.stack([
      labelled.log_prob(tf.identity(pixels), labels=tf.fill([4], c))
      for c in range(3)], axis=-1)
  expected = tf.reduce_logsumexp(by_class + tf.math.log(probs), axis=-1)
  np.testing.assert_allclose(marginal.log_prob(tf.identity(pixels)),
                             expected, rtol=1e-10)


def test_values_broadcast_with_the_condition(labelled):
  """A value batch of [n, 1] against labels [C] gives [n, C], as TFP does."""
  pixels = _pixels(2, seed=11)
  given = labelled.given(labels=[0, 1, 2])
  table = given.log_prob(tf.identity(pixels)[:, tf.newaxis])
  assert table.shape == (2, 3)
  for c in range(3):
    np.testing.assert_allclose(
        table[:, c], labelled.log_prob(tf.identity(pixels), labels=[c, c]),
        rtol=1e-12)
  # One value for every label, too.
  np.testing.assert_allclose(given.log_prob(tf.identity(pixels[0])),
                             table[0], rtol=1e-12)


def test_a_conditioned_flow_carries_the_flows_learned_q():
  """The K-draw estimate of `given(...)` draws from the flow's own q."""
  flow = tfp_realnvp.ConditionalRealNVP(
      _SHAPE, num_classes=3, num_scales=1, num_res_blocks=1, num_filters=4,
      dequantization='variational', dtype=tf.float64)
  # A moved q: an untrained one is uniform noise, which would hide the swap.
  bijector_test_util.randomize_variables(flow, seed=1)
  pixels = tf.constant(np.random.default_rng(12).integers(
      0, 256, (3,) + _SHAPE), tf.int32)
  labels = tf.constant([0, 1, 2])
  given = flow.given(labels=labels)
  assert given.dequantizer is flow.dequantizer
  seed = tf.constant([3, 4])
  through_given = tfp_realnvp.dequantization.importance_weighted_log_prob(
      given, pixels, samples=4, seed=seed)
  with_labels = flow.discrete_log_prob(pixels, 4, seed, labels=labels)
  np.testing.assert_allclose(through_given, with_labels, rtol=1e-10)
  uniform = tfp_realnvp.dequantization.importance_weighted_log_prob(
      given, pixels, samples=4, seed=seed,
      dequantizer=tfp_realnvp.UniformDequantizer())
  assert np.all(np.abs(through_given - uniform) > 1e-3)
  # The evaluation helper reads it from the given flow too.
  batches = tf.data.Dataset.from_tensor_slices(pixels).batch(3)
  estimate = tfp_realnvp.evaluate_discrete_bits_per_dim(given, batches,
                                                        samples=4, seed=3)
  by_flow = tfp_realnvp.evaluate_discrete_bits_per_dim(
      flow, tf.data.Dataset.from_tensor_slices((pixels, labels)).batch(3),
      samples=4, seed=3)
  np.testing.assert_allclose(estimate.bits_per_dim, by_flow.bits_per_dim,
                             rtol=1e-10)
