"""Seeded noise that belongs to an example, not to the batch it came in.

Every seeded draw of this package's dequantizers comes from here, so a
figure computed with the same seed is the same however the examples are
batched, split over replicas or threaded: example `first_example + i` of a
seeded draw gets Philox's outputs at counter offset `(first_example + i) * G`
(G counter blocks per example), which no other example reads.
"""

import tensorflow as tf

__all__ = ['draw_seed', 'replica_seed', 'seed_pair', 'uniform']

# Philox on every device, so that a seed means the same noise on CPU and GPU
# (`tf.random`'s default algorithm may differ by device).
_PHILOX = tf.random.Algorithm.PHILOX.value


def seed_pair(seed):
  """The shape-[2] seed of the noise a Python int `seed` names.

  Every evaluation that takes an int seed (`FlowModel.evaluate`,
  `evaluate_discrete_bits_per_dim`, `score`, `bin/evaluate.py`) draws from
  this pair, so the same seed gives every one of them the same noise.
  """
  return tf.constant([int(seed), 0], tf.int64)


def draw_seed(seed, draw):
  """The seed of draw `draw` of a `K`-draw estimate (draw 0 included)."""
  return tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64),
                                                  tf.cast(draw, tf.int64))


def replica_seed(seed, count):
  """`seed` folded with `count` and the replica: one stream a replica."""
  seed = tf.random.experimental.stateless_fold_in(
      tf.cast(seed, tf.int64), tf.cast(count, tf.int64))
  replica = tf.distribute.get_replica_context().replica_id_in_sync_group
  return tf.random.experimental.stateless_fold_in(seed,
                                                  tf.cast(replica, tf.int64))


def uniform(shape, seed=None, dtype=tf.float32, minval=0., first_example=0):
  """`U[minval, 1)` noise of `shape` (`[batch] + event_shape`).

  Args:
    shape: a shape whose first dimension is the batch.
    seed: `None` (stateful noise) or a shape-[2] integer seed.
    dtype: a float dtype.
    minval: the lower end (the logistic noise of a learned `q` excludes 0).
    first_example: the position of the batch's first example in the data;
      with a seed, example `first_example + i`'s noise depends on the seed
      and that position only.

  Returns:
    A `dtype` tensor of `shape`.
  """
  if seed is None:
    return tf.random.uniform(shape, minval, 1., dtype)
  shape = tf.convert_to_tensor(shape, tf.int32)
  batch, size = shape[0], tf.reduce_prod(shape[1:])
  # Each Philox block gives four values (two in float64): an example takes
  # whole blocks. Drawn in `dtype` itself, whose uniform stays below 1.
  per_block = 2 if dtype == tf.float64 else 4
  blocks = (size + per_block - 1) // per_block
  key, counter = tf.raw_ops.StatelessRandomGetKeyCounter(
      seed=tf.cast(seed, tf.int64))
  counter = tf.bitcast(counter, tf.int64)
  offset = tf.cast(first_example, tf.int64) * tf.cast(blocks, tf.int64)
  counter = tf.bitcast(tf.stack([counter[0] + offset, counter[1]]),
                       tf.uint64)
  draws = tf.raw_ops.StatelessRandomUniformV2(
      shape=tf.stack([batch * blocks * per_block]), key=key, counter=counter,
      alg=_PHILOX, dtype=dtype)
  draws = tf.reshape(draws, tf.stack([batch, blocks * per_block]))[:, :size]
  if minval:
    draws = minval + (1. - minval) * draws
  return tf.reshape(draws, shape)
