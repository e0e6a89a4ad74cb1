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
  with pytest.raises(tf.errors.InvalidArgumentError, match='num_classes'):
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
