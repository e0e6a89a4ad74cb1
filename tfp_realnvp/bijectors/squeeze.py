"""Real NVP's squeezing operation (paper §3.6, Figure 3)."""

import tensorflow as tf
from tensorflow_probability.python.bijectors import bijector as bijector_lib

from tfp_realnvp.bijectors import one_pass_bijector

__all__ = ['Squeeze']


class Squeeze(bijector_lib.Bijector):
  """Reshapes `(H, W, C)` to `(H/2, W/2, 4C)` by 2x2 spatial blocks.

  ```none
  y[i, j, (2 * di + dj) * C + c] = x[2 * i + di, 2 * j + dj, c]
  log|det J| = 0
  ```

  The output channels are grouped by the position `(di, dj)` inside each 2x2
  block: the first half holds the top row of every block (`di = 0`) and the
  second half the bottom row. A channel mask applied after the squeeze
  therefore splits each block into rows, a partition different from both
  checkerboards applied before it (which pair the diagonals), as paper §3.6
  asks. The inverse (`tfb.Invert(Squeeze())`) is the matching "unsqueeze".

  #### Examples

  ```python
  import tensorflow as tf
  from tfp_realnvp import bijectors as rnvp_bijectors

  squeeze = rnvp_bijectors.Squeeze()
  y = squeeze.forward(tf.zeros([5, 8, 8, 3]))           # shape [5, 4, 4, 12]
  squeeze.forward_event_shape([8, 8, 3])                # [4, 4, 12]
  ```

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _International Conference on Learning
       Representations_, 2017. https://arxiv.org/abs/1605.08803
  """

  def __init__(self, validate_args=False, name='squeeze'):
    parameters = dict(locals())
    with tf.name_scope(name) as name:
      super().__init__(
          forward_min_event_ndims=3,
          inverse_min_event_ndims=3,
          is_constant_jacobian=True,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    return dict()

  @property
  def _is_permutation(self):
    return True

  # Static shape arithmetic, shared by the event-shape methods and by the
  # checks that give a clear error for an odd height or width.
  def _squeezed_shape(self, shape):
    shape = tf.TensorShape(shape)
    if shape.rank is None:
      return tf.TensorShape(None)
    if shape.rank < 3:
      raise ValueError(
          f'{self.name}: expected a shape of rank >= 3 (..., H, W, C), got '
          f'{shape}.')
    height, width, channels = shape[-3:]
    for axis_name, size in (('height', height), ('width', width)):
      if size is not None and size % 2:
        raise ValueError(
            f'{self.name}: {axis_name} must be even to squeeze 2x2 blocks, '
            f'got shape {shape}.')
    half = lambda n: None if n is None else n // 2
    four_times = lambda n: None if n is None else 4 * n
    return shape[:-3].concatenate(
        [half(height), half(width), four_times(channels)])

  def _unsqueezed_shape(self, shape):
    shape = tf.TensorShape(shape)
    if shape.rank is None:
      return tf.TensorShape(None)
    if shape.rank < 3:
      raise ValueError(
          f'{self.name}: expected a shape of rank >= 3 (..., H, W, C), got '
          f'{shape}.')
    height, width, channels = shape[-3:]
    if channels is not None and channels % 4:
      raise ValueError(
          f'{self.name}: the inverse needs channels divisible by 4, got shape '
          f'{shape}.')
    double = lambda n: None if n is None else 2 * n
    quarter = lambda n: None if n is None else n // 4
    return shape[:-3].concatenate(
        [double(height), double(width), quarter(channels)])

  def _forward(self, x):
    one_pass_bijector.check_float_input(self, x, 3)
    static_shape = self._squeezed_shape(x.shape)
    shape = tf.shape(x)
    height, width, channels = shape[-3], shape[-2], shape[-1]
    assertions = []
    if self.validate_args:
      assertions = [
          tf.debugging.assert_equal(
              height % 2, 0, message=f'{self.name}: height must be even.'),
          tf.debugging.assert_equal(
              width % 2, 0, message=f'{self.name}: width must be even.'),
      ]
    with tf.control_dependencies(assertions):
      blocks = tf.reshape(
          x, [-1, height // 2, 2, width // 2, 2, channels])
    blocks = tf.transpose(blocks, [0, 1, 3, 2, 4, 5])
    y = tf.reshape(blocks, tf.concat(
        [shape[:-3], [height // 2, width // 2, 4 * channels]], axis=0))
    y.set_shape(static_shape)
    return y

  def _inverse(self, y):
    one_pass_bijector.check_float_input(self, y, 3)
    static_shape = self._unsqueezed_shape(y.shape)
    shape = tf.shape(y)
    height, width, channels = shape[-3], shape[-2], shape[-1]
    assertions = []
    if self.validate_args:
      assertions = [tf.debugging.assert_equal(
          channels % 4, 0,
          message=f'{self.name}: channels must be divisible by 4.')]
    with tf.control_dependencies(assertions):
      blocks = tf.reshape(y, [-1, height, width, 2, 2, channels // 4])
    blocks = tf.transpose(blocks, [0, 1, 3, 2, 4, 5])
    x = tf.reshape(blocks, tf.concat(
        [shape[:-3], [2 * height, 2 * width, channels // 4]], axis=0))
    x.set_shape(static_shape)
    return x

  def _forward_log_det_jacobian(self, x):
    return tf.zeros([], dtype=x.dtype)

  def _inverse_log_det_jacobian(self, y):
    return tf.zeros([], dtype=y.dtype)

  def _forward_event_shape(self, input_shape):
    return self._squeezed_shape(input_shape)

  def _inverse_event_shape(self, output_shape):
    return self._unsqueezed_shape(output_shape)

  def _forward_event_shape_tensor(self, input_shape):
    return tf.concat([input_shape[:-3], input_shape[-3:-1] // 2,
                      4 * input_shape[-1:]], axis=0)

  def _inverse_event_shape_tensor(self, output_shape):
    return tf.concat([output_shape[:-3], 2 * output_shape[-3:-1],
                      output_shape[-1:] // 4], axis=0)
