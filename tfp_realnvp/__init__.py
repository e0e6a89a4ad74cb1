"""Real NVP (Dinh et al., 2017) as TensorFlow Probability bijectors.

The library: bijectors, networks, the flows, Keras training. Importing it
loads neither the application wing (`tfp_realnvp.app`: training runs,
export, loading, figures) nor TFDS, scikit-learn or matplotlib; `tfp_realnvp.data`
imports TFDS and scikit-learn when a dataset is asked for.
"""

import importlib
import warnings

from tfp_realnvp import bijectors
from tfp_realnvp import dequantization
from tfp_realnvp import flows
from tfp_realnvp import networks
from tfp_realnvp import training
from tfp_realnvp import variational_dequantization
from tfp_realnvp.bijectors import BatchNormalization
from tfp_realnvp.bijectors import ConditionalChain
from tfp_realnvp.bijectors import FactorOut
from tfp_realnvp.bijectors import join_multiscale_latents
from tfp_realnvp.bijectors import Logit
from tfp_realnvp.bijectors import MaskedAffineCoupling
from tfp_realnvp.bijectors import split_multiscale_latents
from tfp_realnvp.bijectors import Squeeze
from tfp_realnvp.bijectors import training_mode
from tfp_realnvp.flows import ConditionalRealNVP
from tfp_realnvp.flows import ConditionedFlow
from tfp_realnvp.flows import default_num_scales
from tfp_realnvp.flows import Flow
from tfp_realnvp.flows import PRESETS
from tfp_realnvp.flows import RealNVP
from tfp_realnvp.flows import to_uint8
from tfp_realnvp.flows import VectorRealNVP
from tfp_realnvp.training import evaluate_bits_per_dim
from tfp_realnvp.training import evaluate_discrete_bits_per_dim
from tfp_realnvp.training import FlowModel
from tfp_realnvp.training import recompute_batch_norm_statistics
from tfp_realnvp.training import WarmupDecay
from tfp_realnvp.variational_dequantization import VariationalDequantizer

__version__ = '0.3.0'

__all__ = [
    'BatchNormalization',
    'ConditionalChain',
    'ConditionalRealNVP',
    'ConditionedFlow',
    'FactorOut',
    'Flow',
    'FlowModel',
    'Logit',
    'MaskedAffineCoupling',
    'PRESETS',
    'RealNVP',
    'Squeeze',
    'VariationalDequantizer',
    'VectorRealNVP',
    'WarmupDecay',
    'bijectors',
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
    'variational_dequantization',
]

# Names that moved to the application wing in 0.3.0, still reachable here:
# the module is imported on first use, never by `import tfp_realnvp`.
_MOVED_TO_APP = {'load_flow': 'tfp_realnvp.app.loading',
                 'export_saved_model': 'tfp_realnvp.app.export'}


def __getattr__(name):
  if name in _MOVED_TO_APP:
    warnings.warn(f'tfp_realnvp.{name} moved to {_MOVED_TO_APP[name]}.{name} '
                  'in 0.3.0.', DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(_MOVED_TO_APP[name]), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
