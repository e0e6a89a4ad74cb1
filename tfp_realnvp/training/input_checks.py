"""What `FlowModel` checks of its data before tracing, with one short message.

A mistake in the data (another dtype or image size, missing labels, pixels
scaled to [0, 1), integer pixels outside [0, 255]) otherwise surfaces deep inside an autograph trace;
here it is named on the first line, with what the flow takes and the fix.
"""

import numpy as np
import tensorflow as tf

from tfp_realnvp import dequantization
from tfp_realnvp import flows
from tfp_realnvp import variational_dequantization

__all__ = ['check_data', 'float_pixels_message', 'integer_range_message',
           'is_integer_range_error', 'is_unit_range_error',
           'unit_range_message', 'with_pixel_range_check']

def _spec(data):
  """The `tf.TypeSpec` structure of a dataset or array input, else `None`."""
  if isinstance(data, tf.data.Dataset):
    return data.element_spec
  if isinstance(data, (tuple, list)):
    specs = [_spec(part) for part in data]
    return None if any(s is None for s in specs) else tuple(specs)
  if isinstance(data, (np.ndarray, tf.Tensor)):
    array = tf.convert_to_tensor(data) if isinstance(data, np.ndarray) else data
    return tf.TensorSpec([None] + array.shape[1:].as_list(), array.dtype)
  return None  # Generators, Sequences: seen only when Keras iterates.


def _split(spec):
  if isinstance(spec, (tuple, list)):
    return spec[0], (spec[1] if len(spec) > 1 else None)
  return spec, None


def _describe(spec):
  return f'{spec.dtype.name} of shape {tuple(spec.shape.as_list())}'


def _check_spec(flow, spec, method):
  values, condition = _split(spec)
  if not isinstance(values, tf.TensorSpec):
    return
  name = f'FlowModel.{method}: '
  takes = (f'{flow.name} takes {flow.dtype.name} values of shape '
           f'(batch, {", ".join(map(str, flow.event_shape.as_list()))})')
  if values.dtype == tf.bool:
    raise TypeError(f'{name}the data are {_describe(values)}; {takes}, or '
                    'integer pixels (which it dequantizes).')
  if not values.dtype.is_integer and values.dtype != flow.dtype:
    raise TypeError(f'{name}the data are {_describe(values)}; {takes}. Cast '
                    f'them: tf.cast(x, tf.{flow.dtype.name}).')
  if (method == 'fit' and not values.dtype.is_integer and
      variational_dequantization.is_learned(
          getattr(flow, 'dequantizer', None))):
    raise TypeError(float_pixels_message(flow, _describe(values)))
  event_rank = flow.event_shape.rank
  if (values.shape.rank is not None and
      (values.shape.rank != event_rank + 1 or
       not values.shape[1:].is_compatible_with(flow.event_shape))):
    raise ValueError(f'{name}the data are {_describe(values)}; {takes}. '
                     'Batch them (dataset.batch(n)) and resize or build the '
                     'flow for this shape.')
  kind = flows.condition_name(flow)
  if kind is None:
    return
  if condition is None:
    raise ValueError(f'{name}{flow.name} is conditioned on {kind}: the data '
                     f'must be (values, {kind}) pairs; got values only.')
  if kind == 'labels' and not condition.dtype.is_integer:
    raise TypeError(f'{name}{flow.name} takes integer labels in [0, '
                    f'{flow.num_classes}); the data\'s second element is '
                    f'{_describe(condition)}.')
  if kind == 'context':
    context_shape = tuple(flow.context_shape)
    if (not condition.dtype.is_floating or
        (condition.shape.rank is not None and
         not condition.shape[1:].is_compatible_with(context_shape))):
      raise ValueError(
          f'{name}{flow.name} takes a float context of shape (batch, '
          f'{", ".join(map(str, context_shape))}); the data\'s second '
          f'element is {_describe(condition)}. Build the flow with '
          f'context_shape={tuple(condition.shape[1:].as_list())} or fix the '
          'context.')


