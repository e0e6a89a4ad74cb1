"""Every private framework API the package uses is present, or named when gone."""

import pathlib
import re
import types

import pytest

from tfp_realnvp import compat


@pytest.mark.parametrize('hook', sorted(compat.HOOKS))
def test_hook_exists_in_the_installed_versions(hook):
  owner, name, used_for = compat.HOOKS[hook]
  assert compat._require(owner, name, used_for) is not None  # pylint: disable=protected-access


# Every private name the package uses, by owner. Fewer than the 16 of 0.2.0:
# the training-mode hooks became public overrides, gradient aggregation a
# public all-reduce, the chain's links its public `bijectors`; and than the
# 11 of 0.3.0: skipping a non-finite step undoes it through the strategy's
# public update instead of the legacy optimizer's private apply.
PRIVATE_NAMES = {
    '_TransformedDistribution', '_Chain', 'BijectorCacheWithGreedyAttrs',
    '_get_parameterization', '_cache', '_backup', '_create_all_weights',
    'XSpace'}


def test_every_hook_is_registered():
  names = {hook.rsplit('.', 1)[-1] for hook in compat.HOOKS}
  assert names == PRIVATE_NAMES
  compat.check_all()


def test_importing_the_package_resolves_no_name_only_the_benchmark_uses():
  # A fresh interpreter: this one's tests may have read a profiler trace.
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  code = ('import sys, tfp_realnvp; '
          'print("tensorflow.tsl.profiler.protobuf.xplane_pb2" in sys.modules)')
  result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, check=True)
  assert result.stdout.strip().splitlines()[-1] == 'False'
  assert compat.profiler_trace().planes is not None


def test_no_private_framework_name_outside_compat():
  """Only compat.py reaches into TF, TFP or tf-keras internals."""
  package = pathlib.Path(compat.__file__).parent
  pattern = re.compile(r'\b(?:self|super\(\))\._(?:bijectors|cache|backup)\b'
                       r'|\._(?:call_\w+|aggregate_gradients|create_all_weights'
                       r'|distributed_apply|get_parameterization)\b')
  offenders = []
  for path in sorted(package.rglob('*.py')):
    if path.name == 'compat.py':
      continue
    for number, line in enumerate(path.read_text().splitlines(), 1):
      if pattern.search(line) or 'def _get_parameterization' in line:
        offenders.append(f'{path.relative_to(package)}:{number}: {line.strip()}')
  assert offenders == []


def test_a_removed_hook_is_named_with_its_use_and_the_tested_versions():
  upgraded = types.SimpleNamespace(__name__='tensorflow_probability.future')
  with pytest.raises(compat.MissingPrivateApiError,
                     match=r'tensorflow_probability\.future\._Chain '
                           r'\(the base of ConditionalChain\).*tested with '
                           r'tensorflow and tf-keras 2\.18 to 2\.21'):
    compat._require(upgraded, '_Chain', 'the base of ConditionalChain')  # pylint: disable=protected-access


def test_back_up_saves_the_training_state_now(tmp_path):
  import tf_keras  # pylint: disable=g-import-not-at-top
  model = tf_keras.Sequential([tf_keras.layers.Dense(1, input_shape=(2,))])
  model.compile('sgd', 'mse')
  callback = tf_keras.callbacks.BackupAndRestore(str(tmp_path))
  callback.set_model(model)
  callback.on_train_begin()
  compat.back_up(callback, epoch=0)
  assert list(tmp_path.rglob('checkpoint'))
