"""What a new user hits first: a failed fit recovers, bad data is named at once."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp.training import flow_model as flow_model_lib

_SHAPE = (4, 4, 1)


def _flow(**kwargs):
  return tfp_realnvp.RealNVP(_SHAPE, num_scales=1, num_res_blocks=1,
                             num_filters=4, **kwargs)


def _model(flow=None, **kwargs):
  model = tfp_realnvp.FlowModel(flow or _flow(), **kwargs)
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
  return model


def _pixels(n=32, dtype=np.float32, seed=0):
  return np.random.default_rng(seed).uniform(0., 256., (n,) + _SHAPE).astype(
      dtype)


def _batches(values, *more):
  parts = (values,) + more if more else values
  return tf.data.Dataset.from_tensor_slices(parts).batch(16)


def test_a_fit_on_boolean_pixels_is_refused_on_its_first_line_and_recovers():
  model = _model()
  boolean_pixels = _batches(_pixels() > 128.)
  with pytest.raises(TypeError) as error:
    model.fit(boolean_pixels, epochs=1, verbose=0)
  first_line = str(error.value).splitlines()[0]
  assert first_line.startswith('FlowModel.fit: the data are bool of shape '
                               '(None, 4, 4, 1); real_nvp takes float32')
  assert 'integer pixels (which it dequantizes)' in first_line
  # The fix (integer pixels: dequantized in the step), then a fit, an
  # evaluation and a prediction as usual.
  good = _batches(_pixels().astype(np.uint8))
  history = model.fit(good, epochs=1, verbose=0)
  assert np.isfinite(history.history['bits_per_dim'][0])
  assert np.isfinite(model.evaluate(good, verbose=0, return_dict=True)[
      'bits_per_dim'])
  assert model.predict(good, verbose=0).shape == (32,)


class _FailsFirstTrace(tfp_realnvp.FlowModel):
  """A model whose first training trace fails, as a bad batch's would."""

  failures = 1

  def train_step(self, batch):
    if self.failures:
      self.failures -= 1
      raise ValueError('a trace that fails')
    return super().train_step(batch)


def test_a_model_whose_trace_failed_traces_anew():
  model = _FailsFirstTrace(_flow())
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
  good = _batches(_pixels())
  with pytest.raises(ValueError, match='a trace that fails'):
    model.fit(good, epochs=1, verbose=0)
  # Keras would reuse the failed function, whose next trace, if it created
  # the optimizer's slots, tf.function would refuse (a non-first call): the
  # model starts a fresh function, and its slots exist before any trace.
  history = model.fit(good, epochs=1, verbose=0)
  assert np.isfinite(history.history['loss'][0])


def test_the_recovery_is_what_makes_the_second_fit_work(monkeypatch):
  # Shown failing once: without the fresh function and the slots made
  # before tracing (either one alone mends it), the sequence above breaks.
  monkeypatch.setattr(flow_model_lib.entry_points,
                      'fresh_functions_after_failure',
                      lambda model, method: _no_reset())
  monkeypatch.setattr(flow_model_lib.FlowModel, 'make_train_function',
                      tf_keras.Model.make_train_function)
  model = _FailsFirstTrace(_flow())
  model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
  good = _batches(_pixels())
  with pytest.raises(ValueError, match='a trace that fails'):
    model.fit(good, epochs=1, verbose=0)
  with pytest.raises(ValueError, match='non-first call'):
    model.fit(good, epochs=1, verbose=0)


def _no_reset():
  import contextlib  # pylint: disable=g-import-not-at-top
  return contextlib.nullcontext()


@pytest.mark.parametrize('values,message', [
    (np.zeros((8, 5, 5, 1), np.float32),
     r'the data are float32 of shape \(None, 5, 5, 1\); real_nvp takes '
     r'float32 values of shape \(batch, 4, 4, 1\)'),
    (np.zeros((8, 4, 4, 1), np.float64),
     r'the data are float64 .* Cast them: tf.cast\(x, tf.float32\)'),
])
def test_wrong_event_shape_and_dtype_are_named(values, message):
  model = _model()
  with pytest.raises((TypeError, ValueError), match=message):
    model.fit(_batches(values), epochs=1, verbose=0)
  with pytest.raises((TypeError, ValueError), match=message):
    model.evaluate(_batches(values), verbose=0)
  with pytest.raises((TypeError, ValueError), match=message):
    model.predict(_batches(values), verbose=0)


