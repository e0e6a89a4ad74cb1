"""After training: the raw or the Polyak-averaged weights, by validation.

Early in a run the average is far better than the wandering raw weights;
late in a run whose rate has decayed the raw weights have settled and the
average, which still remembers the last ~1 / (1 - decay) steps, can be
worse. So a run that keeps an average scores the candidates on the
validation split once training ends and uses the best for the test figure,
the last sample grid, the SavedModel and, through results.json, the tools'
default (`--weights=best`). The averaged weights are scored with batch-norm
statistics of their own (`FlowModel.averaged_weights`) and, as a third
candidate, with the raw weights' statistics.
"""

import contextlib

from absl import logging

__all__ = ['WEIGHTS', 'choose_weights', 'chosen_weights', 'describe']

# What `results.json`'s 'weights' may say: the averaged weights with their
# own batch-norm statistics, the raw weights, the averaged weights with the
# raw weights' statistics.
WEIGHTS = ('averaged', 'raw', 'averaged_raw_statistics')

_DESCRIPTIONS = dict(
    averaged='averaged weights (their own batch-norm statistics)',
    raw='raw weights',
    averaged_raw_statistics='averaged weights with the raw weights\' '
                            'batch-norm statistics')


def describe(name):
  """The words for weights `name` in a printed figure."""
  return _DESCRIPTIONS[name]


def choose_weights(flow_model, validation_data):
  """Scores each candidate on validation; the best, with every figure.

  Args:
    flow_model: a trained `tfp_realnvp.training.FlowModel`.
    validation_data: the validation dataset (as `fit` takes it), or a
      function of no arguments returning it afresh. Every candidate must
      see the same values: a dataset that draws new dequantization noise on
      each pass needs the function, each fresh copy drawing the noise of a
      first pass.

  Returns:
    `(name, figures)`: one of `WEIGHTS` (`'raw'` for a model without an
    average), and a dict of each candidate's validation bits/dim.
  """
  fresh = validation_data if callable(validation_data) else (
      lambda: validation_data)
  # Integer pixels: every candidate sees the same noise, fit's validation's
  # when the model has a seed.
  seed = 0 if flow_model.step.seed is None else flow_model.step.seed

  def score(name):
    with chosen_weights(flow_model, name):
      return float(flow_model.evaluate(fresh(), verbose=0, return_dict=True,
                                       averaged=False,
                                       seed=seed)['bits_per_dim'])

  if not flow_model.polyak_averages:
    return 'raw', dict(raw=score('raw'))
  # Scoring the average first computes its statistics, if it can.
  figures = dict(averaged=score('averaged'), raw=score('raw'))
  if flow_model.step.averaged_statistics.has_statistics():
    figures['averaged_raw_statistics'] = score('averaged_raw_statistics')
  candidates = list(figures)
  # Ties go to the first: the average, the documented default.
  name = min(candidates, key=figures.get)
  logging.info('Weights: %s. Validation bits/dim: %s. The test figure, the '
               'last sample grid and the export use them.', describe(name),
               '; '.join(f'{describe(n)} {figures[n]:.4f}' for n in candidates))
  return name, figures


@contextlib.contextmanager
def chosen_weights(flow_model, name):
  """Within the block the flow holds the `name` weights (see WEIGHTS)."""
  if name not in WEIGHTS:
    raise ValueError(f'`name` must be one of {WEIGHTS}, got {name!r}.')
  if name == 'raw':
    yield
  else:
    with flow_model.averaged_weights(
        own_statistics=name == 'averaged'):
      yield
