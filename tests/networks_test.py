"""Tests of the shift/log-scale networks."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from tests import bijector_test_util
from tfp_realnvp import networks
from tfp_realnvp import weight_norm


@pytest.mark.parametrize('network_cls,input_shape', [
    (networks.ResNet, [3, 4, 4, 2]), (networks.DenseResNet, [3, 5])])
def test_outputs_start_at_zero_and_have_the_requested_channels(
    network_cls, input_shape):
  network = network_cls(output_channels=6, num_res_blocks=2, num_filters=8)
  shift, log_scale = network(tf.random.normal(input_shape))
  assert shift.shape == input_shape[:-1] + [6]
  assert log_scale.shape == input_shape[:-1] + [6]
  np.testing.assert_array_equal(shift, 0.)
  np.testing.assert_array_equal(log_scale, 0.)


def test_log_scale_is_bounded_by_the_learned_scale():
  network = networks.DenseResNet(output_channels=2, num_res_blocks=1,
                                 num_filters=4)
  network.build([None, 3])
  for variable in network.trainable_variables:
    variable.assign(10. * tf.ones_like(variable))
  network.log_scale_factor.assign([0.5, 2.])
  _, log_scale = network(100. * tf.random.normal([16, 3]))
  assert np.all(np.abs(log_scale[:, 0]) <= 0.5)
  assert np.all(np.abs(log_scale[:, 1]) <= 2.)


@pytest.mark.parametrize('layer,input_shape', [
    (networks.WeightNormConv2D(5, 3), [2, 4, 4, 3]),
    (networks.WeightNormDense(5), [2, 3])])
def test_weight_norm_kernel_has_norm_g(layer, input_shape):
  layer(tf.zeros(input_shape))
  layer.weight_scale.assign([0.5, 1., 2., 3., 4.])
  kernel = tf.reshape(layer._kernel(), [-1, 5])
  np.testing.assert_allclose(tf.norm(kernel, axis=0), [0.5, 1., 2., 3., 4.],
                             rtol=1e-6)


@pytest.mark.parametrize('shape', [[3, 3, 2, 4], [5, 4]])
def test_weight_normalized_matches_autodiff_of_l2_normalize(shape):
  rng = np.random.default_rng(0)
  direction = rng.normal(size=shape)
  direction[..., 1] *= 1e-8  # A unit whose norm the floor replaces.
  scale = rng.normal(size=shape[-1:])
  upstream = rng.normal(size=shape)
  axes = list(range(len(shape) - 1))

  def kernel_and_gradients(kernel_fn):
    # Fresh tensors for each function: nothing is answered from a cache.
    v, g = tf.constant(direction), tf.constant(scale)
    with tf.GradientTape() as tape:
      tape.watch([v, g])
      kernel = kernel_fn(v, g)
      loss = tf.reduce_sum(kernel * upstream)
    return [kernel] + tape.gradient(loss, [v, g])

  ours = kernel_and_gradients(weight_norm.weight_normalized)
  autodiff = kernel_and_gradients(
      lambda v, g: tf.math.l2_normalize(v, axis=axes) * g)
  for mine, reference in zip(ours, autodiff):
    assert mine.dtype == tf.float64
    np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-12)


def _custom_gradient_ops(graph):
  """Ops of `graph` whose gradient is a function of their own."""
  ops = []
  for op in graph.get_operations():
    try:
      op.get_attr('_gradient_op_type')
    except ValueError:
      continue
    ops.append(op)
  return ops


@pytest.mark.parametrize('network_cls,input_shape', [
    (networks.ResNet, [3, 4, 4, 2]), (networks.DenseResNet, [3, 5])])
def test_only_training_graphs_hold_the_written_out_gradient(
    network_cls, input_shape):
  # Inference graphs (evaluation, export) compute the kernels with plain
  # ops: a SavedModel would otherwise trace and store every layer's custom
  # gradient for each signature.
  network = network_cls(output_channels=2, num_res_blocks=1, num_filters=4,
                        context_shape=[3])
  spec = tf.TensorSpec(input_shape)
  context = tf.TensorSpec([input_shape[0], 3])
  def graph(training):
    return tf.function(
        lambda x, c: network(x, context=c, training=training)
    ).get_concrete_function(spec, context).graph
  # Input, context, two block layers and the output layer.
  assert len(_custom_gradient_ops(graph(True))) == 5
  assert not _custom_gradient_ops(graph(False))
  assert not _custom_gradient_ops(graph(None))
  x = tf.random.normal(input_shape, seed=1)
  c = tf.random.normal([input_shape[0], 3], seed=2)
  for variable in network.trainable_variables:
    variable.assign(tf.random.normal(variable.shape, seed=3))
  # The same map in both: the training pass's batch norms aside, the
  # kernels are equal.
  for layer in [network.input_layer, network.output_layer]:
    np.testing.assert_allclose(layer._kernel(True), layer._kernel(False),
                               rtol=1e-6, atol=1e-7)


def test_weight_scale_variables_finds_every_g():
  network = networks.ResNet(output_channels=2, num_res_blocks=2,
                            num_filters=4)
  network.build([None, 4, 4, 2])
  # Input layer, two layers per block, output layer.
  assert len(networks.weight_scale_variables(network)) == 1 + 2 * 2 + 1


@pytest.mark.parametrize('kwargs', [
    dict(output_channels=0, num_res_blocks=1, num_filters=4),
    dict(output_channels=2, num_res_blocks=-1, num_filters=4),
    dict(output_channels=2, num_res_blocks=1, num_filters=0)])
def test_bad_sizes_raise(kwargs):
  with pytest.raises(ValueError, match='must be'):
    networks.ResNet(**kwargs)


def _batch_norm_reference(batches, momentum, epsilon):
  """NumPy batch norm in training mode: the last output, moving averages."""
  axes = tuple(range(batches[0].ndim - 1))
  means = [x.mean(axes) for x in batches]
  variances = [x.var(axes) for x in batches]  # Biased, like the paper's.
  output = (batches[-1] - means[-1]) / np.sqrt(variances[-1] + epsilon)
  return (output, bijector_test_util.debiased_average(means, momentum),
          bijector_test_util.debiased_average(variances, momentum))


@pytest.mark.parametrize('dtype,shape,fused', [
    ('float32', [4, 3, 5, 2], True), ('float64', [4, 3, 5, 2], False),
    ('float32', [6, 2], False)])
def test_batch_norm_matches_the_formula_and_uses_the_fused_kernel(
    dtype, shape, fused):
  rng = np.random.default_rng(0)
  batches = [(3. + 2. * rng.standard_normal(shape)).astype(dtype)
             for _ in range(3)]
  layer = networks.BatchNorm(momentum=0.5, epsilon=1e-4, dtype=dtype)
  train = tf.function(lambda x: layer(x, training=True))
  for x in batches:
    y = train(x)
  expected, moving_mean, moving_variance = _batch_norm_reference(
      [b.astype(np.float64) for b in batches], 0.5, 1e-4)
  rtol = 1e-4 if dtype == 'float32' else 1e-10
  np.testing.assert_allclose(y, expected, rtol=rtol, atol=rtol)
  assert layer.num_updates.numpy() == 3
  # Debiased, and the biased variance on both paths (the fused kernel's is
  # corrected).
  np.testing.assert_allclose(layer.moving_mean, moving_mean, rtol=rtol)
  np.testing.assert_allclose(layer.moving_variance, moving_variance,
                             rtol=rtol)
  evaluated = layer(x, training=False)
  np.testing.assert_allclose(
      evaluated, (x - moving_mean) / np.sqrt(moving_variance + 1e-4),
      rtol=rtol, atol=rtol)
  op_types = {op.type for op in train.get_concrete_function(
      tf.TensorSpec(shape, dtype)).graph.get_operations()}
  assert ('FusedBatchNormV3' in op_types) == fused


def test_first_update_takes_the_batch_statistics():
  x = 3. + 2. * tf.random.stateless_normal([8, 2, 2, 3], seed=[3, 4])
  layer = networks.BatchNorm()  # Momentum 0.99.
  layer(x, training=True)
  mean, variance = tf.nn.moments(x, [0, 1, 2])
  np.testing.assert_allclose(layer.moving_mean, mean, rtol=1e-5)
  np.testing.assert_allclose(layer.moving_variance, variance, rtol=1e-4)
  # Evaluation mode then normalizes this batch as training mode did.
  np.testing.assert_allclose(layer(x, training=False),
                             layer(x, training=True), atol=1e-4)


def test_only_the_output_layer_has_a_bias_and_momentum_reaches_every_bn():
  for network in (networks.ResNet(2, num_res_blocks=2, num_filters=4,
                                  bn_momentum=0.9),
                  networks.DenseResNet(2, num_res_blocks=2, num_filters=4,
                                       bn_momentum=0.9)):
    shape = [None, 4, 4, 1] if isinstance(network, networks.ResNet) else [
        None, 3]
    network.build(shape)
    biases = [v for v in network.trainable_variables if 'bias' in v.name]
    assert len(biases) == 1 and biases[0] is network.output_layer.bias
    batch_norms = [m for m in network.submodules
                   if isinstance(m, networks.BatchNorm)]
    assert len(batch_norms) == 5
    assert all(bn.momentum == 0.9 for bn in batch_norms)


def test_batch_norm_gradient_matches_keras_layer():
  x = tf.random.stateless_normal([4, 3, 3, 2], seed=[1, 2]) * 2. + 1.
  ours = networks.BatchNorm(momentum=0.5, epsilon=1e-4)
  keras = tf_keras.layers.BatchNormalization(momentum=0.5, epsilon=1e-4,
                                             fused=False)
  gradients = []
  for layer in (ours, keras):
    with tf.GradientTape() as tape:
      tape.watch(x)
      loss = tf.reduce_sum(layer(x, training=True) ** 3)
    gradients.append(tape.gradient(loss, [x] + layer.trainable_variables))
  for ours_gradient, keras_gradient in zip(*gradients):
    np.testing.assert_allclose(ours_gradient, keras_gradient, rtol=1e-4,
                               atol=1e-4)


def test_batch_norm_under_two_replicas_uses_the_global_batch(
    two_cpu_strategy):
  x = np.random.default_rng(1).normal(size=[8, 2, 2, 3]).astype(np.float32)
  x[4:] += 5.  # The halves' statistics differ from the whole batch's.
  with two_cpu_strategy.scope():
    layer = networks.BatchNorm(momentum=0.)
    layer.build(x.shape)
  dataset = two_cpu_strategy.experimental_distribute_dataset(
      tf.data.Dataset.from_tensor_slices(x).batch(8))
  per_replica = two_cpu_strategy.run(lambda x: layer(x, training=True),
                                     args=(next(iter(dataset)),))
  y = np.concatenate(two_cpu_strategy.experimental_local_results(
      per_replica))
  expected, moving_mean, moving_variance = _batch_norm_reference(
      [x.astype(np.float64)], 0., 1e-4)
  np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(layer.moving_mean, moving_mean, rtol=1e-4,
                             atol=1e-5)
  np.testing.assert_allclose(layer.moving_variance, moving_variance,
                             rtol=1e-4)


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
