"""The averaged weights carry batch-norm statistics of their own (#43)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp import training

_BATCHES = 3


def _statistics(flow):
  return [v.numpy() for bn in training.batch_norms(flow)
          for v in (bn.moving_mean, bn.moving_variance)]


def _flow():
  return tfp_realnvp.VectorRealNVP(4, num_couplings=2, num_res_blocks=1,
                                   num_hidden=8)


def _data():
  values = tf.random.stateless_normal([64, 4], seed=[1, 0]) * 2. + 1.
  return tf.data.Dataset.from_tensor_slices(values).batch(16)


@pytest.fixture(scope='module')
def trained():
  """A model 8 steps into training with a fast average, and its data."""
  tf_keras.utils.set_random_seed(0)
  model = tfp_realnvp.FlowModel(_flow(), polyak_decay=0.5,
                                averaged_statistics_batches=_BATCHES)
  model.compile(optimizer=tf_keras.optimizers.Adam(5e-2))
  model.fit(_data(), epochs=2, verbose=0)
  return model


def test_the_averaged_weights_carry_statistics_computed_under_them(trained):
  model = trained
  flow = model.distribution
  raw = _statistics(flow)
  with model.averaged_weights():
    own = _statistics(flow)
    averaged_log_prob = flow.log_prob(tf.identity(
        tf.random.stateless_normal([8, 4], seed=[5, 0]))).numpy()
  assert max(np.abs(a - b).max() for a, b in zip(own, raw)) > 1e-3
  # By another road: the averages set for good in a copy of the model, then
  # the public recomputation on the same batches.
  copy = tfp_realnvp.FlowModel(_flow(), polyak_decay=0.5)
  copy.compile()
  for mine, theirs in zip(copy.variables, model.variables):
    mine.assign(theirs)
  assert copy.use_polyak_averages(own_statistics=False)
  assert tfp_realnvp.recompute_batch_norm_statistics(
      copy.distribution, _data(), num_batches=_BATCHES) == _BATCHES
  for mine, expected in zip(own, _statistics(copy.distribution)):
    np.testing.assert_allclose(mine, expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(
      averaged_log_prob,
      copy.distribution.log_prob(tf.random.stateless_normal(
          [8, 4], seed=[5, 0])), rtol=1e-5)
  # evaluate() scores the averaged weights with their own statistics.
  figure = model.evaluate(_data(), verbose=0, return_dict=True)
  assert figure['bits_per_dim'] == pytest.approx(
      copy.evaluate(_data(), verbose=0, return_dict=True,
                    averaged=False)['bits_per_dim'], rel=1e-5)
  # On exit, the raw weights' statistics are back.
  for before, after in zip(raw, _statistics(flow)):
    np.testing.assert_array_equal(before, after)


def test_statistics_are_computed_again_only_after_the_average_moved(trained):
  model = trained
  statistics = model.step.averaged_statistics
  with model.averaged_weights():
    pass
  computed_at = float(statistics.computed_at.numpy())
  assert computed_at == float(model.polyak_updates.numpy())
  kept = [v.numpy() for v in statistics.statistics]
  with model.averaged_weights():
    pass
  for before, after in zip(kept, statistics.statistics):
    np.testing.assert_array_equal(before, after.numpy())
  model.fit(_data().take(1), epochs=1, verbose=0)
  with model.averaged_weights():
    pass
  assert float(statistics.computed_at.numpy()) == computed_at + 1


def test_the_averages_statistics_are_saved_and_used_by_a_loaded_model(
    trained, tmp_path):
  model = trained
  with model.averaged_weights():
    own = _statistics(model.distribution)
  model.save(str(tmp_path / 'flow.keras'))
  loaded = tf_keras.models.load_model(str(tmp_path / 'flow.keras'))
  path = tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))
  restored = tfp_realnvp.FlowModel(_flow(), polyak_decay=0.5)
  tf.train.Checkpoint(model=restored).restore(path).expect_partial()
  for other in (loaded, restored):
    # No training data here: the statistics saved with the average.
    with other.averaged_weights():
      for mine, theirs in zip(own, _statistics(other.distribution)):
        np.testing.assert_array_equal(mine, theirs)
  assert restored.use_polyak_averages()
  for mine, theirs in zip(own, _statistics(restored.distribution)):
    np.testing.assert_array_equal(mine, theirs)


def test_without_batches_the_averaged_weights_keep_the_raw_statistics():
  model = tfp_realnvp.FlowModel(_flow(), polyak_decay=0.5,
                                averaged_statistics_batches=0)
  model.compile(optimizer=tf_keras.optimizers.Adam(5e-2))
  model.fit(_data(), epochs=1, verbose=0)
  raw = _statistics(model.distribution)
  with model.averaged_weights():
    for before, now in zip(raw, _statistics(model.distribution)):
      np.testing.assert_array_equal(before, now)
  with pytest.raises(ValueError, match='>= 0'):
    tfp_realnvp.FlowModel(_flow(), polyak_decay=0.5,
                          averaged_statistics_batches=-1)
  with pytest.raises(ValueError, match='no Polyak average'):
    tfp_realnvp.FlowModel(_flow()).recompute_averaged_statistics(_data())
