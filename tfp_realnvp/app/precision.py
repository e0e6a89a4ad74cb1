"""`--mixed_precision=auto`: bfloat16 where the hardware computes it natively.

A training step is mostly convolutions. bfloat16 convolutions run at about
twice float32's rate on a CPU with AVX512-BF16 and 3-4x with AMX, and on a
GPU's tensor cores from compute capability 8.0 (Ampere) on; elsewhere
bfloat16 is emulated and slower than float32. The choice concerns training
speed only: variables stay float32 in both precisions, so checkpoints,
`.keras` files and SavedModels move between them.
"""

import os

import tensorflow as tf

from tfp_realnvp import flows

__all__ = [
    'CPU_BFLOAT16_FLAGS',
    'MIXED_PRECISION_SETTINGS',
    'SMALLEST_BFLOAT16_IMAGE',
    'Choice',
    'check_float32_or_own',
    'choose',
    'choose_for',
    'computing_in_float32',
    'copy_variables',
    'cpu_flags',
    'float32_twin',
    'gpu_compute_capabilities',
]

MIXED_PRECISION_SETTINGS = ('auto', 'true', 'false')
# /proc/cpuinfo names of native bfloat16 arithmetic (x86: AMX tiles or
# AVX512 dot products; Arm: the BF16 extension).
CPU_BFLOAT16_FLAGS = ('amx_bf16', 'avx512_bf16', 'bf16')
# Ampere (8.0) introduced bfloat16 tensor cores.
GPU_BFLOAT16_CAPABILITY = (8, 0)


class Choice:
  """The precision chosen, and a sentence saying why."""

  def __init__(self, bfloat16, reason):
    self.bfloat16 = bool(bfloat16)
    self.reason = reason

  @property
  def compute_dtype(self):
    """`'bfloat16'` or `None` (float32), as `RealNVP(compute_dtype=)` takes."""
    return 'bfloat16' if self.bfloat16 else None

  @property
  def name(self):
    return 'bfloat16' if self.bfloat16 else 'float32'

  def __repr__(self):
    return f'Choice({self.name}: {self.reason})'


def cpu_flags(cpuinfo_path='/proc/cpuinfo'):
  """The CPU's feature flags (a set of lowercase names; empty if unknown)."""
  if not os.path.exists(cpuinfo_path):
    return set()
  with open(cpuinfo_path, encoding='utf-8', errors='replace') as f:
    for line in f:
      key, _, value = line.partition(':')
      # x86 says 'flags', Arm 'Features'.
      if key.strip().lower() in ('flags', 'features'):
        return set(value.lower().split())
  return set()


def gpu_compute_capabilities():
  """`[(major, minor), ...]` of the visible GPUs (`(0, 0)` where unknown)."""
  capabilities = []
  for device in tf.config.list_physical_devices('GPU'):
    details = tf.config.experimental.get_device_details(device)
    capabilities.append(tuple(details.get('compute_capability') or (0, 0)))
  return capabilities


