"""Tests of scoring images: per-image and per-scale bits/dim, CSV, histogram."""

import csv
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp.app import figures
from tfp_realnvp.app import loading
from tfp_realnvp.app import scoring
from tfp_realnvp.dequantization import noise

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _write_pngs(directory, pixels):
  directory.mkdir(exist_ok=True)
  for index, image in enumerate(tfp_realnvp.to_uint8(pixels).numpy()):
    figures.write_png(str(directory / f'{index:02d}.png'), image)
  return directory


@pytest.fixture(scope='module')
def flow(trained_run_dir):
  return loading.load_flow(str(trained_run_dir))


# The library's flow is scored by the tests below; its sums repeat these.
@pytest.mark.parametrize('source', [
    pytest.param('checkpoint', marks=pytest.mark.slow), 'saved_model'])
def test_per_scale_columns_add_up_to_the_bits_per_dim(trained_run_dir,
                                                      source):
  path = trained_run_dir if source == 'checkpoint' else (
      trained_run_dir / 'export')
  flow = loading.load_flow(str(path))
  pixels = np.random.default_rng(0).uniform(0., 256., (5, 8, 8, 1))
  scores = scoring.score(flow, pixels.astype(np.float32), batch_size=2)
  assert set(scores) == {'bits_per_dim', 'scale_1', 'scale_2', 'log_det',
                         'latent_norm'}
  np.testing.assert_allclose(scores['bits_per_dim'],
                             flow.bits_per_dim(pixels.astype(np.float32)),
                             rtol=1e-5)
  total = scores['scale_1'] + scores['scale_2'] + scores['log_det']
  np.testing.assert_allclose(total, scores['bits_per_dim'], rtol=1e-6)
  # The scales' shares are the prior terms of their own latents, by hand.
  latents = flow.encode(pixels.astype(np.float32)).numpy()
  parts = tfp_realnvp.split_multiscale_latents(latents, 2)
  finest = parts[0].numpy().reshape(5, -1).astype(np.float64)
  expected = (0.5 * np.sum(finest ** 2, axis=1)
              + 0.5 * finest.shape[1] * np.log(2 * np.pi)) / (64 * np.log(2))
  np.testing.assert_allclose(scores['scale_1'], expected, rtol=1e-5)
  np.testing.assert_allclose(scores['latent_norm'],
                             np.linalg.norm(latents.reshape(5, -1), axis=1),
                             rtol=1e-5)


def test_images_are_read_and_checked_against_the_model(flow, tmp_path):
  directory = _write_pngs(tmp_path / 'samples',
                          flow.sample_values(3, seed=1))
  names, pixels = scoring.load_images(str(directory), flow.event_shape)
  assert [pathlib.Path(n).name for n in names] == ['00.png', '01.png',
                                                   '02.png']
  assert pixels.shape == (3, 8, 8, 1) and pixels.dtype == np.uint8
  again = scoring.load_images(str(directory / '*.png'), flow.event_shape)[1]
  np.testing.assert_array_equal(pixels, again)

  rgb = _write_pngs(tmp_path / 'rgb', np.zeros([1, 8, 8, 3]))
  with pytest.raises(ValueError, match=r'\(8, 8, 3\).*\(8, 8, 1\).*takes '
                                       r'grayscale images, this one is RGB'):
    scoring.load_images(str(rgb), flow.event_shape)
  big = _write_pngs(tmp_path / 'big', np.zeros([1, 16, 16, 1]))
  with pytest.raises(ValueError, match=r'\(16, 16, 1\), the model takes '
                                       r'\(8, 8, 1\)'):
    scoring.load_images(str(big), flow.event_shape)
  with pytest.raises(ValueError, match='No PNG or JPEG'):
    scoring.load_images(str(tmp_path / 'nothing' / '*.png'), (8, 8, 1))


def test_integer_pixels_are_dequantized_by_the_flows_own_noise(flow):
  pixels = np.random.default_rng(2).integers(0, 256, (6, 8, 8, 1))
  scores = scoring.score(flow, tf.constant(pixels, tf.uint8), batch_size=3,
                         seed=7)
  # Image i's draw: the first of the K-draw estimate's, from the seed and i
  # alone, so the whole array at once draws what batches of 3 drew.
  values = flow.dequantizer(
      pixels, flow.dtype,
      seed=noise.draw_seed(noise.seed_pair(7), 0))[0].numpy()
  np.testing.assert_allclose(scores['bits_per_dim'],
                             flow.bits_per_dim(values), rtol=1e-5)
  assert np.all(scores['dequantization'] == 0.)  # Uniform noise: log q = 0.
  total = (scores['scale_1'] + scores['scale_2'] + scores['log_det'] +
           scores['dequantization'])
  np.testing.assert_allclose(total, scores['bits_per_dim'], rtol=1e-6)
  # A NumPy array means the same as a tensor.
  again = scoring.score(flow, pixels.astype(np.uint8), batch_size=3, seed=7)
  np.testing.assert_array_equal(again['bits_per_dim'], scores['bits_per_dim'])


def test_the_k_draw_column_is_each_images_estimate(flow):
  pixels = np.random.default_rng(1).integers(0, 256, (6, 8, 8, 1))
  scores = scoring.score(flow, pixels.astype(np.uint8), batch_size=3,
                         dequantization_samples=4, seed=7)
  # Each image's draws depend on the seed and its position alone.
  expected = tfp_realnvp.dequantization.importance_weighted_log_prob(
      flow, pixels, 4, seed=noise.seed_pair(7)).numpy() / (-64 * np.log(2.))
  np.testing.assert_allclose(scores['discrete_bits_per_dim'], expected,
                             rtol=1e-5)
  with pytest.raises(TypeError, match='takes integer pixels'):
    scoring.score(flow, (pixels + 0.5).astype(np.float32),
                  dequantization_samples=4)


@pytest.mark.slow
def test_score_binary_writes_the_csv_and_the_histogram(trained_run_dir,
                                                       flow, tmp_path):
  directory = _write_pngs(tmp_path / 'samples', flow.sample_values(4, seed=2))
  output, histogram = tmp_path / 'scores.csv', tmp_path / 'scores.png'
  result = subprocess.run(
      [sys.executable, str(ROOT / 'bin' / 'score.py'),
       f'--model={trained_run_dir / "export"}', f'--images={directory}',
       '--dataset=digits', '--reference_split=test', '--max_examples=50',
       '--dequantization_samples=2',
       f'--output={output}', f'--histogram={histogram}'],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(output) as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 4
  assert list(rows[0]) == ['example', 'bits_per_dim', 'scale_1', 'scale_2',
                           'log_det', 'dequantization', 'latent_norm',
                           'discrete_bits_per_dim']
  row = {k: float(v) for k, v in rows[0].items() if k != 'example'}
  assert row['scale_1'] + row['scale_2'] + row['log_det'] + row[
      'dequantization'] == pytest.approx(row['bits_per_dim'], abs=1e-4)
  image = tf.io.decode_png(tf.io.read_file(str(histogram)))
  assert image.shape[0] > 100 and image.shape[1] > 100
