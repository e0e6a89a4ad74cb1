"""Arithmetic checks for bijectors: round trips and brute-force log-dets.

TFP's own bijector test utilities are test-only and not in its pip package,
so these are ours.
"""

import numpy as np
import pytest
import tensorflow as tf

DTYPES = [tf.float32, tf.float64]
MODES = ['eager', 'function']


def tolerances(dtype):
  """(rtol, atol) for comparing results computed in `dtype`."""
  return (1e-10, 1e-10) if dtype == tf.float64 else (1e-5, 1e-5)


def ldj_tolerances(dtype):
  """(rtol, atol) for a log-det against a brute-force slogdet in `dtype`."""
  return (1e-8, 1e-8) if dtype == tf.float64 else (1e-3, 1e-3)


def run(mode, fn, *args):
  """Calls `fn(*args)` eagerly or inside a fresh `tf.function`."""
  if mode == 'function':
    return tf.function(fn, autograph=False)(*args)
  return fn(*args)


def randomize_variables(module, seed=0, scale=0.3):
  """Moves every variable of `module` away from its initial value.

  A zero-initialised coupling is the identity and unit batch statistics are a
  no-op, so either would pass any log-det check; random weights and moved
  statistics make the checks bite.
  """
  rng = np.random.default_rng(seed)
  for variable in module.variables:
    shape, dtype = variable.shape, variable.dtype.as_numpy_dtype
    if 'moving_variance' in variable.name:
      value = rng.uniform(0.5, 2., shape)
    elif 'moving_mean' in variable.name:
      value = rng.normal(0., 1., shape)
    elif 'num_updates' in variable.name:
      # A count: some updates done, so training mode still debiases.
      value = np.full(shape, 5.)
    else:
      value = rng.normal(0., scale, shape)
    variable.assign(value.astype(dtype))


def debiased_average(values, momentum):
  """The zero-debiased exponential average of `values`, oldest first.

  `sum_i (1 - m_i) prod_{j > i}(m_j) x_i / (1 - prod_i(m_i))`, written out as
  the weighted sum (the code keeps it as a recursion, so this is an
  independent check). `momentum`: one float, or one per value.
  """
  num = len(values)
  momenta = np.broadcast_to(np.asarray(momentum, np.float64), [num])
  weights = [(1. - momenta[i]) * np.prod(momenta[i + 1:]) for i in range(num)]
  total = sum(w * np.asarray(v, np.float64) for w, v in zip(weights, values))
  return total / (1. - np.prod(momenta))


def brute_force_log_det(fn, x, event_ndims):
  """`log|det J|` of `fn` at each event of `x`, from the full Jacobian.

  Args:
    fn: maps a tensor shaped like `x` to one with the same number of units
      per event (the event shape may change, e.g. a squeeze).
    x: tensor with exactly one batch dimension.
    event_ndims: rank of the event.

  Returns:
    A `(batch,)` tensor of log-dets.
  """
  batch = x.shape[0]
  event_shape = x.shape[1:]
  assert len(event_shape) == event_ndims
  # Persistent, so the Jacobian is built row by row without pfor, which
  # cannot vectorize every op a network may use.
  with tf.GradientTape(persistent=True) as tape:
    flat_x = tf.reshape(x, [batch, -1])
    tape.watch(flat_x)
    flat_y = tf.reshape(fn(tf.reshape(flat_x, x.shape)), [batch, -1])
  jacobian = tape.batch_jacobian(flat_y, flat_x, experimental_use_pfor=False)
  sign, log_abs_det = tf.linalg.slogdet(jacobian)
  np.testing.assert_array_equal(sign.numpy() != 0, True)
  return log_abs_det


def assert_round_trip(bijector, x, mode='eager', direction='forward',
                      **kwargs):
  """Asserts `inverse(forward(x)) == x` (or the reverse), computed afresh.

  Each step gets a fresh tensor (`tf.identity`): TFP's cache would otherwise
  answer `inverse(forward(x))` with `x` itself without running the inverse.

  Args:
    bijector: the bijector to check.
    x: the input of the first step.
    mode: `'eager'` or `'function'`.
    direction: `'forward'` for `inverse(forward(x))`, `'inverse'` for
      `forward(inverse(x))`.
    **kwargs: keywords of both calls (e.g. `conditional_input`).
  """
  first, second = ((bijector.forward, bijector.inverse)
                   if direction == 'forward'
                   else (bijector.inverse, bijector.forward))
  round_trip = run(
      mode, lambda x: second(tf.identity(first(tf.identity(x), **kwargs)),
                             **kwargs), x)
  rtol, atol = tolerances(x.dtype)
  np.testing.assert_allclose(round_trip, x, rtol=rtol, atol=atol * 10)


def _float64_or_eager(dtype, mode):
  """The brute-force Jacobians: float64 in both modes, float32 eagerly.

  A traced float32 Jacobian adds seconds per bijector and no case the
  others miss: the exactness is float64's, the float32 arithmetic is
  checked eagerly and by the round trips in both modes.
  """
  if dtype == tf.float32 and mode == 'function':
    pytest.skip('float32 Jacobians are checked eagerly')


