"""The training run behind bin/train.py: build a model and data, train, report.

`run(config, datasets=None, strategy=None)` is what the binary calls; tests
and notebooks call it directly, injecting their own datasets.

A run writes under `model_dir` (never deleting anything there):

  config.json              the resolved configuration and model description
  checkpoints/chief/       the latest training state (every epoch, and every
                           `checkpoint_every_steps` steps), resumed from
                           automatically when the same command runs again
  tensorboard/             train/validation bits/dim, learning rate, samples
  samples/epoch_NNNN.png   a grid of samples after each epoch (image data,
                           the averaged weights), and samples/final.png of
                           the weights the run chose on validation
  figure1.png              the paper's Figure 1 (2-D toy data)
  export/<step>/           the SavedModel (TF Serving layout), see export.py
  results.json             final validation and test bits/dim (and with
                           dequantization_samples > 1 the K-draw test
                           estimate), the weights chosen, history, timings
"""

import dataclasses
import os
import shutil
import signal
import tempfile
import time

from absl import logging
import numpy as np
import tensorflow as tf
import tf_keras

from tfp_realnvp import compat
from tfp_realnvp import data
from tfp_realnvp import flows
from tfp_realnvp import training
from tfp_realnvp.app import budget as budget_lib
from tfp_realnvp.app import callbacks as callbacks_lib
from tfp_realnvp.app import config as config_lib
from tfp_realnvp.app import learning_rates
from tfp_realnvp.app import export
from tfp_realnvp.app import figures
from tfp_realnvp.app import health
from tfp_realnvp.app import precision
from tfp_realnvp.app import run_data
from tfp_realnvp.app import summaries
from tfp_realnvp.app import terminal
from tfp_realnvp.app import weight_choice
from tfp_realnvp.app.callbacks import NonFiniteLossError
from tfp_realnvp.app.callbacks import TrainingInterrupted
from tfp_realnvp.app.config import TrainConfig

__all__ = [
    'NonFiniteLossError',
    'TrainConfig',
    'TrainingInterrupted',
    'make_strategy',
    'run',
]


def make_strategy(name, tpu=''):
  """The `tf.distribute.Strategy` called `name` (see `config.STRATEGIES`).

  `mirrored` uses every local GPU (the CPU when there is none);
  `multi_worker` is `MultiWorkerMirroredStrategy` configured from the
  `TF_CONFIG` environment variable, and, as TensorFlow requires, must be made
  before any other TensorFlow work in the process; `tpu` connects to the TPU
  at `tpu` (empty: the local or Cloud TPU that the resolver finds).
  """
  if name == 'default':
    return tf.distribute.get_strategy()
  if name == 'one_device':
    gpus = tf.config.list_logical_devices('GPU')
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else '/cpu:0')
  if name == 'mirrored':
    return tf.distribute.MirroredStrategy()
  if name == 'multi_worker':
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == 'tpu':
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  raise ValueError(f'Unknown --strategy {name!r}; choose one of '
                   f'{list(config_lib.STRATEGIES)}.')


def _test_figures(config, distribution, weights):
  """The final figures of the test split (results.json fields), or {}.

  Integer images are scored as `bin/evaluate.py` scores them (the same
  function and noise: an image's draws depend on the seed and its position
  only, and float32 networks), so it repeats them from the run directory:
  the single-draw figure is the first of the `K` draws, seeded by
  `--seed + 2`.
  """
  if not config.test_split:
    return {}
  distribution = precision.computing_in_float32(distribution)
  samples = config.dequantization_samples
  if data.is_vector_dataset(config.dataset):
    figures = dict(test_bits_per_dim=training.evaluate_bits_per_dim(
        distribution, run_data.evaluation_dataset(config, config.test_split,
                                                  config.seed + 2)))
  else:
    estimate = training.evaluate_discrete_bits_per_dim(
        distribution,
        run_data.evaluation_dataset(config, config.test_split,
                                    config.seed + 2, dequantized=False),
        samples=samples, seed=config.seed + 2)
    figures = {f'test_{name}': value
               for name, value in estimate.as_figures().items()
               if samples > 1 or not name.startswith(('discrete', 'deq'))}
    figures.update(test_seed=config.seed + 2, dequantization_samples=samples)
  described = weight_choice.describe(weights)
  logging.info('Test bits/dim %.4f on %r with the %s (the final figure).',
               figures['test_bits_per_dim'], config.test_split, described)
  if samples > 1:
    logging.info('Test bits/dim from %d draws of noise per image: %.4f +- '
                 '%.4f (one draw: %.4f +- %.4f), %s.', samples,
                 figures['test_discrete_bits_per_dim'],
                 figures['test_discrete_bits_per_dim_standard_error'],
                 figures['test_bits_per_dim'],
                 figures['test_bits_per_dim_standard_error'], described)
  return figures


