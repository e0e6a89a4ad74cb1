"""Tests of the SavedModel export: served by a process that has only TF."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp.app import export
from tests import bijector_test_util

# Loads the SavedModel importing nothing but TensorFlow and numpy, then
# checks that neither this package nor TFP was imported along the way.
_LOADER = '''
import json, sys
import numpy as np
import tensorflow as tf
path, inputs_path, out_path, input_name = sys.argv[1:]
loaded = tf.saved_model.load(path)
signatures = loaded.signatures
inputs = np.load(inputs_path)
results = {}
for size in (1, 7):
  batch = tf.constant(inputs[:size])
  results[f'log_prob_{size}'] = signatures['log_prob'](
      **{input_name: batch})['log_prob'].numpy().tolist()
  results[f'bits_per_dim_{size}'] = signatures['bits_per_dim'](
      **{input_name: batch})['bits_per_dim'].numpy().tolist()
  latents = signatures['encode'](**{input_name: batch})['latents']
  decoded = signatures['decode'](latents=latents)[input_name]
  results[f'round_trip_{size}'] = float(np.max(np.abs(decoded - inputs[:size])))
samples = signatures['sample'](num_samples=tf.constant(5),
                               temperature=tf.constant(0.8),
                               seed=tf.constant(3))[input_name]
results['sample_shape'] = samples.shape.as_list()
results['sample_finite'] = bool(np.all(np.isfinite(samples)))
results['foreign_modules'] = sorted(
    name for name in sys.modules
    if name.split('.')[0] in ('tfp_realnvp', 'tensorflow_probability',
                              'tf_keras'))
with open(out_path, 'w') as f:
  json.dump(results, f)
'''


def _load_in_fresh_process(path, inputs, input_name, tmp_path):
  inputs_path = tmp_path / 'inputs.npy'
  out_path = tmp_path / 'out.json'
  np.save(inputs_path, inputs)
  result = subprocess.run(
      [sys.executable, '-c', _LOADER, str(path), str(inputs_path),
       str(out_path), input_name],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(out_path.read_text())


@pytest.fixture(scope='module')
def image_export(tmp_path_factory):
  """A tiny RealNVP with random weights and moved statistics, exported."""
  distribution = tfp_realnvp.RealNVP((8, 8, 1), num_scales=2,
                                     num_res_blocks=1, num_filters=4)
  bijector_test_util.randomize_variables(distribution, scale=0.1)
  base = tmp_path_factory.mktemp('export')
  path = export.export_saved_model(distribution, str(base))
  return distribution, base, path


@pytest.fixture(scope='module')
def image_signatures(image_export):
  return tf.saved_model.load(image_export[2]).signatures


def _pixels(n, seed=0):
  rng = np.random.default_rng(seed)
  return rng.uniform(0., 256., size=(n, 8, 8, 1)).astype(np.float32)


class TestImageExport:

  def test_version_directory_layout(self, image_export):
    _, base, path = image_export
    assert path == str(base / '1')
    assert (base / '1' / 'saved_model.pb').exists()
    assert export.next_version_dir(str(base)) == str(base / '2')
    assert not list(base.glob('*.tmp'))

  @pytest.mark.slow
  def test_fresh_tensorflow_only_process_reproduces_log_prob(
      self, image_export, tmp_path):
    distribution, _, path = image_export
    pixels = _pixels(7)
    with tfp_realnvp.training_mode(False):
      expected = distribution.log_prob(pixels).numpy()
      expected_bits = distribution.bits_per_dim(pixels).numpy()
    results = _load_in_fresh_process(path, pixels, 'images', tmp_path)
    assert results['foreign_modules'] == []
    for size in (1, 7):
      np.testing.assert_allclose(results[f'log_prob_{size}'], expected[:size],
                                 rtol=1e-5)
      np.testing.assert_allclose(results[f'bits_per_dim_{size}'],
                                 expected_bits[:size], rtol=1e-5)
      # decode(encode(x)) == x up to float32 rounding of pixel values.
      assert results[f'round_trip_{size}'] < 1e-3
    assert results['sample_shape'] == [5, 8, 8, 1]
    assert results['sample_finite']

  def test_sample_is_deterministic_in_seed_and_in_range(
      self, image_signatures):
    sample = image_signatures['sample']
    args = dict(num_samples=tf.constant(4), temperature=tf.constant(1.))
    first = sample(seed=tf.constant(1), **args)['images'].numpy()
    again = sample(seed=tf.constant(1), **args)['images'].numpy()
    other = sample(seed=tf.constant(2), **args)['images'].numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.min() >= 0. and first.max() < 256.

  def test_one_seed_form_and_the_python_defaults(self, image_export):
    loaded = tf.saved_model.load(image_export[2])
    # Defaults where the Python API has them: temperature 1, seed 0, K = 1.
    np.testing.assert_array_equal(loaded.sample(3),
                                  loaded.sample(3, 1., 0))
    pixels = tf.constant(_pixels(5), tf.float32)
    pixels = tf.cast(tf.floor(pixels), tf.uint8)
    np.testing.assert_array_equal(loaded.discrete_log_prob(pixels),
                                  loaded.discrete_log_prob(pixels, 1, 0))
    # The same int seed everywhere: `dequantize(pixels, seed)` is draw 0 of
    # `discrete_log_prob(pixels, K, seed)`.
    for seed in (0, 7):
      draw = loaded.dequantize(tf.identity(pixels), seed)
      np.testing.assert_allclose(
          loaded.discrete_log_prob(tf.identity(pixels), 1, seed),
          loaded.log_prob(draw['values']) - draw['log_q'], rtol=1e-6)
    assert not np.array_equal(loaded.dequantize(pixels, 1)['values'],
                              loaded.dequantize(pixels, 2)['values'])

  @pytest.mark.parametrize('value, message', [
      (np.nan, 'contains NaN or Inf'),
      (np.inf, 'contains NaN or Inf'),
      (-1., 'negative value'),
      (256., 'value >= 256'),
  ])
  def test_bad_pixels_raise_naming_the_problem(self, image_signatures,
                                               value, message):
    signatures = image_signatures
    pixels = _pixels(2)
    pixels[0, 3, 3, 0] = value
    for name in ('log_prob', 'bits_per_dim', 'encode'):
      with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        signatures[name](images=tf.constant(pixels))

  @pytest.mark.parametrize('shape', [[2, 16, 16, 1], [2, 8, 8, 3],
                                     [8, 8, 1], [1, 2, 8, 8, 1]])
  def test_wrong_shape_raises_naming_the_expected_shape(
      self, image_signatures, shape):
    signatures = image_signatures
    for name in ('log_prob', 'encode'):
      with pytest.raises(tf.errors.InvalidArgumentError,
                         match=r'must have shape \(batch, 8, 8, 1\)'):
        signatures[name](images=tf.zeros(shape))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r'`latents` must have shape'):
      signatures['decode'](latents=tf.zeros(shape))

  @pytest.mark.slow
  def test_saved_model_cli_shows_the_signatures(self, image_export):
    _, _, path = image_export
    cli = pathlib.Path(sys.executable).parent / 'saved_model_cli'
    command = ([str(cli)] if cli.exists() else
               [sys.executable, '-m',
                'tensorflow.python.tools.saved_model_cli'])
    result = subprocess.run(
        command + ['show', '--dir', path, '--tag_set', 'serve'],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ('log_prob', 'bits_per_dim', 'sample', 'encode', 'decode'):
      assert f'"{name}"' in result.stdout


def test_vector_flow_export_round_trips(tmp_path):
  distribution = tfp_realnvp.VectorRealNVP(2, num_couplings=2,
                                           num_res_blocks=1, num_hidden=8)
  bijector_test_util.randomize_variables(distribution, scale=0.1)
  path = export.export_saved_model(distribution, str(tmp_path), version=5)
  assert path.endswith('/5')
  signatures = tf.saved_model.load(path).signatures
  points = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
  with tfp_realnvp.training_mode(False):
    expected = distribution.log_prob(points).numpy()
  np.testing.assert_allclose(
      signatures['log_prob'](values=tf.constant(points))['log_prob'],
      expected, rtol=1e-5)
  latents = signatures['encode'](values=tf.constant(points))['latents']
  np.testing.assert_allclose(
      signatures['decode'](latents=latents)['values'], points, atol=1e-5)


@pytest.fixture(scope='module')
def conditional_export(tmp_path_factory):
  """A conditional flow with random weights and its loaded export."""
  distribution = tfp_realnvp.ConditionalRealNVP(
      (8, 8, 1), num_classes=3, num_scales=2, num_res_blocks=0, num_filters=4)
  bijector_test_util.randomize_variables(distribution, scale=0.1)
  path = export.export_saved_model(
      distribution, str(tmp_path_factory.mktemp('conditional_export')))
  return distribution, tf.saved_model.load(path)


def test_conditional_export_takes_labels_and_checks_them(conditional_export):
  distribution, loaded = conditional_export
  assert int(loaded.num_classes) == 3 and int(loaded.num_scales) == 2
  signatures = loaded.signatures
  pixels = tf.constant(_pixels(3))
  labels = tf.constant([0, 2, 1])
  np.testing.assert_allclose(
      signatures['log_prob'](images=pixels, labels=labels)['log_prob'],
      distribution.log_prob(pixels, labels=labels), rtol=1e-5)
  latents = signatures['encode'](images=pixels, labels=labels)['latents']
  np.testing.assert_allclose(
      signatures['decode'](latents=latents, labels=labels)['images'], pixels,
      atol=1e-3)
  samples = signatures['sample'](num_samples=tf.constant(4),
                                 temperature=tf.constant(1.),
                                 seed=tf.constant(0),
                                 labels=tf.constant([2]))['images']
  assert samples.shape == (4, 8, 8, 1)
  with pytest.raises(tf.errors.InvalidArgumentError, match='num_classes'):
    signatures['log_prob'](images=pixels, labels=tf.constant([0, 3, 1]))
  with pytest.raises(tf.errors.InvalidArgumentError, match='one per example'):
    signatures['log_prob'](images=pixels, labels=tf.constant([0, 1]))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))


def _rest_predict(signature, request_json):
  """TF Serving's REST `predict`, decoded as the server decodes it.

  The row format: `instances` is a list with one entry per example, a bare
  value for a one-input signature or a dict of named inputs; the server
  stacks them into one batch per input, casts to the signature's dtypes,
  calls it and returns `predictions`, one per example.
  """
  request = json.loads(request_json)
  instances = request['instances']
  inputs = signature.structured_input_signature[1]
  if not isinstance(instances[0], dict):
    (name,) = inputs
    instances = [{name: instance} for instance in instances]
  batch = {name: tf.constant([instance[name] for instance in instances],
                             spec.dtype)
           for name, spec in inputs.items()}
  outputs = signature(**batch)
  (output,) = outputs.values()
  return json.dumps({'predictions': output.numpy().tolist()})


def test_serving_default_answers_a_rest_request_with_bits_per_dim(
    image_export):
  distribution, _, path = image_export
  pixels = _pixels(3, seed=4)
  signatures = tf.saved_model.load(path).signatures
  assert 'serving_default' in signatures
  request = json.dumps({'instances': pixels.tolist()})
  response = json.loads(_rest_predict(signatures['serving_default'], request))
  np.testing.assert_allclose(response['predictions'],
                             distribution.bits_per_dim(pixels), rtol=1e-5)


def test_serving_default_of_a_conditional_export_takes_labels(
    conditional_export):
  distribution, loaded = conditional_export
  pixels = _pixels(2, seed=5)
  request = json.dumps({'instances': [
      {'images': pixels[0].tolist(), 'labels': 2},
      {'images': pixels[1].tolist(), 'labels': 0}]})
  response = json.loads(_rest_predict(loaded.signatures['serving_default'],
                                      request))
  np.testing.assert_allclose(
      response['predictions'],
      distribution.bits_per_dim(pixels, labels=[2, 0]), rtol=1e-5)
