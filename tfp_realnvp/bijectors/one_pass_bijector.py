"""Base class for bijectors that produce their output and log-det together."""

import functools

import tensorflow as tf
from tensorflow_probability.python.bijectors import bijector as bijector_lib
from tfp_realnvp import compat
from tfp_realnvp.bijectors import stateful

__all__ = ['OnePassBijector', 'check_event', 'check_float_input']


@functools.partial(compat.use_greedy_cache,
                   forward_name='_augmented_forward_with_attrs',
                   inverse_name='_augmented_inverse_with_attrs')
class OnePassBijector(stateful.StatefulBijectorMixin, bijector_lib.Bijector):
  """A bijector whose transform and log-det come from one evaluation.

  TFP asks a bijector for `inverse(y)` and `inverse_log_det_jacobian(y)` in
  separate calls. For a coupling layer both need the same shift and log-scale
  network output, and TFP's own `RealNVP`/`Glow` evaluate that network twice.
  Subclasses here write `_augmented_forward(x, **kwargs)` and
  `_augmented_inverse(y, **kwargs)` returning `(output, ildj)`; TFP's
  `BijectorCacheWithGreedyAttrs` (the cache FFJORD uses) stores the `ildj`
  with the `x <-> y` pair, so the log-det calls that follow are cache hits.

  Each instance is its own cache key, and subclasses that set
  `_uses_training = True` receive a resolved `training` keyword in every call
  (see `stateful.StatefulBijectorMixin`).
  """

  def _augmented_forward(self, x, **kwargs):
    raise NotImplementedError('`_augmented_forward` not implemented.')

  def _augmented_inverse(self, y, **kwargs):
    raise NotImplementedError('`_augmented_inverse` not implemented.')

  def _augmented_forward_with_attrs(self, x, **kwargs):
    y, ildj = self._augmented_forward(x, **kwargs)
    return y, {'ildj': ildj}

  def _augmented_inverse_with_attrs(self, y, **kwargs):
    x, ildj = self._augmented_inverse(y, **kwargs)
    return x, {'ildj': ildj}

  def _forward(self, x, **kwargs):
    return self._augmented_forward(x, **kwargs)[0]

  def _inverse(self, y, **kwargs):
    return self._augmented_inverse(y, **kwargs)[0]

  def _inverse_log_det_jacobian(self, y, **kwargs):
    # Reached only on a cache miss for `y`; the cache then holds both ways.
    self.inverse(y, **kwargs)
    return compat.cached_attributes(self, y, forward=False, **kwargs)['ildj']

  def _forward_log_det_jacobian(self, x, **kwargs):
    self.forward(x, **kwargs)
    return -compat.cached_attributes(self, x, forward=True, **kwargs)['ildj']


def check_float_input(bijector, x, event_ndims):
  """Raises clear errors for a non-float dtype or too low a rank."""
  if not x.dtype.is_floating:
    raise TypeError(
        f'{bijector.name}: expected a floating-point tensor, got dtype '
        f'{x.dtype.name}; cast the input, e.g. `tf.cast(x, tf.float32)`.')
  rank = x.shape.rank
  if rank is not None and rank < event_ndims:
    raise ValueError(
        f'{bijector.name}: expected a tensor of rank >= {event_ndims} '
        f'(batch dimensions, then the event), got shape {x.shape}.')


def check_event(bijector, x, event_shape, expected_dtype=None):
  """Checks `x` against a bijector built for `event_shape` and a dtype.

  Raises at once for what is known statically (a non-float dtype, a dtype
  other than the one the variables were built in, a low rank, an
  incompatible event shape); returns the run-time assertions on the channel
  count that `validate_args=True` asks for.
  """
  check_float_input(bijector, x, event_shape.rank)
  if expected_dtype is not None and x.dtype != expected_dtype:
    raise TypeError(
        f'{bijector.name}: built for {expected_dtype.name} but the input is '
        f'{x.dtype.name}; construct it with dtype=tf.{x.dtype.name}.')
  if not event_shape.is_compatible_with(x.shape[-event_shape.rank:]):
    raise ValueError(
        f'{bijector.name}: expected an event of shape {event_shape}, got a '
        f'tensor of shape {x.shape}.')
  if not bijector.validate_args:
    return []
  return [tf.debugging.assert_equal(
      tf.shape(x)[-1], event_shape[-1],
      message=f'{bijector.name}: wrong number of channels.')]

