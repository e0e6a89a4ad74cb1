"""A `tfb.Chain` that hands the training mode and a conditional input to its links."""

from tfp_realnvp import compat
from tfp_realnvp.bijectors import stateful

__all__ = ['ConditionalChain', 'takes_conditional_input']


def takes_conditional_input(bijector):
  """Whether `bijector` takes a `conditional_input=` keyword (class labels)."""
  return bool(getattr(bijector, 'takes_conditional_input', False))


class ConditionalChain(stateful.StatefulBijectorMixin,
                       compat.NonCompositeChain):
  """`tfb.Chain` that passes `training` and `conditional_input` to its links.

  `tfb.Chain` routes keyword arguments by bijector name
  (`chain.forward(x, coupling_3={'conditional_input': labels})`), which is
  unworkable for the dozens of couplings of a multi-scale model. This chain
  also accepts `conditional_input=` itself and passes it to every link whose
  `takes_conditional_input` is true (conditional couplings, `FactorOut`s
  around conditional bijectors, nested `ConditionalChain`s). Because it is an
  explicit keyword, it is part of every bijector's cache key: the same input
  with another label is never served a cached result.

  The training mode is resolved once per call (an explicit `training=`
  keyword, else `training_mode(...)`, else evaluation) and passed as `training=` to every link that follows the mode
  (couplings, batch norms, factor-outs, nested chains). It is part of the
  chain's own cache key as well as its links': a `tfb.Chain` caches its
  output without the mode, so an evaluation-mode call on a tensor it saw in
  training mode would get the training-mode latents back. Each chain is also
  its own cache key, like the stateful links it holds.

  Otherwise it behaves exactly like `tfb.Chain`.

  #### Examples

  ```python
  import tensorflow as tf
  from tfp_realnvp import bijectors as rnvp_bijectors

  chain = rnvp_bijectors.ConditionalChain([
      rnvp_bijectors.MaskedAffineCoupling([8, 8, 1], parity=p, num_classes=10,
                                          num_res_blocks=1, num_filters=8)
      for p in (0, 1)])
  z = chain.inverse(tf.random.normal([4, 8, 8, 1]),
                    conditional_input=tf.constant([0, 1, 2, 3]))
  ```
  """

  _uses_training = True

  @property
  def takes_conditional_input(self):
    return any(takes_conditional_input(b) for b in self.bijectors)

  def _link_kwargs(self, bijector, kwargs):
    link_kwargs = dict(kwargs.get(bijector.name, {}))
    conditional_input = kwargs.get('conditional_input')
    if conditional_input is not None and takes_conditional_input(bijector):
      link_kwargs['conditional_input'] = conditional_input
    if 'training' in kwargs and stateful.takes_training(bijector):
      link_kwargs['training'] = kwargs['training']
    return link_kwargs

  def _walk_forward(self, step_fn, x, **kwargs):
    for bijector in reversed(self.bijectors):
      x = step_fn(bijector, x, **self._link_kwargs(bijector, kwargs))
    return x

  def _walk_inverse(self, step_fn, y, **kwargs):
    for bijector in self.bijectors:
      y = step_fn(bijector, y, **self._link_kwargs(bijector, kwargs))
    return y
