"""SavedModel export of a trained flow, servable without this package.

The exported functions are traced in evaluation mode (batch norm uses its
moving averages) with a `None` batch dimension, so a process that imports only
TensorFlow, or TensorFlow Serving, can load them. The serving signatures
return named outputs:

  log_prob(images)                        -> log_prob      [N]
  bits_per_dim(images)                    -> bits_per_dim  [N]
  serving_default(images)                 -> bits_per_dim  [N] (the same)
  sample(num_samples, temperature=1, seed=0) -> images     [num_samples, ...]
  encode(images)                          -> latents       [N, ...]
  decode(latents)                         -> images        [N, ...]

An image flow adds the discrete likelihood of uint8 images, the `K`-draw
estimate of `tfp_realnvp.dequantization` with the flow's own `q(u | x)`
(uniform, or a variational flow's learned one):

  discrete_log_prob(pixels, samples=1, seed=0)     -> log_prob      [N]
  discrete_bits_per_dim(pixels, samples=1, seed=0) -> bits_per_dim  [N]
  dequantize(pixels, seed=0, first_example=0)      -> values, log_q

Every `seed` is one int32 scalar, and the same seed is the same noise:
`dequantize(pixels, seed)` is draw 0 of `discrete_log_prob(pixels, K, seed)`
(the first example of `pixels` at position `first_example` of the data).
`dequantize_draw(pixels, draw_seed, first_example)` is the one draw under a
shape-[2] int64 stateless seed that `tfp_realnvp.dequantization`'s K-draw
loop asks a loaded flow's q for (`SavedFlow`); it is not a serving signature.
Arguments with defaults may be left out of a loaded module's calls:
`tf.saved_model.load(path).sample(3)`; a conditional export's functions take
every argument (the condition comes last, after `seed`).

For a `tfp_realnvp.RealNVP`, images are dequantized pixels in [0, 256); for a
vector flow the same signatures take `(N, D)` points. A
`tfp_realnvp.ConditionalRealNVP` adds an int32 `labels` argument to every
signature (`[N]`; for `sample`, one label or `num_samples` of them), and a
flow built with a `context_shape` a float `context` argument (`[N] +
context_shape`, or one for all). The
module also holds `num_scales` and `num_classes` (0: unconditional) as int32
variables, for tools that split latents by scale, and an image flow's
`dequantization` (`'uniform'` or `'variational'`) as a string. Inputs are checked on
every call: NaN, Inf or pixels outside [0, 256) raise an
`InvalidArgumentError` that says so, instead of returning a NaN.

The loaded module's attributes of the same names return the tensors
themselves: `tf.saved_model.load(path).log_prob(x).numpy()`.
"""

import os

import tensorflow as tf

from tfp_realnvp import flows
from tfp_realnvp.app import precision
from tfp_realnvp.dequantization import estimate
from tfp_realnvp.dequantization import noise
from tfp_realnvp.dequantization import units

__all__ = ['FlowExport', 'export_saved_model', 'newest_version_dir',
           'next_version_dir', 'version_numbers']


def _defaults_unless(condition_specs, **defaults):
  """The function's trailing arguments get `defaults`, unless it takes a condition.

  A condition (labels, context) is a required argument after them, and
  Python has none after an argument with a default.
  """

  def with_defaults(function):
    if not condition_specs:
      function.__defaults__ = tuple(defaults.values())
    return function

  return with_defaults


def _seed_pair(seed):
  """A signature's int32 seed as the stateless pair the K-draw loop takes."""
  return tf.stack([seed, tf.zeros([], tf.int32)])


