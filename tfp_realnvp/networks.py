"""Shift and log-scale networks for Real NVP coupling layers (paper §3.7, §4.1).

Both networks are tf_keras layers mapping the conditioning half of a coupling
input to `(shift, log_scale)` for the transformed half, with
`log_scale = scale * tanh(h)` (a learned per-channel `scale`) and an affine
`shift`. Their last layer starts at zero, so a new coupling is the identity.
Every weight matrix is weight-normalized (`w = g * v / ||v||`); the `g`
variables are named `weight_scale` so the paper's L2 penalty on them
(5e-5, §4.1) can find them. Only the last layer has a bias: every hidden
layer's output reaches it through a batch norm, which cancels a per-channel
constant, so a bias there would only drift under Adam.
"""

import tensorflow as tf
import tf_keras

from tfp_realnvp import weight_norm
from tfp_realnvp.batch_norm_layer import BatchNorm

__all__ = [
    'BatchNorm',
    'DenseResNet',
    'FLOAT32_PARTS',
    'FLOAT32_PART_NAMES',
    'ResNet',
    'WeightNormConv2D',
    'WeightNormDense',
    'pool_to',
    'weight_scale_variables',
]


# What a mixed-precision network (a bfloat16 or float16 compute dtype with
# float32 variables) may keep in float32, measured in BENCHMARKS.md ("Mixed
# precision"): 'input', the first layer, which sees the coupling's input (in
# the first couplings logit-space pixels, which bfloat16 rounds by up to
# about a sixth of an intensity level); 'weight_norm', the kernels'
# normalization `g * v / ||v||` (cast once per step); 'residual', the running
# sum of the residual blocks (each block's input and output are cast);
# 'head', the output batch norm, the `(shift, log_scale)` convolution and
# `scale * tanh`. The hidden convolutions, their batch norms and ReLUs
# compute in the low precision. Read when a network is built;
# bench/precision_ablation.py varies it.
FLOAT32_PARTS = frozenset({'head', 'residual', 'weight_norm'})
# Every part FLOAT32_PARTS may name: a network refuses any other, which would
# otherwise leave the part meant in bfloat16 without a word.
FLOAT32_PART_NAMES = ('head', 'input', 'residual', 'weight_norm')


def weight_scale_variables(module):
  """Returns the weight-norm scales `g` of every network inside `module`."""
  return [v for v in module.trainable_variables if 'weight_scale' in v.name]


class _WeightNorm(tf_keras.layers.Layer):
  """Shared weight normalization: `kernel = v * g / ||v||` per output unit."""

  _kernel_rank = None

  def __init__(self, units, zero_init=False, use_bias=True, **kwargs):
    super().__init__(**kwargs)
    self.units = int(units)
    self.zero_init = bool(zero_init)
    self.use_bias = bool(use_bias)

  def _build_weight_norm(self, kernel_shape):
    autocast = 'weight_norm' not in FLOAT32_PARTS
    self.direction = self.add_weight(
        name='direction', shape=kernel_shape,
        initializer=tf_keras.initializers.HeNormal(), trainable=True,
        experimental_autocast=autocast)
    # He initialization gives ||v||^2 = 2 in expectation, so g = sqrt(2)
    # keeps its scale; a layer whose output must start at zero gets g = 0.
    scale_init = tf_keras.initializers.Constant(0. if self.zero_init
                                                else 2. ** 0.5)
    self.weight_scale = self.add_weight(
        name='weight_scale', shape=[self.units], initializer=scale_init,
        trainable=True, experimental_autocast=autocast)
    self.bias = None
    if self.use_bias:
      self.bias = self.add_weight(
          name='bias', shape=[self.units], initializer='zeros',
          trainable=True)

  def _kernel(self, training=None):
    # Tensors, not variables, into the custom gradient: read (and autocast)
    # here, so their gradients reach the variables through the reads.
    return tf.cast(weight_norm.weight_normalized(
        tf.convert_to_tensor(self.direction),
        tf.convert_to_tensor(self.weight_scale), training=training),
                   self.compute_dtype)

  def get_config(self):
    return dict(super().get_config(), units=self.units,
                zero_init=self.zero_init, use_bias=self.use_bias)


class WeightNormConv2D(_WeightNorm):
  """A 'same'-padded, stride-1 2-D convolution with weight normalization."""

  def __init__(self, filters, kernel_size=3, zero_init=False, use_bias=True,
               **kwargs):
    super().__init__(filters, zero_init=zero_init, use_bias=use_bias,
                     **kwargs)
    self.kernel_size = int(kernel_size)

  def build(self, input_shape):
    self._build_weight_norm(
        [self.kernel_size, self.kernel_size, int(input_shape[-1]), self.units])
    super().build(input_shape)

  def call(self, inputs, training=None):
    outputs = tf.nn.conv2d(inputs, self._kernel(training), strides=1,
                           padding='SAME')
    if self.bias is None:
      return outputs
    return tf.nn.bias_add(outputs, self.bias)

  def get_config(self):
    return dict(super().get_config(), kernel_size=self.kernel_size)


