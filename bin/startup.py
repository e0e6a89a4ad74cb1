"""Keeps TensorFlow's import-time C++ lines out of the binaries' output.

Importing TensorFlow writes a dozen lines straight to file descriptor 2 from
C++ (absl's pre-initialization warning, oneDNN, CPU features, CUDA stubs and
factory registrations), before any Python logging exists and whatever
TF_CPP_MIN_LOG_LEVEL says; they came before even `--help` and one-line
errors. `quiet_imports()` holds descriptor 2 while the binary imports, then
writes back every line that is not such start-up noise. It imports nothing
heavy itself, so it can run first.

It also makes TensorFlow's C++ log warnings and errors only
(TF_CPP_MIN_LOG_LEVEL=1) unless the user set the variable: its INFO lines
are bookkeeping, such as TF 2.19's `Local rendezvous is aborting with
status: OUT_OF_RANGE: End of sequence` after every dataset read to its end,
which users read as an error.
"""

import contextlib
import os
import re
import tempfile

__all__ = ['quiet_imports']

_STARTUP_NOISE = re.compile(
    r'All log messages before absl::InitializeLog|'
    r'oneDNN custom operations are on|cudart_stub|cpu_feature_guard|'
    r'To enable the following instructions|rebuild TensorFlow with|'
    r'Unable to register cu(FFT|DNN|BLAS) factory|'
    r'computation placer already registered|'
    r'Could not find cuda drivers|failed call to cuInit|'
    r'TF-TRT Warning|absl::InitializeLog')


@contextlib.contextmanager
def quiet_imports():
  """Within the block, descriptor 2 is held; start-up noise is dropped."""
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
  stderr_fd = 2
  saved_fd = os.dup(stderr_fd)
  with tempfile.TemporaryFile() as captured:
    try:
      os.dup2(captured.fileno(), stderr_fd)
      yield
    finally:
      os.dup2(saved_fd, stderr_fd)
      os.close(saved_fd)
      captured.seek(0)
      lines = captured.read().decode(errors='replace').splitlines(
          keepends=True)
      kept = [line for line in lines if not _STARTUP_NOISE.search(line)]
      if kept:
        os.write(stderr_fd, ''.join(kept).encode())