def choose(setting, flags=None, gpus=None):
  """Whether to compute in bfloat16, for `--mixed_precision=setting`.

  Args:
    setting: `'auto'`, `'true'` or `'false'` (a Python bool is read as the
      latter two, as config.json files from before `auto` hold it).
    flags: the CPU's feature flags; default `cpu_flags()`.
    gpus: the GPUs' compute capabilities; default
      `gpu_compute_capabilities()`. Training runs on the GPUs when there are
      any, so they decide.

  Returns:
    A `Choice`.

  Raises:
    ValueError: for any other setting.
  """
  if isinstance(setting, bool):
    setting = 'true' if setting else 'false'
  if setting not in MIXED_PRECISION_SETTINGS:
    raise ValueError(f'--mixed_precision must be one of '
                     f'{list(MIXED_PRECISION_SETTINGS)}, got {setting!r}.')
  if setting != 'auto':
    return Choice(setting == 'true', f'--mixed_precision={setting}')
  gpus = gpu_compute_capabilities() if gpus is None else gpus
  if gpus:
    older = [c for c in gpus if tuple(c) < GPU_BFLOAT16_CAPABILITY]
    listed = ', '.join(f'{c[0]}.{c[1]}' for c in gpus)
    if older:
      return Choice(False, f'auto: GPU compute capability {listed}; bfloat16 '
                    'tensor cores need 8.0 or newer')
    return Choice(True, f'auto: GPU compute capability {listed} has bfloat16 '
                  'tensor cores')
  flags = cpu_flags() if flags is None else set(flags)
  native = [flag for flag in CPU_BFLOAT16_FLAGS if flag in flags]
  if native:
    return Choice(True, f'auto: the CPU computes bfloat16 natively '
                  f'({", ".join(native)})')
  return Choice(False, 'auto: the CPU has no native bfloat16 (none of '
                f'{", ".join(CPU_BFLOAT16_FLAGS)}), where it is slower than '
                'float32')


# Images with fewer pixels per channel train in float32 under `auto`.
SMALLEST_BFLOAT16_IMAGE = 16 * 16


def choose_for(setting, event_shape, **hardware):
  """`choose`, but under `auto` models too small to gain stay float32.

  A vector model's (2-D toys') dense networks are a few thousand
  multiply-adds per example: nothing for bfloat16 to speed up, and its
  rounding would show in the density. An image model below 16 x 16 pixels
  (the `digits` preset, 8 x 8) is the same story in convolutions: its step
  is small ops, not arithmetic, and measured on a CPU with AVX512-BF16 it
  trained no faster in bfloat16 (1.02x and 0.80x float32's images/s in two
  rounds; BENCHMARKS.md), while the float32 twin bfloat16 needs for its
  health line and export costs a trace of its own.
  """
  if setting == 'auto' and len(event_shape) == 1:
    return Choice(False, 'auto: a vector model, too small for bfloat16 to pay')
  if (setting == 'auto' and len(event_shape) == 3 and
      event_shape[0] * event_shape[1] < SMALLEST_BFLOAT16_IMAGE):
    return Choice(False, f'auto: {event_shape[0]}x{event_shape[1]} images, '
                  'too small for bfloat16 to pay')
  return choose(setting, **hardware)


def float32_twin(flow):
  """The same model computing in float32, or `None` for a float32 flow.

  A bfloat16 network rounds its input: where forward and inverse see
  conditioning values one float32 ulp apart (composition's rounding), the
  rounding can differ, so a deep bfloat16 flow reconstructs to about 1e-4
  mostly and now and then to a tenth of a pixel level. Its weights in float32
  reconstruct to float32's rounding; the health line reports both.
  `copy_variables(flow, twin)` gives the twin the flow's current values.
  """
  compute_dtype = getattr(flow, 'parameters', {}).get('compute_dtype')
  if compute_dtype is None:
    return None
  return flows.flow_from_config(dict(flows.flow_config(flow),
                                     compute_dtype=None))


def check_float32_or_own(compute_dtype, own):
  """Refuses a `compute_dtype` other than `'float32'` or `None` (`own`'s)."""
  if compute_dtype not in ('float32', None):
    raise ValueError(f"`compute_dtype` must be 'float32' or None ({own}), "
                     f'got {compute_dtype!r}.')


def computing_in_float32(flow):
  """`flow` itself if it computes in float32, else its float32 twin now.

  The twin holds `flow`'s current variable values (weights and batch-norm
  statistics): the figures a run reports are the ones `load_flow` and the
  SavedModel (float32 networks by default) give again.
  """
  twin = float32_twin(flow)
  if twin is None:
    return flow
  copy_variables(flow, twin)
  return twin


def copy_variables(source, target):
  """Assigns `source`'s variables to `target`'s (the same model)."""
  for from_variable, to_variable in zip(source.variables, target.variables):
    to_variable.assign(tf.convert_to_tensor(from_variable))
