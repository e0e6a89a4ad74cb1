"""What `FlowModel` checks of its data before tracing, with one short message.

A mistake in the data (another dtype or image size, a missing condition,
pixels scaled to [0, 1] or never dequantized, integer pixels outside
[0, 255]) otherwise surfaces deep inside an autograph trace, or not at all;
here it is named on the first line, with what the flow takes and the fix.
What a batch's values mean is `tfp_realnvp.dequantization.pixels`' to say.
"""

import numpy as np
import tensorflow as tf

from tfp_realnvp import flows
from tfp_realnvp.dequantization import pixels as pixels_lib

__all__ = ['as_batches', 'check_data', 'checks_pixels', 'with_pixel_checks',
           'without_sample_weights']


def without_sample_weights(data):
  """`values` or `(values, condition)`: Keras' sample weights dropped."""
  if isinstance(data, (tuple, list)):
    return tuple(data[:2]) if len(data) > 1 else data[0]
  return data


def as_batches(x, batch_size):
  """`fit`'s training data as a dataset of batches to read again, or None."""
  if isinstance(x, tf.data.Dataset):
    return x
  if isinstance(x, (tf.Tensor, np.ndarray, tuple)):
    return tf.data.Dataset.from_tensor_slices(x).batch(batch_size or 32)
  return None  # A generator or a Keras Sequence cannot be read twice.


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


def _check_spec(step, spec, method):
  values, condition = _split(spec)
  if not isinstance(values, tf.TensorSpec):
    return
  flow = step.distribution
  name = f'FlowModel.{method}: '
  takes = (f'{flow.name} takes {flow.dtype.name} values of shape '
           f'(batch, {", ".join(map(str, flow.event_shape.as_list()))})')
  described = pixels_lib.describe(values)
  if values.dtype == tf.bool:
    raise TypeError(f'{name}the data are {described}; {takes}, or integer '
                    'pixels (which it dequantizes).')
  if values.dtype.is_integer and step.dequantizer is None:
    raise TypeError(f'{name}the data are {described}; {takes}. Cast them: '
                    f'tf.cast(x, tf.{flow.dtype.name}).')
  if not values.dtype.is_integer and values.dtype != flow.dtype:
    raise TypeError(f'{name}the data are {described}; {takes}. Cast them: '
                    f'tf.cast(x, tf.{flow.dtype.name}).')
  if (method == 'fit' and not values.dtype.is_integer and
      step.dequantizer is not None and step.dequantizer.is_learned):
    raise TypeError(name + pixels_lib.float_pixels_message(flow, described))
  event_rank = flow.event_shape.rank
  if (values.shape.rank is not None and
      (values.shape.rank != event_rank + 1 or
       not values.shape[1:].is_compatible_with(flow.event_shape))):
    raise ValueError(f'{name}the data are {described}; {takes}. Batch them '
                     '(dataset.batch(n)) and resize or build the flow for '
                     'this shape.')
  _check_condition_spec(step.condition_spec, flow, condition, name)


def _check_condition_spec(condition_spec, flow, condition, name):
  kind = condition_spec.kind
  if kind is None:
    return
  if condition is None:
    raise ValueError(f'{name}{flow.name} is conditioned on {kind}: the data '
                     f'must be (values, {kind}) pairs; got values only.')
  described = pixels_lib.describe(condition)
  if kind == 'labels' and not condition.dtype.is_integer:
    raise TypeError(f'{name}{flow.name} takes integer labels in [0, '
                    f'{condition_spec.num_classes}); the data\'s second '
                    f'element is {described}.')
  context_shape = condition_spec.context_shape
  if kind == 'context' and (
      not condition.dtype.is_floating or
      (condition.shape.rank is not None and
       not condition.shape[1:].is_compatible_with(context_shape))):
    raise ValueError(
        f'{name}{flow.name} takes a float context of shape (batch, '
        f'{", ".join(map(str, context_shape))}); the data\'s second element '
        f'is {described}. Build the flow with context_shape='
        f'{tuple(condition.shape[1:].as_list())} or fix the context.')


def checks_pixels(step, check_pixel_range):
  """Whether `FlowModel`'s data are image batches whose pixels it checks."""
  return check_pixel_range and isinstance(step.distribution, flows.RealNVP)


def with_pixel_checks(step, data, check_pixel_range):
  """`data`, a dataset's batches checked as they are read (see `pixels`)."""
  if checks_pixels(step, check_pixel_range):
    return pixels_lib.with_pixel_checks(data)
  return data


def check_data(step, data, method, check_pixel_range=True):
  """Raises a one-line error for data the step's flow cannot take.

  Args:
    step: the `TrainingStep` (its flow, dequantizer and condition).
    data: what was given to `fit`, `evaluate` or `predict`.
    method: the method's name, for the message.
    check_pixel_range: whether to refuse an image flow's array data whose
      first rows `pixels.suspicion` names (datasets: `with_pixel_checks`).

  Raises:
    TypeError, ValueError: naming what was given, what the flow takes and
      the fix.
  """
  spec = _spec(data)
  if spec is not None:
    _check_spec(step, spec, method)
  if checks_pixels(step, check_pixel_range):
    values = data[0] if isinstance(data, (tuple, list)) and data else data
    if isinstance(values, (np.ndarray, tf.Tensor)):
      pixels_lib.check_array(values, f'FlowModel.{method}')
