"""Test-wide TensorFlow set-up."""

import tensorflow as tf

# Two logical CPU devices, so tests can run tf.distribute.MirroredStrategy
# replicas without a GPU. Must happen before TensorFlow initializes devices.
_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
