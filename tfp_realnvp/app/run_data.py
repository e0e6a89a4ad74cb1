"""The data of a training run, as its configuration describes them."""

import tensorflow as tf

from tfp_realnvp import data
from tfp_realnvp.app import config as config_lib

__all__ = ['evaluation_dataset', 'shard_by_example', 'training_dataset',
           'validation_dataset']


def shard_by_example(dataset):
  """Multi-worker input: each worker takes its share of every global batch.

  File-based sharding would need at least as many files as workers; sharding
  examples works for any dataset, injected ones included.
  """
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  return dataset.with_options(options)


def training_dataset(config):
  """The configured training data (float pixels, or uint8 for a learned q)."""
  # A recipe of None is the paper's for the dataset (data.paper_defaults).
  return data.training_dataset(config.dataset, config.data_dir,
                               config.batch_size, config.recipe,
                               config.download, config.seed, config.flip,
                               with_labels=config.conditional,
                               split=config_lib.splits(config)[0],
                               dequantized=not config_lib.learns_its_noise(
                                   config))


def evaluation_dataset(config, split, seed, dequantized=None):
  """The configured data of `split` in a fixed order.

  Images come as uint8 pixels by default: the model dequantizes them with
  noise that depends on its evaluation seed and each image's position
  only, so a figure is the same at any batch size.
  """
  if dequantized is None:
    dequantized = data.is_vector_dataset(config.dataset)
  return data.evaluation_dataset(config.dataset, split, config.data_dir,
                                 config.batch_size, config.recipe,
                                 config.download, seed,
                                 with_labels=config.conditional,
                                 dequantized=dequantized)


def validation_dataset(config):
  """The configured validation split, its noise from `config.seed + 1`."""
  return evaluation_dataset(config, config_lib.splits(config)[1],
                            config.seed + 1)