def test_missing_or_wrong_conditions_are_named():
  labelled = _model(tfp_realnvp.ConditionalRealNVP(
      _SHAPE, num_classes=3, num_scales=1, num_res_blocks=1, num_filters=4))
  with pytest.raises(ValueError, match=r'conditioned on labels: the data must '
                                       r'be \(values, labels\) pairs'):
    labelled.fit(_batches(_pixels()), epochs=1, verbose=0)
  with pytest.raises(TypeError, match='takes integer labels in'):
    labelled.fit(_batches(_pixels(), np.zeros(32, np.float32)), verbose=0)
  with_context = _model(tfp_realnvp.VectorRealNVP(
      4, num_couplings=1, num_res_blocks=0, num_hidden=4, context_shape=(3,)))
  points = np.zeros((32, 4), np.float32)
  with pytest.raises(ValueError, match=r'Build the flow with '
                                       r'context_shape=\(5,\)'):
    with_context.fit(_batches(points, np.zeros((32, 5), np.float32)),
                     verbose=0)


@pytest.mark.slow
def test_pixels_in_the_unit_interval_are_refused_with_the_convention():
  model = _model()
  scaled = _batches(np.floor(_pixels()) / 255.)
  for call in (lambda: model.fit(scaled, epochs=1, verbose=0),
               lambda: model.evaluate(scaled, verbose=0)):
    with pytest.raises(ValueError, match=r'all lie in \[0, 1\].*\[0, 256\).*'
                                         r'check_pixel_range=False'):
      call()
  # Said on purpose: trained as given.
  meant = _model(check_pixel_range=False)
  history = meant.fit(scaled, epochs=1, verbose=0)
  assert np.isfinite(history.history['loss'][0])
  # Real pixels pass.
  model.fit(_batches(_pixels()), epochs=1, verbose=0)


def test_bits_per_dim_warns_on_unit_interval_pixels():
  flow = _flow()
  with pytest.warns(UserWarning, match=r'all lie in \[0, 1\]'):
    flow.bits_per_dim(np.floor(_pixels(4)) / 255.)


def test_dequantized_digits_pass_the_checks():
  model = _model(tfp_realnvp.RealNVP.from_preset(
      'digits', num_res_blocks=1, num_filters=4))
  digits = data.digits_dataset('test', batch_size=16, shuffle=False)
  assert np.isfinite(model.evaluate(digits, verbose=0, return_dict=True)[
      'bits_per_dim'])


def test_labels_of_the_wrong_count_are_named():
  flow = tfp_realnvp.ConditionalRealNVP(_SHAPE, num_classes=3, num_scales=1,
                                        num_res_blocks=1, num_filters=4)
  message = (r'values of batch shape \(4,\) do not broadcast with the '
             r'condition\'s batch shape \(3,\)')
  with pytest.raises(ValueError, match=message):
    flow.log_prob(_pixels(4), labels=[0, 1, 2])
  with pytest.raises(ValueError, match=message):
    flow.sample_values(4, labels=[0, 1, 2])
  with pytest.raises(ValueError, match=message):
    flow.encode(_pixels(4), labels=[0, 1, 2])
  # One label for all, or one per example, as before.
  assert flow.log_prob(_pixels(4), labels=2).shape == (4,)
  assert flow.log_prob(_pixels(4), labels=[0, 1, 2, 0]).shape == (4,)


def test_a_negative_temperature_is_refused_and_zero_is_the_mode():
  flow = _flow()
  with pytest.raises(ValueError, match=r'`temperature` must be >= 0'):
    flow.sample_values(2, temperature=-0.5)
  assert flow.sample_values(2, temperature=0., seed=1).shape == (2,) + _SHAPE
