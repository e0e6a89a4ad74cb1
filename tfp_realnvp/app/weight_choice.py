"""After training: the raw or the Polyak-averaged weights, by validation.

Early in a run the average is far better than the wandering raw weights;
late in a run whose rate has decayed the raw weights have settled and the
average, which still remembers the last ~1 / (1 - decay) steps, can be
worse. So a run that keeps an average scores both on the validation split
once training ends and uses the better for the test figure, the last sample
grid, the SavedModel and, through results.json, the tools' default
(`--weights=best`).
"""

import contextlib

from absl import logging

__all__ = ['WEIGHTS', 'choose_weights', 'chosen_weights']

# What `results.json`'s 'weights' may say.
WEIGHTS = ('averaged', 'raw')


def choose_weights(flow_model, validation_data):
  """Scores raw and averaged weights on validation; the better, with figures.

  Args:
    flow_model: a trained `tfp_realnvp.training.FlowModel`.
    validation_data: the validation dataset (as `fit` takes it), or a
      function of no arguments returning it afresh. Both weights must see
      the same values: a dataset that draws new dequantization noise on each
      pass (`tfp_realnvp.data`'s) needs the function, each fresh copy drawing
      the noise of a first pass.

  Returns:
    `(name, figures)`: `'averaged'` or `'raw'` (`'raw'` for a model without
    an average), and a dict of each scored weights' validation bits/dim.
  """
  fresh = validation_data if callable(validation_data) else (
      lambda: validation_data)

  def score(averaged):
    return float(flow_model.evaluate(fresh(), verbose=0, return_dict=True,
                                     averaged=averaged)['bits_per_dim'])

  if not flow_model.polyak_averages:
    return 'raw', dict(raw=score(False))
  figures = dict(averaged=score(True), raw=score(False))
  # Ties go to the average, the documented default.
  name = 'raw' if figures['raw'] < figures['averaged'] else 'averaged'
  logging.info('Weights: %s (validation bits/dim %.4f averaged, %.4f raw); '
               'the test figure, last sample grid and export use them.',
               name, figures['averaged'], figures['raw'])
  return name, figures


@contextlib.contextmanager
def chosen_weights(flow_model, name):
  """Within the block the flow holds the `name` weights (see WEIGHTS)."""
  if name not in WEIGHTS:
    raise ValueError(f'`name` must be one of {WEIGHTS}, got {name!r}.')
  if name == 'raw':
    yield
  else:
    with flow_model.averaged_weights():
      yield
