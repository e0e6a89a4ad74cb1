"""Keeps TensorFlow's start-up and bookkeeping chatter out of the binaries' logs.

On a machine without a GPU, TensorFlow's first device initialization prints
`failed call to cuInit: ... UNKNOWN ERROR (303)` from C++, straight to file
descriptor 2 (no Python logger sees it, and TF_CPP_MIN_LOG_LEVEL is read
before a program could set it). It is no error for a CPU run, but users read
it as one. `initialize_devices` starts the runtime with descriptor 2
captured, drops the CUDA-probe lines when no GPU was found and writes every
other line back, so nothing else is lost. (Under a multi-worker `TF_CONFIG`
the strategy must start the runtime, and the probe's lines stay.)

TensorFlow's Python INFO lines at each checkpoint and export ("Sharding
callback duration", "Assets written to", "Writing fingerprint", renamed
signature inputs) come through the `tensorflow` logger and absl's own;
`quiet_framework_logs` drops INFO records logged from inside the frameworks'
packages, leaving this package's INFO lines and everyone's warnings.
"""

import logging
import os
import re
import tempfile

from absl import logging as absl_logging
import tensorflow as tf
import tensorflow_datasets as tfds
import tensorflow_probability as tfp
import tf_keras

__all__ = ['initialize_devices', 'quiet_framework_logs']

# C++ lines of a CUDA probe that found no driver or device.
_CUDA_PROBE_NOISE = re.compile(
    r'failed call to cuInit|cuda_diagnostics|kernel driver does not appear|'
    r'retrieving CUDA diagnostic|could not retrieve CUDA device count|'
    r'Could not find cuda drivers')


def initialize_devices():
  """Initializes TensorFlow's devices, dropping CUDA-probe noise if no GPU.

  Returns:
    The physical GPUs (an empty list on a CPU-only machine).
  """
  stderr_fd = 2
  saved_fd = os.dup(stderr_fd)
  with tempfile.TemporaryFile() as captured:
    try:
      os.dup2(captured.fileno(), stderr_fd)
      gpus = tf.config.list_physical_devices('GPU')
      # The probe runs when the runtime starts; a multi-worker strategy must
      # start it itself (collectives are configured first), so not then.
      if 'TF_CONFIG' not in os.environ:
        tf.config.list_logical_devices()
    finally:
      os.dup2(saved_fd, stderr_fd)
      os.close(saved_fd)
    captured.seek(0)
    lines = captured.read().decode(errors='replace').splitlines(keepends=True)
  kept = [line for line in lines
          if gpus or not _CUDA_PROBE_NOISE.search(line)]
  if kept:
    os.write(stderr_fd, ''.join(kept).encode())
  return gpus


_FRAMEWORK_DIRS = tuple(os.path.dirname(module.__file__) + os.sep
                        for module in (tf, tf_keras, tfp, tfds))


class _FrameworkInfoFilter(logging.Filter):
  """Passes warnings and errors, and INFO records not from the frameworks."""

  def filter(self, record):
    return (record.levelno > logging.INFO or
            not record.pathname.startswith(_FRAMEWORK_DIRS))


def quiet_framework_logs():
  """`initialize_devices`, and the frameworks' Python INFO lines dropped.

  Returns:
    The physical GPUs.
  """
  tf.get_logger().setLevel(logging.WARNING)
  handler = absl_logging.get_absl_handler()
  if not any(isinstance(f, _FrameworkInfoFilter) for f in handler.filters):
    handler.addFilter(_FrameworkInfoFilter())
  return initialize_devices()
