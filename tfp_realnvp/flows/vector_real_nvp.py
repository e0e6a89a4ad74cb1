"""Real NVP on vectors (paper Fig. 1, tabular data)."""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp.flows import flow as flow_lib

tfd = tfp.distributions

__all__ = ['VectorRealNVP']


class VectorRealNVP(flow_lib.Flow):
  """Real NVP on vectors (paper Fig. 1, tabular data).

  A standard normal over `(D,)` pushed through `num_couplings` couplings with
  alternating-half masks and dense ResNet networks, each followed (in the
  inference direction) by batch norm. There is no preprocessing: the event
  space is all of R^D.
  """

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    # Configuration only: no tensor parameters, and so a scalar batch shape.
    # Defined on each class with an __init__, as TFP expects.
    return dict()

  def __init__(self,
               event_size,
               num_couplings=8,
               num_res_blocks=2,
               num_hidden=64,
               batch_norm=True,
               bn_momentum=0.99,
               context_shape=None,
               dtype=tf.float32,
               compute_dtype=None,
               validate_args=False,
               name='vector_real_nvp'):
    """Builds the model.

    Args:
      event_size: `D`, an even number >= 2.
      num_couplings: number of coupling layers.
      num_res_blocks: residual blocks per network.
      num_hidden: width of the networks.
      batch_norm: Python `bool`, batch-norm bijectors after the couplings.
      bn_momentum: momentum of every batch norm's moving averages (the
        bijectors' and the coupling networks' layers'), zero-debiased.
      context_shape: `None`, or `(K,)`: every coupling network is given a
        float context vector (`context=` to the methods).
      dtype: float dtype.
      compute_dtype: `None`, or `'bfloat16'`/`'float16'` for mixed precision
        in the coupling networks.
      validate_args: Python `bool`.
      name: name of the distribution.

    Raises:
      ValueError: for an odd or too small `event_size` or no couplings.
    """
    parameters = dict(locals())
    if event_size < 2 or event_size % 2:
      raise ValueError(
          f'`event_size` must be an even number >= 2, got {event_size}.')
    if num_couplings < 1:
      raise ValueError(f'`num_couplings` must be >= 1, got {num_couplings}.')
    if context_shape is not None:
      # The couplings check that it is (K,).
      context_shape = tuple(int(n) for n in context_shape)
    self._context_shape = context_shape
    dtype = tf.as_dtype(dtype)
    with tf.name_scope(name) as name:
      bijectors = []
      for i in range(num_couplings):
        bijectors.append(rnvp_bijectors.MaskedAffineCoupling(
            [event_size], mask_type='channel', parity=i % 2,
            num_res_blocks=num_res_blocks, num_filters=num_hidden,
            bn_momentum=bn_momentum, context_shape=context_shape,
            dtype=dtype, compute_dtype=compute_dtype,
            validate_args=validate_args))
        if batch_norm:
          bijectors.append(rnvp_bijectors.BatchNormalization(
              [event_size], momentum=bn_momentum, dtype=dtype,
              validate_args=validate_args))
      base = tfd.Sample(tfd.Normal(tf.zeros([], dtype), 1.), [event_size])
      super().__init__(distribution=base,
                       bijector=rnvp_bijectors.ConditionalChain(
                           bijectors, name='vector_flow'),
                       validate_args=validate_args, parameters=parameters,
                       name=name)

  @property
  def context_shape(self):
    return self._context_shape
