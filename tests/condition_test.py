"""`ConditionSpec`: the one owner of a flow's condition (issue #42)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp import condition as condition_lib

_LABELS = condition_lib.ConditionSpec(num_classes=3)
_CONTEXT = condition_lib.ConditionSpec(context_shape=(2,))


def test_bad_specs_are_named_at_construction():
  with pytest.raises(ValueError, match='not both'):
    condition_lib.ConditionSpec(num_classes=3, context_shape=(2,))
  with pytest.raises(ValueError, match='`num_classes` must be a positive int'):
    condition_lib.ConditionSpec(num_classes=0)
  with pytest.raises(ValueError, match='`num_classes` must be a positive int'):
    condition_lib.ConditionSpec(num_classes=True)
  with pytest.raises(ValueError, match=r'\(K,\) with every size known'):
    condition_lib.ConditionSpec(context_shape=(2, 3), context_ranks=(1,))


@pytest.mark.parametrize('labels, context, error, match', [
    (None, None, ValueError, r'class-conditional: pass `labels` \(integers '
     r'in \[0, 3\)\)'),
    (None, [[1., 2.]], ValueError, 'takes no context; it was given one'),
    ([0.5], None, TypeError, 'labels must be integers'),
    ([0, 3], None, ValueError, r'must lie in \[0, 3\), got \[0 3\]'),
    ([0], [[1.]], ValueError, 'takes no context'),
])
def test_label_checks_name_the_problem(labels, context, error, match):
  with pytest.raises(error, match=match):
    _LABELS.check(labels, context, name='flow')


def test_context_checks_name_the_problem():
  with pytest.raises(TypeError, match='must be a float tensor'):
    _CONTEXT.check(context=tf.zeros([3, 2], tf.int32))
  with pytest.raises(ValueError, match=r'shape \(batch..., 2\)'):
    _CONTEXT.check(context=tf.zeros([3, 5]))
  with pytest.raises(ValueError, match='not class-conditional'):
    condition_lib.ConditionSpec().check(labels=[0], name='flow')
  with pytest.raises(ValueError, match=r'conditioned on a context: pass '
                                       r'`context` \(float, shape \(batch, '
                                       r'2\)\)'):
    _CONTEXT.check(name='flow')
  assert _CONTEXT.check(context=[[1., 2.]], dtype=tf.float64).dtype == (
      tf.float64)


def test_labels_unknown_until_run_time_are_checked_then():
  check = tf.function(lambda labels: _LABELS.check(labels, name='flow'),
                      autograph=False)
  assert check(tf.constant([0, 2])).numpy().tolist() == [0, 2]
  with pytest.raises(tf.errors.InvalidArgumentError, match='>= num_classes'):
    check(tf.constant([0, 3]))
  with pytest.raises(tf.errors.InvalidArgumentError, match='negative'):
    check(tf.constant([-1, 0]))


def test_broadcast_gives_values_and_condition_one_batch():
  values = tf.zeros([4, 1, 5])
  labels = tf.constant([0, 1, 2])
  values, labels = _LABELS.broadcast(values, 1, labels)
  assert values.shape == (4, 3, 5) and labels.shape == (4, 3)
  context = tf.zeros([2, 2])
  values, context = _CONTEXT.broadcast(tf.zeros([5]), 1, context)
  assert values.shape == (2, 5) and context.shape == (2, 2)
  with pytest.raises(ValueError, match=r'batch shape \(4,\) do not broadcast '
                                       r'with the condition\'s batch shape '
                                       r'\(3,\)'):
    _LABELS.broadcast(tf.zeros([4, 5]), 1, labels[0])


def test_flatten_and_split():
  flat = _CONTEXT.flatten(tf.ones([2]), tf.constant([3, 2]))
  assert flat.shape == (6, 2)
  values, labels = _LABELS.split((tf.zeros([2, 5]), tf.constant([0, 1])))
  assert labels.shape == (2,)
  with pytest.raises(ValueError, match=r'must be \(values, labels\) pairs'):
    _LABELS.split(tf.zeros([2, 5]), name='flow')
  # An unconditional flow ignores a labelled dataset's labels.
  assert condition_lib.ConditionSpec().split((values, labels))[1] is None


@pytest.fixture
def counted_checks(monkeypatch):
  calls = []
  check = condition_lib.ConditionSpec.check

  def counting(self, *args, **kwargs):
    calls.append(1)
    return check(self, *args, **kwargs)

  monkeypatch.setattr(condition_lib.ConditionSpec, 'check', counting)
  return calls


def test_the_condition_is_checked_once_per_call(counted_checks):
  flow = tfp_realnvp.ConditionalRealNVP(
      (4, 4, 1), num_classes=3, num_scales=1, num_res_blocks=1,
      num_filters=2)
  pixels = tf.random.stateless_uniform([2, 4, 4, 1], [0, 1], 0., 256.)
  flow.log_prob(pixels, labels=[0, 1])
  assert len(counted_checks) == 1
  flow.given(labels=[0, 1]).log_prob(pixels)
  assert len(counted_checks) == 2
  flow.sample_values(2, labels=1, seed=0)
  assert len(counted_checks) == 3
  # One training step's trace: once, in the step's `given`.
  del counted_checks[:]
  model = tfp_realnvp.FlowModel(flow)
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
  model.fit((pixels, tf.constant([0, 1])), batch_size=2, epochs=1,
            verbose=0)
  assert model.train_function.experimental_get_tracing_count() == 1
  assert len(counted_checks) == 1


def test_a_coupling_used_directly_checks_its_condition():
  coupling = tfp_realnvp.MaskedAffineCoupling(
      [4], mask_type='channel', num_classes=3, num_res_blocks=1,
      num_filters=4, validate_args=True)
  with pytest.raises(ValueError, match='class-conditional: pass '
                                       '`conditional_input=labels`'):
    coupling.forward(tf.zeros([2, 4]))
  with pytest.raises(ValueError, match=r'must lie in \[0, 3\)'):
    coupling.forward(tf.zeros([2, 4]), conditional_input=[0, 5])
  assert np.all(np.isfinite(coupling.forward(
      tf.zeros([2, 4]), conditional_input=[0, 2]).numpy()))
