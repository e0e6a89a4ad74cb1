"""Tests of the multi-scale RealNVP model and VectorRealNVP."""

import sys

import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tests import bijector_test_util

IMAGE_SHAPE = (4, 4, 2)


def _tiny_model(dtype=tf.float64, **kwargs):
  model = tfp_realnvp.RealNVP(IMAGE_SHAPE, num_scales=2, num_res_blocks=1,
                              num_filters=4, dtype=dtype, **kwargs)
  bijector_test_util.randomize_variables(model)
  return model


def _pixels(n, seed=0, dtype=tf.float64):
  return tf.random.stateless_uniform((n,) + IMAGE_SHAPE, [seed, 3], 0., 256.,
                                     dtype=dtype)


def test_log_prob_matches_brute_force_jacobian_of_the_whole_model():
  model = _tiny_model()
  pixels = _pixels(2)
  latents = model.bijector.inverse(tf.identity(pixels))
  brute_force = bijector_test_util.brute_force_log_det(
      lambda x: model.bijector.inverse(tf.identity(x)), pixels, 3)
  np.testing.assert_allclose(
      model.log_prob(pixels),
      model.distribution.log_prob(latents) + brute_force, rtol=1e-10)


def test_round_trip_is_exact():
  model = _tiny_model()
  pixels = _pixels(3)
  latents = model.bijector.inverse(tf.identity(pixels))
  assert latents.shape == pixels.shape
  np.testing.assert_allclose(model.bijector.forward(tf.identity(latents)),
                             pixels, rtol=1e-10, atol=1e-10)


def test_per_scale_latents_split_and_join_back():
  model = _tiny_model()
  latents = model.bijector.inverse(_pixels(3))
  parts = model.split_latents(latents)
  assert [p.shape for p in parts] == [(3, 2, 2, 4), (3, 2, 2, 4)]
  np.testing.assert_array_equal(model.join_latents(parts), latents)


def test_eval_log_prob_of_an_example_does_not_depend_on_its_batch():
  model = _tiny_model()
  pixels = _pixels(4)
  alone = [model.log_prob(tf.identity(pixels[i:i + 1]))[0] for i in range(4)]
  np.testing.assert_allclose(model.log_prob(pixels), alone, rtol=1e-12)


def test_bits_per_dim_is_negative_log_prob_over_d_ln_2():
  model = _tiny_model()
  pixels = _pixels(3)
  expected = -model.log_prob(pixels).numpy() / (4 * 4 * 2 * np.log(2.))
  np.testing.assert_allclose(model.bits_per_dim(pixels), expected, rtol=1e-12)


def test_samples_have_the_image_shape_lie_in_range_and_are_finite():
  model = _tiny_model(dtype=tf.float32)
  for temperature in (0., 0.5, 1.):
    samples = model.sample_pixels(5, temperature=temperature, seed=1).numpy()
    assert samples.shape == (5,) + IMAGE_SHAPE
    assert np.all(np.isfinite(samples))
    assert np.all((samples >= 0.) & (samples < 256.))
  images = tfp_realnvp.to_uint8(model.sample_pixels(2, seed=2))
  assert images.dtype == tf.uint8


def test_zero_temperature_decodes_the_zero_latent():
  model = _tiny_model()
  samples = model.sample_pixels(2, temperature=0., seed=3)
  expected = model.bijector.forward(tf.zeros((1,) + IMAGE_SHAPE, tf.float64))
  np.testing.assert_allclose(samples, np.broadcast_to(
      np.clip(expected, 0., 256.), samples.shape), rtol=1e-12)


def test_to_uint8_floors_and_clips():
  np.testing.assert_array_equal(
      tfp_realnvp.to_uint8(tf.constant([-1., 0.5, 17.99, 255.9, 300.])),
      [0, 0, 17, 255, 255])


@pytest.mark.parametrize('image_shape,expected', [
    ((32, 32, 3), 4), ((64, 64, 3), 5), ((28, 28, 1), 3), ((8, 8, 1), 2),
    ((4, 4, 1), 1)])
def test_default_num_scales_recurses_to_4x4(image_shape, expected):
  assert tfp_realnvp.default_num_scales(image_shape) == expected


