"""Real NVP bijectors for TensorFlow Probability."""

from tfp_realnvp.bijectors.batch_normalization import batch_norms
from tfp_realnvp.bijectors.batch_normalization import BatchNormalization
from tfp_realnvp.bijectors.conditional_chain import ConditionalChain
from tfp_realnvp.bijectors.factor_out import FactorOut
from tfp_realnvp.bijectors.factor_out import join_multiscale_latents
from tfp_realnvp.bijectors.factor_out import split_multiscale_latents
from tfp_realnvp.bijectors.logit import Logit
from tfp_realnvp.bijectors.masked_affine_coupling import checkerboard_mask
from tfp_realnvp.bijectors.masked_affine_coupling import MaskedAffineCoupling
from tfp_realnvp.bijectors.one_pass_bijector import OnePassBijector
from tfp_realnvp.bijectors.squeeze import Squeeze
from tfp_realnvp.bijectors.training_mode import resolve_training
from tfp_realnvp.bijectors.training_mode import training_mode

__all__ = [
    'BatchNormalization',
    'ConditionalChain',
    'FactorOut',
    'Logit',
    'MaskedAffineCoupling',
    'OnePassBijector',
    'Squeeze',
    'batch_norms',
    'checkerboard_mask',
    'join_multiscale_latents',
    'resolve_training',
    'split_multiscale_latents',
    'training_mode',
]