class WeightNormDense(_WeightNorm):
  """A dense layer with weight normalization."""

  def build(self, input_shape):
    self._build_weight_norm([int(input_shape[-1]), self.units])
    super().build(input_shape)

  def call(self, inputs, training=None):
    outputs = tf.matmul(inputs, self._kernel(training))
    return outputs if self.bias is None else outputs + self.bias


def pool_to(images, size):
  """Average-pools `(N, H, W, C)` images to `size = (h, w)`, divisors of H, W.

  A reshape and a mean, so the factor may be known only at run time (fully
  convolutional couplings) and the gradient is exact.
  """
  shape = tf.shape(images)
  height, width = shape[1], shape[2]
  with tf.control_dependencies([tf.debugging.assert_equal(
      tf.stack([height % size[0], width % size[1]]), 0,
      message='An image context\'s height and width must be multiples of '
              'the coupling input\'s.')]):
    blocks = tf.reshape(images, tf.stack(
        [shape[0], size[0], height // size[0], size[1], width // size[1],
         shape[3]]))
  pooled = tf.reduce_mean(blocks, axis=[2, 4])
  pooled.set_shape([None, None, None, images.shape[-1]])
  return pooled


class _ShiftAndLogScaleNet(tf_keras.layers.Layer):
  """A pre-activation ResNet ending in `(shift, scale * tanh(h))`."""

  def __init__(self, output_channels, num_res_blocks, num_filters,
               num_classes=None, bn_momentum=0.99, context_shape=None,
               **kwargs):
    super().__init__(**kwargs)
    if not 0. <= bn_momentum < 1.:
      raise ValueError(
          f'`bn_momentum` must lie in [0, 1), got {bn_momentum!r}.')
    self.bn_momentum = float(bn_momentum)
    self.output_channels = int(output_channels)
    self.num_res_blocks = int(num_res_blocks)
    self.num_filters = int(num_filters)
    self.num_classes = None if num_classes is None else int(num_classes)
    if self.num_classes is not None and self.num_classes < 1:
      raise ValueError(f'`num_classes` must be positive, got {num_classes}.')
    if self.output_channels < 1:
      raise ValueError(
          f'`output_channels` must be positive, got {output_channels}.')
    if self.num_res_blocks < 0:
      raise ValueError(
          f'`num_res_blocks` must be >= 0, got {num_res_blocks}.')
    if self.num_filters < 1:
      raise ValueError(f'`num_filters` must be positive, got {num_filters}.')
    self.context_shape = (None if context_shape is None
                          else [int(n) for n in context_shape])
    # The policy, not just the variable dtype, so mixed precision reaches
    # every sublayer.
    dtype = self.dtype_policy

    def batch_norm(name):
      return BatchNorm(momentum=self.bn_momentum, dtype=dtype, name=name)

    policy = self.dtype_policy
    mixed = policy.compute_dtype != policy.variable_dtype
    unknown_parts = set(FLOAT32_PARTS) - set(FLOAT32_PART_NAMES)
    if unknown_parts:
      raise ValueError(
          f'`networks.FLOAT32_PARTS` names unknown parts '
          f'{sorted(unknown_parts)}; the parts are {FLOAT32_PART_NAMES}.')
    self._float32_parts = FLOAT32_PARTS if mixed else frozenset()
    self.input_layer = self._linear(
        self.num_filters, 'input',
        dtype=(policy.variable_dtype if 'input' in self._float32_parts
               else dtype))
    # Paper App. F: the class enters the s and t networks as a learned
    # embedding, here added to the features after the first layer.
    self.label_embedding = None
    if self.num_classes is not None:
      self.label_embedding = tf_keras.layers.Embedding(
          self.num_classes, self.num_filters, dtype=dtype,
          name='label_embedding')
    # A float context enters the same way: projected (a vector) or, for an
    # image, average-pooled to the features' size and convolved, then added.
    self.context_layer = None
    if self.context_shape is not None:
      self.context_layer = (
          self._linear(self.num_filters, 'context')
          if len(self.context_shape) == 3 else
          WeightNormDense(self.num_filters, use_bias=False, dtype=dtype,
                          name='context'))
    self.blocks = []
    for i in range(self.num_res_blocks):
      self.blocks.append((
          batch_norm(f'block{i}_bn1'),
          self._linear(self.num_filters, f'block{i}_layer1'),
          batch_norm(f'block{i}_bn2'),
          self._linear(self.num_filters, f'block{i}_layer2'),
      ))
    head_dtype = (policy.variable_dtype if 'head' in self._float32_parts
                  else dtype)
    self.output_bn = BatchNorm(momentum=self.bn_momentum, dtype=head_dtype,
                               name='output_bn')
    self.output_layer = self._linear(
        2 * self.output_channels, 'output', zero_init=True, use_bias=True,
        dtype=head_dtype)

  def _linear(self, units, name, zero_init=False, use_bias=False,
              dtype=None):
    """A weight-normalized layer (hidden ones, before a batch norm, unbiased).

    `dtype`: its dtype policy, by default the network's.
    """
    raise NotImplementedError

  def build(self, input_shape):
    hidden_shape = tf.TensorShape(input_shape)[:-1].concatenate(
        [self.num_filters])
    self.input_layer.build(input_shape)
    if self.label_embedding is not None:
      self.label_embedding.build([None])
    if self.context_layer is not None:
      self.context_layer.build([None] + self.context_shape)
    for bn1, layer1, bn2, layer2 in self.blocks:
      for layer in (bn1, layer1, bn2, layer2):
        layer.build(hidden_shape)
    self.output_bn.build(hidden_shape)
    self.output_layer.build(hidden_shape)
    self.log_scale_factor = self.add_weight(
        name='log_scale_factor', shape=[self.output_channels],
        initializer='ones', trainable=True,
        experimental_autocast='head' not in self._float32_parts)
    super().build(input_shape)

  def _broadcast_over_space(self, features, like):
    """(N, F) -> (N, 1, ..., 1, F), to add to `like`'s every position."""
    spatial_ones = tf.ones([len(like.shape) - 2], tf.int32)
    return tf.reshape(features, tf.concat(
        [tf.shape(features)[:1], spatial_ones, [self.num_filters]], 0))

  def call(self, inputs, labels=None, context=None, training=None):
    # The coupling that owns this network checked that the labels or the
    # context are given exactly when it was built for them.
    h = self.input_layer(inputs, training=training)
    if self.label_embedding is not None:
      h = h + tf.cast(self._broadcast_over_space(
          self.label_embedding(labels), h), h.dtype)
    if self.context_layer is not None:
      if len(self.context_shape) == 3:
        h = h + tf.cast(self.context_layer(
            pool_to(context, tf.shape(h)[1:3]), training=training), h.dtype)
      else:
        h = h + tf.cast(self._broadcast_over_space(
            self.context_layer(context, training=training), h), h.dtype)
    # The residual sum's precision, whatever the input layer's.
    h = tf.cast(h, self.dtype_policy.variable_dtype
                if 'residual' in self._float32_parts else self.compute_dtype)
    for bn1, layer1, bn2, layer2 in self.blocks:
      r = layer1(tf.nn.relu(bn1(h, training=training)), training=training)
      r = layer2(tf.nn.relu(bn2(r, training=training)), training=training)
      h = h + tf.cast(r, h.dtype)
    h = self.output_layer(tf.nn.relu(self.output_bn(h, training=training)),
                          training=training)
    shift, raw_log_scale = tf.split(h, 2, axis=-1)
    return shift, self.log_scale_factor * tf.tanh(raw_log_scale)

  def get_config(self):
    return dict(super().get_config(), output_channels=self.output_channels,
                num_res_blocks=self.num_res_blocks,
                num_filters=self.num_filters, num_classes=self.num_classes,
                bn_momentum=self.bn_momentum,
                context_shape=self.context_shape)


