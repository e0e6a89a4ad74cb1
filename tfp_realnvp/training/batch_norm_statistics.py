"""Recomputing the moving statistics of every batch norm of a flow."""

from tfp_realnvp import bijectors as rnvp_bijectors
from tfp_realnvp.training import averaged_weights
from tfp_realnvp.training import step as step_lib

__all__ = ['recompute_batch_norm_statistics']


def recompute_batch_norm_statistics(distribution, dataset, num_batches=None):
  """Sets every batch norm's moving statistics from a pass over `dataset`.

  For checkpoints trained before the moving averages were debiased (or any
  whose statistics lag the weights): each batch runs through the flow in
  training mode, where batch norm normalizes with the batch's own
  statistics, and each batch norm's moving mean and variance become the mean
  of its batch statistics over the pass. Trainable weights do not change.
  The update counts are set to the number of batches, so training resumes
  with a fully debiased average.

  Args:
    distribution: a flow holding `tfp_realnvp` batch norms, e.g.
      `tfp_realnvp.RealNVP`; class-conditional ones need `(images, labels)`.
    dataset: a `tf.data.Dataset` (or iterable) of images or `(images, labels)`
      batches, as `FlowModel.fit` takes; integer images go through the
      flow's `dequantizer` (a learned `q`'s batch norms included).
    num_batches: `None` for the whole dataset, else at most this many batches.

  Returns:
    The number of batches used.

  Raises:
    ValueError: if `distribution` holds no batch norm, or `dataset` no batch.
  """
  norms = rnvp_bijectors.batch_norms(distribution)
  if not norms:
    raise ValueError(f'{distribution.name} holds no tfp_realnvp batch norm.')
  # The training step's objective: the same dequantization, condition and
  # mode as a training batch.
  step = step_lib.TrainingStep(distribution)
  return averaged_weights.StatisticsPass(step.objective, norms)(
      dataset, num_batches)
