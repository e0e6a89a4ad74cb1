"""The health line of a training run: a fixed probe batch measured each epoch."""

import math
import os

from absl import logging
import tensorflow as tf
import tf_keras

from tfp_realnvp import training
from tfp_realnvp.app import precision

__all__ = ['EpochHealth', 'STALE_STATISTICS_GAP', 'stale_statistics_advice']

# Bits/dim between the probe in evaluation and in training mode past which
# the moving averages lag the weights enough to mislead (a short run, or
# averaged weights scored with the raw weights' statistics).
STALE_STATISTICS_GAP = 0.5


def stale_statistics_advice(figures):
  """A sentence for the health line when the statistics are stale, or ''."""
  gap = (figures['probe_bits_per_dim_evaluation'] -
         figures['probe_bits_per_dim_training'])
  if not abs(gap) > STALE_STATISTICS_GAP:  # NaN (skipped): no advice.
    return ''
  return (f'; evaluation mode is {gap:+.2f} bits/dim off training mode: '
          "batch norm's moving averages lag the weights (early in a run, or "
          'with --averaged_statistics_batches=0); '
          'tfp_realnvp.recompute_batch_norm_statistics(flow, train_data) '
          'recomputes them, and --averaged_statistics_batches (FlowModel\'s '
          'averaged_statistics_batches) gives the averaged weights their own')


class EpochHealth(tf_keras.callbacks.Callback):
  """A health line each epoch, on a fixed probe batch, in the log and TensorBoard.

  On the model used for evaluation (the Polyak average with its own
  batch-norm statistics, if kept):

  * `reconstruction_error`: max |decode(encode(x)) - x|, which grows when
    a coupling's scales blow up long before the loss shows it; for a
    bfloat16 model also `reconstruction_error_float32`, of its weights
    computing in float32 (see `precision.float32_twin`);
  * `max_abs_latent`: max |z|, far beyond a normal's few units when the
    flow maps data outside the prior's mass;
  * `probe_bits_per_dim_evaluation` and `..._training`: the probe's
    bits/dim with batch norm's moving averages and with the batch's own
    statistics (the moving averages are restored after), whose gap shows
    stale statistics. The training-mode figure needs one replica (it reads
    batch statistics outside `strategy.run`) and is skipped otherwise.
  """

  def __init__(self, probe, log_dir, is_chief):
    super().__init__()
    self._probe = probe
    self._writer = tf.summary.create_file_writer(
        os.path.join(log_dir, 'health'))
    self._is_chief = is_chief
    self._twin = False  # Built at the first health check.

  def _training_mode_bits_per_dim(self, flow, values, kwargs):
    norms = training.batch_norms(flow)
    saved = [[tf.identity(v) for v in
              (bn.moving_mean, bn.moving_variance, bn.num_updates)]
             for bn in norms]
    try:
      return float(tf.reduce_mean(
          flow.bits_per_dim(values, training=True, **kwargs)))
    finally:
      for bn, values_before in zip(norms, saved):
        for variable, value in zip(
            (bn.moving_mean, bn.moving_variance, bn.num_updates),
            values_before):
          variable.assign(value)

  def health(self):
    """The probe's figures, a dict of Python floats (NaN where skipped)."""
    flow = self.model.distribution
    spec = flow.condition_spec
    values, condition = spec.split(self._probe, flow.name)
    kwargs = spec.keywords(condition)
    with self.model.averaged_weights():
      if values.dtype.is_integer:
        # uint8 pixels (a variational run): one fixed draw of the model's q.
        values, _ = self.model.dequantizer(
            values, flow.dtype, seed=tf.constant([0, 0]))
      latents = flow.encode(values, **kwargs)
      figures = dict(
          reconstruction_error=self._reconstruction_error(flow, values,
                                                          latents, kwargs),
          max_abs_latent=float(tf.reduce_max(tf.abs(latents))),
          probe_bits_per_dim_evaluation=float(tf.reduce_mean(
              flow.bits_per_dim(values, training=False, **kwargs))),
          probe_bits_per_dim_training=math.nan)
      if self._twin is False:
        self._twin = precision.float32_twin(flow)
      if self._twin is not None:
        precision.copy_variables(flow, self._twin)
        figures['reconstruction_error_float32'] = self._reconstruction_error(
            self._twin, values, self._twin.encode(values, **kwargs), kwargs)
      if tf.distribute.get_strategy().num_replicas_in_sync == 1:
        figures['probe_bits_per_dim_training'] = (
            self._training_mode_bits_per_dim(flow, values, kwargs))
    return figures

  def _weights_described(self):
    if not self.model.polyak_averages:
      return 'raw weights'
    if self.model.step.averaged_statistics.has_statistics():
      return 'averaged weights, their own batch-norm statistics'
    return "averaged weights, the raw weights' batch-norm statistics"

  @staticmethod
  def _reconstruction_error(flow, values, latents, kwargs):
    return float(tf.reduce_max(tf.abs(flow.decode(latents, **kwargs) -
                                      values)))

  def on_epoch_end(self, epoch, logs=None):
    figures = self.health()
    if not self._is_chief:
      return
    in_float32 = ''
    twin_error = figures.get('reconstruction_error_float32')
    if twin_error is not None:
      in_float32 = f' (bfloat16 networks; {twin_error:.3g} in float32)'
    logging.info(
        'Health after epoch %d (%s): reconstruction error %.3g%s, max '
        '|latent| %.3g, probe bits/dim %.4f (evaluation) vs %.4f (training '
        'mode)%s',
        epoch + 1, self._weights_described(), figures['reconstruction_error'],
        in_float32,
        figures['max_abs_latent'], figures['probe_bits_per_dim_evaluation'],
        figures['probe_bits_per_dim_training'],
        stale_statistics_advice(figures))
    with self._writer.as_default(step=epoch + 1):
      for name, value in figures.items():
        if not math.isnan(value):
          tf.summary.scalar(f'health/{name}', value)
    self._writer.flush()
