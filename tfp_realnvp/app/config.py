"""A training run's configuration: its fields, checks, model and files.

`TrainConfig` is the one definition of every setting of bin/train.py: the
binary's flags are generated from its fields and their help text
(`tfp_realnvp.app.flags`), and the resolved configuration is saved as the run's
config.json.
"""

import dataclasses
import json
import os

import tensorflow as tf

from tfp_realnvp import data
from tfp_realnvp import flows
from tfp_realnvp.app import precision

__all__ = [
    'STRATEGIES',
    'TrainConfig',
    'build_flow',
    'check_config',
    'check_same_model',
    'checkpoint_dir',
    'default_model_dir',
    'preset_name',
    'read_json',
    'splits',
    'write_json',
]

STRATEGIES = ('default', 'one_device', 'mirrored', 'multi_worker', 'tpu')


def _setting(default, help, choices=None):  # pylint: disable=redefined-builtin
  """A config field with its flag's help text (and allowed values)."""
  return dataclasses.field(default=default,
                           metadata=dict(help=help, choices=choices))


@dataclasses.dataclass
class TrainConfig:
  """Everything a training run depends on; saved as config.json."""

  dataset: str = _setting(
      data.EMBEDDED_DATASET,
      '"digits" (embedded, offline), a 2-D toy set (moons, circles, '
      'eight_gaussians, checkerboard) or a TFDS name.')
  data_dir: str | None = _setting(None, 'TFDS data directory.')
  validation_split: str | None = _setting(
      None, "Split to validate on, e.g. 'test' or 'train[:5%]' (TFDS syntax). "
      'Default: the last --validation_percent of the training split, which '
      'training then leaves out.')
  validation_percent: int = _setting(
      10, 'Share of the training split kept for validation when no '
      '--validation_split is given.')
  test_split: str = _setting(
      'test', 'Split scored once after training, on the weights chosen on '
      "validation (averaged or raw): the run's final figure ('' skips it).")
  validation_examples: int | None = _setting(
      None, 'Validate on at most this many examples (default: the whole '
      'split), so validation stays cheap on large splits.')
  validation_every_steps: int = _setting(
      0, 'Also validate every N training steps (the averaged weights, if '
      'any), log it to TensorBoard and keep the best-by-validation '
      'checkpoint in <model_dir>/checkpoints/best; 0: epoch ends only.')
  model_dir: str | None = _setting(
      None, 'Where checkpoints, logs, samples and the SavedModel go '
      '(default: runs/<dataset>); resumed if it holds a checkpoint.')
  preset: str | None = _setting(
      None, 'A paper configuration (default: the dataset name if it is one).',
      choices=tuple(sorted(flows.PRESETS)))
  num_scales: int | None = _setting(None, 'Overrides the preset.')
  num_res_blocks: int | None = _setting(None, 'Overrides the preset.')
  num_filters: int | None = _setting(None, 'Overrides the preset.')
  batch_size: int = _setting(
      64, 'Global batch size (split across replicas).')
  epochs: int = _setting(50, 'Epochs (with --train_minutes, an upper bound).')
  train_minutes: float | None = _setting(
      None, 'A wall-clock training budget in minutes, tracing, validation '
      'and checkpoints included: the run stops within one step of it and '
      'ends as usual (checkpoint, test figure, export); a resumed run '
      'continues with what is left. --decay then decays over the budget.')
  steps_per_epoch: int | None = _setting(
      None, 'Steps per epoch (default: the whole split).')
  log_every_steps: int = _setting(
      100, 'Log a line every N steps (step, loss, bits/dim, steps/s, ETA), '
      'and write the step\'s loss, bits/dim and learning rate for '
      'TensorBoard; 0: epoch ends only.')
  checkpoint_every_steps: int = _setting(
      0, 'Also checkpoint every N steps (0: each epoch only).')
  learning_rate: float | None = _setting(
      None, 'Adam rate (the peak of the schedule). Default: 6e-3 for the '
      'mnist preset, 3e-3 for other images, 1e-3 for the 2-D toy sets.')
  warmup_steps: int = _setting(
      0, 'Steps of a linear learning-rate warm-up from 0.')
  decay: str | None = _setting(
      None, 'Learning-rate decay after the warm-up: cosine, exponential or '
      'none. Default: none, but with --train_minutes a cosine decay over '
      'the last fifth of the budget (--decay_start 0.8): on MNIST it beat '
      'the constant rate at 60 minutes and was within the run-to-run '
      'spread at 10 (BENCHMARKS.md).',
      choices=('cosine', 'exponential', 'none'))
  decay_steps: int | None = _setting(
      None, 'Steps over which --decay runs (cosine: to 0; exponential: one '
      'factor of --decay_rate). Default: the whole --train_minutes budget '
      '(the share of it spent is the clock), else every step of the run, '
      'when --steps_per_epoch fixes it.')
  decay_rate: float = _setting(
      0.1, 'Exponential decay: the factor per --decay_steps.')
  decay_start: float | None = _setting(
      None, 'With a decay over the --train_minutes budget: the share of the '
      'budget at the peak rate before the decay begins. Default 0.8 (decay '
      'over the last fifth); 0 decays over the whole budget.')
  l2_scale: float = _setting(5e-5, 'L2 penalty on weight-norm scales.')
  polyak_decay: float = _setting(
      0.999, 'Decay of a Polyak (exponential moving) average of the weights, '
      'e.g. 0.999; 0 keeps none. Validation, the health line and the epoch '
      'grids use the averaged weights, with batch-norm statistics of their '
      'own (--averaged_statistics_batches); when training ends the best on '
      'validation of averaged, raw and averaged with the raw statistics '
      'goes to the test figure, the SavedModel and the tools.')
  averaged_statistics_batches: int = _setting(
      16, 'Training batches the averaged weights\' batch-norm statistics are '
      'computed on (in training mode, the averaged weights in place) each '
      'time they are used after the average moved; 0 scores them with the '
      'raw weights\' statistics.')
  skip_non_finite_batches: int = _setting(
      0, '0: stop at the first non-finite loss or gradient. N > 0: skip such '
      'a batch (weights, optimizer state, batch-norm statistics and '
      'averages unchanged; counted in skipped_batches) and stop after N in '
      'a row.')
  bn_momentum: float = _setting(
      0.99, "Momentum of every batch norm's debiased moving averages.")
  dequantization: str = _setting(
      'uniform', "How integer pixels become the flow's values: uniform (the "
      "paper's x + u, u ~ U[0, 1)) or variational (a learned q(u | x), "
      'Flow++; trains on the uint8 images). Images only.',
      choices=('uniform', 'variational'))
  dequantization_samples: int = _setting(
      1, 'Draws of dequantization noise per test image: above 1 (e.g. 16), '
      'results.json and the log also give the K-draw estimate of the '
      'integer images\' test bits/dim, tighter than one draw, with its '
      'standard error (bin/evaluate.py --dequantization_samples does the '
      'same for a trained model).')
  seed: int = _setting(0, 'Random seed.')
  jit_compile: bool = _setting(False, 'Compile with XLA.')
  # 'auto': bfloat16 per step is float32's within the runs' own spread, and
  # it takes more steps per minute (BENCHMARKS.md "Mixed precision").
  mixed_precision: str = _setting(
      'auto', 'bfloat16 in the coupling networks (float32 variables, '
      'log-dets, batch-norm bijectors and networks\' output layers): true, '
      'false, or auto: true where the hardware computes bfloat16 natively '
      '(a CPU with AMX-BF16 or AVX512-BF16, a GPU of compute capability 8.0 '
      'or newer). The log says which it chose and why.',
      choices=precision.MIXED_PRECISION_SETTINGS)
  conditional: bool = _setting(
      False, "Class-conditional model on the dataset's labels (paper App. "
      'F); sample grids get one row per class.')
  temperature: float = _setting(
      1.0, 'Temperature of the sample grids written each epoch.')
  num_samples: int = _setting(64, "Images in each epoch's sample grid.")
  export_dir: str | None = _setting(
      None, 'Base directory of the SavedModel versions (default: '
      '<model_dir>/export).')
  export: bool = _setting(True, 'Write a SavedModel at the end of training.')
  download: bool = _setting(True, 'Let TFDS download missing data.')
  flip: bool | None = _setting(
      None, 'Random horizontal flips in training (default: for colour '
      'images only).')
  recipe: str | None = _setting(
      None, "The paper's resize and crop (default: celeba for celeb_a, lsun "
      'for lsun/*).', choices=('celeba', 'lsun'))
  strategy: str = _setting(
      'default', 'tf.distribute strategy: default, one_device, mirrored (all '
      'local GPUs), multi_worker (from TF_CONFIG), tpu. --batch_size is the '
      'global batch.', choices=STRATEGIES)
  tpu: str = _setting(
      '', "TPU address for --strategy=tpu (empty: the resolver's default).")

  def __post_init__(self):
    # A bool, as the setting was before 'auto' (and Python callers pass).
    if isinstance(self.mixed_precision, bool):
      self.mixed_precision = 'true' if self.mixed_precision else 'false'