class FlowExport(tf.Module):
  """A `tf.Module` holding a flow's variables and its serving functions."""

  def __init__(self, distribution, name='real_nvp_export'):
    super().__init__(name=name)
    if not isinstance(distribution, flows.Flow):
      raise TypeError('Export takes a tfp_realnvp flow (RealNVP, '
                      'ConditionalRealNVP, VectorRealNVP), got '
                      f'{type(distribution).__name__}.')
    event_shape = distribution.event_shape
    if not event_shape.is_fully_defined():
      raise ValueError('Export needs a static event shape, got '
                       f'{event_shape}.')
    dtype = distribution.dtype
    is_image = isinstance(distribution, flows.RealNVP)
    num_classes = distribution.num_classes
    self.num_scales = tf.Variable(
        distribution.num_scales, trainable=False,
        dtype=tf.int32, name='num_scales')
    self.num_classes = tf.Variable(num_classes or 0, trainable=False,
                                   dtype=tf.int32, name='num_classes')
    # Only the variables are tracked: the functions below close over the
    # distribution, whose Python objects need not be saved.
    self.flow_variables = list(distribution.variables)
    input_name = 'images' if is_image else 'values'
    # Spec names become the signatures' argument names.
    data_spec = tf.TensorSpec([None] + event_shape.as_list(), dtype,
                              name=input_name)
    latent_spec = tf.TensorSpec([None] + event_shape.as_list(), dtype,
                                name='latents')
    # The labels or the context, as an optional last argument.
    condition = distribution.condition_spec.kind
    condition_specs = []
    if condition == 'labels':
      condition_specs = [tf.TensorSpec([None], tf.int32, name='labels')]
    elif condition == 'context':
      condition_specs = [tf.TensorSpec(
          [None] + list(distribution.context_shape), dtype, name='context')]

    def condition_kwargs(conditions):
      return {} if condition is None else {condition: conditions[0]}

    expected_shape = tf.constant(event_shape.as_list(), tf.int32)

    def has_event_shape(values):
      # Signatures called with flat arguments skip the spec's shape check,
      # and Grappler folds rank checks to the spec's rank; comparing the
      # zero-padded trailing dimensions works whatever rank arrives.
      rank = event_shape.rank
      trailing = tf.shape(values, out_type=tf.int32)[1:]
      trailing = tf.pad(trailing, [[0, rank]])[:rank]
      return tf.reduce_all(tf.equal(trailing, expected_shape))

    def with_shape_check(values, name):
      with tf.control_dependencies([tf.debugging.Assert(
          has_event_shape(values),
          [f'`{name}` must have shape (batch, '
           f'{", ".join(map(str, event_shape.as_list()))}), got',
           tf.shape(values)])]):
        return tf.identity(values)

    def check_data(values, name, are_pixels):
      values = with_shape_check(values, name)
      checks = [tf.debugging.assert_all_finite(
          values, f'`{name}` contains NaN or Inf.')]
      if are_pixels:
        checks += [
            tf.debugging.assert_greater_equal(
                values, tf.zeros([], dtype),
                message=f'`{name}` must be pixel values in [0, 256), got a '
                        'negative value.'),
            tf.debugging.assert_less(
                values, tf.constant(256., dtype),
                message=f'`{name}` must be pixel values in [0, 256), got a '
                        'value >= 256.'),
        ]
      with tf.control_dependencies(checks):
        return tf.identity(values)

    def check_conditions(conditions, batch_size):
      """One label or context per example, or a single one for all.

      The flow checks the labels' range; a context must be finite.
      """
      if condition is None:
        return ()
      (given,) = conditions
      count = tf.shape(given)[0]
      checks = [tf.debugging.Assert(
          tf.logical_or(tf.equal(count, 1), tf.equal(count, batch_size)),
          [f'`{condition}` must hold one {condition} or one per example; '
           'got', count, 'for a batch of', batch_size])]
      if condition == 'context':
        checks.append(tf.debugging.assert_all_finite(
            given, '`context` contains NaN or Inf.'))
      with tf.control_dependencies(checks):
        return (tf.broadcast_to(given, tf.concat(
            [[batch_size], tf.shape(given)[1:]], axis=0)),)

    def checked(values, conditions):
      values = check_data(values, input_name, is_image)
      return values, condition_kwargs(
          check_conditions(conditions, tf.shape(values)[0]))

    # The module's attributes return tensors (`loaded.log_prob(x).numpy()`);
    # the serving signatures wrap the same functions in named outputs.
    data_signature = [data_spec] + condition_specs

    @tf.function(input_signature=data_signature)
    def log_prob(values, *conditions):
      values, kwargs = checked(values, conditions)
      return distribution.log_prob(values, training=False, **kwargs)

    @tf.function(input_signature=data_signature)
    def bits_per_dim(values, *conditions):
      # Through log_prob's graph: the flow is traced once for both.
      return units.log_prob_to_bits_per_dim(log_prob(values, *conditions),
                                            distribution.num_dims)

    sample_signature = [
        tf.TensorSpec([], tf.int32, name='num_samples'),
        tf.TensorSpec([], dtype, name='temperature'),
        tf.TensorSpec([], tf.int32, name='seed')] + condition_specs

    @tf.function(input_signature=data_signature)
    def encode(values, *conditions):
      values, kwargs = checked(values, conditions)
      return distribution.encode(values, **kwargs)

    latent_signature = [latent_spec] + condition_specs

    @tf.function(input_signature=latent_signature)
    def decode(latents, *conditions):
      latents = check_data(latents, 'latents', False)
      kwargs = condition_kwargs(
          check_conditions(conditions, tf.shape(latents)[0]))
      return distribution.decode(latents, **kwargs)

    @tf.function(input_signature=sample_signature)
    @_defaults_unless(condition_specs, temperature=1., seed=0)
    def sample(num_samples, temperature, seed, *conditions):
      with tf.control_dependencies([
          tf.debugging.assert_non_negative(
              num_samples, message='`num_samples` must be >= 0.'),
          tf.debugging.assert_positive(
              temperature, message='`temperature` must be > 0.')]):
        stateless_seed = _seed_pair(seed)
      # `sample_values`' draw, decoded through `decode`'s graph: the flow's
      # generative direction is traced once for both.
      latents = distribution.distribution.sample(num_samples,
                                                 seed=stateless_seed)
      latents = latents * tf.cast(temperature, latents.dtype)
      return distribution.clip_values(
          decode(latents, *check_conditions(conditions, num_samples)))

    self.log_prob = log_prob
    self.bits_per_dim = bits_per_dim
    self.sample = sample
    self.encode = encode
    self.decode = decode

    def named(function, signature, output):
      return tf.function(lambda *args: {output: function(*args)},
                         input_signature=signature)

    self.serving_functions = {
        'log_prob': named(log_prob, data_signature, 'log_prob'),
        'bits_per_dim': named(bits_per_dim, data_signature, 'bits_per_dim'),
        'sample': named(sample, sample_signature, input_name),
        'encode': named(encode, data_signature, 'latents'),
        'decode': named(decode, latent_signature, input_name),
    }
    if not is_image:
      return
    self.dequantization = tf.Variable(distribution.dequantization,
                                      trainable=False, name='dequantization')

    # uint8 pixels are in range by their dtype; only the shape is checked.
    discrete_signature = [
        tf.TensorSpec([None] + event_shape.as_list(), tf.uint8,
                      name='pixels'),
        tf.TensorSpec([], tf.int32, name='samples'),
        tf.TensorSpec([], tf.int32, name='seed')] + condition_specs

    @tf.function(input_signature=discrete_signature)
    @_defaults_unless(condition_specs, samples=1, seed=0)
    def discrete_log_prob(pixels, samples, seed, *conditions):
      # `discrete_log_prob`'s estimate, each draw scored by `log_prob`'s
      # graph: the flow's inference direction is traced once for both.
      pixels = with_shape_check(pixels, 'pixels')
      conditions = check_conditions(conditions, tf.shape(pixels)[0])
      weights = estimate.log_weights(
          lambda values: log_prob(values, *conditions), pixels, samples,
          distribution.dequantizer, _seed_pair(seed), dtype)
      return estimate.log_mean_exp(weights)

    @tf.function(input_signature=discrete_signature)
    @_defaults_unless(condition_specs, samples=1, seed=0)
    def discrete_bits_per_dim(pixels, samples, seed, *conditions):
      return units.log_prob_to_bits_per_dim(
          discrete_log_prob(pixels, samples, seed, *conditions),
          distribution.num_dims)

    # One draw of the flow's q under a K-draw loop's stateless seed, so a
    # loaded flow evaluates as the trained one does.
    @tf.function(input_signature=[
        discrete_signature[0], tf.TensorSpec([2], tf.int64, name='draw_seed'),
        tf.TensorSpec([], tf.int64, name='first_example')])
    def dequantize_draw(pixels, draw_seed, first_example):
      values, log_q = distribution.dequantizer(
          with_shape_check(pixels, 'pixels'), dtype, seed=draw_seed,
          first_example=first_example)
      return {'values': values, 'log_q': log_q}

    # The user's form: `discrete_log_prob`'s seed, its draw 0.
    @tf.function(input_signature=[
        discrete_signature[0], tf.TensorSpec([], tf.int32, name='seed'),
        tf.TensorSpec([], tf.int64, name='first_example')])
    def dequantize(pixels, seed=0, first_example=0):
      return dequantize_draw(pixels, noise.draw_seed(_seed_pair(seed), 0),
                             first_example)

    self.discrete_log_prob = discrete_log_prob
    self.discrete_bits_per_dim = discrete_bits_per_dim
    self.dequantize = dequantize
    self.dequantize_draw = dequantize_draw
    self.serving_functions.update(
        discrete_log_prob=named(discrete_log_prob, discrete_signature,
                                'log_prob'),
        discrete_bits_per_dim=named(discrete_bits_per_dim,
                                    discrete_signature, 'bits_per_dim'),
        dequantize=dequantize)

  def signatures(self):
    """The serving signatures, by name; `serving_default` is `bits_per_dim`."""
    # The tf.functions themselves, not concrete functions: only these can be
    # saved when the variables are distributed (tf.distribute strategies).
    signatures = dict(self.serving_functions)
    # What a TF Serving client gets without naming a signature: the figure
    # of merit of a likelihood model, per example.
    signatures[tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY] = (
        self.serving_functions['bits_per_dim'])
    return signatures