def test_paper_presets():
  assert tfp_realnvp.PRESETS['cifar10'] == dict(
      image_shape=(32, 32, 3), num_scales=2, num_res_blocks=8, num_filters=64)
  for name, config in tfp_realnvp.PRESETS.items():
    assert tfp_realnvp.default_num_scales(config['image_shape']) >= (
        config['num_scales']), name
  model = tfp_realnvp.RealNVP.from_preset('mnist', num_filters=4,
                                          num_res_blocks=1)
  assert model.num_scales == 2 and model.event_shape == (28, 28, 1)


def test_bad_configurations_raise():
  with pytest.raises(ValueError, match=r'\(H, W, C\)'):
    tfp_realnvp.RealNVP((8, 8))
  with pytest.raises(ValueError, match='divisible by 4'):
    tfp_realnvp.RealNVP((6, 6, 1), num_scales=3)
  with pytest.raises(ValueError, match='Unknown preset'):
    tfp_realnvp.RealNVP.from_preset('svhn')
  with pytest.raises(ValueError, match='even number'):
    tfp_realnvp.VectorRealNVP(3)


def test_validate_args_rejects_out_of_range_pixels():
  model = tfp_realnvp.RealNVP(IMAGE_SHAPE, num_scales=2, num_res_blocks=1,
                              num_filters=4, validate_args=True)
  with pytest.raises(tf.errors.InvalidArgumentError, match=r'\[0, 256\)'):
    model.log_prob(tf.fill((1,) + IMAGE_SHAPE, 256.))


def _bad_pixels(kind):
  pixels = np.full((2,) + IMAGE_SHAPE, 100., np.float32)
  if kind in ('nan', 'inf'):
    pixels[1, 0, 0, 0] = np.nan if kind == 'nan' else np.inf
  elif kind == 'negative':
    pixels[0, 1, 1, 0] = -1.
  elif kind == 'too_large':
    pixels[0, 1, 1, 0] = 300.
  elif kind == 'wrong_size':
    pixels = np.zeros((2, 2 * IMAGE_SHAPE[0]) + IMAGE_SHAPE[1:], np.float32)
  elif kind == 'no_batch_rank':
    pixels = np.zeros(IMAGE_SHAPE[:2], np.float32)
  return pixels


@pytest.mark.parametrize('kind, error, message', [
    ('nan', tf.errors.InvalidArgumentError, 'contain NaN or Inf'),
    ('inf', tf.errors.InvalidArgumentError, 'contain NaN or Inf'),
    ('negative', tf.errors.InvalidArgumentError, 'got a negative value'),
    ('too_large', tf.errors.InvalidArgumentError, 'got a value >= 256'),
    ('wrong_size', ValueError, r'expected an event of shape \(4, 4, 2\)'),
    ('no_batch_rank', ValueError, 'expected a tensor of rank >= 3'),
])
def test_validate_args_names_each_bad_input(kind, error, message):
  model = tfp_realnvp.RealNVP(IMAGE_SHAPE, num_scales=2, num_res_blocks=1,
                              num_filters=4, validate_args=True)
  with pytest.raises(error, match=message):
    model.log_prob(_bad_pixels(kind))
  with pytest.raises(error, match=message):
    model.bijector.inverse(_bad_pixels(kind))


def test_vector_model_log_det_is_exact():
  model = tfp_realnvp.VectorRealNVP(4, num_couplings=3, num_res_blocks=1,
                                    num_hidden=8, dtype=tf.float64)
  bijector_test_util.randomize_variables(model)
  x = tf.random.stateless_normal([5, 4], [1, 9], dtype=tf.float64)
  latents = model.bijector.inverse(tf.identity(x))
  brute_force = bijector_test_util.brute_force_log_det(
      lambda x: model.bijector.inverse(tf.identity(x)), x, 1)
  np.testing.assert_allclose(
      model.log_prob(x), model.distribution.log_prob(latents) + brute_force,
      rtol=1e-10)
  np.testing.assert_allclose(model.bijector.forward(tf.identity(latents)), x,
                             rtol=1e-10, atol=1e-10)


def _tiny_conditional_model(dtype=tf.float64, **kwargs):
  model = tfp_realnvp.ConditionalRealNVP(
      IMAGE_SHAPE, num_classes=3, num_scales=2, num_res_blocks=1,
      num_filters=4, dtype=dtype, **kwargs)
  bijector_test_util.randomize_variables(model)
  return model


