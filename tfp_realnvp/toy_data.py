"""The classic 2-D toy densities of the paper's Figure 1 (moons, circles, ...).

Part of `tfp_realnvp.data`, which re-exports every public name here.
"""

import numpy as np
import tensorflow as tf

__all__ = ['TOY_DATASETS', 'toy_dataset', 'toy_samples']


# scikit-learn loads slowly; only two toys need it.
def _sklearn_datasets():
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  return datasets


def _moons(n, rng):
  points, _ = _sklearn_datasets().make_moons(
      n, noise=0.05, random_state=int(rng.integers(2**31)))
  return points


def _circles(n, rng):
  points, _ = _sklearn_datasets().make_circles(
      n, noise=0.05, factor=0.5, random_state=int(rng.integers(2**31)))
  return points


def _eight_gaussians(n, rng):
  angles = rng.integers(0, 8, n) * np.pi / 4.
  centers = 2. * np.stack([np.cos(angles), np.sin(angles)], 1)
  return centers + 0.2 * rng.normal(size=(n, 2))


def _checkerboard(n, rng):
  x = rng.uniform(-2., 2., n)
  y = rng.uniform(0., 1., n) + rng.integers(0, 2, n) * 2. - 2.
  y = y + (np.floor(x) % 2)
  return np.stack([x, y], 1)


TOY_DATASETS = {
    'moons': _moons,
    'circles': _circles,
    'eight_gaussians': _eight_gaussians,
    'checkerboard': _checkerboard,
}


def toy_samples(name, num_samples, seed=0):
  """`num_samples` float32 points of a classic 2-D toy density."""
  if name not in TOY_DATASETS:
    raise ValueError(
        f'Unknown toy dataset {name!r}; choose one of {sorted(TOY_DATASETS)}.')
  rng = np.random.default_rng(seed)
  return TOY_DATASETS[name](num_samples, rng).astype(np.float32)


def toy_dataset(name, num_samples=10000, batch_size=256, shuffle=True, seed=0):
  """A batched dataset of a 2-D toy density (paper Fig. 1)."""
  points = tf.data.Dataset.from_tensor_slices(
      toy_samples(name, num_samples, seed))
  if shuffle:
    points = points.shuffle(num_samples, seed=seed)
  return points.batch(batch_size).prefetch(tf.data.AUTOTUNE)