def _training_steps(model):
  return int(model.optimizer.iterations.numpy())


def run(config, datasets=None, strategy=None, callbacks=()):
  """Trains a Real NVP as configured and returns its results.

  Running the same configuration again resumes from the last checkpoint in
  `model_dir` (a finished run trains no further; raise `epochs` to extend it).

  Args:
    config: a `TrainConfig`.
    datasets: optional `(train, validation)` batched `tf.data.Dataset`s of
      dequantized pixels (or vectors) replacing the configured data.
    strategy: optional `tf.distribute.Strategy` (default: the one
      `config.strategy` names). The global batch is `config.batch_size`,
      split across replicas; batch norm uses statistics of the global batch.
    callbacks: more Keras callbacks for `fit`, after the run's own.

  Returns:
    A dict with `weights` (one of `weight_choice.WEIGHTS`: the candidate
    that scored best on validation once training ended), the final
    `validation_bits_per_dim` of those weights and
    `validation_bits_per_dim_by_weights` (every candidate's),
    `test_bits_per_dim` (on `config.test_split` after training, the chosen
    weights; `None` with injected `datasets` or no test split; for images
    also `test_seed` and `dequantization_samples`, from which
    `bin/evaluate.py` repeats it, and with `K > 1` the `K`-draw
    `test_discrete_bits_per_dim`), the per-epoch
    `history` of this call, `steps` (training steps done in all, resumed
    runs included), `train_seconds`, `num_parameters`, `model_dir`,
    `saved_model` (the export's path) and the trained `distribution`.

  Raises:
    ValueError: for a configuration that cannot work (named in the message),
      missing data, or a `model_dir` holding a different model.
    NonFiniteLossError: when the loss or a gradient becomes NaN or infinite;
      the last checkpoint is the last good state.
    TrainingInterrupted: after SIGTERM or SIGINT, once a checkpoint is saved.
  """
  config_lib.check_config(config)
  config = learning_rates.with_default_learning_rate(config)
  # First: MultiWorkerMirroredStrategy must precede other TensorFlow work.
  strategy = strategy or make_strategy(config.strategy, config.tpu)
  tf_keras.utils.set_random_seed(config.seed)
  is_chief = strategy.extended.should_checkpoint
  model_dir = config.model_dir or config_lib.default_model_dir(config.dataset)
  export_dir = config.export_dir or os.path.join(model_dir, 'export')

  def fresh_validation_data():
    # Configured data are built afresh, so every copy draws the
    # dequantization noise of a first pass: the same values each time.
    dataset = datasets[1] if datasets else run_data.validation_dataset(config)
    if config.validation_examples:
      dataset = dataset.unbatch().take(config.validation_examples).batch(
          config.batch_size)
    return run_data.shard_by_example(dataset)

  train_data = run_data.shard_by_example(
      datasets[0] if datasets else run_data.training_dataset(config))
  validation_data = fresh_validation_data()
  element_spec = train_data.element_spec
  if isinstance(element_spec, tuple):
    element_spec = element_spec[0]
  event_shape = tuple(element_spec.shape[1:])
  num_classes = None
  if config.conditional:
    if not isinstance(train_data.element_spec, tuple):
      raise ValueError('--conditional needs a dataset of (images, labels).')
    num_classes = data.num_classes(config.dataset, config.data_dir)

  precision_choice = precision.choose_for(config.mixed_precision, event_shape)
  with strategy.scope():
    # The share of a --train_minutes budget spent: a decay's clock.
    progress = (tf.Variable(0., trainable=False, name='budget_progress')
                if config.train_minutes else None)
    distribution = config_lib.build_flow(
        config, event_shape, num_classes,
        compute_dtype=precision_choice.compute_dtype)
    flow_model = training.FlowModel(
        distribution, l2_scale=config.l2_scale,
        polyak_decay=config.polyak_decay or None,
        skip_non_finite=config.skip_non_finite_batches > 0,
        # Seeded: every validation pass draws the same noise, so epochs and
        # the final weight choice compare like with like.
        seed=config.seed,
        averaged_statistics_batches=config.averaged_statistics_batches)
    # TF's fused Adam kernel (one op per variable, not ~35): in the paper's
    # CIFAR-10 model about 10% less peak memory and a faster step.
    flow_model.compile(
        optimizer=tf_keras.optimizers.legacy.Adam(
            learning_rates.learning_rate(config, progress)),
        jit_compile=config.jit_compile)
  description = flows.flow_config(distribution)
  config_path = os.path.join(model_dir, 'config.json')
  config_lib.check_same_model(config_path, description)
  data_dir = config.data_dir
  if data_dir and '://' not in data_dir:
    # The tools that read config.json may run from another directory.
    data_dir = os.path.abspath(data_dir)
  train_split, validation_split = config_lib.splits(config)
  resolved = dict(dataclasses.asdict(config), model_dir=model_dir,
                  train_split=train_split, validation_split=validation_split,
                  export_dir=export_dir, event_shape=list(event_shape),
                  data_dir=data_dir, model=description)
  if is_chief:
    tf.io.gfile.makedirs(model_dir)
    config_lib.write_json(config_path, resolved)

  if config.steps_per_epoch:
    # Epochs of a fixed length never run out of data.
    train_data = train_data.repeat()
  # The optimizer's slots exist before the checkpoint is restored, so it
  # restores them at once: left to the first step (lazily), a finished run
  # that trains no step leaves them pending and TensorFlow warns about every
  # one of them on exit.
  with strategy.scope():
    compat.create_optimizer_slots(flow_model.optimizer,
                                  flow_model.trainable_variables)
  log_dir = os.path.join(model_dir, 'tensorboard')
  budget = (budget_lib.TimeBudget(config.train_minutes, model_dir, is_chief,
                                  progress) if config.train_minutes else None)
  if isinstance(flow_model.optimizer.learning_rate, training.ProgressDecay):
    decay, decay_start = learning_rates.budget_decay(config)
    logging.info('Learning rate: %g for %.0f%% of the %.1f-minute budget, '
                 'then a %s decay (--decay, --decay_start).',
                 config.learning_rate, 100 * decay_start, config.train_minutes,
                 decay)
  checkpoints = callbacks_lib.Checkpoints(model_dir,
                                          config.checkpoint_every_steps,
                                          config.learning_rate)
  save_on_signal = callbacks_lib.SaveOnSignal(checkpoints)
  epoch_figures = summaries.EpochFigures(
      distribution, model_dir, log_dir, config.num_samples,
      config.temperature, config.seed, is_chief)
  extra_callbacks = list(callbacks)
  callbacks = [
      callbacks_lib.StopOnNonFiniteLoss(
          config.learning_rate, config_lib.checkpoint_dir(model_dir),
          config.skip_non_finite_batches),
      checkpoints,
      save_on_signal,
      # The epoch figures (StepSummaries writes steps').
      tf_keras.callbacks.TensorBoard(log_dir, write_graph=False,
                                     profile_batch=0, update_freq='epoch'),
      epoch_figures,
  ]
  # From its own copy of the validation data: each pass over a dataset
  # draws the next epoch's dequantization noise, so taking the probe from
  # the validation set itself would shift every later validation figure.
  probe = next(iter(fresh_validation_data()))
  callbacks.append(health.EpochHealth(probe, log_dir, is_chief))
  if config.log_every_steps:
    callbacks.append(summaries.StepSummaries(log_dir, config.log_every_steps,
                                             is_chief))
    total_steps = (config.epochs * config.steps_per_epoch
                   if config.steps_per_epoch else None)
    callbacks.append(callbacks_lib.ProgressLog(config.log_every_steps,
                                               total_steps, budget))
  if config.validation_every_steps:
    callbacks.append(callbacks_lib.PeriodicValidation(
        validation_data, config.validation_every_steps, model_dir, log_dir,
        is_chief))
  if budget is not None:
    callbacks.append(budget)
  # At a terminal, a bar that log lines do not break; in a log, Keras' line
  # per epoch.
  progress_bar = terminal.ProgressBar.at_a_terminal()
  callbacks += [progress_bar] if progress_bar else []
  callbacks += extra_callbacks
  num_parameters = int(sum(np.prod(v.shape)
                           for v in distribution.trainable_variables))
  checkpoint = tf.train.latest_checkpoint(
      config_lib.checkpoint_dir(model_dir))
  logging.info('Training %s (%d parameters) on %s for %d epochs; writing to '
               '%s%s.', type(distribution).__name__, num_parameters,
               config.dataset, config.epochs, model_dir,
               f', resuming from {checkpoint}' if checkpoint else '')
  logging.info('Precision: %s (%s); float32 variables.',
               'bfloat16 compute' if precision_choice.bfloat16 else 'float32',
               precision_choice.reason)
  start = time.time()
  if budget is not None and budget.exhausted():
    # Spent by earlier runs: restore the last state, train no step.
    logging.info('The %.1f-minute training budget is spent; training no '
                 'further (raise --train_minutes to go on).',
                 budget.budget_seconds / 60.)
    if checkpoint:
      tf.train.Checkpoint(model=flow_model).restore(checkpoint).expect_partial()
    history = tf_keras.callbacks.History()
    history.history = {}
  else:
    with terminal.closed_after(progress_bar):
      history = flow_model.fit(train_data, validation_data=validation_data,
                               epochs=config.epochs,
                               steps_per_epoch=config.steps_per_epoch,
                               callbacks=callbacks,
                               verbose=0 if progress_bar else 2)
  train_seconds = time.time() - start
  if save_on_signal.signal_number is not None:
    name = signal.Signals(save_on_signal.signal_number).name
    steps = _training_steps(flow_model)
    logging.info('%s: saved a checkpoint at step %d in %s; run the same '
                 'command to resume.', name, steps, model_dir)
    raise TrainingInterrupted(
        f'Stopped by {name} at step {steps}; checkpoint saved.',
        save_on_signal.signal_number)
  history = {k: [float(v) for v in values]
             for k, values in history.history.items()}
  weights, validation_by_weights = weight_choice.choose_weights(
      flow_model, fresh_validation_data)
  validation_bits_per_dim = validation_by_weights[weights]
  steps = _training_steps(flow_model)
  logging.info('Validation bits/dim %.4f with the %s after %d steps (%.0f s '
               'in this run).', validation_bits_per_dim,
               weight_choice.describe(weights), steps, train_seconds)
  results = dict(validation_bits_per_dim=validation_bits_per_dim,
                 test_bits_per_dim=None, weights=weights,
                 validation_bits_per_dim_by_weights=validation_by_weights,
                 history=history, steps=steps, train_seconds=train_seconds,
                 num_parameters=num_parameters, model_dir=model_dir,
                 saved_model=None)
  # The test figure, the last grid and the export show the chosen weights.
  with weight_choice.chosen_weights(flow_model, weights):
    # Injected data has no test split: only the configured data is scored.
    if not datasets:
      results.update(_test_figures(config, distribution, weights))
    epoch_figures.write_grid('final')
    _write_outputs(config, distribution, event_shape, steps, export_dir,
                   model_dir, is_chief, results)
  results['distribution'] = distribution
  return results


