"""The library behind bin/train.py: build a model and data, train, report.

`run(config, datasets=None, strategy=None)` is what the binary calls; tests
and notebooks call it directly, injecting their own datasets.

A run writes under `model_dir` (never deleting anything there):

  config.json              the resolved configuration and model description
  checkpoints/chief/       the latest training state (every epoch, and every
                           `checkpoint_every_steps` steps), resumed from
                           automatically when the same command runs again
  tensorboard/             train/validation bits/dim, learning rate, samples
  samples/epoch_NNNN.png   a grid of samples after each epoch (image data)
  figure1.png              the paper's Figure 1 (2-D toy data)
  export/<step>/           the SavedModel (TF Serving layout), see export.py
  results.json             final validation bits/dim, history, timings
"""

import dataclasses
import json
import math
import os
import shutil
import signal
import tempfile
import threading
import time

from absl import logging
import numpy as np
import tensorflow as tf
import tf_keras

from tfp_realnvp import data
from tfp_realnvp import export
from tfp_realnvp import figures
from tfp_realnvp import model as model_lib
from tfp_realnvp import training
from tfp_realnvp.bijectors import training_mode

__all__ = [
    'NonFiniteLossError',
    'STRATEGIES',
    'TrainConfig',
    'TrainingInterrupted',
    'default_model_dir',
    'evaluation_dataset',
    'load_distribution',
    'make_strategy',
    'run',
]

EMBEDDED_DATASET = 'digits'
CHECKPOINT_SUBDIR = 'checkpoints'


@dataclasses.dataclass
class TrainConfig:
  """Everything a training run depends on; saved as config.json."""

  dataset: str = EMBEDDED_DATASET
  data_dir: str | None = None
  validation_split: str = 'test'
  # None: runs/<dataset> under the working directory.
  model_dir: str | None = None
  preset: str | None = None
  num_scales: int | None = None
  num_res_blocks: int | None = None
  num_filters: int | None = None
  batch_size: int = 64
  epochs: int = 50
  steps_per_epoch: int | None = None
  # 0: checkpoints at the end of each epoch only.
  checkpoint_every_steps: int = 0
  learning_rate: float = 1e-3
  l2_scale: float = 5e-5
  bn_momentum: float = 0.99
  seed: int = 0
  jit_compile: bool = False
  # bfloat16 in the coupling networks, float32 everywhere else.
  mixed_precision: bool = False
  # A class-conditional model on the dataset's labels (paper App. F).
  conditional: bool = False
  # Of the sample grids written each epoch.
  temperature: float = 1.0
  num_samples: int = 64
  # None: <model_dir>/export.
  export_dir: str | None = None
  # Write the SavedModel at the end.
  export: bool = True
  download: bool = True
  # None: colour images only (see data.image_dataset).
  flip: bool | None = None
  # None applies the paper's resize/crop to celeb_a and lsun/* datasets.
  recipe: str | None = None
  # One of STRATEGIES; `tpu` is the TPU's address for strategy='tpu'.
  strategy: str = 'default'
  tpu: str = ''


STRATEGIES = ('default', 'one_device', 'mirrored', 'multi_worker', 'tpu')


