"""Training a flow by maximum likelihood, reported in bits/dim.

```none
step.py                   TrainingStep: the one owner of the training and
                          evaluation step (loss with dequantization, Polyak
                          average, non-finite steps, figures)
flow_model.py             FlowModel: the step plus Keras plumbing
polyak.py                 PolyakAverage, a component of the step
non_finite.py             NonFiniteGuard, a component of the step
metrics.py                StepMetrics, the step's figures
optimizers.py             applying summed gradients with each optimizer kind
keras_saving.py           .keras files of a FlowModel
keras_flavor.py           Keras 3 objects refused with the fix
input_checks.py           FlowModel's one-line refusals of data
schedules.py              WarmupDecay, ProgressDecay
evaluation.py             evaluate_bits_per_dim, BitsPerDimEvaluator,
                          evaluate_discrete_bits_per_dim (K draws)
batch_norm_statistics.py  recompute_batch_norm_statistics
```
"""

from tfp_realnvp.bijectors import batch_norms
from tfp_realnvp.training.batch_norm_statistics import recompute_batch_norm_statistics
from tfp_realnvp.training.evaluation import BitsPerDimEvaluator
from tfp_realnvp.training.evaluation import DiscreteBitsPerDim
from tfp_realnvp.training.evaluation import evaluate_bits_per_dim
from tfp_realnvp.training.evaluation import evaluate_discrete_bits_per_dim
from tfp_realnvp.training.flow_model import FlowModel
from tfp_realnvp.training.polyak import PolyakAverage
from tfp_realnvp.training.schedules import DECAYS
from tfp_realnvp.training.schedules import ProgressDecay
from tfp_realnvp.training.schedules import WarmupDecay
from tfp_realnvp.training.step import TrainingStep

__all__ = [
    'BitsPerDimEvaluator',
    'DECAYS',
    'DiscreteBitsPerDim',
    'FlowModel',
    'PolyakAverage',
    'ProgressDecay',
    'TrainingStep',
    'WarmupDecay',
    'batch_norms',
    'evaluate_bits_per_dim',
    'evaluate_discrete_bits_per_dim',
    'recompute_batch_norm_statistics',
]