def checkpoint_dir(model_dir):
  """Where a run's latest checkpoint lives (Keras' BackupAndRestore layout)."""
  return os.path.join(model_dir, 'checkpoints', 'chief')


def best_checkpoint_dir(model_dir):
  """Where a run keeps its best-by-validation checkpoint."""
  return os.path.join(model_dir, 'checkpoints', 'best')


def default_model_dir(dataset):
  """`runs/<dataset>`, the model directory when none is given."""
  return os.path.join('runs', dataset.replace('/', '_'))


def learns_its_noise(config):
  """Whether `config`'s model learns its dequantization noise (its data: uint8)."""
  return config.dequantization != 'uniform'


def check_config(config):
  """Raises ValueError naming the first setting whose value cannot work."""
  positive = ('batch_size', 'epochs', 'temperature', 'num_samples',
              'dequantization_samples')
  if config.learning_rate is not None:
    positive += ('learning_rate',)
  for name in positive:
    if not getattr(config, name) > 0:
      raise ValueError(f'--{name} must be positive, got '
                       f'{getattr(config, name)!r}.')
  for name in ('steps_per_epoch', 'num_scales', 'num_res_blocks',
               'num_filters'):
    value = getattr(config, name)
    if value is not None and value < (0 if name == 'num_res_blocks' else 1):
      raise ValueError(f'--{name} must be positive, got {value!r}.')
  if config.validation_examples is not None and config.validation_examples < 1:
    raise ValueError('--validation_examples must be positive, got '
                     f'{config.validation_examples!r}.')
  if config.validation_every_steps and config.strategy == 'multi_worker':
    raise ValueError('--validation_every_steps is not supported with '
                     '--strategy=multi_worker yet; validate at epoch ends.')
  for name in ('checkpoint_every_steps', 'l2_scale', 'warmup_steps',
               'validation_every_steps', 'log_every_steps',
               'skip_non_finite_batches', 'averaged_statistics_batches'):
    if getattr(config, name) < 0:
      raise ValueError(f'--{name} must be >= 0, got '
                       f'{getattr(config, name)!r}.')
  if not 0 < config.validation_percent < 100:
    raise ValueError('--validation_percent must be in (0, 100), got '
                     f'{config.validation_percent!r}.')
  if config.train_minutes is not None and not config.train_minutes > 0:
    raise ValueError('--train_minutes must be positive, got '
                     f'{config.train_minutes!r}.')
  if _decays(config) and not (config.decay_steps or config.steps_per_epoch
                              or config.train_minutes):
    raise ValueError(f'--decay={config.decay} needs --decay_steps (or '
                     '--train_minutes or --steps_per_epoch, to decay over '
                     'the whole run).')
  for name, default in (('dequantization_samples', 1),
                        ('dequantization', 'uniform')):
    if (getattr(config, name) != default and
        data.is_vector_dataset(config.dataset)):
      raise ValueError(f'--{name}: {config.dataset!r} is continuous 2-D '
                       'data, with no pixels to dequantize.')
  if config.decay_start is not None and not 0. <= config.decay_start < 1.:
    raise ValueError(
        f'--decay_start must be in [0, 1), got {config.decay_start!r}.')
  if not 0. < config.decay_rate <= 1.:
    raise ValueError(
        f'--decay_rate must be in (0, 1], got {config.decay_rate!r}.')
  if not 0. <= config.polyak_decay < 1.:
    raise ValueError(f'--polyak_decay must be in [0, 1) (0: no average), got '
                     f'{config.polyak_decay!r}.')
  if not 0. <= config.bn_momentum < 1.:
    raise ValueError(
        f'--bn_momentum must be in [0, 1), got {config.bn_momentum!r}.')
  for field in dataclasses.fields(config):
    choices = field.metadata.get('choices')
    value = getattr(config, field.name)
    if choices and value is not None and value not in choices:
      raise ValueError(f'Unknown --{field.name} {value!r}; choose one of '
                       f'{list(choices)}.')
  if config.conditional and data.is_vector_dataset(config.dataset):
    raise ValueError(f'--conditional needs labelled images; {config.dataset!r} '
                     'is an unlabelled 2-D toy dataset.')