class BijectorChecks:
  """Checks every bijector configuration must pass.

  Subclasses define `make_bijector(dtype)`, `event_shape` (the forward
  input's event shape) and optionally `sample_forward_input(dtype, shape)`.
  Tests run for float32 and float64, eagerly and inside `tf.function`.
  """

  event_shape = None
  batch_size = 3

  def make_bijector(self, dtype):
    raise NotImplementedError

  def sample_forward_input(self, dtype, shape):
    return tf.random.stateless_normal(shape, seed=[1, 2], dtype=dtype)

  @pytest.fixture(params=DTYPES, ids=lambda d: d.name)
  def dtype(self, request):
    return request.param

  @pytest.fixture(params=MODES)
  def mode(self, request):
    return request.param

  def _setup(self, dtype, batch_shape=None):
    bijector = self.make_bijector(dtype)
    randomize_variables(bijector)
    batch_shape = [self.batch_size] if batch_shape is None else batch_shape
    x = self.sample_forward_input(dtype, batch_shape + list(self.event_shape))
    return bijector, x

  @property
  def event_ndims(self):
    return len(self.event_shape)

  def test_inverse_of_forward_is_identity(self, dtype, mode):
    bijector, x = self._setup(dtype)
    assert_round_trip(bijector, x, mode, 'forward')

  def test_forward_of_inverse_is_identity(self, dtype, mode):
    bijector, x = self._setup(dtype)
    y = tf.identity(bijector.forward(x))
    assert_round_trip(bijector, y, mode, 'inverse')

  def test_forward_log_det_matches_brute_force_jacobian(self, dtype, mode):
    _float64_or_eager(dtype, mode)
    bijector, x = self._setup(dtype)
    fldj = run(mode, lambda x: bijector.forward_log_det_jacobian(
        x, event_ndims=self.event_ndims), x)
    expected = brute_force_log_det(
        lambda x: bijector.forward(tf.identity(x)), x, self.event_ndims)
    rtol, atol = ldj_tolerances(dtype)
    np.testing.assert_allclose(
        np.broadcast_to(fldj, expected.shape), expected, rtol=rtol, atol=atol)

  def test_inverse_log_det_matches_brute_force_jacobian(self, dtype, mode):
    _float64_or_eager(dtype, mode)
    bijector, x = self._setup(dtype)
    y = tf.identity(bijector.forward(x))
    ildj = run(mode, lambda y: bijector.inverse_log_det_jacobian(
        y, event_ndims=self.event_ndims), y)
    expected = brute_force_log_det(
        lambda y: bijector.inverse(tf.identity(y)), y, len(y.shape) - 1)
    rtol, atol = ldj_tolerances(dtype)
    np.testing.assert_allclose(
        np.broadcast_to(ildj, expected.shape), expected, rtol=rtol, atol=atol)

  def test_forward_log_det_is_minus_inverse_log_det_at_forward(
      self, dtype, mode):
    bijector, x = self._setup(dtype)

    def both(x):
      fldj = bijector.forward_log_det_jacobian(x, event_ndims=self.event_ndims)
      y = tf.identity(bijector.forward(x))
      ildj = bijector.inverse_log_det_jacobian(
          y, event_ndims=len(y.shape) - 1)
      return fldj, ildj

    fldj, ildj = run(mode, both, x)
    rtol, atol = tolerances(dtype)
    np.testing.assert_allclose(fldj, -np.asarray(ildj), rtol=rtol * 10,
                               atol=atol * 10)

  def test_any_number_of_batch_dimensions(self, dtype, mode):
    bijector, x = self._setup(dtype, batch_shape=[2, 3])
    y, fldj = run(mode, lambda x: (
        bijector.forward(x),
        bijector.forward_log_det_jacobian(x, event_ndims=self.event_ndims)), x)
    expected_event = bijector.forward_event_shape(self.event_shape)
    assert y.shape == tf.TensorShape([2, 3]).concatenate(expected_event)
    assert tf.broadcast_static_shape(
        tf.TensorShape(fldj.shape), tf.TensorShape([2, 3])) == [2, 3]
    # Each event transforms as it would alone.
    flat_y = bijector.forward(tf.reshape(x, [6] + list(self.event_shape)))
    rtol, atol = tolerances(dtype)
    np.testing.assert_allclose(tf.reshape(y, flat_y.shape), flat_y,
                               rtol=rtol, atol=atol)

  def test_event_shape_methods_agree_with_outputs(self, dtype):
    bijector, x = self._setup(dtype)
    y = bijector.forward(x)
    assert bijector.forward_event_shape(self.event_shape) == y.shape[1:]
    assert bijector.inverse_event_shape(y.shape[1:]) == self.event_shape
    np.testing.assert_array_equal(
        bijector.forward_event_shape_tensor(self.event_shape), y.shape[1:])
    np.testing.assert_array_equal(
        bijector.inverse_event_shape_tensor(y.shape[1:]), self.event_shape)

  def test_output_dtype_is_input_dtype(self, dtype):
    bijector, x = self._setup(dtype)
    assert bijector.forward(x).dtype == dtype
    assert bijector.forward_log_det_jacobian(
        x, event_ndims=self.event_ndims).dtype == dtype
