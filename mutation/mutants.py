"""The mutants of the likelihood path that the tests must catch.

Each is one deliberate break: a text replaced once in one file, and the
tests that must fail because of it. `mutation/run.py` applies each to a
copy of the tree and runs its tests there; docs/testing.md
holds the table it prints. A mutant's `before` must stand exactly once in
its file (`tests/mutation_test.py` keeps the list in step with the code).
"""

import collections

__all__ = ['MUTANTS', 'Mutant']

Mutant = collections.namedtuple('Mutant',
                                ['name', 'breaks', 'path', 'before', 'after',
                                 'tests'])

_COUPLING = 'tfp_realnvp/bijectors/masked_affine_coupling.py'
_BATCH_NORM = 'tfp_realnvp/bijectors/batch_normalization.py'
_STEP = 'tfp_realnvp/training/step.py'
_COUPLING_TESTS = 'tests/masked_affine_coupling_test.py::'
_BATCH_NORM_TESTS = 'tests/batch_normalization_test.py::'
_DEQUANTIZATION_TESTS = 'tests/dequantization_test.py::'
_STEP_TESTS = 'tests/step_test.py::'
_CONDITIONED_TESTS = 'tests/conditioned_test.py::'
_NOISE = 'tfp_realnvp/dequantization/noise.py'
_AVERAGED = 'tfp_realnvp/training/averaged_weights.py'
_NOISE_TESTS = 'tests/reproducible_noise_test.py::'
_AVERAGED_TESTS = 'tests/averaged_statistics_test.py::'