def float_pixels_message(flow, described):
  """Why a variational flow's `fit` refuses float (dequantized) pixels."""
  return (f'FlowModel.fit: the data are {described}, already dequantized; '
          f'{flow.name} learns its dequantization noise '
          '(dequantization=\'variational\') and trains on the integer '
          'pixels. Give it uint8 images (e.g. '
          'tfp_realnvp.data.image_dataset(..., dequantized=False)).')


# Named in the assertion a checked dataset raises, so `FlowModel` can say
# the message on its own line instead of a graph-execution trace.
_UNIT_RANGE_MARK = 'tfp_realnvp: every pixel value of a batch is at most 1'


def unit_range_message(method):
  return (f'FlowModel.{method}: {flows.UNIT_RANGE_MESSAGE}. If [0, 1] is '
          'what you mean, build the model with FlowModel(..., '
          'check_pixel_range=False).')


def is_unit_range_error(error):
  """Whether `error` is a checked dataset's refusal of [0, 1] pixels."""
  return (isinstance(error, tf.errors.InvalidArgumentError) and
          _UNIT_RANGE_MARK in str(error))


_INTEGER_RANGE_MARK = 'tfp_realnvp: an integer pixel lies outside [0, 255]'


def integer_range_message(method):
  return (f'FlowModel.{method}: integer pixels must lie in [0, 255] (the '
          '256 levels of an 8-bit image, each dequantized into [x, x + 1) '
          'of [0, 256)); a batch has a value outside.')


def is_integer_range_error(error):
  """Whether `error` is a checked dataset's refusal of integer pixels."""
  return (isinstance(error, tf.errors.InvalidArgumentError) and
          _INTEGER_RANGE_MARK in str(error))


def with_pixel_range_check(data):
  """A dataset whose batches fail on pixels an image flow cannot take.

  Float pixels that all lie in [0, 1], integer pixels outside [0, 255].
  Checked as the model reads each batch, not by reading one ahead: a peek
  would draw from the pipeline's shuffling and dequantization noise and
  shift every later batch. Other inputs are returned as they are.
  """
  if not isinstance(data, tf.data.Dataset):
    return data

  def check(*element):
    values = element[0]
    if values.dtype.is_integer:
      in_range = tf.debugging.Assert(
          tf.logical_and(tf.reduce_min(values) >= 0,
                         tf.reduce_max(values) <= 255),
          [_INTEGER_RANGE_MARK])
    else:
      # A non-finite batch passes: it is FlowModel's to skip or stop at, not
      # this check's (Grappler rewrites not(a <= b) as a > b, so say it).
      in_range = tf.debugging.Assert(
          tf.logical_or(
              tf.reduce_max(values) > 1.,
              tf.logical_not(tf.reduce_all(tf.math.is_finite(values)))),
          [_UNIT_RANGE_MARK])
    with tf.control_dependencies([in_range]):
      values = tf.identity(values)
    return (values,) + element[1:] if len(element) > 1 else values

  return data.map(check)


def check_data(flow, data, method, check_pixel_range=True):
  """Raises a one-line error for data `flow` cannot take.

  Args:
    flow: the distribution a `FlowModel` trains.
    data: what was given to `fit`, `evaluate` or `predict`.
    method: the method's name, for the message.
    check_pixel_range: whether to refuse an image flow's array data whose
      first batch lies in [0, 1] (datasets: `with_pixel_range_check`).

  Raises:
    TypeError, ValueError: naming what was given, what the flow takes and
      the fix.
  """
  spec = _spec(data)
  if spec is not None:
    _check_spec(flow, spec, method)
  if check_pixel_range and isinstance(flow, flows.RealNVP):
    # Arrays at once; a dataset as it is read (`with_pixel_range_check`).
    values = data[0] if isinstance(data, (tuple, list)) and data else data
    if not isinstance(values, (np.ndarray, tf.Tensor)):
      return
    if dequantization.is_integer(values):
      if np.size(values) and (np.min(values) < 0 or np.max(values) > 255):
        raise ValueError(integer_range_message(method))
    elif flows.looks_like_unit_range(values[:64]):
      raise ValueError(unit_range_message(method))