def preset_name(config):
  """The preset a run's image model starts from, or `None` (the defaults)."""
  preset = config.preset or data.paper_defaults(config.dataset)[1]
  if preset is None and config.dataset in flows.PRESETS:
    preset = config.dataset
  return preset


def build_flow(config, event_shape, num_classes=None, compute_dtype=None):
  """The flow for `event_shape`, from the preset and explicit overrides.

  `compute_dtype`: the coupling networks' (`precision.choose` decides it
  from `config.mixed_precision`); `None` computes in float32.
  """
  overrides = {key: getattr(config, key)
               for key in ('num_scales', 'num_res_blocks', 'num_filters')
               if getattr(config, key) is not None}
  if len(event_shape) == 1:
    vector_kwargs = {}
    if 'num_res_blocks' in overrides:
      vector_kwargs['num_res_blocks'] = overrides['num_res_blocks']
    if 'num_filters' in overrides:
      vector_kwargs['num_hidden'] = overrides['num_filters']
    return flows.VectorRealNVP(event_shape[0],
                                   bn_momentum=config.bn_momentum,
                                   compute_dtype=compute_dtype,
                                   **vector_kwargs)
  if len(event_shape) != 3:
    raise ValueError(
        f'Dataset {config.dataset!r} yields batches of shape '
        f'{(None,) + tuple(event_shape)}; expected (batch, H, W, C) images '
        'or (batch, D) vectors.')
  image_model = flows.RealNVP
  if learns_its_noise(config):
    # Absent for uniform, so run directories from before it match.
    overrides['dequantization'] = config.dequantization
  if num_classes is not None:
    image_model = flows.ConditionalRealNVP
    overrides['num_classes'] = num_classes
  preset = preset_name(config)
  if preset is None:
    return image_model(event_shape, bn_momentum=config.bn_momentum,
                       compute_dtype=compute_dtype, **overrides)
  preset_shape = flows.PRESETS[preset]['image_shape']
  if tuple(event_shape) != tuple(preset_shape):
    raise ValueError(
        f'Preset {preset!r} is for images of shape {preset_shape}, but '
        f'dataset {config.dataset!r} has {tuple(event_shape)}.')
  return image_model.from_preset(
      preset, bn_momentum=config.bn_momentum, compute_dtype=compute_dtype,
      **overrides)


