"""Tests of the shift/log-scale networks."""

import sys

import numpy as np
import pytest
import tensorflow as tf

from tfp_realnvp import networks


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


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
