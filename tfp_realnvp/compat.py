"""Every private TensorFlow, TFP and tf-keras API the package uses, in one place.

Each hook is looked up once, here, by `_require`: when an upgrade removes it
the import of `tfp_realnvp` fails with an error naming the hook, what it is for
and the versions it was tested with, instead of an AttributeError deep inside a
bijector. `tests/compat_test.py` checks every hook against the installed
versions, so a CI run on a new release names the one that broke.
"""

import importlib

import tf_keras
from tensorflow_probability.python.bijectors import bijector as bijector_lib

__all__ = [
    'HOOKS',
    'NonCompositeChain',
    'NonCompositeTransformedDistribution',
    'PerInstanceCacheKey',
    'back_up',
    'cached_attributes',
    'create_optimizer_slots',
    'profiler_trace',
    'use_greedy_cache',
]

TESTED_WITH = ('tensorflow and tf-keras 2.18 to 2.21, '
               'tensorflow-probability 0.25')


class MissingPrivateApiError(ImportError):
  """A private framework API this package relies on is gone."""


def _require(owner, name, used_for):
  """`owner.name`, or an error naming the hook and what it does here."""
  if isinstance(owner, str):
    owner = importlib.import_module(owner)
  if not hasattr(owner, name):
    owner_name = getattr(owner, '__name__', repr(owner))
    raise MissingPrivateApiError(
        f'tfp_realnvp needs the private API {owner_name}.{name} ({used_for}); '
        f'the installed version lacks it. tfp_realnvp is tested with '
        f'{TESTED_WITH}: install those, or report the upgrade that removed '
        'it.')
  return getattr(owner, name)


# What each hook is for, by name; `check_all` and the tests walk this.
HOOKS = {}


def _hook(owner, name, used_for):
  value = _require(owner, name, used_for)
  owner_name = owner if isinstance(owner, str) else owner.__name__
  HOOKS[f'{owner_name}.{name}'] = (owner, name, used_for)
  return value


# TFP makes every subclass of the public `tfd.TransformedDistribution` an
# AutoCompositeTensor, whose flattening (tfd.Mixture, tf.nest, tf.function
# arguments) sees only constructor arguments and so loses a flow's variables.
# TFP's own base for stateful bijectors is this non-composite class.
NonCompositeTransformedDistribution = _hook(
    'tensorflow_probability.python.distributions.transformed_distribution',
    '_TransformedDistribution',
    'the non-composite base of the flow distributions')

# `tfb.Chain` becomes a CompositeTensor when its links are; stateful links
# (Keras networks, moving averages) are not, and TFP then uses this class.
NonCompositeChain = _hook(
    'tensorflow_probability.python.bijectors.chain', '_Chain',
    'the base of ConditionalChain')

# The cache FFJORD uses: it stores a log-det computed with the transform, so
# a coupling's network runs once for both.
_BijectorCacheWithGreedyAttrs = _hook(
    'tensorflow_probability.python.internal.cache_util',
    'BijectorCacheWithGreedyAttrs',
    'one network pass per coupling (OnePassBijector)')

# TFP compares these to decide that two bijectors are the same function; the
# public alternative, equal `parameters`, cannot tell apart two couplings that
# built their own networks from the same arguments.
_hook(bijector_lib.Bijector, '_get_parameterization',
      'per-instance cache keys (StatefulBijectorMixin)')


class PerInstanceCacheKey:
  """Mix in before `tfb.Bijector`: the instance equals only itself.

  TFP's `__eq__`/`__hash__`, and so its cache, compare
  `_get_parameterization()`. A bijector that owns its variables is its own
  function.
  """

  def _get_parameterization(self):
    return id(self)

# A bijector class's cache is a class attribute with no public setter; TFP's
# FFJORD replaces it the same way.
_hook(bijector_lib.Bijector, '_cache',
      'one network pass per coupling (OnePassBijector)')


def use_greedy_cache(bijector_class, forward_name, inverse_name):
  """Gives `bijector_class` a cache that stores attributes with each result.

  `forward_name`/`inverse_name` are methods returning `(output, attrs)`; the
  attributes (a log-det) are then read with `cached_attributes`.
  """
  bijector_class._cache = _BijectorCacheWithGreedyAttrs(  # pylint: disable=protected-access
      forward_name=forward_name, inverse_name=inverse_name)
  return bijector_class


def cached_attributes(bijector, value, forward, **kwargs):
  """The attributes stored with `bijector`'s cached result for `value`."""
  cache = bijector._cache  # pylint: disable=protected-access
  if forward:
    return cache.forward_attributes(value, **kwargs)
  return cache.inverse_attributes(value, **kwargs)


# Saving on demand (a signal, an epoch end with step-based saving) has no
# public method; the public callback only saves on its own schedule.
_hook(tf_keras.callbacks.BackupAndRestore, '_backup',
      'saving the resumable training state on a signal (app.callbacks)')


def back_up(callback, epoch):
  """Saves a `BackupAndRestore` callback's training state now."""
  callback._backup(epoch=epoch)  # pylint: disable=protected-access


_hook(
    tf_keras.optimizers.legacy.Optimizer, '_create_all_weights',
    'making a legacy optimizer\'s slots before the step is traced, so it '
    'is traced once, and before a .keras file or checkpoint restores them '
    '(FlowModel, app.run)')


def create_optimizer_slots(optimizer, variables):
  """Creates a legacy optimizer's slots, which it otherwise makes lazily."""
  optimizer._create_all_weights(variables)  # pylint: disable=protected-access


# TF's profiler writes its trace as this protocol buffer and has no public
# reader; bench/step_profile.py sums its op times by kind. Looked up when
# asked for: `import tfp_realnvp` resolves no name only the benchmark uses.
_XSPACE = ('tensorflow.tsl.profiler.protobuf.xplane_pb2', 'XSpace',
           'reading a profiler trace (bench/step_profile.py)')
HOOKS['.'.join(_XSPACE[:2])] = _XSPACE


def profiler_trace():
  """An empty `XSpace`, the protocol buffer of a TF profiler trace."""
  return _require(*_XSPACE)()


def check_all():
  """Looks every hook up again; raises `MissingPrivateApiError` for a gone one."""
  for owner, name, used_for in HOOKS.values():
    _require(owner, name, used_for)
