"""The flows a config rebuilds, by class name (run directories, `.keras` files)."""

from tfp_realnvp.flows.real_nvp import ConditionalRealNVP
from tfp_realnvp.flows.real_nvp import RealNVP
from tfp_realnvp.flows.vector_real_nvp import VectorRealNVP

__all__ = ['FLOW_CLASSES', 'flow_config', 'flow_from_config']

# The flows `flow_from_config` rebuilds, by class name.
FLOW_CLASSES = {cls.__name__: cls
                for cls in (RealNVP, ConditionalRealNVP, VectorRealNVP)}


def flow_config(flow):
  """`{'class': <name>, **flow.get_config()}`: JSON that rebuilds `flow`."""
  return dict({'class': type(flow).__name__}, **flow.get_config())


def flow_from_config(config):
  """A new flow from `flow_config`'s output (a run's config.json `model`)."""
  config = dict(config)
  class_name = config.pop('class', None)
  if class_name not in FLOW_CLASSES:
    raise ValueError(f'Unknown flow class {class_name!r}; expected one of '
                     f'{sorted(FLOW_CLASSES)}.')
  return FLOW_CLASSES[class_name].from_config(config)