def next_version_dir(export_dir, version=None):
  """`export_dir/<version>`, TensorFlow Serving's layout.

  Args:
    export_dir: the model's base directory.
    version: a positive int (e.g. the training step); default one more than
      the largest numbered version already there, so nothing is overwritten.

  Returns:
    The version directory's path (not created).
  """
  if version is None:
    version = max(version_numbers(export_dir), default=0) + 1
  return os.path.join(export_dir, str(int(version)))


def version_numbers(export_dir):
  """The numbered version directories in `export_dir` (none if it is absent)."""
  if not tf.io.gfile.isdir(export_dir):
    return []
  return sorted(int(name.rstrip('/'))
                for name in tf.io.gfile.listdir(export_dir)
                if name.rstrip('/').isdigit())


def newest_version_dir(export_dir):
  """The highest numbered version directory in `export_dir`, or `None`."""
  versions = version_numbers(export_dir)
  return os.path.join(export_dir, str(versions[-1])) if versions else None


def export_saved_model(distribution, export_dir, version=None,
                       compute_dtype='float32'):
  """Writes `distribution` as a SavedModel in a numbered version directory.

  Args:
    distribution: a `tfp_realnvp` flow: `RealNVP`, `ConditionalRealNVP` or
      `VectorRealNVP`.
    export_dir: base directory; the model goes to `export_dir/<version>`.
    version: the version number (default: the next free one). An existing
      version directory is replaced, never merged.
    compute_dtype: what the exported networks compute in. 'float32' (the
      default) serves a mixed-precision flow's weights in float32: its
      latents then invert to float32's rounding (bfloat16 networks round
      their inputs) and it runs at full speed on hardware without bfloat16.
      `None` keeps the flow's own compute dtype (a bfloat16 server).

  Returns:
    The path of the written SavedModel.
  """
  precision.check_float32_or_own(compute_dtype, "the flow's own")
  if compute_dtype == 'float32':
    distribution = precision.computing_in_float32(distribution)
  path = next_version_dir(export_dir, version)
  module = FlowExport(distribution)
  if '://' in path:
    # Object stores (gs://, s3://) and ram:// have no directory rename, and
    # see a name as a prefix; the version directory is written in place.
    tf.saved_model.save(module, path, signatures=module.signatures())
    return path
  # Saved beside the target and renamed, so a reader (or TF Serving, which
  # polls the base directory) never sees a half-written version.
  temporary = path + '.tmp'
  if tf.io.gfile.exists(temporary):
    tf.io.gfile.rmtree(temporary)
  tf.saved_model.save(module, temporary, signatures=module.signatures())
  if tf.io.gfile.exists(path):
    tf.io.gfile.rmtree(path)
  tf.io.gfile.rename(temporary, path)
  return path
