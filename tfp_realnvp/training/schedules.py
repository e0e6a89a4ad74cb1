"""Learning-rate schedules: a linear warm-up, then a cosine or exponential
decay.

The decays are tf_keras' `CosineDecay` and `ExponentialDecay`; this module
adds the warm-up (its first step at `rate / warmup_steps`, where tf_keras'
own warm-up starts at 0) and the clocks: steps after the warm-up
(`WarmupDecay`), or a run's progress through its time budget
(`ProgressDecay`).
"""

import tensorflow as tf
import tf_keras

__all__ = ['DECAYS', 'ProgressDecay', 'WarmupDecay']


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
    # tf_keras' decay, its clock in units of T (`_progress`); the cosine
    # stops at 1 by itself (`min(step, decay_steps)`).
    self._decayed = None
    if decay == 'cosine':
      self._decayed = tf_keras.optimizers.schedules.CosineDecay(
          self.learning_rate, decay_steps=1., alpha=self.final_fraction)
    elif decay == 'exponential':
      self._decayed = tf_keras.optimizers.schedules.ExponentialDecay(
          self.learning_rate, decay_steps=1., decay_rate=self.decay_rate)

  def _progress(self, step):
    """How far the decay has gone: steps since the warm-up over `T`."""
    return tf.maximum(step - self.warmup_steps, 0.) / self.decay_steps

  def __call__(self, step):
    # The decays are tf_keras'; the warm-up (whose first step is not at 0,
    # as tf_keras' own warm-up's is) and the clocks are this module's.
    step = tf.cast(step, tf.float32)
    if self._decayed is None:
      rate = tf.constant(self.learning_rate, tf.float32)
    else:
      rate = self._decayed(self._progress(step))
    if self.warmup_steps:
      rate *= tf.minimum(1., (step + 1.) / self.warmup_steps)
    return rate

  def get_config(self):
    return dict(learning_rate=self.learning_rate,
                warmup_steps=self.warmup_steps, decay=self.decay,
                decay_steps=self.decay_steps, decay_rate=self.decay_rate,
                final_fraction=self.final_fraction)


@tf_keras.saving.register_keras_serializable(package='tfp_realnvp')
class ProgressDecay(WarmupDecay):
  """A decay whose clock is the run's progress, not its step count.

  `progress` is a scalar variable in [0, 1] that the caller advances (e.g.
  `tfp_realnvp.app.budget.TimeBudget`: the share of a wall-clock budget
  spent), so a run whose length is a time, not a number of steps, still
  decays over exactly its length. As `WarmupDecay` with
  `p = max(progress - s, 0) / (1 - s)` in place of `min(t, T) / T`, where
  `s = decay_start` is the share of the run at the peak rate before the
  decay begins (0: decay from the start; e.g. 0.8: a constant rate, then a
  decay over the last fifth, "warmup-stable-decay"):

  ```none
  warm-up (step < warmup_steps): rate * (step + 1) / warmup_steps
  cosine:       rate * (f + (1 - f) * (1 + cos(pi * p)) / 2)
  exponential:  rate * decay_rate ** p
  ```
  """

  def __init__(self, learning_rate, progress, decay='cosine', warmup_steps=0,
               decay_rate=0.1, final_fraction=0., decay_start=0.):
    """Builds the schedule.

    Args:
      learning_rate: Python float > 0, the peak rate.
      progress: a scalar float variable in [0, 1], read at every step.
      decay: `'cosine'` or `'exponential'`.
      warmup_steps: Python int >= 0, steps of the linear warm-up.
      decay_rate: the exponential decay's factor over the whole run.
      final_fraction: the cosine decay's final share of the rate.
      decay_start: Python float in [0, 1), the share of the run before the
        decay begins.

    Raises:
      ValueError: naming the argument that cannot work.
    """
    if decay not in DECAYS:
      raise ValueError(f'`decay` must be one of {DECAYS}, got {decay!r}.')
    if not 0. <= decay_start < 1.:
      raise ValueError(f'`decay_start` must be in [0, 1), got {decay_start!r}.')
    super().__init__(learning_rate, warmup_steps, decay, 1, decay_rate,
                     final_fraction)
    self.progress = progress
    self.decay_start = float(decay_start)

  def _progress(self, step):
    progress = tf.clip_by_value(tf.cast(self.progress, tf.float32), 0., 1.)
    return (tf.maximum(progress - self.decay_start, 0.)
            / (1. - self.decay_start))

  def get_config(self):
    # The clock is the run's; a schedule rebuilt from a config starts at 0.
    config = super().get_config()
    del config['decay_steps']
    config['decay_start'] = self.decay_start
    return config

  @classmethod
  def from_config(cls, config):
    return cls(progress=tf.Variable(0., trainable=False), **config)
