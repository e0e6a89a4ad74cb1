"""What every bijector that owns variables or follows the training mode shares.

TFP caches a bijector's results keyed by the input tensor, the keyword
arguments of the call, and the bijector itself, compared by its constructor
`parameters`. Two bijectors that build their own variables from the same
arguments are not the same function, and a result computed in training mode is
not the evaluation-mode result. `StatefulBijectorMixin` makes both part of the
key: each instance is its own cache key, and the resolved training mode is an
explicit `training=` keyword of every call.
"""

from tfp_realnvp.bijectors import training_mode

__all__ = ['StatefulBijectorMixin', 'takes_training']


def takes_training(bijector):
  """Whether `bijector` takes (and caches under) a `training=` keyword."""
  return bool(getattr(bijector, '_uses_training', False))


class StatefulBijectorMixin:
  """Per-instance cache keys and a resolved `training` keyword for bijectors.

  Mix in before `tfb.Bijector` (or a subclass). Classes whose results depend
  on the mode set `_uses_training = True`; they then receive
  `training=resolve_training(training)` in every call (see
  `training_mode.resolve_training`), so training and evaluation results are
  cached under different keys.
  """

  _uses_training = False

  def _get_parameterization(self):
    # TFP's `__eq__`/`__hash__`, and so its cache, compare this. The instance
    # owns its variables: it equals only itself.
    return id(self)

  def _with_training(self, kwargs):
    if self._uses_training:
      kwargs = dict(kwargs)
      kwargs['training'] = training_mode.resolve_training(
          kwargs.get('training'))
    return kwargs

  # TFP's `Bijector._call_*` are the one place every public call goes through
  # before the cache is consulted.
  def _call_forward(self, x, name, **kwargs):
    return super()._call_forward(x, name, **self._with_training(kwargs))

  def _call_inverse(self, y, name, **kwargs):
    return super()._call_inverse(y, name, **self._with_training(kwargs))

  def _call_forward_log_det_jacobian(self, x, event_ndims, name, **kwargs):
    return super()._call_forward_log_det_jacobian(
        x, event_ndims, name, **self._with_training(kwargs))

  def _call_inverse_log_det_jacobian(self, y, event_ndims, name, **kwargs):
    return super()._call_inverse_log_det_jacobian(
        y, event_ndims, name, **self._with_training(kwargs))
