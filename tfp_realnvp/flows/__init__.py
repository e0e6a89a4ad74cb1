"""The flows: one interface (`Flow`), the image and vector models, their configs.

```none
flow.py             Flow: log_prob, bits_per_dim, discrete_log_prob,
                    sample_values, encode, decode, given
conditioned.py      ConditionedFlow: p(x | labels or context), bound once
real_nvp.py         RealNVP (multi-scale images), ConditionalRealNVP
vector_real_nvp.py  VectorRealNVP
presets.py          PRESETS (the paper's configurations), default_num_scales
registry.py         flow_config / flow_from_config, by class name
```

The condition's checks and broadcasting are `tfp_realnvp.condition`'s; the
pixels' meaning, the dequantizers and the units are
`tfp_realnvp.dequantization`'s.
"""

from tfp_realnvp.flows.conditioned import ConditionedFlow
from tfp_realnvp.flows.flow import Flow
from tfp_realnvp.flows.presets import default_num_scales
from tfp_realnvp.flows.presets import PRESETS
from tfp_realnvp.flows.real_nvp import ConditionalRealNVP
from tfp_realnvp.flows.real_nvp import RealNVP
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
    'VectorRealNVP',
    'default_num_scales',
    'flow_config',
    'flow_from_config',
]
