"""Real NVP (Dinh et al., 2017) as TensorFlow Probability bijectors.

The library (bijectors, networks, the flows, Keras training, data) is
importable on its own; the application wing (`tfp_realnvp.app`: training
runs, export, loading, figures) builds on it. See `tfp_realnvp/app/__init__.py`
for the layers.
"""

from tfp_realnvp import bijectors
from tfp_realnvp import networks
from tfp_realnvp.model import ConditionalRealNVP
from tfp_realnvp.model import default_num_scales
from tfp_realnvp.model import Flow
from tfp_realnvp.model import PRESETS
from tfp_realnvp.model import RealNVP
from tfp_realnvp.model import to_uint8
from tfp_realnvp.model import VectorRealNVP
from tfp_realnvp.training import evaluate_bits_per_dim
from tfp_realnvp.training import FlowModel
from tfp_realnvp.training import recompute_batch_norm_statistics
from tfp_realnvp.training import WarmupDecay
from tfp_realnvp.bijectors import BatchNormalization
from tfp_realnvp.bijectors import ConditionalChain
from tfp_realnvp.bijectors import FactorOut
from tfp_realnvp.bijectors import join_multiscale_latents
from tfp_realnvp.bijectors import Logit
from tfp_realnvp.bijectors import MaskedAffineCoupling
from tfp_realnvp.bijectors import split_multiscale_latents
from tfp_realnvp.bijectors import Squeeze
from tfp_realnvp.bijectors import training_mode
# The application wing's two entry points a Python user needs most.
from tfp_realnvp.app.export import export_saved_model
from tfp_realnvp.app.loading import load_flow

__version__ = '0.2.0'

__all__ = [
    'BatchNormalization',
    'ConditionalChain',
    'ConditionalRealNVP',
    'FactorOut',
    'Flow',
    'FlowModel',
    'Logit',
    'MaskedAffineCoupling',
    'PRESETS',
    'RealNVP',
    'Squeeze',
    'VectorRealNVP',
    'WarmupDecay',
    'bijectors',
    'default_num_scales',
    'evaluate_bits_per_dim',
    'export_saved_model',
    'join_multiscale_latents',
    'load_flow',
    'networks',
    'recompute_batch_norm_statistics',
    'split_multiscale_latents',
    'to_uint8',
    'training_mode',
]
