"""What every bijector that owns variables or follows the training mode shares.

TFP caches a bijector's results keyed by the input tensor, the keyword
arguments of the call, and the bijector itself, compared by its constructor
`parameters`. Two bijectors that build their own variables from the same
arguments are not the same function, and a result computed in training mode is
not the evaluation-mode result. `StatefulBijectorMixin` makes both part of the
key: each instance is its own cache key, and the resolved training mode is an
explicit `training=` keyword of every call.
"""

from tfp_realnvp import compat
from tfp_realnvp.bijectors import training_mode

__all__ = ['StatefulBijectorMixin', 'takes_training']


def takes_training(bijector):
  """Whether `bijector` takes (and caches under) a `training=` keyword."""
  return bool(getattr(bijector, '_uses_training', False))


class StatefulBijectorMixin(compat.PerInstanceCacheKey):
  """Per-instance cache keys and a resolved `training` keyword for bijectors.

  Mix in before `tfb.Bijector` (or a subclass). Classes whose results depend
  on the mode set `_uses_training = True`; they then receive
  `training=resolve_training(training)` in every call (see
  `training_mode.resolve_training`), so training and evaluation results are
  cached under different keys.
  """

  _uses_training = False

  def _with_training(self, kwargs):
    if self._uses_training:
      kwargs = dict(kwargs)
      kwargs['training'] = training_mode.resolve_training(
          kwargs.get('training'))
    return kwargs

  # Every public call passes here before TFP's cache is consulted (TFP's
  # chains and distributions call their links' public methods too), so the
  # resolved mode is in every cache key.
  def forward(self, x, name='forward', **kwargs):
    return super().forward(x, name, **self._with_training(kwargs))

  def inverse(self, y, name='inverse', **kwargs):
    return super().inverse(y, name, **self._with_training(kwargs))

  def forward_log_det_jacobian(self, x, event_ndims=None,
                               name='forward_log_det_jacobian', **kwargs):
    return super().forward_log_det_jacobian(
        x, event_ndims, name, **self._with_training(kwargs))

  def inverse_log_det_jacobian(self, y, event_ndims=None,
                               name='inverse_log_det_jacobian', **kwargs):
    return super().inverse_log_det_jacobian(
        y, event_ndims, name, **self._with_training(kwargs))
