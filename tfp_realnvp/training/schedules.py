"""Learning-rate schedules: a linear warm-up, then a cosine or exponential decay."""

import math

import tensorflow as tf
import tf_keras

__all__ = ['DECAYS', 'WarmupDecay']


DECAYS = ('cosine', 'exponential')


@tf_keras.saving.register_keras_serializable(package='tfp_realnvp')
class WarmupDecay(tf_keras.optimizers.schedules.LearningRateSchedule):
  """A linear warm-up, then a cosine or exponential decay of the rate.

  With `t = step - warmup_steps`:

  ```none
  warm-up (step < warmup_steps): rate * (step + 1) / warmup_steps
  cosine:       rate * (f + (1 - f) * (1 + cos(pi * min(t, T) / T)) / 2)
  exponential:  rate * decay_rate ** (t / T)
  none:         rate
  ```

  with `T = decay_steps` and `f = final_fraction`. The step is the
  optimizer's `iterations`, which checkpoints hold, so a resumed run
  continues the schedule where it stopped.
  """

  def __init__(self, learning_rate, warmup_steps=0, decay=None,
               decay_steps=None, decay_rate=0.1, final_fraction=0.):
    """Builds the schedule.

    Args:
      learning_rate: Python float > 0, the peak rate.
      warmup_steps: Python int >= 0, steps of the linear warm-up.
      decay: `None`, `'cosine'` or `'exponential'`.
      decay_steps: Python int > 0, `T` above; needed with a decay.
      decay_rate: the exponential decay's factor per `decay_steps`.
      final_fraction: the cosine decay's final share of the rate.

    Raises:
      ValueError: naming the argument that cannot work.
    """
    super().__init__()
    if not learning_rate > 0:
      raise ValueError(f'`learning_rate` must be > 0, got {learning_rate!r}.')
    if warmup_steps < 0:
      raise ValueError(f'`warmup_steps` must be >= 0, got {warmup_steps!r}.')
    if decay is not None and decay not in DECAYS:
      raise ValueError(f'`decay` must be None or one of {DECAYS}, got '
                       f'{decay!r}.')
    if decay is not None and not (decay_steps and decay_steps > 0):
      raise ValueError(f'A {decay} decay needs `decay_steps` > 0, got '
                       f'{decay_steps!r}.')
    if not 0. < decay_rate <= 1. or not 0. <= final_fraction <= 1.:
      raise ValueError('`decay_rate` must be in (0, 1] and `final_fraction` '
                       f'in [0, 1], got {decay_rate!r}, {final_fraction!r}.')
    self.learning_rate = float(learning_rate)
    self.warmup_steps = int(warmup_steps)
    self.decay = decay
    self.decay_steps = decay_steps
    self.decay_rate = float(decay_rate)
    self.final_fraction = float(final_fraction)

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    rate = tf.constant(self.learning_rate, tf.float32)
    if self.warmup_steps:
      rate *= tf.minimum(1., (step + 1.) / self.warmup_steps)
    since_warmup = tf.maximum(step - self.warmup_steps, 0.)
    if self.decay == 'cosine':
      progress = tf.minimum(since_warmup, self.decay_steps) / self.decay_steps
      cosine = 0.5 * (1. + tf.cos(math.pi * progress))
      rate *= self.final_fraction + (1. - self.final_fraction) * cosine
    elif self.decay == 'exponential':
      rate *= self.decay_rate ** (since_warmup / self.decay_steps)
    return rate

  def get_config(self):
    return dict(learning_rate=self.learning_rate,
                warmup_steps=self.warmup_steps, decay=self.decay,
                decay_steps=self.decay_steps, decay_rate=self.decay_rate,
                final_fraction=self.final_fraction)