def splits(config):
  """`(training split, validation split)`: carved apart unless given.

  `(None, None)` for a 2-D toy set, which draws fresh samples instead.
  """
  if data.is_vector_dataset(config.dataset):
    return None, None
  if config.validation_split:
    return 'train', config.validation_split
  boundary = 100 - config.validation_percent
  return f'train[:{boundary}%]', f'train[{boundary}%:]'


def _decays(config):
  """Whether `config` asks for a decay ('none' and unset do not)."""
  return config.decay not in (None, 'none')


def write_json(path, content):
  """Writes `content` to `path` atomically (any TF filesystem)."""
  temporary = path + '.tmp'
  with tf.io.gfile.GFile(temporary, 'w') as f:
    json.dump(content, f, indent=2)
  tf.io.gfile.rename(temporary, path, overwrite=True)


def read_json(path):
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


# What a model description without the key means (see `build_flow`).
_ABSENT_FROM_DESCRIPTIONS = {'dequantization': 'uniform'}


def check_same_model(config_path, description):
  """Refuses to resume a model_dir that holds a different model.

  Raises:
    ValueError: naming each setting that differs, with both values.
  """
  if not tf.io.gfile.exists(config_path):
    return
  previous = read_json(config_path).get('model')
  if previous is None:
    return
  # The precision is how the model computes, not what it is: its variables
  # are float32 either way, so a run resumes in the other one.
  previous, description = (
      _ABSENT_FROM_DESCRIPTIONS | {k: v for k, v in d.items()
                                   if k != 'compute_dtype'}
      for d in (previous, description))
  if previous == description:
    return
  differences = ', '.join(
      f'{key}: {previous.get(key, "unset")!r} there, '
      f'{description.get(key, "unset")!r} now'
      for key in sorted(set(previous) | set(description))
      if previous.get(key) != description.get(key))
  raise ValueError(
      f'{os.path.dirname(config_path)!r} holds a run of a different model '
      f'({differences}). Use a new --model_dir, or the flags of that run to '
      'resume it.')
