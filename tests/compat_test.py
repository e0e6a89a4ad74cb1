"""Every private framework API the package uses is present, or named when gone."""

import types

import pytest

from tfp_realnvp import compat


@pytest.mark.parametrize('hook', sorted(compat.HOOKS))
def test_hook_exists_in_the_installed_versions(hook):
  owner, name, used_for = compat.HOOKS[hook]
  assert compat._require(owner, name, used_for) is not None  # pylint: disable=protected-access


def test_every_hook_is_registered():
  # The five kinds the package relies on, each checked above.
  names = {hook.rsplit('.', 1)[-1] for hook in compat.HOOKS}
  assert {'_TransformedDistribution', '_Chain',
          'BijectorCacheWithGreedyAttrs', '_aggregate_gradients',
          '_get_parameterization'} | set(compat.BIJECTOR_CALL_HOOKS) <= names
  compat.check_all()


def test_a_removed_hook_is_named_with_its_use_and_the_tested_versions():
  upgraded = types.SimpleNamespace(__name__='tensorflow_probability.future')
  with pytest.raises(compat.MissingPrivateApiError,
                     match=r'tensorflow_probability\.future\._Chain '
                           r'\(the base of ConditionalChain\).*tested with '
                           r'tensorflow 2\.21'):
    compat._require(upgraded, '_Chain', 'the base of ConditionalChain')  # pylint: disable=protected-access


def test_aggregate_gradients_works_with_both_optimizer_kinds():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_keras  # pylint: disable=g-import-not-at-top
  variable = tf.Variable([1., 2.])
  gradient = tf.constant([0.5, -1.])
  for optimizer in (tf_keras.optimizers.legacy.Adam(),
                    tf_keras.optimizers.Adam()):
    (aggregated, _), = compat.aggregate_gradients(optimizer,
                                                  [(gradient, variable)])
    assert aggregated.numpy().tolist() == [0.5, -1.]
