"""Tests of how stateful bijectors resolve training vs evaluation mode."""

import sys

import pytest
import tensorflow as tf
import tf_keras

from tfp_realnvp import bijectors as rnvp_bijectors


def test_default_is_evaluation():
  assert rnvp_bijectors.resolve_training() is False


def test_explicit_flag_beats_context():
  with rnvp_bijectors.training_mode(True):
    assert rnvp_bijectors.resolve_training(False) is False
    assert rnvp_bijectors.resolve_training() is True
  assert rnvp_bijectors.resolve_training() is False


def test_contexts_nest_and_restore():
  with rnvp_bijectors.training_mode(True):
    with rnvp_bijectors.training_mode(False):
      assert rnvp_bijectors.resolve_training() is False
    assert rnvp_bijectors.resolve_training() is True


def test_keras_call_context_is_not_read():
  # The mode is an explicit argument all the way down (FlowModel passes
  # Keras' flag); a private Keras global is never consulted.
  seen = []

  class Probe(tf_keras.layers.Layer):

    def call(self, x):
      seen.append(rnvp_bijectors.resolve_training())
      return x

  probe = Probe()
  probe(tf.zeros([1]), training=True)
  probe(tf.zeros([1]), training=False)
  assert seen == [False, False]


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
