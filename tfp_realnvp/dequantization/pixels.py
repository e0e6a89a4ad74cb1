"""What an input means to a pixel flow: the one place that decides it.

```none
integer dtype (uint8, int32, ...)  pixels: dequantized by FlowModel, scored
                                   discretely (`discrete_log_prob`), or
                                   refused by a density method with a line
                                   naming the discrete call
float, every value in [0, 1]       x / 255 preprocessing: refused by
                                   FlowModel (opt out: check_pixel_range)
float, every value a whole number  integer pixels cast to float, never
                                   dequantized: refused by FlowModel (the same
                                   opt-out), warned of by `bits_per_dim`
float otherwise                    dequantized values in [0, 256)
```

NumPy arrays, Python lists and tensors are read alike: by their dtype.
"""

import numpy as np
import tensorflow as tf

from tfp_realnvp.dequantization import units

__all__ = [
    'check_array', 'describe', 'float_pixels_message', 'is_integer',
    'looks_like_unit_range', 'looks_like_whole_numbers', 'pixel_error_message',
    'require_pixels', 'require_values', 'suspicion', 'with_pixel_checks',
]


def _dtype(values):
  dtype = getattr(values, 'dtype', None)
  if dtype is None:  # A Python list or scalar: NumPy's reading of it.
    dtype = np.asarray(values).dtype
  return tf.as_dtype(dtype)


def is_integer(values):
  """Whether `values` (a tensor, array, list or `tf.TensorSpec`) hold integers."""
  dtype = _dtype(values)
  return dtype.is_integer or dtype == tf.bool


def describe(values):
  """`'uint8 of shape (2, 8, 8, 1)'`, for messages."""
  shape = tf.TensorShape(getattr(values, 'shape', np.shape(values)))
  listed = '?' if shape.rank is None else tuple(shape.as_list())
  return f'{_dtype(values).name} of shape {listed}'


def require_values(values, who, flow):
  """Refuses integer input to a density method, naming the discrete call.

  Args:
    values: what was passed.
    who: the method, e.g. `'RealNVP.log_prob'`.
    flow: the flow (its `dequantizer` says whether it has pixels).

  Raises:
    TypeError: for integer values.
  """
  if not is_integer(values):
    return
  if flow.dequantizer is None:
    raise TypeError(f'{who}: the values are {describe(values)}; '
                    f'{flow.name} is a density over {flow.dtype.name} '
                    f'values. Cast them: tf.cast(x, tf.{flow.dtype.name}).')
  raise TypeError(
      f'{who}: the values are {describe(values)}, integer pixels; this is '
      'the density of dequantized values in [0, 256). Score integer pixels '
      'with flow.discrete_log_prob(pixels, samples=K), or dequantize them '
      'first: values, _ = flow.dequantizer(pixels, flow.dtype).')


def require_pixels(values, who):
  """Refuses float input where integer pixels are needed (a discrete call).

  Raises:
    TypeError: for float values.
  """
  if is_integer(values):
    return
  raise TypeError(
      f'{who}: the pixels are {describe(values)} (already dequantized); it '
      'takes integer pixels and draws the dequantization noise itself, e.g. '
      'tfp_realnvp.data.evaluation_dataset(..., dequantized=False).')


def looks_like_unit_range(values):
  """Whether every value of a (NumPy or eager) batch is at most 1.

  Pixels of the usual preprocessing (`x / 255.`,
  `tf.image.convert_image_dtype`) are; a batch of dequantized 8-bit images
  essentially never is.
  """
  values = np.asarray(values)
  return values.size > 0 and float(np.max(values)) <= 1.


def looks_like_whole_numbers(values):
  """Whether every value of a float (NumPy or eager) batch is a whole number.

  Integer pixels cast to float (`x.astype('float32')`) are; dequantized
  pixels essentially never are.
  """
  values = np.asarray(values)
  return values.size > 0 and bool(np.all(values == np.floor(values)))


_UNIT_RANGE = (
    'the pixel values all lie in [0, 1], but tfp_realnvp image '
    'flows model dequantized pixels in [0, 256) (the paper\'s bits/dim '
    'count 256 levels). Give the uint8 pixels (FlowModel dequantizes them), '
    'or for x / 255 data tf.round(x * 255) as uint8')