MUTANTS = (
    # Couplings (paper §3.2-3.4).
    Mutant('coupling-scale-sign', 'the coupling scales by exp(-s) forward',
           _COUPLING,
           '        transformed = transformed * tf.exp(log_scale)\n',
           '        transformed = transformed * tf.exp(-log_scale)\n',
           (_COUPLING_TESTS +
            'TestCheckerboardParity0::test_inverse_of_forward_is_identity',)),
    Mutant('coupling-log-det-sign', 'the forward log-det is -sum(s)',
           _COUPLING,
           '    y, sum_log_scale = self._coupling(x, +1, training, '
           'conditional_input)\n    return y, -sum_log_scale\n',
           '    y, sum_log_scale = self._coupling(x, +1, training, '
           'conditional_input)\n    return y, sum_log_scale\n',
           (_COUPLING_TESTS +
            'TestCheckerboardParity0::test_forward_log_det_matches_brute_force_'
            'jacobian',)),
    Mutant('coupling-shifts-conditioning', 'the shift reaches the '
           'conditioning units', _COUPLING,
           '      shift = shift * (1. - mask)\n',
           '      shift = shift * mask\n',
           (_COUPLING_TESTS + 'test_conditioning_units_pass_unchanged',)),
    Mutant('checkerboard-parity', 'parity 0 keeps the odd squares',
           _COUPLING,
           '  mask = tf.equal((rows + cols + parity) % 2, 0)\n',
           '  mask = tf.equal((rows + cols + parity) % 2, 1)\n',
           (_COUPLING_TESTS + 'test_checkerboard_parities_are_complementary',)),
    Mutant('batch-norm-log-det', 'the log-det adds half the log-variance',
           _BATCH_NORM,
           '    per_channel = log_scale - 0.5 * tf.math.log(variance + '
           'self._epsilon)\n',
           '    per_channel = log_scale + 0.5 * tf.math.log(variance + '
           'self._epsilon)\n',
           (_BATCH_NORM_TESTS +
            'TestBatchNormImage::test_forward_log_det_matches_brute_force_'
            'jacobian',)),
    Mutant('batch-norm-generative-mean', 'the generative direction '
           'subtracts the mean', _BATCH_NORM,
           '    y = (x - shift) * multiplier + mean\n',
           '    y = (x - shift) * multiplier - mean\n',
           (_BATCH_NORM_TESTS +
            'TestBatchNormImage::test_inverse_of_forward_is_identity',)),
    Mutant('batch-norm-training-statistics', 'training normalizes with '
           'the moving averages', _BATCH_NORM,
           "    if self._training_statistics == 'batch':\n",
           "    if self._training_statistics == 'never':\n",
           (_BATCH_NORM_TESTS +
            'test_training_normalizes_with_batch_statistics',)),
    Mutant('moving-average-not-debiased', 'the moving averages keep their '
           'zero start', 'tfp_realnvp/batch_statistics.py',
           '  return tf.minimum(\n      -decay / tf.math.expm1(num_updates * '
           'math.log1p(-decay)), 1.)\n',
           '  return tf.ones_like(num_updates) * decay\n',
           (_BATCH_NORM_TESTS +
            'test_moving_averages_move_in_training_only_and_are_debiased',)),
    Mutant('squeeze-block-order', 'squeeze reads 2x2 blocks column-major',
           'tfp_realnvp/bijectors/squeeze.py',
           '      blocks = tf.reshape(\n          x, [-1, height // 2, 2, '
           'width // 2, 2, channels])\n    blocks = tf.transpose(blocks, '
           '[0, 1, 3, 2, 4, 5])\n',
           '      blocks = tf.reshape(\n          x, [-1, height // 2, 2, '
           'width // 2, 2, channels])\n    blocks = tf.transpose(blocks, '
           '[0, 1, 3, 4, 2, 5])\n',
           ('tests/squeeze_test.py::'
            'test_squeeze_takes_2x2_blocks_in_row_major_order',)),
    Mutant('factor-out-drops-log-det', 'the coarser scales\' log-det is '
           'dropped', 'tfp_realnvp/bijectors/factor_out.py',
           '      ildj = self._bijector.inverse_log_det_jacobian(\n',
           '      ildj = 0. * self._bijector.inverse_log_det_jacobian(\n',
           ('tests/model_test.py::'
            'test_log_prob_matches_brute_force_jacobian_of_the_whole_model',)),
    Mutant('factor-out-keeps-second-half', 'the second half is factored '
           'out', 'tfp_realnvp/bijectors/factor_out.py',
           '      return tf.split(x, 2, axis=-1)\n',
           '      return tf.split(x, 2, axis=-1)[::-1]\n',
           ('tests/factor_out_test.py::'
            'test_first_half_leaves_second_half_goes_on',)),
    Mutant('logit-drops-the-256-levels', 'the log-det forgets the '
           '1 / 256 of the pixel range', 'tfp_realnvp/bijectors/logit.py',
           '    log_slope = math.log((1. - 2. * self._alpha) / '
           'self._num_levels)\n',
           '    log_slope = math.log(1. - 2. * self._alpha)\n',
           ('tests/logit_test.py::'
            'TestLogit::test_inverse_log_det_matches_brute_force_jacobian',)),
    Mutant('logit-alpha-once', 'the inverse squeezes by 1 - alpha, not '
           '1 - 2 alpha', 'tfp_realnvp/bijectors/logit.py',
           '      return self._alpha + (1. - 2. * self._alpha) / '
           'self._num_levels * x\n',
           '      return self._alpha + (1. - self._alpha) / '
           'self._num_levels * x\n',
           ('tests/logit_test.py::'
            'TestLogit::test_inverse_of_forward_is_identity',)),
    Mutant('bits-per-dim-unit', 'bits/dim forgets to divide by D',
           'tfp_realnvp/dequantization/units.py',
           "  return -log_prob / (num_dims * math.log(2.))\n",
           "  return -log_prob / math.log(2.)\n",
           ('tests/model_test.py::'
            'test_bits_per_dim_is_negative_log_prob_over_d_ln_2',)),
    Mutant('k-draw-forgets-log-k', 'the K-draw mean forgets its 1 / K',
           'tfp_realnvp/dequantization/estimate.py',
           '  return tf.reduce_logsumexp(log_weights_k, axis=0) - '
           'tf.math.log(samples)\n',
           '  return tf.reduce_logsumexp(log_weights_k, axis=0)\n',
           (_DEQUANTIZATION_TESTS +
            'test_the_k_draw_estimate_rises_with_k_to_the_exact_discrete_'
            'likelihood',)),
    Mutant('k-draw-mean-of-logs', 'the estimate averages the log-weights',
           'tfp_realnvp/dequantization/estimate.py',
           '  return log_mean_exp(weights)\n',
           '  return tf.reduce_mean(weights, axis=0)\n',
           (_DEQUANTIZATION_TESTS +
            'test_the_k_draw_estimate_rises_with_k_to_the_exact_discrete_'
            'likelihood',)),
    Mutant('k-draw-adds-log-q', 'the importance weight adds log q',
           'tfp_realnvp/dequantization/estimate.py',
           '    return log_prob_fn(values) - log_q\n',
           '    return log_prob_fn(values) + log_q\n',
           ('tests/variational_dequantization_test.py::'
            'test_the_k_draw_estimate_through_a_learned_q_is_the_integral',)),
    Mutant('uniform-noise-half-cube', 'uniform noise fills half the cube',
           'tfp_realnvp/dequantization/uniform.py',
           '    noise = noise_lib.uniform(shape, seed, dtype, '
           'first_example=first_example)\n',
           '    noise = 0.5 * noise_lib.uniform(shape, seed, dtype, '
           'first_example=first_example)\n',
           (_DEQUANTIZATION_TESTS +
            'test_the_k_draw_estimate_rises_with_k_to_the_exact_discrete_'
            'likelihood',)),
    Mutant('uniform-noise-ignores-seed', 'a seeded draw is stateful',
           _NOISE,
           '  if seed is None:\n    return tf.random.uniform(shape, minval, 1., '
           'dtype)\n',
           '  if True:\n    return tf.random.uniform(shape, minval, 1., '
           'dtype)\n',
           (_DEQUANTIZATION_TESTS +
            'test_the_uniform_dequantizer_stays_in_each_unit_cube',)),
    Mutant('learned-q-log-det-sign', 'log q adds the noise flow\'s log-det',
           'tfp_realnvp/dequantization/variational.py',
           '    log_q = self._base.log_prob(eps) - '
           'self._bijector.forward_log_det_jacobian(\n',
           '    log_q = self._base.log_prob(eps) + '
           'self._bijector.forward_log_det_jacobian(\n',
           ('tests/variational_dequantization_test.py::'
            'test_log_q_is_the_density_of_the_noise_it_draws',)),
    Mutant('learned-q-evaluation-mode', 'q draws in evaluation mode, even '
           'in training', 'tfp_realnvp/dequantization/variational.py',
           '    eps = self._logistic_noise(tf.shape(pixels), seed, '
           'first_example)\n'
           '    kwargs = dict(conditional_input=self.context(pixels), '
           'training=training)\n',
           '    eps = self._logistic_noise(tf.shape(pixels), seed, '
           'first_example)\n'
           '    kwargs = dict(conditional_input=self.context(pixels), '
           'training=False)\n',
           (_STEP_TESTS +
            'test_the_variational_objective_subtracts_a_trained_log_q',)),
    Mutant('objective-adds-log-q', 'the objective adds log q (finding 6)',
           _STEP,
           '    return self._density(values, condition, training) - log_q\n',
           '    return self._density(values, condition, training) + log_q\n',
           (_STEP_TESTS +
            'test_the_variational_objective_subtracts_a_trained_log_q',)),
    Mutant('objective-q-in-evaluation-mode', 'the step runs q\'s batch '
           'norm in evaluation mode (finding 6)', _STEP,
           '    return self.dequantizer(values, self.distribution.dtype, '
           'seed=seed,\n                            training=training)\n',
           '    return self.dequantizer(values, self.distribution.dtype, '
           'seed=seed,\n                            training=False)\n',
           (_STEP_TESTS +
            'test_the_variational_objective_subtracts_a_trained_log_q',)),
    Mutant('no-weight-norm-penalty', 'the L2 penalty on the weight-norm '
           'scales is gone', _STEP,
           '    return self.l2_scale * tf.add_n([',
           '    return 0. * tf.add_n([',
           ('tests/training_test.py::'
            'test_l2_penalty_is_on_the_weight_norm_scales',)),
    Mutant('skipped-step-not-undone', 'a non-finite step reaches the '
           'weights', 'tfp_realnvp/training/non_finite.py',
           '          variable, lambda v, old: v.assign(tf.where(finite, v, '
           'old)),\n',
           '          variable, lambda v, old: v.assign(v),\n',
           (_STEP_TESTS +
            'test_a_plain_tf_function_loop_trains_without_keras',)),
    Mutant('polyak-not-debiased', 'the average keeps its zero start',
           'tfp_realnvp/training/polyak.py',
           '    correction = 1. - self.zero_share\n',
           '    correction = tf.ones_like(self.zero_share)\n',
           ('tests/polyak_test.py::'
            'test_average_is_the_hand_computed_debiased_average',)),
    Mutant('polyak-update-weight', 'each update takes d w, not (1 - d) w',
           'tfp_realnvp/training/polyak.py',
           '                     + (1. - average_decay) * tf.cast(weight, '
           'average.dtype))\n',
           '                     + average_decay * tf.cast(weight, '
           'average.dtype))\n',
           ('tests/polyak_test.py::'
            'test_average_is_the_hand_computed_debiased_average',)),
    Mutant('warmup-off-by-one', 'the warm-up starts at 0',
           'tfp_realnvp/training/schedules.py',
           '      rate *= tf.minimum(1., (step + 1.) / self.warmup_steps)\n',
           '      rate *= tf.minimum(1., step / self.warmup_steps)\n',
           ('tests/training_test.py::' 'test_warmup_decay_schedule_values',)),
    Mutant('decay-clock-ignores-warmup', 'the decay counts the warm-up',
           'tfp_realnvp/training/schedules.py',
           '    return tf.maximum(step - self.warmup_steps, 0.) / '
           'self.decay_steps\n',
           '    return tf.maximum(step, 0.) / self.decay_steps\n',
           ('tests/training_test.py::' 'test_warmup_decay_schedule_values',)),
    Mutant('budget-decay-starts-at-once', 'the budget\'s decay ignores '
           'its start', 'tfp_realnvp/training/schedules.py',
           '    return (tf.maximum(progress - self.decay_start, 0.)\n',
           '    return (tf.maximum(progress, 0.)\n',
           ('tests/budget_test.py::'
            'test_the_progress_clock_drives_the_decay_by_its_formula',)),
    # The condition.
    Mutant('label-range-off-by-one', 'label num_classes passes the check',
           'tfp_realnvp/condition.py',
           '        tf.debugging.assert_less(\n',
           '        tf.debugging.assert_less_equal(\n',
           ('tests/condition_test.py::'
            'test_labels_unknown_until_run_time_are_checked_then',)),
    Mutant('condition-not-sliced', 'slicing a given flow keeps its whole '
           'condition (finding 3)', 'tfp_realnvp/flows/conditioned.py',
           '        labels=tfp.util.ParameterProperties(event_ndims=0),\n',
           '        labels=tfp.util.ParameterProperties(event_ndims=None),\n',
           (_CONDITIONED_TESTS +
            'test_slicing_slices_the_condition_with_the_batch',)),
    Mutant('values-not-broadcast', 'values are not broadcast with the '
           'condition (finding 5)', 'tfp_realnvp/flows/conditioned.py',
           '    value, condition = self._broadcast(value)\n',
           '    condition = self._condition\n',
           (_CONDITIONED_TESTS + 'test_values_broadcast_with_the_condition',)),
    Mutant('given-without-its-q', 'a given flow has no dequantizer '
           '(finding 4)', 'tfp_realnvp/flows/conditioned.py',
           '    return self._flow.dequantizer\n',
           '    return None\n',
           (_CONDITIONED_TESTS +
            'test_a_conditioned_flow_carries_the_flows_learned_q',)),
    Mutant('integer-values-scored', 'a density scores integer pixels as '
           'values', 'tfp_realnvp/dequantization/pixels.py',
           '  if not is_integer(values):\n    return\n  if flow.dequantizer is '
           'None:\n',
           '  if True:\n    return\n  if flow.dequantizer is None:\n',
           ('tests/pixels_test.py::'
            'test_integer_pixels_are_refused_by_a_density_with_the_discrete_'
            'call',)),
    Mutant('whole-number-floats-pass', 'integer pixels as floats train '
           'unnamed', 'tfp_realnvp/dequantization/pixels.py',
           '  return values.size > 0 and bool(np.all(values == '
           'np.floor(values)))\n',
           '  return False\n',
           ('tests/pixels_test.py::'
            'test_whole_number_floats_are_named_before_training_reports_a_'
            'figure',)),
    Mutant('evaluation-ignores-its-seed', 'an evaluation draws new noise '
           'whatever its seed', _STEP,
           '    if seed is None:\n      seed = self.seed if self.seed is not '
           'None else np.random.randint(\n',
           '    if True:\n      seed = self.seed if self.seed is not '
           'None else np.random.randint(\n',
           ('tests/keras_saving_test.py::'
            'test_a_file_written_after_any_evaluation_loads',)),
    Mutant('averaged-weights-stay', 'evaluating the averaged weights leaves '
           'them in the model', 'tfp_realnvp/training/polyak.py',
           '        weight.assign(value)\n',
           '        weight.assign(weight)\n',
           ('tests/polyak_test.py::test_averaged_weights_are_used_inside_the_'
            'block_only', 'tests/seams_test.py::test_sequences_of_user_calls')),
    Mutant('noise-ignores-position', 'a seeded draw belongs to the batch, '
           'not to each example', _NOISE,
           '  offset = tf.cast(first_example, tf.int64) * tf.cast(blocks, '
           'tf.int64)\n',
           '  offset = tf.zeros([], tf.int64)\n',
           (_NOISE_TESTS + 'test_an_examples_noise_depends_on_its_position_only',
            _NOISE_TESTS + 'test_every_figure_is_the_same_at_any_batch_size')),
    Mutant('averaged-statistics-under-raw-weights', 'the averaged weights\' '
           'statistics are computed with the raw weights in place', _AVERAGED,
           '    with self._polyak.swapped_in(self._weights), (\n',
           '    with contextlib.nullcontext(), (\n',
           (_AVERAGED_TESTS +
            'test_the_averaged_weights_carry_statistics_computed_under_them',)),
    Mutant('averaged-weights-raw-statistics', 'the averaged weights are '
           'scored with the raw weights\' statistics (#43)', _AVERAGED,
           '          self._statistics.assign_to_batch_norms()\n'
           '          yield\n',
           '          yield\n',
           (_AVERAGED_TESTS +
            'test_the_averaged_weights_carry_statistics_computed_under_them',)),
    Mutant('keras-file-stale-statistics', 'a .keras file written after fit '
           'holds stale averaged statistics (#44)', 'tfp_realnvp/keras3.py',
           '    if self.step.averaging is not None:\n'
           '      self.step.averaging.update_statistics()\n',
           '',
           ('tests/keras3_test.py::test_keras3_file_loads_with_the_same_'
            'figures',)),
    Mutant('loaded-flow-keeps-bfloat16', 'a bfloat16 run loads with '
           'bfloat16 networks, inexact inference (#45)',
           'tfp_realnvp/app/loading.py',
           "  if compute_dtype == 'float32' and 'compute_dtype' in description:\n",
           "  if False:\n",
           ('tests/mixed_precision_test.py::test_a_bfloat16_run_loads_as_'
            'float32_networks_unless_told',)),
)
