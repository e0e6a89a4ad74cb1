"""The end of a run picks raw or averaged weights (with which statistics) by validation."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp.app import weight_choice


def _trained_model():
  flow = tfp_realnvp.VectorRealNVP(4, num_couplings=2, num_res_blocks=1,
                                   num_hidden=8)
  model = tfp_realnvp.FlowModel(flow, polyak_decay=0.5)
  model.compile(optimizer=tf_keras.optimizers.Adam(5e-2))
  values = tf.random.stateless_normal([64, 4], seed=[1, 0])
  model.fit(tf.data.Dataset.from_tensor_slices(values).batch(16), epochs=2,
            verbose=0)
  return model, tf.data.Dataset.from_tensor_slices(
      tf.random.stateless_normal([32, 4], seed=[2, 0])).batch(16)


@pytest.fixture(scope='module')
def trained():
  return _trained_model()


def _spoil(variables):
  """Far-off values: whichever weights hold them score much worse."""
  saved = [tf.identity(v) for v in variables]
  for variable in variables:
    variable.assign(variable + 3.)
  return saved


def _restore(variables, saved):
  for variable, value in zip(variables, saved):
    variable.assign(value)


def _bits_per_dim(model, validation, averaged):
  return float(model.evaluate(validation, verbose=0, return_dict=True,
                              averaged=averaged)['bits_per_dim'])


def test_the_figures_are_each_weights_validation_score(trained):
  model, validation = trained
  name, figures = weight_choice.choose_weights(model, validation)
  assert figures['averaged'] == pytest.approx(
      _bits_per_dim(model, validation, True), rel=1e-6)
  assert figures['raw'] == pytest.approx(
      _bits_per_dim(model, validation, False), rel=1e-6)
  with model.averaged_weights(own_statistics=False):
    assert figures['averaged_raw_statistics'] == pytest.approx(
        _bits_per_dim(model, validation, False), rel=1e-6)
  assert name == min(figures, key=figures.get)
  assert len(set(figures.values())) == 3


@pytest.mark.parametrize('spoiled', ['raw', 'averaged'])
def test_the_better_weights_are_chosen(trained, spoiled):
  model, validation = trained
  variables = (model.distribution.trainable_variables if spoiled == 'raw'
               else model.polyak_averages)
  saved = _spoil(variables)
  try:
    name, figures = weight_choice.choose_weights(model, validation)
  finally:
    _restore(variables, saved)
  assert name == min(figures, key=figures.get)
  if spoiled == 'raw':
    assert name != 'raw' and figures[name] < figures['raw'] - 0.1
  else:
    assert name == 'raw'
    assert figures['raw'] < min(figures['averaged'],
                                figures['averaged_raw_statistics']) - 0.1


def test_a_function_gives_each_weights_a_fresh_copy_of_the_data(trained):
  model, validation = trained
  copies = []

  def fresh():
    copies.append(validation)
    return validation

  _, figures = weight_choice.choose_weights(model, fresh)
  assert len(copies) == 3
  assert figures == weight_choice.choose_weights(model, validation)[1]


def test_without_an_average_the_trained_weights_are_the_choice():
  flow = tfp_realnvp.VectorRealNVP(4, num_couplings=2, num_res_blocks=1,
                                   num_hidden=8)
  model = tfp_realnvp.FlowModel(flow)
  model.compile(optimizer=tf_keras.optimizers.Adam(1e-2))
  validation = tf.data.Dataset.from_tensor_slices(
      tf.random.stateless_normal([16, 4], seed=[3, 0])).batch(16)
  name, figures = weight_choice.choose_weights(model, validation)
  assert name == 'raw' and list(figures) == ['raw']


def test_chosen_weights_swaps_in_the_average_and_back(trained):
  model, _ = trained
  weights = model.distribution.trainable_variables
  raw = [w.numpy() for w in weights]
  averages = [a.numpy() for a in model.debiased_polyak_averages()]
  with weight_choice.chosen_weights(model, 'averaged'):
    for weight, average in zip(weights, averages):
      np.testing.assert_allclose(weight.numpy(), average, rtol=1e-6)
  with weight_choice.chosen_weights(model, 'raw'):
    for weight, value in zip(weights, raw):
      np.testing.assert_array_equal(weight.numpy(), value)
  for weight, value in zip(weights, raw):
    np.testing.assert_array_equal(weight.numpy(), value)
  with pytest.raises(ValueError, match='one of'):
    with weight_choice.chosen_weights(model, 'best'):
      pass
