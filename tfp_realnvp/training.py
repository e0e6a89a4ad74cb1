"""Keras `fit` training of a flow by maximum likelihood, reported in bits/dim."""

import math

import numpy as np
import tensorflow as tf
import tf_keras

from tfp_realnvp import networks

__all__ = ['FlowModel']


class FlowModel(tf_keras.Model):
  """Trains a `tfd.TransformedDistribution` with `compile` and `fit`.

  The loss is the mean negative log-likelihood plus the paper's L2 penalty
  (`l2_scale`, 5e-5 in §4.1) on the weight-normalization scales of the
  coupling networks; gradients are clipped by global norm (`clip_norm`).
  `fit` runs batch norm in training mode, `evaluate` and `predict` in
  evaluation mode; both report `bits_per_dim = nll / (D ln 2)`, which for
  `tfp_realnvp.RealNVP` (a density over dequantized pixels in [0, 256)) is the
  paper's figure. `predict` returns per-example log-probs.

  Datasets may yield images, or `(images, labels)` pairs whose labels are
  ignored.

  #### Examples

  ```python
  import tensorflow as tf
  import tf_keras
  import tfp_realnvp

  model = tfp_realnvp.FlowModel(tfp_realnvp.RealNVP.from_preset('digits'))
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  pixels = tf.random.uniform([64, 8, 8, 1], 0., 256.)
  model.fit(tf.data.Dataset.from_tensor_slices(pixels).batch(16), epochs=1)
  ```
  """

  def __init__(self, distribution, l2_scale=5e-5, clip_norm=100., **kwargs):
    """Wraps `distribution`.

    Args:
      distribution: a `tfd.Distribution` with a static event shape, e.g.
        `tfp_realnvp.RealNVP`; its variables become the model's.
      l2_scale: Python float >= 0, the L2 penalty on weight-norm scales.
      clip_norm: Python float > 0 or `None`, the global gradient norm limit.
      **kwargs: passed to `tf_keras.Model` (e.g. `name`, `dtype`).

    Raises:
      ValueError: for an unknown event size or a negative `l2_scale`.
    """
    kwargs.setdefault('dtype', distribution.dtype)
    super().__init__(**kwargs)
    if not distribution.event_shape.is_fully_defined():
      raise ValueError('The distribution needs a static event shape, got '
                       f'{distribution.event_shape}.')
    if l2_scale < 0:
      raise ValueError(f'`l2_scale` must be >= 0, got {l2_scale}.')
    if clip_norm is not None and clip_norm <= 0:
      raise ValueError(f'`clip_norm` must be positive or None, got {clip_norm}.')
    self.distribution = distribution
    self.l2_scale = float(l2_scale)
    self.clip_norm = clip_norm
    self._nats_to_bits_per_dim = 1. / (
        int(np.prod(distribution.event_shape)) * math.log(2.))
    self.loss_tracker = tf_keras.metrics.Mean(name='loss')
    self.bits_per_dim_tracker = tf_keras.metrics.Mean(name='bits_per_dim')

  @property
  def metrics(self):
    return [self.loss_tracker, self.bits_per_dim_tracker]

  def call(self, inputs, training=None):
    del training  # Batch norm reads it from the Keras call context.
    return self.distribution.log_prob(inputs)

  def _images(self, data):
    if isinstance(data, (tuple, list)):
      return data[0]
    return data

  def regularization_loss(self):
    """The paper's L2 penalty on the networks' weight-norm scales."""
    scales = networks.weight_scale_variables(self.distribution)
    if not scales or self.l2_scale == 0.:
      return tf.zeros([], self.dtype)
    return self.l2_scale * tf.add_n([tf.reduce_sum(tf.square(s))
                                     for s in scales])

  def train_step(self, data):
    images = self._images(data)
    with tf.GradientTape() as tape:
      nll = -tf.reduce_mean(self(images, training=True))
      loss = nll + self.regularization_loss()
    variables = self.trainable_variables
    gradients = tape.gradient(loss, variables)
    if self.clip_norm is not None:
      gradients, _ = tf.clip_by_global_norm(gradients, self.clip_norm)
    self.optimizer.apply_gradients(zip(gradients, variables))
    return self._update_metrics(loss, nll)

  def test_step(self, data):
    images = self._images(data)
    nll = -tf.reduce_mean(self(images, training=False))
    return self._update_metrics(nll + self.regularization_loss(), nll)

  def predict_step(self, data):
    return self(self._images(data), training=False)

  def _update_metrics(self, loss, nll):
    self.loss_tracker.update_state(loss)
    self.bits_per_dim_tracker.update_state(nll * self._nats_to_bits_per_dim)
    return {m.name: m.result() for m in self.metrics}
