"""The flows: one interface (`Flow`), the image and vector models, their configs.

```none
flow.py             Flow: log_prob, bits_per_dim, sample_values, encode,
                    decode, given; the checks of a condition
conditioned.py      ConditionedFlow: p(x | labels or context), bound once
real_nvp.py         RealNVP (multi-scale images), ConditionalRealNVP
vector_real_nvp.py  VectorRealNVP
presets.py          PRESETS (the paper's configurations), default_num_scales
registry.py         flow_config / flow_from_config, by class name
```
"""

from tfp_realnvp.flows.conditioned import ConditionedFlow
from tfp_realnvp.flows.flow import condition_kwargs
from tfp_realnvp.flows.flow import condition_name
from tfp_realnvp.flows.flow import Flow
from tfp_realnvp.flows.flow import log_prob_to_bits_per_dim
from tfp_realnvp.flows.flow import require_context
from tfp_realnvp.flows.flow import require_labels
from tfp_realnvp.flows.flow import to_uint8
from tfp_realnvp.flows.presets import default_num_scales
from tfp_realnvp.flows.presets import PRESETS
from tfp_realnvp.flows.real_nvp import ConditionalRealNVP
from tfp_realnvp.flows.real_nvp import looks_like_unit_range
from tfp_realnvp.flows.real_nvp import RealNVP
from tfp_realnvp.flows.real_nvp import UNIT_RANGE_MESSAGE
from tfp_realnvp.flows.registry import FLOW_CLASSES
from tfp_realnvp.flows.registry import flow_config
from tfp_realnvp.flows.registry import flow_from_config
from tfp_realnvp.flows.vector_real_nvp import VectorRealNVP

__all__ = [
    'ConditionalRealNVP',
    'ConditionedFlow',
    'FLOW_CLASSES',
    'Flow',
    'PRESETS',
    'RealNVP',
    'UNIT_RANGE_MESSAGE',
    'VectorRealNVP',
    'condition_kwargs',
    'condition_name',
    'default_num_scales',
    'flow_config',
    'flow_from_config',
    'log_prob_to_bits_per_dim',
    'looks_like_unit_range',
    'require_context',
    'require_labels',
    'to_uint8',
]
