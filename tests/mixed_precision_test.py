"""bfloat16 networks: exact where it must be, float32 where it must stay."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_realnvp
from tests import bijector_test_util as util
from tfp_realnvp import networks
from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import export
from tfp_realnvp.app import loading
from tfp_realnvp.app import precision

_SHAPE = (4, 4, 2)
_SMALL = dict(num_scales=1, num_res_blocks=1, num_filters=8)


def _pixels(n, seed=0):
  return tf.constant(np.random.default_rng(seed).uniform(
      0., 256., (n,) + _SHAPE).astype(np.float32))


def _coupling(compute_dtype, mask_type='checkerboard'):
  coupling = tfp_realnvp.MaskedAffineCoupling(
      _SHAPE, mask_type=mask_type, num_res_blocks=1, num_filters=8,
      compute_dtype=compute_dtype)
  util.randomize_variables(coupling, seed=1)
  return coupling


def _flow(compute_dtype):
  flow = tfp_realnvp.RealNVP(_SHAPE, compute_dtype=compute_dtype, **_SMALL)
  util.randomize_variables(flow, seed=2, scale=0.2)
  return flow


def _log_det_of_computed_map(fn, x):
  """`log|det J|` of `fn`, the float32 Jacobian's determinant in float64.

  The determinant in float64, so the check resolves the networks' rounding
  (~1e-4 here) rather than float32 LU's.
  """
  batch = x.shape[0]
  with tf.GradientTape(persistent=True) as tape:
    flat_x = tf.reshape(x, [batch, -1])
    tape.watch(flat_x)
    flat_y = tf.reshape(fn(tf.reshape(flat_x, x.shape)), [batch, -1])
  jacobian = tape.batch_jacobian(flat_y, flat_x, experimental_use_pfor=False)
  return tf.linalg.slogdet(tf.cast(jacobian, tf.float64))[1]


def _copy_weights(source, target):
  for s, t in zip(source.variables, target.variables):
    assert s.name == t.name and s.dtype == t.dtype
    t.assign(s)


@pytest.mark.parametrize('mask_type', ['checkerboard', 'channel'])
def test_a_bfloat16_coupling_inverts_its_own_map(mask_type):
  coupling = _coupling('bfloat16', mask_type)
  x = tf.random.stateless_normal((3,) + _SHAPE, [1, 2])
  util.assert_round_trip(coupling, x, direction='forward')
  util.assert_round_trip(coupling, x, direction='inverse')


@pytest.mark.parametrize('mask_type', ['checkerboard', 'channel'])
def test_a_bfloat16_coupling_log_det_is_its_computed_maps(mask_type):
  coupling = _coupling('bfloat16', mask_type)
  x = tf.random.stateless_normal((3,) + _SHAPE, [3, 4])
  log_det = coupling.forward_log_det_jacobian(tf.identity(x), event_ndims=3)
  expected = _log_det_of_computed_map(coupling.forward, tf.identity(x))
  np.testing.assert_allclose(log_det, expected, rtol=0, atol=1e-5)
  # And it is not float32's: the networks' rounding moves the scales.
  reference = _coupling(None, mask_type)
  _copy_weights(coupling, reference)
  reference_log_det = reference.forward_log_det_jacobian(
      tf.identity(x), event_ndims=3)
  assert np.max(np.abs(log_det - reference_log_det)) > 1e-5


def test_the_log_det_check_fails_for_a_log_det_of_unrounded_scales(
    monkeypatch):
  # The bug bfloat16 invites: the map uses the network's rounded scales, the
  # log-det float32 ones. Shown failing: the check above must reject it.
  coupling = _coupling('bfloat16')
  x = tf.random.stateless_normal((3,) + _SHAPE, [3, 4])
  reference = _coupling(None)
  _copy_weights(coupling, reference)
  computed = coupling._coupling  # pylint: disable=protected-access

  def unrounded_log_det(x, direction, training, conditional_input):
    y, _ = computed(x, direction, training, conditional_input)
    return y, reference._coupling(  # pylint: disable=protected-access
        x, direction, training, conditional_input)[1]

  monkeypatch.setattr(coupling, '_coupling', unrounded_log_det)
  log_det = coupling.forward_log_det_jacobian(tf.identity(x), event_ndims=3)
  expected = _log_det_of_computed_map(coupling.forward, tf.identity(x))
  with pytest.raises(AssertionError):
    np.testing.assert_allclose(log_det, expected, rtol=0, atol=1e-5)


def test_a_bfloat16_model_is_a_bijection_with_its_log_det():
  flow = _flow('bfloat16')
  pixels = _pixels(2)
  with tfp_realnvp.training_mode(False):
    latents = flow.bijector.inverse(tf.identity(pixels))
    reconstructed = flow.bijector.forward(tf.identity(latents))
    np.testing.assert_allclose(reconstructed, pixels, rtol=0, atol=2e-3)
    log_det = flow.bijector.inverse_log_det_jacobian(
        tf.identity(pixels), event_ndims=3)
    expected = _log_det_of_computed_map(flow.bijector.inverse,
                                        tf.identity(pixels))
  np.testing.assert_allclose(log_det, expected, rtol=1e-5)


def test_the_health_line_reports_the_round_trip_in_both_precisions(tmp_path):
  from tfp_realnvp.app import health  # pylint: disable=g-import-not-at-top
  flow = _flow('bfloat16')
  line = health.EpochHealth(_pixels(4, seed=7), str(tmp_path), True)
  line.set_model(tfp_realnvp.FlowModel(flow))
  figures = line.health()
  assert 0. < figures['reconstruction_error'] < 2e-3
  assert 0. <= figures['reconstruction_error_float32'] < 2e-3
  # The twin holds the flow's weights, computing in float32.
  twin = line._twin  # pylint: disable=protected-access
  assert twin.parameters['compute_dtype'] is None
  for s, t in zip(flow.variables, twin.variables):
    np.testing.assert_array_equal(s.numpy(), t.numpy())
  # A float32 model has no twin, so its health has no second figure.
  assert precision.float32_twin(tfp_realnvp.RealNVP(_SHAPE, **_SMALL)) is None


def _residual_sum_dtypes(net):
  """The dtypes of the additions over a batch of 5 in `net`'s training graph.

  In a network without labels or context those are the residual sums.
  """
  graph = tf.function(lambda x: net(x, training=True)).get_concrete_function(
      tf.TensorSpec([5, 4, 4, 2])).graph
  return {op.outputs[0].dtype for op in graph.get_operations()
          if op.type == 'AddV2' and op.outputs[0].shape.as_list()[:1] == [5]}


def test_the_networks_keep_their_head_and_residual_sum_in_float32():
  net = networks.ResNet(output_channels=2, num_res_blocks=2, num_filters=8,
                        dtype=tf_keras.mixed_precision.Policy(
                            'mixed_bfloat16'))
  net.build([None, 4, 4, 2])
  assert all(v.dtype == tf.float32 for v in net.variables)
  assert net.blocks[0][1].compute_dtype == 'bfloat16'
  assert net.output_layer.compute_dtype == 'float32'
  assert net.output_bn.compute_dtype == 'float32'
  shift, log_scale = net(tf.random.normal([3, 4, 4, 2]), training=True)
  assert shift.dtype == log_scale.dtype == tf.float32
  assert _residual_sum_dtypes(net) == {tf.float32}


def test_without_its_part_the_residual_sum_is_bfloat16(monkeypatch):
  monkeypatch.setattr(networks, 'FLOAT32_PARTS',
                      networks.FLOAT32_PARTS - {'residual'})
  net = networks.ResNet(output_channels=2, num_res_blocks=2, num_filters=8,
                        dtype=tf_keras.mixed_precision.Policy(
                            'mixed_bfloat16'))
  net.build([None, 4, 4, 2])
  assert _residual_sum_dtypes(net) == {tf.bfloat16}


def test_an_unknown_float32_part_is_refused_by_name(monkeypatch):
  # A misspelt part would otherwise leave the part meant in bfloat16.
  monkeypatch.setattr(networks, 'FLOAT32_PARTS',
                      networks.FLOAT32_PARTS | {'residuals'})
  with pytest.raises(ValueError, match=r"unknown parts \['residuals'\]"):
    networks.ResNet(output_channels=2, num_res_blocks=1, num_filters=8,
                    dtype=tf_keras.mixed_precision.Policy('mixed_bfloat16'))


@pytest.mark.parametrize('parts', [('input', 'residual'), ('input',)])
def test_the_input_layer_may_join_the_float32_parts(monkeypatch, parts):
  # With a label and an image context added to its output, in either
  # precision of the residual sum.
  monkeypatch.setattr(networks, 'FLOAT32_PARTS', frozenset(parts))
  net = networks.ResNet(output_channels=2, num_res_blocks=1, num_filters=8,
                        num_classes=3, context_shape=[8, 8, 1],
                        dtype=tf_keras.mixed_precision.Policy(
                            'mixed_bfloat16'))
  net.build([None, 4, 4, 2])
  assert net.input_layer.compute_dtype == 'float32'
  assert net.blocks[0][1].compute_dtype == 'bfloat16'
  shift, log_scale = net(tf.random.normal([3, 4, 4, 2]),
                         labels=tf.constant([0, 1, 2]),
                         context=tf.random.normal([3, 8, 8, 1]),
                         training=True)
  assert shift.dtype == log_scale.dtype == tf.bfloat16


def test_variables_move_between_precisions_through_a_checkpoint(tmp_path):
  source = _flow('bfloat16')
  path = tf.train.Checkpoint(flow=source).save(str(tmp_path / 'ckpt'))
  target = tfp_realnvp.RealNVP(_SHAPE, **_SMALL)  # float32
  tf.train.Checkpoint(flow=target).restore(path).assert_consumed()
  for s, t in zip(source.variables, target.variables):
    np.testing.assert_array_equal(s.numpy(), t.numpy())
  pixels = _pixels(4, seed=5)
  with tfp_realnvp.training_mode(False):
    bfloat16_bits = source.bits_per_dim(tf.identity(pixels)).numpy()
    float32_bits = target.bits_per_dim(tf.identity(pixels)).numpy()
  # The same model: its two precisions differ by the networks' rounding.
  np.testing.assert_allclose(bfloat16_bits, float32_bits, atol=2e-2)


@pytest.mark.slow  # Saving and loading a .keras file: about 30 s.
def test_a_keras_file_of_one_precision_loads_into_the_other(tmp_path):
  model = tfp_realnvp.FlowModel(_flow('bfloat16'))
  path = str(tmp_path / 'model.keras')
  model.save(path)
  other = tfp_realnvp.FlowModel(tfp_realnvp.RealNVP(_SHAPE, **_SMALL))
  other.load_weights(path)
  for s, t in zip(model.distribution.variables, other.distribution.variables):
    np.testing.assert_array_equal(s.numpy(), t.numpy())
  restored = tf_keras.models.load_model(path)
  assert restored.distribution.get_config()['compute_dtype'] == 'bfloat16'


@pytest.mark.slow  # Two exports: about a minute.
def test_a_bfloat16_flow_exports_float32_unless_told_to_keep_bfloat16(
    tmp_path):
  bfloat16_flow = _flow('bfloat16')
  float32_flow = tfp_realnvp.RealNVP(_SHAPE, **_SMALL)
  _copy_weights(bfloat16_flow, float32_flow)
  pixels = _pixels(3, seed=6)
  with tfp_realnvp.training_mode(False):
    in_process = {
        'float32': float32_flow.log_prob(tf.identity(pixels)).numpy(),
        'kept': bfloat16_flow.log_prob(tf.identity(pixels)).numpy()}
  for name, compute_dtype in (('float32', 'float32'), ('kept', None)):
    path = export.export_saved_model(bfloat16_flow, str(tmp_path / name),
                                     compute_dtype=compute_dtype)
    served = loading.SavedFlow(path).log_prob(pixels).numpy()
    assert served.dtype == np.float32
    # Each export computes its precision's model: nearer to it than to the
    # other's (which differs by the networks' rounding) on every image.
    other = 'kept' if name == 'float32' else 'float32'
    assert np.all(np.abs(served - in_process[name]) <
                  np.abs(served - in_process[other])), name
  with pytest.raises(ValueError, match="'float32' or None"):
    export.export_saved_model(bfloat16_flow, str(tmp_path / 'x'),
                              compute_dtype='bfloat16')


def test_a_run_resumes_in_the_other_precision(tmp_path):
  path = str(tmp_path / 'config.json')
  description = dict(class_='RealNVP', num_filters=8, compute_dtype='bfloat16')
  config_lib.write_json(path, dict(model=description))
  config_lib.check_same_model(path, dict(description, compute_dtype=None))
  with pytest.raises(ValueError, match='num_filters'):
    config_lib.check_same_model(path, dict(description, num_filters=4))


@pytest.mark.parametrize('flags, gpus, bfloat16, reason', [
    ({'avx2', 'avx512f', 'avx512_bf16'}, [], True, 'avx512_bf16'),
    ({'avx2', 'amx_bf16', 'amx_tile'}, [], True, 'amx_bf16'),
    ({'avx2', 'avx512f'}, [], False, 'no native bfloat16'),
    ({'avx2'}, [(8, 0)], True, 'compute capability 8.0'),
    ({'avx512_bf16'}, [(7, 0)], False, 'need 8.0 or newer'),
])
def test_auto_chooses_bfloat16_where_the_hardware_has_it(flags, gpus,
                                                         bfloat16, reason):
  choice = precision.choose('auto', flags=flags, gpus=gpus)
  assert choice.bfloat16 is bfloat16
  assert reason in choice.reason
  assert choice.compute_dtype == ('bfloat16' if bfloat16 else None)


def test_explicit_settings_and_vectors():
  bf16_cpu = dict(flags={'avx512_bf16'}, gpus=[])
  assert precision.choose('false', **bf16_cpu).bfloat16 is False
  assert precision.choose('true', flags=set(), gpus=[]).bfloat16 is True
  assert precision.choose(True, flags=set(), gpus=[]).bfloat16 is True
  assert precision.choose_for('auto', (2,), **bf16_cpu).bfloat16 is False
  assert precision.choose_for('true', (2,), **bf16_cpu).bfloat16 is True
  # Images below 16 x 16 pixels stay float32 under auto, larger ones follow
  # the hardware.
  small = precision.choose_for('auto', (8, 8, 1), **bf16_cpu)
  assert small.bfloat16 is False and '8x8 images' in small.reason
  assert precision.choose_for('auto', (15, 17, 3), **bf16_cpu).bfloat16 is False
  assert precision.choose_for('auto', (16, 16, 1), **bf16_cpu).bfloat16 is True
  assert precision.choose_for('auto', (28, 28, 1), flags=set(),
                              gpus=[]).bfloat16 is False
  assert precision.choose_for('true', (8, 8, 1), **bf16_cpu).bfloat16 is True
  with pytest.raises(ValueError, match='--mixed_precision must be one of'):
    precision.choose('yes')


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
  cpuinfo = tmp_path / 'cpuinfo'
  cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu avx2 AVX512_BF16\n')
  assert precision.cpu_flags(str(cpuinfo)) == {'fpu', 'avx2', 'avx512_bf16'}
  assert precision.cpu_flags(str(tmp_path / 'absent')) == set()


def test_the_flag_takes_auto_and_its_old_bool_forms():
  from absl import flags  # pylint: disable=g-import-not-at-top
  from tfp_realnvp.app import flags as flags_lib  # pylint: disable=g-import-not-at-top
  for argv, expected in ((['x'], 'auto'),
                         (['x', '--mixed_precision'], 'true'),
                         (['x', '--nomixed_precision'], 'false'),
                         (['x', '--mixed_precision=auto'], 'auto')):
    values = flags.FlagValues()
    flags_lib.define_config_flags(config_lib.TrainConfig, values)
    flags_lib.parse_flags(argv, values)
    assert values['mixed_precision'].value == expected
  assert config_lib.TrainConfig(mixed_precision=True).mixed_precision == 'true'


def _bfloat16_run_directory(model_dir):
  """What a bfloat16 run leaves: config.json and a checkpoint (no training)."""
  flow = _flow('bfloat16')
  config_lib.write_json(str(model_dir / 'config.json'),
                        dict(model=tfp_realnvp.flows.flow_config(flow)))
  tf.train.Checkpoint(model=tfp_realnvp.FlowModel(flow)).save(
      str(model_dir / 'checkpoints' / 'chief' / 'ckpt'))
  return flow


def _round_trip_error(flow, pixels):
  with tfp_realnvp.training_mode(False):
    latents = flow.encode(tf.identity(pixels))
    return float(tf.reduce_max(tf.abs(flow.decode(latents) - pixels)))


def test_a_bfloat16_run_loads_as_float32_networks_unless_told(tmp_path):
  trained = _bfloat16_run_directory(tmp_path)
  pixels = _pixels(8, seed=3)
  loaded = loading.load_flow(str(tmp_path), weights='raw')
  kept = loading.load_flow(str(tmp_path), weights='raw', compute_dtype=None)
  def compute_dtypes(flow):
    return {module.compute_dtype for module in flow.submodules
            if isinstance(module, tf_keras.layers.Layer)}

  assert compute_dtypes(loaded) == {'float32'}
  assert 'bfloat16' in compute_dtypes(kept)
  for variable, value in zip(loaded.variables, trained.variables):
    np.testing.assert_array_equal(variable, value)
  # Exact inference: float32's rounding, amplified by the scales (here
  # about 1e-4 for pixels up to 256; a trained bfloat16 network, which
  # rounds its inputs, decodes to within pixel levels).
  assert _round_trip_error(loaded, pixels) < 1e-3
  with pytest.raises(ValueError, match="'float32' or None"):
    loading.load_flow(str(tmp_path), compute_dtype='bfloat16')