def make_strategy(name, tpu=''):
  """The `tf.distribute.Strategy` called `name` (see STRATEGIES).

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
                   f'{list(STRATEGIES)}.')


def _shard_by_example(dataset):
  """Multi-worker input: each worker takes its share of every global batch.

  File-based sharding would need at least as many files as workers; sharding
  examples works for any dataset, injected ones included.
  """
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  return dataset.with_options(options)


def default_model_dir(dataset):
  """`runs/<dataset>`, the model directory when none is given."""
  return os.path.join('runs', dataset.replace('/', '_'))


def _check_config(config):
  """Raises ValueError naming the first flag whose value cannot work."""
  positive = ('batch_size', 'epochs', 'learning_rate', 'temperature',
              'num_samples')
  for name in positive:
    if not getattr(config, name) > 0:
      raise ValueError(f'--{name} must be positive, got '
                       f'{getattr(config, name)!r}.')
  for name in ('steps_per_epoch', 'num_scales', 'num_res_blocks',
               'num_filters'):
    value = getattr(config, name)
    if value is not None and value < (0 if name == 'num_res_blocks' else 1):
      raise ValueError(f'--{name} must be positive, got {value!r}.')
  for name in ('checkpoint_every_steps', 'l2_scale'):
    if getattr(config, name) < 0:
      raise ValueError(f'--{name} must be >= 0, got '
                       f'{getattr(config, name)!r}.')
  if not 0. <= config.bn_momentum < 1.:
    raise ValueError(
        f'--bn_momentum must be in [0, 1), got {config.bn_momentum!r}.')
  if config.strategy not in STRATEGIES:
    raise ValueError(f'Unknown --strategy {config.strategy!r}; choose one of '
                     f'{list(STRATEGIES)}.')
  if config.preset is not None and config.preset not in model_lib.PRESETS:
    raise ValueError(f'Unknown preset {config.preset!r}; choose one of '
                     f'{sorted(model_lib.PRESETS)}.')
  if config.conditional and config.dataset in data.TOY_DATASETS:
    raise ValueError(f'--conditional needs labelled images; {config.dataset!r} '
                     'is an unlabelled 2-D toy dataset.')


# TFDS names whose paper preprocessing and configuration differ from their
# name: (recipe, preset).
_PAPER_DATASETS = {'celeb_a': ('celeba', 'celeba'), 'lsun': ('lsun', 'lsun')}


def _paper_defaults(config):
  """(recipe, preset) the paper used for this dataset, or (None, None)."""
  return _PAPER_DATASETS.get(config.dataset.split('/')[0], (None, None))


def _is_vector_dataset(config):
  return config.dataset in data.TOY_DATASETS


def evaluation_dataset(dataset, split, data_dir=None, batch_size=64,
                       recipe=None, download=True, seed=0, with_labels=False):
  """A fixed-order dataset of `dataset`'s `split` for validation or testing.

  Args:
    dataset: `'digits'`, a 2-D toy name or a TFDS image dataset name.
    split: for TFDS, any split string; for digits `'train'` or `'test'`;
      ignored for toy data (a fresh sample of 2000 points from `seed`).
    data_dir: TFDS data directory.
    batch_size: examples per batch.
    recipe: `None` (the paper's for celeb_a and lsun/*), `'celeba'`,
      `'lsun'`.
    download: let TFDS download missing data.
    seed: seed of the dequantization noise (or of the toy points).
    with_labels: yield `(images, labels)` (for a class-conditional model).

  Returns:
    A batched `tf.data.Dataset`, unshuffled.
  """
  if dataset == EMBEDDED_DATASET:
    return data.digits_dataset(split, batch_size, shuffle=False, seed=seed,
                               with_labels=with_labels)
  if dataset in data.TOY_DATASETS:
    return data.toy_dataset(dataset, 2000, batch_size, shuffle=False,
                            seed=seed)
  recipe = recipe or _PAPER_DATASETS.get(dataset.split('/')[0],
                                         (None, None))[0]
  return data.image_dataset(dataset, split, data_dir, batch_size,
                            shuffle=False, recipe=recipe, download=download,
                            seed=seed, with_labels=with_labels)


def _datasets(config):
  """(train, validation) datasets for the configured data."""
  validation = evaluation_dataset(
      config.dataset, config.validation_split, config.data_dir,
      config.batch_size, config.recipe, config.download, config.seed + 1,
      with_labels=config.conditional)
  if config.dataset == EMBEDDED_DATASET:
    return (data.digits_dataset('train', config.batch_size, seed=config.seed,
                                with_labels=config.conditional), validation)
  if _is_vector_dataset(config):
    return (data.toy_dataset(config.dataset, 10000, config.batch_size,
                             seed=config.seed), validation)
  recipe = config.recipe or _paper_defaults(config)[0]
  return (data.image_dataset(config.dataset, 'train', config.data_dir,
                             config.batch_size, flip=config.flip,
                             recipe=recipe, download=config.download,
                             seed=config.seed,
                             with_labels=config.conditional), validation)


def _distribution(config, event_shape, num_classes=None):
  """The model for `event_shape`, from the preset and explicit overrides."""
  overrides = {key: getattr(config, key)
               for key in ('num_scales', 'num_res_blocks', 'num_filters')
               if getattr(config, key) is not None}
  image_model = model_lib.RealNVP
  if num_classes is not None:
    image_model = model_lib.ConditionalRealNVP
    overrides['num_classes'] = num_classes
  compute_dtype = 'bfloat16' if config.mixed_precision else None
  if len(event_shape) == 1:
    vector_kwargs = {}
    if 'num_res_blocks' in overrides:
      vector_kwargs['num_res_blocks'] = overrides['num_res_blocks']
    if 'num_filters' in overrides:
      vector_kwargs['num_hidden'] = overrides['num_filters']
    return model_lib.VectorRealNVP(event_shape[0],
                                   bn_momentum=config.bn_momentum,
                                   compute_dtype=compute_dtype,
                                   **vector_kwargs)
  if len(event_shape) != 3:
    raise ValueError(
        f'Dataset {config.dataset!r} yields batches of shape '
        f'{(None,) + tuple(event_shape)}; expected (batch, H, W, C) images '
        'or (batch, D) vectors.')
  preset = config.preset or _paper_defaults(config)[1]
  if preset is None and config.dataset in model_lib.PRESETS:
    preset = config.dataset
  if preset is not None and preset not in model_lib.PRESETS:
    raise ValueError(f'Unknown preset {preset!r}; choose one of '
                     f'{sorted(model_lib.PRESETS)}.')
  if preset is None:
    return image_model(event_shape, bn_momentum=config.bn_momentum,
                       compute_dtype=compute_dtype, **overrides)
  preset_shape = model_lib.PRESETS[preset]['image_shape']
  if tuple(event_shape) != tuple(preset_shape):
    raise ValueError(
        f'Preset {preset!r} is for images of shape {preset_shape}, but '
        f'dataset {config.dataset!r} has {tuple(event_shape)}.')
  return image_model.from_preset(
      preset, bn_momentum=config.bn_momentum, compute_dtype=compute_dtype,
      **overrides)


def _describe(distribution):
  """The model's constructor arguments, as JSON: enough to rebuild it."""
  description = {'class': type(distribution).__name__}
  for key, value in distribution.parameters.items():
    if isinstance(value, tf.dtypes.DType):
      value = value.name
    elif isinstance(value, tuple):
      value = list(value)
    if value is None or isinstance(value, (bool, int, float, str, list)):
      description[key] = value
  return description


def _build_from_description(description):
  """Inverse of `_describe`."""
  kwargs = {k: v for k, v in description.items() if k != 'class'}
  classes = {'RealNVP': model_lib.RealNVP,
             'ConditionalRealNVP': model_lib.ConditionalRealNVP,
             'VectorRealNVP': model_lib.VectorRealNVP}
  if description.get('class') not in classes:
    raise ValueError(f'Unknown model class {description.get("class")!r}.')
  return classes[description['class']](**kwargs)


def _write_json(path, content):
  temporary = path + '.tmp'
  with open(temporary, 'w') as f:
    json.dump(content, f, indent=2)
  os.replace(temporary, path)


def _check_same_model(config_path, description):
  """Refuses to resume a model_dir that holds a different model."""
  if not os.path.exists(config_path):
    return
  with open(config_path) as f:
    previous = json.load(f).get('model')
  if previous is not None and previous != description:
    raise ValueError(
        f'{os.path.dirname(config_path)!r} holds a run of a different model '
        f'({previous}); this configuration builds {description}. Use a new '
        '--model_dir, or the flags of that run to resume it.')


class NonFiniteLossError(RuntimeError):
  """Training stopped at a NaN or infinite loss or gradient."""


class TrainingInterrupted(RuntimeError):
  """Training stopped by SIGTERM or SIGINT after saving a checkpoint."""

  def __init__(self, message, signal_number):
    super().__init__(message)
    self.signal_number = signal_number


# A step interval that never comes: epoch-end saves only.
_NEVER = 2**62


class _Checkpoints(tf_keras.callbacks.BackupAndRestore):
  """Keras' resumable training state, saved every epoch and every N steps.

  `BackupAndRestore` restores weights, optimizer and the epoch/step counters
  (mid-epoch too) on `fit`, and under MultiWorkerMirroredStrategy lets only
  the chief write. It is kept after training (`delete_checkpoint=False`) so a
  finished run is not repeated and bin/sample.py can read it. Saves go
  through `tf.train.CheckpointManager`, which writes the new files before
  atomically pointing its state file at them: a kill mid-save leaves the
  previous checkpoint in use.
  """

  def __init__(self, model_dir, every_steps, learning_rate):
    # Always step-based, so the step inside the epoch is recorded and a save
    # between epochs (a signal) resumes at the next step, not the next epoch.
    super().__init__(os.path.join(model_dir, CHECKPOINT_SUBDIR),
                     save_freq=every_steps or _NEVER,
                     delete_checkpoint=False)
    self.current_epoch = 0
    self._learning_rate = learning_rate

  def on_train_begin(self, logs=None):
    super().on_train_begin(logs)
    # The restored optimizer brings its old learning rate; the command's
    # --learning_rate wins, so a run can be resumed with a lower one.
    self.model.optimizer.learning_rate.assign(self._learning_rate)

  def on_epoch_begin(self, epoch, logs=None):
    super().on_epoch_begin(epoch, logs)
    self.current_epoch = epoch

  def on_epoch_end(self, epoch, logs=None):
    super().on_epoch_end(epoch, logs)
    self.save(epoch)

  def save(self, epoch):
    self._backup(epoch=epoch)


class _StopOnNonFiniteLoss(tf_keras.callbacks.Callback):
  """Stops at the first non-finite loss, before it can be checkpointed.

  Listed before the checkpoint callback, so the last checkpoint is the last
  good state.
  """

  def __init__(self, learning_rate, checkpoint_dir):
    super().__init__()
    self._learning_rate = learning_rate
    self._checkpoint_dir = checkpoint_dir
    self._epoch = 0

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch = epoch

  def on_train_batch_end(self, batch, logs=None):
    loss = (logs or {}).get('loss')
    if loss is None or math.isfinite(loss):
      return
    step = int(self.model.optimizer.iterations.numpy())
    raise NonFiniteLossError(
        f'The training loss or its gradient became {loss} at step {step} '
        f'(epoch {self._epoch + 1}, batch {batch + 1}). The likely cause is '
        'a diverging scale (exp(s) overflowing) after too large updates: '
        f'lower --learning_rate (now {self._learning_rate:g}) or check the '
        'data for NaN/Inf. The last good checkpoint, in '
        f'{self._checkpoint_dir}, is unchanged; rerunning resumes from it.')


class _SaveOnSignal(tf_keras.callbacks.Callback):
  """On SIGTERM or SIGINT: finish the step, checkpoint, stop training."""

  def __init__(self, checkpoints):
    super().__init__()
    self._checkpoints = checkpoints
    self._previous = {}
    self.signal_number = None

  def _handle(self, signal_number, frame):
    del frame
    self.signal_number = signal_number

  def on_train_begin(self, logs=None):
    if threading.current_thread() is not threading.main_thread():
      return  # Only the main thread may install handlers.
    for signal_number in (signal.SIGTERM, signal.SIGINT):
      self._previous[signal_number] = signal.signal(signal_number,
                                                    self._handle)

  def on_train_batch_end(self, batch, logs=None):
    if self.signal_number is not None and not self.model.stop_training:
      self._checkpoints.save(self._checkpoints.current_epoch)
      self.model.stop_training = True

  def on_train_end(self, logs=None):
    for signal_number, handler in self._previous.items():
      signal.signal(signal_number, handler)
    self._previous = {}


class _EpochFigures(tf_keras.callbacks.Callback):
  """After each epoch: a PNG sample grid and TensorBoard images and scalars."""

  def __init__(self, distribution, model_dir, log_dir, num_samples,
               temperature, seed, is_chief):
    super().__init__()
    self._distribution = distribution
    self._model_dir = model_dir
    self._is_chief = is_chief
    self._writer = tf.summary.create_file_writer(
        os.path.join(log_dir, 'train'))
    self._is_image = len(distribution.event_shape) == 3

    self._num_rows = None
    num_classes = getattr(distribution, 'num_classes', None)
    if num_classes is not None:
      # One row per class.
      self._num_rows = num_classes
      per_class = max(1, num_samples // num_classes)
      labels = tf.repeat(tf.range(num_classes), per_class)
      num_samples = num_classes * per_class

    @tf.function(autograph=False)
    def sample():
      with training_mode(False):
        # The same latents every epoch, so the grids show training progress.
        seed_tensor = tf.constant([seed, 0])
        if num_classes is not None:
          return distribution.sample_pixels(num_samples, labels, temperature,
                                            seed=seed_tensor)
        return distribution.sample_pixels(num_samples, temperature,
                                          seed=seed_tensor)

    self._sample = sample

  def on_epoch_end(self, epoch, logs=None):
    # Every worker samples (reading batch-norm statistics may be a
    # collective across workers); only the chief writes.
    pixels = self._sample().numpy() if self._is_image else None
    if not self._is_chief:
      return
    with self._writer.as_default(step=epoch):
      tf.summary.scalar('learning_rate',
                        _learning_rate(self.model.optimizer))
      if self._is_image:
        scale = max(1, 128 // pixels.shape[1])
        grid = figures.image_grid(pixels, num_rows=self._num_rows)
        path = os.path.join(self._model_dir, 'samples',
                            f'epoch_{epoch + 1:04d}.png')
        figures.write_png(path, grid, scale=scale)
        tf.summary.image('samples', grid[np.newaxis])
    self._writer.flush()


def _learning_rate(optimizer):
  rate = optimizer.learning_rate
  if callable(rate):
    rate = rate(optimizer.iterations)
  return tf.cast(rate, tf.float32)


def _training_steps(model):
  return int(model.optimizer.iterations.numpy())


def run(config, datasets=None, strategy=None):
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

  Returns:
    A dict with the final `validation_bits_per_dim`, the per-epoch
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
  _check_config(config)
  # First: MultiWorkerMirroredStrategy must precede other TensorFlow work.
  strategy = strategy or make_strategy(config.strategy, config.tpu)
  tf_keras.utils.set_random_seed(config.seed)
  is_chief = strategy.extended.should_checkpoint
  model_dir = config.model_dir or default_model_dir(config.dataset)
  export_dir = config.export_dir or os.path.join(model_dir, 'export')
  train_data, validation_data = datasets or _datasets(config)
  train_data = _shard_by_example(train_data)
  validation_data = _shard_by_example(validation_data)
  element_spec = train_data.element_spec
  if isinstance(element_spec, tuple):
    element_spec = element_spec[0]
  event_shape = tuple(element_spec.shape[1:])
  num_classes = None
  if config.conditional:
    if not isinstance(train_data.element_spec, tuple):
      raise ValueError('--conditional needs a dataset of (images, labels).')
    num_classes = data.num_classes(config.dataset, config.data_dir)

  with strategy.scope():
    distribution = _distribution(config, event_shape, num_classes)
    flow_model = training.FlowModel(distribution, l2_scale=config.l2_scale)
    # TF's fused Adam kernel (one op per variable, not ~35): in the paper's
    # CIFAR-10 model about 10% less peak memory and a faster step.
    flow_model.compile(
        optimizer=tf_keras.optimizers.legacy.Adam(config.learning_rate),
        jit_compile=config.jit_compile)
  description = _describe(distribution)
  config_path = os.path.join(model_dir, 'config.json')
  _check_same_model(config_path, description)
  resolved = dict(dataclasses.asdict(config), model_dir=model_dir,
                  export_dir=export_dir, event_shape=list(event_shape),
                  model=description)
  if is_chief:
    os.makedirs(model_dir, exist_ok=True)
    _write_json(config_path, resolved)

  if config.steps_per_epoch:
    # Epochs of a fixed length never run out of data.
    train_data = train_data.repeat()
  # Builds the model so the checkpoint can restore its optimizer state.
  example = tf.zeros((1,) + event_shape, distribution.dtype)
  flow_model((example, tf.zeros([1], tf.int64)) if config.conditional
             else example)
  log_dir = os.path.join(model_dir, 'tensorboard')
  checkpoints = _Checkpoints(model_dir, config.checkpoint_every_steps,
                             config.learning_rate)
  save_on_signal = _SaveOnSignal(checkpoints)
  callbacks = [
      _StopOnNonFiniteLoss(config.learning_rate,
                           os.path.join(model_dir, CHECKPOINT_SUBDIR)),
      checkpoints,
      save_on_signal,
      tf_keras.callbacks.TensorBoard(log_dir, write_graph=False,
                                     profile_batch=0),
      _EpochFigures(distribution, model_dir, log_dir, config.num_samples,
                    config.temperature, config.seed, is_chief),
  ]
  num_parameters = int(sum(np.prod(v.shape)
                           for v in distribution.trainable_variables))
  checkpoint = tf.train.latest_checkpoint(
      os.path.join(model_dir, CHECKPOINT_SUBDIR, 'chief'))
  logging.info('Training %s (%d parameters) on %s for %d epochs; writing to '
               '%s%s.', type(distribution).__name__, num_parameters,
               config.dataset, config.epochs, model_dir,
               f', resuming from {checkpoint}' if checkpoint else '')
  start = time.time()
  history = flow_model.fit(train_data, validation_data=validation_data,
                           epochs=config.epochs,
                           steps_per_epoch=config.steps_per_epoch,
                           callbacks=callbacks, verbose=2)
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
  if history.get('val_bits_per_dim'):
    validation_bits_per_dim = history['val_bits_per_dim'][-1]
  else:  # Resumed a finished run: nothing trained, so evaluate.
    validation_bits_per_dim = float(flow_model.evaluate(
        validation_data, verbose=0, return_dict=True)['bits_per_dim'])
  steps = _training_steps(flow_model)
  logging.info('Validation bits/dim %.4f after %d steps (%.0f s in this run).',
               validation_bits_per_dim, steps, train_seconds)

  results = dict(validation_bits_per_dim=validation_bits_per_dim,
                 history=history, steps=steps, train_seconds=train_seconds,
                 num_parameters=num_parameters, model_dir=model_dir,
                 saved_model=None)
  # Every worker runs the same TensorFlow work below (collectives must
  # match); the others write into a scratch directory that is then removed.
  scratch = None if is_chief else tempfile.mkdtemp(prefix='tfp_realnvp_')
  output_dir = model_dir if is_chief else scratch
  if len(event_shape) == 1 and config.dataset in data.TOY_DATASETS:
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
    if os.path.exists(os.path.join(version_dir, 'saved_model.pb')):
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
    _write_json(path, results)
    logging.info('Wrote %s', path)
  else:
    shutil.rmtree(scratch, ignore_errors=True)
  results['distribution'] = distribution
  return results


def load_distribution(model_dir, image_shape=None):
  """Rebuilds the model of a run and restores its latest checkpoint.

  Args:
    model_dir: a `run` output directory (with config.json and checkpoints).
    image_shape: `None`, or another `(H, W, C)` to build the trained image
      model at (paper App. C: the couplings are fully convolutional and batch
      norm is per channel, so the weights fit any size the scales divide).

  Returns:
    `(distribution, config_dict)`, the distribution in the state of the last
    checkpoint.

  Raises:
    ValueError: when `model_dir` has no config.json or no checkpoint, or
      for an `image_shape` the model cannot take.
  """
  config_path = os.path.join(model_dir, 'config.json')
  if not os.path.exists(config_path):
    raise ValueError(f'No config.json in {model_dir!r}: not a training run '
                     'directory (pass the --model_dir of bin/train.py).')
  with open(config_path) as f:
    config = json.load(f)
  checkpoint = tf.train.latest_checkpoint(
      os.path.join(model_dir, CHECKPOINT_SUBDIR, 'chief'))
  if checkpoint is None:
    raise ValueError(f'No checkpoint in {model_dir!r}: train first.')
  description = dict(config['model'])
  if image_shape is not None:
    if 'image_shape' not in description:
      raise ValueError('Only image models can be built at another size.')
    trained_shape = tuple(description['image_shape'])
    image_shape = tuple(int(n) for n in image_shape)
    if len(image_shape) != 3 or image_shape[2] != trained_shape[2]:
      raise ValueError(f'The model was trained on {trained_shape} images: '
                       f'another size needs (H, W, {trained_shape[2]}), got '
                       f'{image_shape}.')
    if description.get('num_scales') is None:
      description['num_scales'] = model_lib.default_num_scales(trained_shape)
    description['image_shape'] = list(image_shape)
  distribution = _build_from_description(description)
  flow_model = training.FlowModel(distribution)
  status = tf.train.Checkpoint(model=flow_model).restore(checkpoint)
  # Every variable of the model must come from the checkpoint; only the
  # optimizer state, not needed here, is left unread.
  status.assert_existing_objects_matched().expect_partial()
  return distribution, config
