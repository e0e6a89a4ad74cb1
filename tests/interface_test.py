"""One evaluation interface: every model class and a loaded flow answer alike."""

import inspect

import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp.app import loading

METHODS = ('log_prob', 'bits_per_dim', 'sample_values', 'encode', 'decode')


def _parameters(method):
  """(name, kind) of each argument after `self`, `name` and `**kwargs`."""
  return [(p.name, p.kind) for p in inspect.signature(method).parameters.values()
          if p.name not in ('self', 'name') and p.kind != p.VAR_KEYWORD]


@pytest.mark.parametrize('method', METHODS)
def test_every_flow_has_the_same_signature(method):
  reference = _parameters(getattr(tfp_realnvp.Flow, method))
  for cls in (tfp_realnvp.RealNVP, tfp_realnvp.ConditionalRealNVP,
              tfp_realnvp.VectorRealNVP, loading.SavedFlow):
    assert _parameters(getattr(cls, method)) == reference, cls
  kinds = dict(reference)
  assert kinds['labels'] == inspect.Parameter.KEYWORD_ONLY


def test_vector_flow_has_bits_per_dim_and_samples():
  flow = tfp_realnvp.VectorRealNVP(2, num_couplings=2, num_hidden=8)
  points = tf.random.stateless_normal([5, 2], [1, 2])
  np.testing.assert_allclose(
      flow.bits_per_dim(points),
      -flow.log_prob(tf.identity(points)) / (2 * np.log(2.)), rtol=1e-6)
  samples = flow.sample_values(4, 0.5, seed=3)
  assert samples.shape == (4, 2)
  np.testing.assert_array_equal(samples, flow.sample_values(4, 0.5, seed=3))
  assert flow.num_scales == 1 and flow.num_classes is None


def test_labels_are_keyword_only_with_a_clear_error():
  flow = tfp_realnvp.ConditionalRealNVP([8, 8, 1], num_classes=3,
                                        num_scales=1, num_res_blocks=0,
                                        num_filters=4)
  pixels = tf.random.uniform([2, 8, 8, 1], 0., 256.)
  with pytest.raises(TypeError, match='keyword-only'):
    flow.log_prob(pixels, [0, 1])
  with pytest.raises(ValueError, match='pass `labels`'):
    flow.bits_per_dim(pixels)
  with pytest.raises(ValueError, match='not class-conditional'):
    tfp_realnvp.RealNVP([8, 8, 1], num_scales=1, num_res_blocks=0,
                        num_filters=4).encode(pixels, labels=[0, 1])


def test_config_round_trip_rebuilds_the_same_architecture():
  for flow in (tfp_realnvp.RealNVP([8, 8, 1], num_scales=2, num_res_blocks=1,
                                   num_filters=4),
               tfp_realnvp.ConditionalRealNVP([8, 8, 1], num_classes=3,
                                              num_scales=1, num_filters=4),
               tfp_realnvp.VectorRealNVP(4, num_couplings=2)):
    config = flow.get_config()
    rebuilt = type(flow).from_config(config)
    assert rebuilt.get_config() == config
    assert ([v.shape for v in rebuilt.trainable_variables] ==
            [v.shape for v in flow.trainable_variables])
    assert rebuilt is not flow


@pytest.mark.parametrize('source', ['checkpoint', 'saved_model'])
def test_loaded_flows_answer_the_interface_like_the_trained_model(
    trained_conditional_run_dir, source):
  path = trained_conditional_run_dir
  trained, _ = loading.load_distribution(str(path))
  flow = loading.load_flow(str(path if source == 'checkpoint'
                               else path / 'export'))
  pixels = np.random.default_rng(0).uniform(0., 256., (3, 8, 8, 1))
  pixels = pixels.astype(np.float32)
  labels = np.array([0, 4, 9])
  np.testing.assert_allclose(flow.bits_per_dim(pixels, labels=labels),
                             trained.bits_per_dim(pixels, labels=labels),
                             rtol=1e-5)
  latents = flow.encode(pixels, labels=labels)
  np.testing.assert_allclose(flow.decode(latents, labels=labels), pixels,
                             atol=1e-2)
  # An int seed is the same stateless seed for a model and a SavedModel.
  np.testing.assert_allclose(flow.sample_values(2, 0.8, 5, labels=[3]),
                             trained.sample_values(2, 0.8, 5, labels=[3]),
                             atol=1e-3)
  assert flow.num_classes == 10 and flow.num_scales == 1
  assert tuple(flow.event_shape) == (8, 8, 1)
