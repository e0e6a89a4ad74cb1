"""Integer pixels and a continuous flow: dequantizers, the discrete likelihood, units.

```none
base.py         Dequantizer: the contract every q(u | x) keeps; into_cube
uniform.py      UniformDequantizer: x + u, u ~ U[0, 1) (paper §4.1); dequantize
variational.py  VariationalDequantizer: a learned q(u | x) (Flow++)
estimate.py     importance_weighted_log_prob: the K-draw estimate of log P(x)
noise.py        seeded noise that belongs to an example, not to its batch
pixels.py       what an input means: integer pixels or dequantized values
units.py        the 256 levels, bits/dim, to_uint8
```
"""

from tfp_realnvp.dequantization import noise
from tfp_realnvp.dequantization import pixels
from tfp_realnvp.dequantization import units
from tfp_realnvp.dequantization.base import Dequantizer
from tfp_realnvp.dequantization.base import into_cube
from tfp_realnvp.dequantization.estimate import importance_weighted_log_prob
from tfp_realnvp.dequantization.estimate import log_mean_exp
from tfp_realnvp.dequantization.estimate import log_weights
from tfp_realnvp.dequantization.estimate import standard_error
from tfp_realnvp.dequantization.pixels import is_integer
from tfp_realnvp.dequantization.uniform import dequantize
from tfp_realnvp.dequantization.uniform import UniformDequantizer
from tfp_realnvp.dequantization.units import log_prob_to_bits_per_dim
from tfp_realnvp.dequantization.units import NUM_LEVELS
from tfp_realnvp.dequantization.units import to_uint8
from tfp_realnvp.dequantization.variational import VariationalDequantizer

__all__ = [
    'Dequantizer',
    'NUM_LEVELS',
    'UniformDequantizer',
    'VariationalDequantizer',
    'dequantize',
    'importance_weighted_log_prob',
    'into_cube',
    'is_integer',
    'log_mean_exp',
    'log_prob_to_bits_per_dim',
    'log_weights',
    'pixels',
    'standard_error',
    'to_uint8',
    'units',
]
