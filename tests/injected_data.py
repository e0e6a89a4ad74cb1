"""Random 8x8 pixel datasets that tests pass to `run(..., datasets=...)`."""

import numpy as np
import tensorflow as tf


def random_pixels(n, seed):
  """`n` float32 8x8x1 images, uniform in [0, 256), drawn from `seed`."""
  rng = np.random.default_rng(seed)
  return rng.uniform(0., 256., size=(n, 8, 8, 1)).astype(np.float32)


def injected_datasets(validation_examples):
  """(training, validation) batches of 16: 64 images of seed 0, and
  `validation_examples` of seed 1."""
  return (tf.data.Dataset.from_tensor_slices(random_pixels(64, 0)).batch(16),
          tf.data.Dataset.from_tensor_slices(
              random_pixels(validation_examples, 1)).batch(16))