def test_conditional_log_prob_matches_brute_force_jacobian():
  model = _tiny_conditional_model()
  pixels = _pixels(3)
  labels = tf.constant([0, 1, 2])

  def encode(x):
    return model.bijector.inverse(tf.identity(x), conditional_input=labels)

  brute_force = bijector_test_util.brute_force_log_det(encode, pixels, 3)
  np.testing.assert_allclose(
      model.log_prob(pixels, labels=labels),
      model.distribution.log_prob(encode(pixels)) + brute_force, rtol=1e-10)
  np.testing.assert_allclose(
      model.bijector.forward(encode(pixels), conditional_input=labels),
      pixels, rtol=1e-10, atol=1e-10)


def test_conditional_log_prob_depends_on_the_label():
  model = _tiny_conditional_model()
  pixels = _pixels(3)
  per_label = [model.log_prob(pixels, labels=label) for label in range(3)]
  for first, second in ((0, 1), (1, 2), (0, 2)):
    assert np.all(np.abs(per_label[first] - per_label[second]) > 1e-6)
  # One label per example picks the matching column.
  np.testing.assert_allclose(model.log_prob(pixels, labels=[2, 0, 1]),
                             [per_label[2][0], per_label[0][1],
                              per_label[1][2]], rtol=1e-12)
  np.testing.assert_allclose(
      model.bits_per_dim(pixels, labels=1),
      -per_label[1] / (np.prod(IMAGE_SHAPE) * np.log(2.)), rtol=1e-12)


def test_conditional_samples_follow_their_label():
  model = _tiny_conditional_model(dtype=tf.float32)
  seed = tf.constant([3, 4])
  pixels = model.sample_pixels(4, labels=[0, 1, 2, 0], seed=seed)
  assert pixels.shape == (4,) + IMAGE_SHAPE
  assert np.all(np.isfinite(pixels)) and np.all((pixels >= 0) & (pixels < 256))
  # Same latents, labels 0 and 0 agree, 0 and 1 differ.
  latents = model.sample(4, labels=[0, 1, 2, 0], seed=seed)
  same = model.sample(4, labels=0, seed=seed)
  np.testing.assert_allclose(latents[0], same[0], rtol=1e-6)
  assert np.max(np.abs(latents[1] - same[1])) > 1e-3


def test_conditional_model_label_errors():
  model = _tiny_conditional_model(dtype=tf.float32)
  pixels = _pixels(2, dtype=tf.float32)
  with pytest.raises(ValueError, match='pass `labels`'):
    model.log_prob(pixels)
  with pytest.raises(TypeError, match='integers'):
    model.log_prob(pixels, labels=[0.5, 1.])
  with pytest.raises(TypeError, match='keyword-only'):
    model.log_prob(pixels, [0, 1])
  # Labels known at once are refused at once; others when they arrive.
  with pytest.raises(ValueError, match=r'must lie in \[0, 3\)'):
    model.log_prob(pixels, labels=[0, 3])
  with pytest.raises(ValueError, match=r'must lie in \[0, 3\)'):
    model.sample_pixels(2, labels=-1)
  with pytest.raises(tf.errors.InvalidArgumentError, match='num_classes'):
    tf.function(lambda labels: model.log_prob(pixels, labels=labels),
                autograph=False)(tf.constant([0, 3]))
  with pytest.raises(ValueError, match='pass `labels`'):
    model.encode(pixels)
  with pytest.raises(ValueError, match='num_classes'):
    tfp_realnvp.ConditionalRealNVP(IMAGE_SHAPE, num_classes=0)
  with pytest.raises(ValueError, match='not class-conditional'):
    _tiny_model(dtype=tf.float32).encode(pixels, labels=[0, 1])


def test_encode_and_decode_are_the_evaluation_mode_bijector():
  model = _tiny_conditional_model()
  bijector_test_util.randomize_variables(model)
  pixels, labels = _pixels(3), tf.constant([0, 1, 2])
  latents = model.encode(pixels, labels=labels)
  expected = model.bijector.inverse(tf.identity(pixels), training=False,
                                    conditional_input=labels)
  np.testing.assert_allclose(latents, expected, rtol=1e-12)
  np.testing.assert_allclose(model.decode(latents, labels=labels), pixels,
                             rtol=1e-10, atol=1e-10)
  other = model.encode(pixels, labels=tf.constant([1, 2, 0]))
  assert np.max(np.abs(other - latents)) > 1e-3


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
