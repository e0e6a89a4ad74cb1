"""Real NVP (Dinh et al., 2017) as TensorFlow Probability bijectors.

The library: bijectors, networks, the condition, dequantization, the flows,
training (a step of its own and Keras `fit`). Importing it
loads neither the application wing (`tfp_realnvp.app`: training runs,
export, loading, figures) nor TFDS, scikit-learn or matplotlib; `tfp_realnvp.data`
imports TFDS and scikit-learn when a dataset is asked for.
"""

import importlib
import warnings

from tfp_realnvp import bijectors
from tfp_realnvp import condition
from tfp_realnvp import dequantization
from tfp_realnvp import flows
from tfp_realnvp import networks
from tfp_realnvp import training
from tfp_realnvp.bijectors import BatchNormalization
from tfp_realnvp.bijectors import ConditionalChain
from tfp_realnvp.bijectors import FactorOut
from tfp_realnvp.bijectors import join_multiscale_latents
from tfp_realnvp.bijectors import Logit
from tfp_realnvp.bijectors import MaskedAffineCoupling
from tfp_realnvp.bijectors import split_multiscale_latents
from tfp_realnvp.bijectors import Squeeze
from tfp_realnvp.bijectors import training_mode
from tfp_realnvp.condition import ConditionSpec
from tfp_realnvp.dequantization import Dequantizer
from tfp_realnvp.dequantization import to_uint8
from tfp_realnvp.dequantization import UniformDequantizer
from tfp_realnvp.dequantization import VariationalDequantizer
from tfp_realnvp.flows import ConditionalRealNVP
from tfp_realnvp.flows import ConditionedFlow
from tfp_realnvp.flows import default_num_scales
from tfp_realnvp.flows import Flow
from tfp_realnvp.flows import PRESETS
from tfp_realnvp.flows import RealNVP
from tfp_realnvp.flows import VectorRealNVP
from tfp_realnvp.training import evaluate_bits_per_dim
from tfp_realnvp.training import evaluate_discrete_bits_per_dim
from tfp_realnvp.training import FlowModel
from tfp_realnvp.training import recompute_batch_norm_statistics
from tfp_realnvp.training import TrainingStep
from tfp_realnvp.training import WarmupDecay

__version__ = '0.3.0'

__all__ = [
    'BatchNormalization',
    'ConditionalChain',
    'ConditionSpec',
    'ConditionalRealNVP',
    'ConditionedFlow',
    'Dequantizer',
    'FactorOut',
    'Flow',
    'FlowModel',
    'Logit',
    'MaskedAffineCoupling',
    'PRESETS',
    'RealNVP',
    'Squeeze',
    'TrainingStep',
    'UniformDequantizer',
    'VariationalDequantizer',
    'VectorRealNVP',
    'WarmupDecay',
    'bijectors',
    'condition',
    'default_num_scales',
    'dequantization',
    'evaluate_bits_per_dim',
    'evaluate_discrete_bits_per_dim',
    'flows',
    'join_multiscale_latents',
    'networks',
    'recompute_batch_norm_statistics',
    'split_multiscale_latents',
    'to_uint8',
    'training',
    'training_mode',
]

# Names that moved, still reachable here: the module is imported on first
# use (the application wing's never by `import tfp_realnvp`).
_MOVED = {
    'load_flow': ('tfp_realnvp.app.loading', 'load_flow', '0.3.0'),
    'export_saved_model': ('tfp_realnvp.app.export', 'export_saved_model',
                           '0.3.0'),
    'variational_dequantization': ('tfp_realnvp.dequantization', 'variational',
                                   '0.4.0'),
}


def __getattr__(name):
  if name in _MOVED:
    module, attribute, version = _MOVED[name]
    warnings.warn(f'tfp_realnvp.{name} moved to {module}.{attribute} in '
                  f'{version}.', DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(module), attribute)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