_WHOLE_NUMBERS = (
    'the pixel values are all whole numbers: integer pixels as '
    'floats (x.astype("float32")), never dequantized, on which a density '
    'scores points instead of pixels and its bits/dim mean nothing. Give '
    'the integer pixels themselves (uint8: FlowModel dequantizes them), or '
    'dequantize them: tfp_realnvp.dequantization.dequantize(x)')
_INTEGER_RANGE = (
    'integer pixels must lie in [0, 255] (the 256 levels of an 8-bit image, '
    'each dequantized into [x, x + 1) of [0, 256)); the batch has a value '
    'outside')

_OPT_OUT = (' If the data are really meant so, build the model with '
            'FlowModel(..., check_pixel_range=False).')


def suspicion(values):
  """What is wrong with an image batch (NumPy or eager), or `None`.

  One of the messages above: integers outside [0, 255], floats all in
  [0, 1], floats all whole numbers.
  """
  if is_integer(values):
    values = np.asarray(values)
    if values.size and (np.min(values) < 0 or
                        np.max(values) > units.NUM_LEVELS - 1):
      return _INTEGER_RANGE
    return None
  if looks_like_unit_range(values):
    return _UNIT_RANGE
  if looks_like_whole_numbers(values):
    return _WHOLE_NUMBERS
  return None


def check_array(values, who, rows=64):
  """Raises for an image array (its first `rows`) that `suspicion` names.

  Raises:
    ValueError: naming the problem, the fix and the opt-out.
  """
  problem = suspicion(values[:rows])
  if problem is not None:
    raise ValueError(f'{who}: {problem}.' +
                     ('' if problem is _INTEGER_RANGE else _OPT_OUT))


# Named in the assertion a checked dataset raises, so the caller can say the
# message on its own line instead of a graph-execution trace.
_MARKS = {
    'tfp_realnvp: every pixel value of a batch is at most 1': _UNIT_RANGE,
    'tfp_realnvp: every pixel value of a batch is a whole number':
        _WHOLE_NUMBERS,
    'tfp_realnvp: an integer pixel lies outside [0, 255]': _INTEGER_RANGE,
}
_UNIT_MARK, _WHOLE_MARK, _INTEGER_MARK = _MARKS


def pixel_error_message(error, who):
  """The one-line message for a checked dataset's refusal, else `None`."""
  if not isinstance(error, tf.errors.InvalidArgumentError):
    return None
  for mark, problem in _MARKS.items():
    if mark in str(error):
      return f'{who}: {problem}.' + ('' if mark == _INTEGER_MARK
                                      else _OPT_OUT)
  return None


def with_pixel_checks(data):
  """A dataset whose image batches fail as `suspicion` would name them.

  Checked as the model reads each batch, not by reading one ahead: a peek
  would draw from the pipeline's shuffling and dequantization noise and
  shift every later batch. Other inputs are returned as they are.
  """
  if not isinstance(data, tf.data.Dataset):
    return data

  def check(*element):
    values = element[0]
    if values.dtype.is_integer:
      checks = [tf.debugging.Assert(
          tf.logical_and(tf.reduce_min(values) >= 0,
                         tf.reduce_max(values) <= units.NUM_LEVELS - 1),
          [_INTEGER_MARK])]
    else:
      # A non-finite batch passes: it is FlowModel's to skip or stop at, not
      # this check's (Grappler rewrites not(a <= b) as a > b, so say it).
      skip = tf.logical_not(tf.reduce_all(tf.math.is_finite(values)))
      checks = [
          tf.debugging.Assert(
              tf.logical_or(tf.reduce_max(values) > 1., skip), [_UNIT_MARK]),
          tf.debugging.Assert(
              tf.logical_or(tf.reduce_any(tf.not_equal(values,
                                                        tf.floor(values))),
                            skip), [_WHOLE_MARK])]
    with tf.control_dependencies(checks):
      values = tf.identity(values)
    return (values,) + element[1:] if len(element) > 1 else values

  return data.map(check)


def float_pixels_message(flow, described):
  """Why a flow with a learned `q(u | x)` refuses float pixels in training."""
  return (f'the data are {described}, already dequantized; {flow.name} '
          'learns its dequantization noise (dequantization=\'variational\') '
          'and trains on the integer pixels. Give it uint8 images (e.g. '
          'tfp_realnvp.data.image_dataset(..., dequantized=False)).')
