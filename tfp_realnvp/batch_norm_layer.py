"""`BatchNorm`: the coupling networks' batch normalization layer (paper §4.1).

The networks' hidden layers normalize over the last axis with the debiased,
cross-replica moving averages of `tfp_realnvp.batch_statistics`, which the
batch-norm bijector shares; `networks` re-exports it.
"""

import tensorflow as tf
import tf_keras

from tfp_realnvp import batch_statistics

__all__ = ['BatchNorm']


class BatchNorm(tf_keras.layers.Layer):
  """Batch normalization over the last axis for the coupling networks.

  The variables and results of `tf_keras.layers.BatchNormalization`
  (`gamma`, `beta`, `moving_mean`, `moving_variance`), with two differences:

  * On one replica, for 4-D float32/float16/bfloat16 inputs, training and
    evaluation each run TF's fused kernel: one op forward and one backward,
    where the composite form costs a dozen ops and batch-sized temporaries.
  * Under several replicas, training uses the global batch's statistics,
    and in both cases the moving variance tracks the biased batch variance
    (the fused kernel reports a Bessel-corrected one, undone here), so a
    model trains the same on one replica as on several.
  * The moving averages are zero-debiased, with the update count
    `num_updates` a checkpointed weight (see `tfp_realnvp.batch_statistics`):
    Keras' averages start at mean 0 / variance 1 and take hundreds of steps
    to forget them, so early in training the evaluation mode barely
    normalizes, and the error compounds through a flow's couplings.
  """

  _FUSED_DTYPES = (tf.float32, tf.float16, tf.bfloat16)

  def __init__(self, momentum=0.99, epsilon=1e-4, **kwargs):
    super().__init__(**kwargs)
    self.momentum = float(momentum)
    self.epsilon = float(epsilon)

  def build(self, input_shape):
    channels = int(tf.TensorShape(input_shape)[-1])
    # Float32 parameters under mixed precision, as Keras' own layer keeps.
    param_dtype = (tf.float32 if self.compute_dtype in ('float16', 'bfloat16')
                   else self.variable_dtype)

    def add(name, initializer, trainable, shape=(channels,)):
      moving = {} if trainable else dict(
          synchronization=tf.VariableSynchronization.ON_READ,
          aggregation=tf.VariableAggregation.MEAN)
      return self.add_weight(
          name=name, shape=shape, dtype=param_dtype,
          initializer=initializer, trainable=trainable,
          experimental_autocast=False, **moving)

    self.gamma = add('gamma', 'ones', True)
    self.beta = add('beta', 'zeros', True)
    self.moving_mean = add('moving_mean', 'zeros', False)
    self.moving_variance = add('moving_variance', 'ones', False)
    self.num_updates = add('num_updates', 'zeros', False, shape=())
    super().build(input_shape)

  def _fused(self, x):
    if x.shape.rank != 4 or x.dtype not in self._FUSED_DTYPES:
      return False
    context = tf.distribute.get_replica_context()
    return context is None or context.num_replicas_in_sync == 1

  def _train(self, x):
    """Normalizes with batch statistics and moves the averages."""
    if self._fused(x):
      y, mean, corrected_variance = tf.compat.v1.nn.fused_batch_norm(
          x, self.gamma, self.beta, epsilon=self.epsilon, is_training=True)
      with tf.name_scope('moving_statistics'):
        count = tf.cast(tf.size(x) // tf.shape(x)[-1], mean.dtype)
        variance = corrected_variance - corrected_variance / count
    else:
      axes = list(range(x.shape.rank - 1))
      x_float = tf.cast(x, self.moving_mean.dtype)
      mean, variance = batch_statistics.cross_replica_moments(x_float, axes)
      y = self._normalize(x, mean, variance)
    # Nothing here reads the updated averages: eagerly the assignments run at
    # once, and a tf.function runs every stateful op in program order, so no
    # control dependency (and none of a dozen such small ops per batch norm
    # in every step) is needed.
    batch_statistics.update_moving_statistics(
        self.moving_mean, self.moving_variance, self.num_updates, mean,
        variance, self.momentum)
    return y

  def _evaluate(self, x):
    """Normalizes with the moving averages."""
    if self._fused(x):
      return tf.compat.v1.nn.fused_batch_norm(
          x, self.gamma, self.beta, mean=self.moving_mean,
          variance=self.moving_variance, epsilon=self.epsilon,
          is_training=False)[0]
    return self._normalize(x, self.moving_mean, self.moving_variance)

  def _normalize(self, x, mean, variance):
    """The composite form, in the parameters' (float32 or wider) dtype."""
    return tf.cast(tf.nn.batch_normalization(
        tf.cast(x, self.moving_mean.dtype), mean, variance, self.beta,
        self.gamma, self.epsilon), x.dtype)

  def call(self, inputs, training=None):
    return batch_statistics.smart_cond(
        False if training is None else training,
        lambda: self._train(inputs), lambda: self._evaluate(inputs))

  def get_config(self):
    return dict(super().get_config(), momentum=self.momentum,
                epsilon=self.epsilon)
