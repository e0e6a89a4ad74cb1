"""Real NVP's multi-scale factoring out of latents (paper §3.6, eq. 13-16)."""

import contextlib

import tensorflow as tf

from tfp_realnvp.bijectors import conditional_chain
from tfp_realnvp.bijectors import one_pass_bijector
from tfp_realnvp.bijectors import squeeze as squeeze_lib
from tfp_realnvp.bijectors import stateful
from tfp_realnvp.bijectors import training_mode

__all__ = ['FactorOut', 'join_multiscale_latents', 'split_multiscale_latents']


class FactorOut(one_pass_bijector.OnePassBijector):
  """Passes the first half of the channels through, the second to `bijector`.

  ```none
  z = [z1, z2]                          (halves of the last axis)
  forward(z)  = [z1, bijector.forward(z2)]
  inverse(y)  = [y1, bijector.inverse(y2)]
  log|det J|  = bijector's log|det J| at z2
  ```

  In the inference direction (`inverse`) this is paper eq. 14-15: after a
  scale's couplings, half the units (`y1`) leave as that scale's final latent
  `z(i)` and only the other half goes on through the coarser scales
  (`bijector`). With a `Squeeze` before it (to its right in a `tfb.Chain`),
  one scale of the paper's architecture reads

  ```python
  tfb.Chain([checkerboard_couplings..., tfb.Invert(Squeeze()),
             channel_couplings..., FactorOut(next_scale), Squeeze()])
  ```

  Design: `FactorOut` keeps the event shape (the factored-out half is
  concatenated back, not dropped), so the composite maps an image to a latent
  of the image's own shape, the base distribution stays a plain standard
  normal over the image shape, and the bijector drops into any
  `tfd.TransformedDistribution` or `tfb.Chain`. TFP's alternatives
  (`tfb.Split` + `tfb.JointMap`) give a structured latent the base would have
  to match. `split_multiscale_latents` recovers the per-scale parts
  `z(1)..z(L)` from such a latent and `join_multiscale_latents` puts them back.

  Stateful bijectors inside `bijector` (batch norm) see the same training
  mode as this one (as `training=` if `bijector` takes it, else through
  `training_mode`); a `conditional_input=` keyword is passed on to it.

  #### Examples

  ```python
  import tensorflow as tf
  import tensorflow_probability as tfp
  from tfp_realnvp import bijectors as rnvp_bijectors
  tfb = tfp.bijectors

  coarse = rnvp_bijectors.MaskedAffineCoupling(
      [4, 4, 6], mask_type='channel', num_res_blocks=1, num_filters=8)
  one_scale = tfb.Chain([
      rnvp_bijectors.MaskedAffineCoupling([8, 8, 3], num_res_blocks=1,
                                          num_filters=8),
      tfb.Invert(rnvp_bijectors.Squeeze()),
      rnvp_bijectors.FactorOut(coarse),
      rnvp_bijectors.Squeeze()])
  z = one_scale.inverse(tf.random.normal([2, 8, 8, 3]))   # shape [2, 8, 8, 3]
  z1, z2 = rnvp_bijectors.split_multiscale_latents(z, num_scales=2)
  ```

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _International Conference on Learning
       Representations_, 2017. https://arxiv.org/abs/1605.08803
  """

  _uses_training = True

  def __init__(self, bijector, validate_args=False, name=None):
    """Builds the factor-out around `bijector`, the coarser scales.

    Args:
      bijector: a `tfb.Bijector` over the second half of the channels; it must
        keep the shape of its input.
      validate_args: Python `bool`; checks shapes at run time when `True`.
      name: name of the bijector.

    Raises:
      TypeError: if `bijector` is not a bijector with integer min event ndims.
    """
    parameters = dict(locals())
    min_event_ndims = getattr(bijector, 'forward_min_event_ndims', None)
    if min_event_ndims is None or tf.nest.is_nested(min_event_ndims):
      raise TypeError('`bijector` must be a tfb.Bijector over a single tensor, '
                      f'got {bijector!r}.')
    with tf.name_scope(name or 'factor_out') as name:
      self._bijector = bijector
      self._event_ndims = max(1, int(min_event_ndims))
      super().__init__(
          forward_min_event_ndims=self._event_ndims,
          is_constant_jacobian=bijector.is_constant_jacobian,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    return dict()

  @property
  def bijector(self):
    return self._bijector

  @property
  def takes_conditional_input(self):
    """Whether `bijector` takes `conditional_input=` (passed on to it)."""
    return conditional_chain.takes_conditional_input(self._bijector)

  def _inner_kwargs(self, training, conditional_input):
    kwargs = {}
    if conditional_input is not None:
      kwargs['conditional_input'] = conditional_input
    if stateful.takes_training(self._bijector):
      kwargs['training'] = training
    return kwargs

  def _inner_mode(self, training):
    """The mode for an inner bijector that takes no `training=` (a tfb.Chain)."""
    if stateful.takes_training(self._bijector):
      return contextlib.nullcontext()
    return training_mode.training_mode(training)

  def _split(self, x):
    one_pass_bijector.check_float_input(self, x, self._event_ndims)
    channels = x.shape[-1]
    if channels is not None and channels % 2:
      raise ValueError(
          f'{self.name}: needs an even number of channels to factor out half, '
          f'got shape {x.shape}.')
    assertions = []
    if self.validate_args:
      assertions.append(tf.debugging.assert_equal(
          tf.shape(x)[-1] % 2, 0,
          message=f'{self.name}: the number of channels must be even.'))
    with tf.control_dependencies(assertions):
      return tf.split(x, 2, axis=-1)

  def _augmented_forward(self, x, training=False, conditional_input=None):
    kept, passed_on = self._split(x)
    kwargs = self._inner_kwargs(training, conditional_input)
    with self._inner_mode(training):
      transformed = self._bijector.forward(passed_on, **kwargs)
      ildj = -self._bijector.forward_log_det_jacobian(
          passed_on, event_ndims=self._event_ndims, **kwargs)
    return tf.concat([kept, transformed], axis=-1), ildj

  def _augmented_inverse(self, y, training=False, conditional_input=None):
    kept, passed_on = self._split(y)
    kwargs = self._inner_kwargs(training, conditional_input)
    with self._inner_mode(training):
      transformed = self._bijector.inverse(passed_on, **kwargs)
      ildj = self._bijector.inverse_log_det_jacobian(
          passed_on, event_ndims=self._event_ndims, **kwargs)
    return tf.concat([kept, transformed], axis=-1), ildj


_SQUEEZE = squeeze_lib.Squeeze()


def split_multiscale_latents(z, num_scales, event_ndims=3):
  """Splits a multi-scale latent into its per-scale parts `z(1)..z(L)`.

  The layout is the one the scales of `FactorOut`'s docstring produce: for
  images, each scale but the last squeezes its latent and keeps the first
  half of the channels as its own part; the last scale keeps all that is left.
  For vectors (`event_ndims=1`) there is no squeeze.

  Args:
    z: latent, `(..., H, W, C)` for images or `(..., D)` for vectors.
    num_scales: Python `int` >= 1, the number of scales `L`.
    event_ndims: 3 for images, 1 for vectors.

  Returns:
    A list of `num_scales` tensors, finest scale first; for images part `i`
    (from 1) has shape `(..., H / 2**i, W / 2**i, 2**(i+1) C)` except the
    last, which has `(..., H / 2**(L-1), W / 2**(L-1), 2**(L-1) C)`.

  Raises:
    ValueError: for a non-positive `num_scales`, an unknown `event_ndims` or a
      shape that cannot be split that many times.
  """
  if not isinstance(num_scales, int) or num_scales < 1:
    raise ValueError(f'`num_scales` must be an int >= 1, got {num_scales!r}.')
  if event_ndims not in (1, 3):
    raise ValueError(f'`event_ndims` must be 3 or 1, got {event_ndims!r}.')
  z = tf.convert_to_tensor(z)
  parts = []
  for _ in range(num_scales - 1):
    if event_ndims == 3:
      z = _SQUEEZE.forward(z)
    if z.shape[-1] is not None and z.shape[-1] % 2:
      raise ValueError(
          f'Cannot split a latent of shape {z.shape} into {num_scales} scales: '
          'an odd number of channels.')
    kept, z = tf.split(z, 2, axis=-1)
    parts.append(kept)
  parts.append(z)
  return parts


def join_multiscale_latents(parts, event_ndims=3):
  """Inverse of `split_multiscale_latents`: per-scale parts to one latent.

  Args:
    parts: list of per-scale latents, finest scale first.
    event_ndims: 3 for images, 1 for vectors.

  Returns:
    The latent, of the shape of the model's input.

  Raises:
    ValueError: for an empty list or an unknown `event_ndims`.
  """
  if not parts:
    raise ValueError('`parts` must hold at least one latent.')
  if event_ndims not in (1, 3):
    raise ValueError(f'`event_ndims` must be 3 or 1, got {event_ndims!r}.')
  z = tf.convert_to_tensor(parts[-1])
  for kept in reversed(parts[:-1]):
    z = tf.concat([kept, z], axis=-1)
    if event_ndims == 3:
      z = _SQUEEZE.inverse(z)
  return z