class ResNet(_ShiftAndLogScaleNet):
  """Convolutional shift/log-scale network for image couplings.

  Input `(N, H, W, C_in)`, outputs two `(N, H, W, output_channels)` tensors.
  3x3 weight-normalized convolutions, `num_res_blocks` pre-activation residual
  blocks (batch norm, ReLU, conv, twice, plus the skip), `num_filters` wide.
  With `num_classes`, `call(inputs, labels)` takes integer labels `(N,)` whose
  learned embedding is added to every position's features after the first
  convolution (a class-conditional coupling, paper App. F). With
  `context_shape`, `call(inputs, context=...)` takes a float context per
  example: a vector `(N, K)`, projected and added likewise, or an image
  `(N, H_c, W_c, C_c)` whose height and width are multiples of the input's,
  average-pooled to the input's size, convolved and added.
  """

  def _linear(self, units, name, zero_init=False, use_bias=False,
              dtype=None):
    return WeightNormConv2D(units, 3, zero_init=zero_init, use_bias=use_bias,
                            dtype=dtype or self.dtype_policy, name=name)


class DenseResNet(_ShiftAndLogScaleNet):
  """Fully connected shift/log-scale network for vector couplings.

  Input `(N, D_in)`, outputs two `(N, output_channels)` tensors; the same
  residual structure as `ResNet` with weight-normalized dense layers, and the
  same labels or vector context `(N, K)`.
  """

  def _linear(self, units, name, zero_init=False, use_bias=False,
              dtype=None):
    return WeightNormDense(units, zero_init=zero_init, use_bias=use_bias,
                           dtype=dtype or self.dtype_policy, name=name)