def _write_outputs(config, distribution, event_shape, steps, export_dir,
                   model_dir, is_chief, results):
  """Figure 1 (toy data), the SavedModel and results.json, after training."""
  # Every worker runs the same TensorFlow work below (collectives must
  # match); the others write into a scratch directory that is then removed.
  scratch = None if is_chief else tempfile.mkdtemp(prefix='tfp_realnvp_')
  output_dir = model_dir if is_chief else scratch
  if len(event_shape) == 1 and data.is_vector_dataset(config.dataset):
    path = figures.toy_figure(
        distribution, data.toy_samples(config.dataset, 2000,
                                       config.seed + 2),
        os.path.join(output_dir, 'figure1.png'))
    if is_chief:
      logging.info('Wrote %s', path)
  if config.export:
    version = max(steps, 1)
    version_dir = export.next_version_dir(export_dir, version)
    # Decided from the chief's directory by every worker alike, so that
    # either all of them export (a collective) or none does.
    if tf.io.gfile.exists(os.path.join(version_dir, 'saved_model.pb')):
      # Written by an earlier call at this same step: the same weights.
      logging.info('Kept the SavedModel %s', version_dir)
    else:
      export.export_saved_model(
          distribution,
          export_dir if is_chief else os.path.join(scratch, 'export'),
          version=version)
      if is_chief:
        logging.info('Wrote the SavedModel %s', version_dir)
    results['saved_model'] = version_dir if is_chief else None
  if is_chief:
    path = os.path.join(model_dir, 'results.json')
    config_lib.write_json(path, results)
    logging.info('Wrote %s', path)
  else:
    shutil.rmtree(scratch, ignore_errors=True)
