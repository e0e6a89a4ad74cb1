"""Numerical invertibility at the depth of the paper's CIFAR-10 model.

float32, on real CIFAR-10 images: at initialization and with every weight and
batch-norm statistic randomized (far from the identity), the largest
reconstruction error `max|x - forward(inverse(x))|` stays below 1e-2 in pixel
units. (The SavedModel's encode/decode: export_test.py.)
"""

import sys

import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp import data
from tests import bijector_test_util
from tests import shared_data

SHARED_TFDS_DIR = shared_data.SHARED_TFDS_DIR
needs_cifar10 = shared_data.needs_tfds('cifar10')

_TOLERANCE = 1e-2  # pixel units


def _max_reconstruction_error(encode, decode, pixels):
  latents = encode(tf.identity(pixels))
  assert np.all(np.isfinite(latents))
  return float(tf.reduce_max(tf.abs(decode(tf.identity(latents)) - pixels)))


@pytest.mark.slow
@needs_cifar10
def test_paper_cifar10_configuration_reconstructs_real_images():
  images = next(iter(data.image_dataset(
      'cifar10', 'test', SHARED_TFDS_DIR, batch_size=8, shuffle=False,
      download=False, seed=0)))
  distribution = tfp_realnvp.RealNVP.from_preset('cifar10')
  bijector = distribution.bijector

  def library_error():
    with tfp_realnvp.training_mode(False):
      return _max_reconstruction_error(bijector.inverse, bijector.forward,
                                       images)

  assert library_error() < _TOLERANCE
  # Weights N(0, 0.3), log-scale factors included (so |s| reaches ~1 per
  # coupling), moving means N(0, 1) and variances U(0.5, 2): every coupling
  # and batch norm now changes its input.
  bijector_test_util.randomize_variables(distribution, seed=1, scale=0.3)
  with tfp_realnvp.training_mode(False):
    latents = bijector.inverse(tf.identity(images))
  assert float(tf.reduce_max(tf.abs(latents))) > 3.
  assert library_error() < _TOLERANCE
  # The SavedModel's encode and decode are the same functions: their
  # exactness is export_test.py's, at a size whose export traces in seconds
  # (this model's took 100 s of a CI run).


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
