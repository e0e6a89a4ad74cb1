"""Sequences of public calls, drawn by Hypothesis, checked after every call.

Where features meet (evaluate then save, integer pixels into every entry
point, a condition sliced, a SavedModel beside the live model) a user makes
them in any order. A `RuleBasedStateMachine` draws such orders on a tiny
class-conditional flow with a Polyak average, and after every call checks:

* every file written (`.keras`, a ModelCheckpoint, a SavedModel) loads and
  gives the live model's log-probs;
* the same seed gives the same figure;
* no call but training changes the model's log-probs.

A few sequences run in the default suite, more in the slow tail.
"""

import os
import tempfile

from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize
from hypothesis.stateful import invariant
from hypothesis.stateful import precondition
from hypothesis.stateful import rule
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import run_state_machine_as_test
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tfp_realnvp.app import export
from tfp_realnvp.app import loading

_SHAPE = (4, 4, 1)
_CLASSES = 3
_EXAMPLES = 8

_RNG = np.random.default_rng(42)
_PIXELS = _RNG.integers(0, 256, (_EXAMPLES,) + _SHAPE).astype(np.uint8)
_LABELS = _RNG.integers(0, _CLASSES, _EXAMPLES).astype(np.int32)
_VALUES = (_PIXELS + _RNG.uniform(size=_PIXELS.shape)).astype(np.float32)
# The probe every check reads: dequantized values and their labels.
_PROBE = (tf.constant(_VALUES[:4]), tf.constant(_LABELS[:4]))


def _probe_log_prob(flow):
  """The probe's log-probs under `flow` (any source), evaluation mode."""
  values, labels = _PROBE
  return np.asarray(flow.log_prob(tf.identity(values), labels=labels))


class FlowSeams(RuleBasedStateMachine):
  """A FlowModel a user drives through its public calls."""

  @initialize()
  def build(self):
    tf_keras.utils.set_random_seed(0)
    self.directory = tempfile.mkdtemp(prefix='seams_')
    flow = tfp_realnvp.ConditionalRealNVP(
        _SHAPE, num_classes=_CLASSES, num_scales=1, num_res_blocks=1,
        num_filters=2)
    self.model = tfp_realnvp.FlowModel(flow, polyak_decay=0.9)
    self.model.compile(optimizer=tf_keras.optimizers.legacy.Adam(1e-3))
    # Trained once, so the raw and averaged weights differ from the start.
    self.model.fit((_PIXELS, _LABELS), batch_size=4, epochs=1, verbose=0)
    self.reference = _probe_log_prob(flow)
    self.files = []  # (kind, path, the probe's log-probs when written)
    self.exported = False

  @property
  def flow(self):
    return self.model.distribution

  def _check_file(self, kind, path, expected):
    if kind == 'keras':
      loaded = tf_keras.models.load_model(path).distribution
    else:
      loaded = loading.load_flow(path)
    np.testing.assert_allclose(_probe_log_prob(loaded), expected,
                               rtol=1e-5, atol=1e-4)

  def _wrote(self, kind, path):
    self.files.append((kind, path, self.reference))
    self._check_file(kind, path, self.reference)

  def _trained(self):
    self.reference = _probe_log_prob(self.flow)
    assert np.all(np.isfinite(self.reference))

  @rule(source=st.sampled_from(['uint8 array', 'float array',
                                'uint8 dataset', 'float dataset']),
        checkpoint=st.booleans())
  def fit(self, source, checkpoint):
    pixels = _PIXELS if source.startswith('uint8') else _VALUES
    callbacks = []
    if checkpoint:
      path = os.path.join(self.directory, f'checkpoint_{len(self.files)}'
                                          '.keras')
      callbacks.append(tf_keras.callbacks.ModelCheckpoint(path))
    if source.endswith('dataset'):
      data = tf.data.Dataset.from_tensor_slices((pixels, _LABELS)).batch(4)
      history = self.model.fit(data, epochs=1, verbose=0,
                               callbacks=callbacks)
    else:
      history = self.model.fit((pixels, _LABELS), batch_size=4, epochs=1,
                               verbose=0, callbacks=callbacks)
    assert set(history.history) == {'loss', 'bits_per_dim'}
    assert np.all(np.isfinite(history.history['loss']))
    self._trained()
    if checkpoint:
      self._wrote('keras', path)

  @rule(samples=st.sampled_from([None, 3]), seed=st.integers(0, 3))
  def evaluate(self, samples, seed):
    # Integer pixels, whose noise the seed fixes; dequantized values are
    # evaluated by the checks of the files. The averaged weights, then the
    # raw ones, each twice.
    for averaged in (True, False):
      figures = [self.model.evaluate((_PIXELS, _LABELS), batch_size=4,
                                     dequantization_samples=samples,
                                     seed=seed, averaged=averaged,
                                     return_dict=True, verbose=0)
                 for _ in range(2)]
      assert figures[0] == figures[1]
      assert ('discrete_bits_per_dim' in figures[0]) == bool(samples)

  @rule(start=st.integers(0, 2))
  def given_and_sliced(self, start):
    values, labels = _PROBE
    given = self.flow.given(labels=labels)[start:][::-1]
    np.testing.assert_allclose(
        given.log_prob(tf.identity(values[start:][::-1])),
        self.reference[start:][::-1], rtol=1e-5)
    marginal = self.flow.given(labels=tf.range(_CLASSES))
    table = marginal.log_prob(tf.identity(values)[:, tf.newaxis])
    np.testing.assert_allclose(
        np.asarray(table)[np.arange(4), np.asarray(labels)],
        self.reference, rtol=1e-5)

  @rule()
  def save_keras(self):
    path = os.path.join(self.directory, f'model_{len(self.files)}.keras')
    self.model.save(path)
    self._wrote('keras', path)

  @precondition(lambda self: not self.exported)
  @rule()
  def export_saved_model(self):
    # Once a sequence: a SavedModel is the slowest file to write.
    self.exported = True
    path = export.export_saved_model(
        self.flow, os.path.join(self.directory, 'export'))
    self._wrote('saved_model', path)
    saved = loading.load_flow(path)
    pixels = tf.constant(_PIXELS[:2])
    np.testing.assert_allclose(
        saved.discrete_log_prob(pixels, 2, seed=1, labels=_LABELS[:2]),
        self.flow.discrete_log_prob(pixels, 2, seed=1, labels=_LABELS[:2]),
        rtol=1e-5)

  @invariant()
  def nothing_but_training_moves_the_model(self):
    if hasattr(self, 'model'):
      np.testing.assert_allclose(_probe_log_prob(self.flow), self.reference,
                                 rtol=1e-6)

  def teardown(self):
    # Every file written still loads, with the figures it was written with.
    for kind, path, expected in getattr(self, 'files', []):
      self._check_file(kind, path, expected)


# Derandomized, so CI cannot flake; no shrinking, which would replay a
# failing sequence dozens of times (a failure is reported as drawn, five to
# eight calls long).
_DEFAULT = settings(max_examples=2, stateful_step_count=4, deadline=None,
                    derandomize=True, database=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=list(HealthCheck))
# The slow tail's: one sequence, longer than the default's (its time is
# about steps times the calls' tracing).
_LONG = settings(_DEFAULT, max_examples=1, stateful_step_count=10)


def test_sequences_of_user_calls():
  run_state_machine_as_test(FlowSeams, settings=_DEFAULT)


@pytest.mark.slow
def test_longer_sequences_of_user_calls():
  run_state_machine_as_test(FlowSeams, settings=_LONG)
