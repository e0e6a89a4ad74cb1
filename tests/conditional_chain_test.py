"""Tests of ConditionalChain: conditional input to every link that takes it."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tests import bijector_test_util
from tfp_realnvp import bijectors as rnvp_bijectors

tfb = tfp.bijectors
EVENT_SHAPE = (4, 4, 2)


def _links(num_classes):
  links = [rnvp_bijectors.MaskedAffineCoupling(
      EVENT_SHAPE, parity=p, num_res_blocks=1, num_filters=4,
      num_classes=num_classes, dtype=tf.float64) for p in (0, 1)]
  # A link that takes no conditional input, between the conditional ones.
  return [links[0], tfb.Scale(tf.constant(1.5, tf.float64)), links[1]]


def _x(seed=0):
  return tf.random.stateless_normal((3,) + EVENT_SHAPE, [seed, 1],
                                    dtype=tf.float64)


def test_without_conditional_input_it_is_a_tfb_chain():
  links = _links(None)
  for link in links:
    bijector_test_util.randomize_variables(link)
  ours, theirs = rnvp_bijectors.ConditionalChain(links), tfb.Chain(links)
  x = _x()
  np.testing.assert_allclose(ours.forward(tf.identity(x)),
                             theirs.forward(tf.identity(x)), rtol=1e-12)
  np.testing.assert_allclose(
      ours.inverse_log_det_jacobian(tf.identity(x), 3),
      theirs.inverse_log_det_jacobian(tf.identity(x), 3), rtol=1e-12)
  assert not ours.takes_conditional_input


def test_labels_reach_every_conditional_link_and_nothing_else():
  links = _links(3)
  for link in links:
    bijector_test_util.randomize_variables(link)
  chain = rnvp_bijectors.ConditionalChain(links)
  assert chain.takes_conditional_input
  labels = tf.constant([0, 1, 2])
  x = _x()
  expected = links[0].forward(
      links[1].forward(links[2].forward(x, conditional_input=labels)),
      conditional_input=labels)
  np.testing.assert_allclose(
      chain.forward(tf.identity(x), conditional_input=labels), expected,
      rtol=1e-12)
  bijector_test_util.assert_round_trip(chain, x, conditional_input=labels)
  brute_force = bijector_test_util.brute_force_log_det(
      lambda t: chain.forward(tf.identity(t), conditional_input=labels), x, 3)
  np.testing.assert_allclose(
      chain.forward_log_det_jacobian(tf.identity(x), 3,
                                     conditional_input=labels),
      brute_force, rtol=1e-9)


def test_another_label_for_the_same_input_is_never_a_cache_hit():
  links = _links(3)
  for link in links:
    bijector_test_util.randomize_variables(link)
  chain = rnvp_bijectors.ConditionalChain(links)
  x = _x()
  first = chain.inverse(x, conditional_input=tf.constant([0, 0, 0]))
  second = chain.inverse(x, conditional_input=tf.constant([2, 2, 2]))
  assert np.max(np.abs(first - second)) > 1e-3
  first_ildj = chain.inverse_log_det_jacobian(
      x, 3, conditional_input=tf.constant([0, 0, 0]))
  second_ildj = chain.inverse_log_det_jacobian(
      x, 3, conditional_input=tf.constant([2, 2, 2]))
  assert np.max(np.abs(first_ildj - second_ildj)) > 1e-6


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
