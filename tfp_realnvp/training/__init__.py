"""Keras training of a flow by maximum likelihood, reported in bits/dim.

```none
flow_model.py             FlowModel: the step, the loss, the metrics
polyak.py                 Polyak averaging of the weights (FlowModel mixin)
non_finite.py             skipping non-finite batches (FlowModel mixin)
keras_saving.py           .keras saving of every variable (FlowModel mixin)
schedules.py              WarmupDecay, ProgressDecay
evaluation.py             evaluate_bits_per_dim, BitsPerDimEvaluator,
                          evaluate_discrete_bits_per_dim (K draws)
dequantizing.py           integer pixels dequantized in the step (mixin)
batch_norm_statistics.py  batch_norms, recompute_batch_norm_statistics
batches.py                a batch's values and condition; log-prob in a mode
```
"""

from tfp_realnvp.training.batch_norm_statistics import batch_norms
from tfp_realnvp.training.batch_norm_statistics import recompute_batch_norm_statistics
from tfp_realnvp.training.batches import log_prob_in_mode
from tfp_realnvp.training.batches import split_batch
from tfp_realnvp.training.evaluation import BitsPerDimEvaluator
from tfp_realnvp.training.evaluation import DiscreteBitsPerDim
from tfp_realnvp.training.evaluation import evaluate_bits_per_dim
from tfp_realnvp.training.evaluation import evaluate_discrete_bits_per_dim
from tfp_realnvp.training.flow_model import FlowModel
from tfp_realnvp.training.schedules import DECAYS
from tfp_realnvp.training.schedules import ProgressDecay
from tfp_realnvp.training.schedules import WarmupDecay

__all__ = [
    'BitsPerDimEvaluator',
    'DECAYS',
    'DiscreteBitsPerDim',
    'FlowModel',
    'ProgressDecay',
    'WarmupDecay',
    'batch_norms',
    'evaluate_bits_per_dim',
    'evaluate_discrete_bits_per_dim',
    'log_prob_in_mode',
    'recompute_batch_norm_statistics',
    'split_batch',
]
