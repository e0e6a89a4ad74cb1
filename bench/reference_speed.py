"""Speed beside the PyTorch reference (chrischute/real-nvp), side by side.

  git clone https://github.com/chrischute/real-nvp /tmp/real-nvp
  git -C /tmp/real-nvp checkout df51ad5
  pip install torch            # in this environment, or give --torch_python
  python bench/reference_speed.py --reference_dir=/tmp/real-nvp

The reference's CIFAR-10 model (`RealNVP(num_scales=2, in_channels=3,
mid_channels=64, num_blocks=8)`, its train.py) against our `cifar10` preset,
the same architecture, at --batch_size: training images/s (its step: forward,
loss, backward, gradient clipping at 100, Adam with its weight-decay groups;
ours: `FlowModel`'s training step as `fit` runs it, with TF's fused Adam as
bin/train.py) and sampling images/s (a batch of pixels from the prior, in
evaluation mode), in float32 and in bfloat16 (ours: `compute_dtype`, the
networks in bfloat16 as `--mixed_precision` picks them; the reference:
`torch.autocast('cpu', torch.bfloat16)`).

One worker process per framework and precision stays alive; the rounds
alternate between them (each worker idle, blocked on its pipe, while another
runs), so every pair of figures sees the same drift of the machine. The table
gives each rate's median over --rounds and its min-max, and the ratio of the
medians, with the CPU's model and flags.

The reference runs from a copy of its `models/` and `util/` made in a
temporary directory, its `.view(` calls as `.reshape(` (four of them reshape
non-contiguous tensors, which torch 2 refuses; `reshape` is `view` wherever
`view` works). Nothing of it is kept in this project.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # pylint: disable=g-import-not-at-top,wrong-import-position
import step_profile  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS

PRECISIONS = ('float32', 'bfloat16')
PHASES = ('train', 'sample')
# The reference train.py's defaults.
REFERENCE_LEARNING_RATE = 1e-3
REFERENCE_WEIGHT_DECAY = 5e-5
REFERENCE_MAX_GRAD_NORM = 100.
# The model's hidden 3x3 convolutions (height = width, channels in = out):
# 160 of the 173 of a sampling pass, nearly all of its FLOPs.
HIDDEN_CONVOLUTIONS = ((32, 64), (16, 128))
CONVOLUTION_REPEATS = 20


def convolution_flops(batch_size, size, channels):
  return 2 * 9 * batch_size * size * size * channels * channels


def define_flags():
  flags.DEFINE_string('reference_dir',
                      os.environ.get('REALNVP_REFERENCE_DIR'),
                      'A checkout of github.com/chrischute/real-nvp '
                      '(df51ad5); default $REALNVP_REFERENCE_DIR.')
  flags.DEFINE_string('torch_python', sys.executable,
                      'A Python interpreter with torch installed.')
  flags.DEFINE_integer('batch_size', 64, 'Images per step and per sample.')
  flags.DEFINE_integer('rounds', 5, 'Timed rounds per worker and phase.')
  flags.DEFINE_integer('train_steps', 3, 'Training steps per timed round.')
  flags.DEFINE_list('precisions', list(PRECISIONS), 'Which of float32, '
                    'bfloat16.')
  flags.DEFINE_string('output', None, 'Also write the Markdown here.')
  flags.DEFINE_string('worker', None, 'Internal: ours or reference; serves '
                      'timed rounds read from stdin.')
  flags.DEFINE_string('precision', 'float32', 'Internal: the worker\'s '
                      'precision.')


def copy_reference(checkout, destination):
  """The reference's model code under `destination`, runnable on torch 2."""
  for package in ('models', 'util'):
    source = os.path.join(checkout, package)
    if not os.path.isdir(source):
      raise FileNotFoundError(
          f'{checkout!r} is not a checkout of chrischute/real-nvp: it has no '
          f'{package}/ directory (give --reference_dir).')
    shutil.copytree(source, os.path.join(destination, package))
  for root, _, names in os.walk(destination):
    for name in names:
      if name.endswith('.py'):
        path = os.path.join(root, name)
        with open(path, encoding='utf-8') as f:
          text = f.read()
        with open(path, 'w', encoding='utf-8') as f:
          f.write(text.replace('.view(', '.reshape('))


class OurWorker:
  """Our `cifar10` preset: `fit`'s step and sampling in evaluation mode."""

  def __init__(self, precision, batch_size):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    import tfp_realnvp  # pylint: disable=g-import-not-at-top
    self.batch_size = batch_size
    self.dtype = tf.bfloat16 if precision == 'bfloat16' else tf.float32
    self.flow = benchmark.build_model(
        'cifar10', 'ours',
        compute_dtype=None if precision == 'float32' else precision)
    model = tfp_realnvp.FlowModel(self.flow)
    model.compile(optimizer=benchmark.optimizer(REFERENCE_LEARNING_RATE))
    pixels = tf.random.uniform((batch_size, 32, 32, 3), 0, 256, tf.int32,
                               seed=0)
    # As `fit` runs it: one traced step reading a dataset iterator.
    batches = iter(tf.data.Dataset.from_tensors(pixels).repeat())
    train_function = model.make_train_function()
    self._train = lambda: train_function(batches)['loss'].numpy()

    sample = tf.function(lambda: step_profile.sample_in_evaluation_mode(
        self.flow, batch_size))
    self._sample = lambda: sample().numpy()
    self.gflop_per_image = benchmark.graph_flops(
        lambda seed: self.flow.sample(1, seed=seed),
        tf.TensorSpec([2], tf.int32)) / 1e9
    self.parameters = benchmark.num_parameters(self.flow)

  def train(self):
    self._train()

  def sample(self):
    self._sample()

  def convolution_rates(self):
    """{'HxWxC': GFLOP/s} of TF's forward 3x3 convolution, NHWC."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    rates = {}
    for size, channels in HIDDEN_CONVOLUTIONS:
      x = tf.cast(tf.random.normal((self.batch_size, size, size, channels)),
                  self.dtype)
      kernel = tf.cast(tf.random.normal((3, 3, channels, channels)),
                       self.dtype)

      @tf.function
      def repeated(x, kernel):
        total = tf.constant(0., x.dtype)
        for _ in tf.range(CONVOLUTION_REPEATS):
          total += tf.nn.conv2d(x, kernel, 1, 'SAME')[0, 0, 0, 0]
        return total

      repeated(x, kernel).numpy()
      start = time.perf_counter()
      repeated(x, kernel).numpy()
      seconds = (time.perf_counter() - start) / CONVOLUTION_REPEATS
      rates[f'{size}x{size}x{channels}'] = convolution_flops(
          self.batch_size, size, channels) / seconds / 1e9
    return rates


class ReferenceWorker:
  """The reference's CIFAR-10 model and training step, as its train.py."""

  def __init__(self, precision, batch_size, reference_dir):
    import torch  # pylint: disable=g-import-not-at-top
    copy = tempfile.mkdtemp(prefix='real-nvp-reference-')
    copy_reference(reference_dir, copy)
    sys.path.insert(0, copy)
    import models  # pylint: disable=g-import-not-at-top
    import util  # pylint: disable=g-import-not-at-top
    torch.manual_seed(0)
    self.torch = torch
    self.batch_size = batch_size
    self.autocast = precision == 'bfloat16'
    self.net = models.RealNVP(num_scales=2, in_channels=3, mid_channels=64,
                              num_blocks=8)
    self.loss_fn = models.RealNVPLoss()
    self.optimizer = torch.optim.Adam(
        util.get_param_groups(self.net, REFERENCE_WEIGHT_DECAY,
                              norm_suffix='weight_g'),
        lr=REFERENCE_LEARNING_RATE)
    self.clip = util.clip_grad_norm
    self.pixels = torch.randint(0, 256, (batch_size, 3, 32, 32)) / 255.
    self.parameters = sum(p.numel() for p in self.net.parameters())
    self.gflop_per_image = self._sample_flops() / 1e9

  def _context(self):
    if self.autocast:
      return self.torch.autocast('cpu', dtype=self.torch.bfloat16)
    return self.torch.autocast('cpu', enabled=False)

  def _sample_flops(self):
    from torch.utils import flop_counter  # pylint: disable=g-import-not-at-top
    counter = flop_counter.FlopCounterMode(display=False)
    self.net.eval()
    with counter, self.torch.no_grad():
      self.net(self.torch.randn(1, 3, 32, 32), reverse=True)
    return counter.get_total_flops()

  def convolution_rates(self):
    """{'HxWxC': GFLOP/s} of torch's forward 3x3 convolution, in the
    reference's NCHW layout and (suffix ' channels_last') in NHWC."""
    functional = self.torch.nn.functional
    dtype = self.torch.bfloat16 if self.autocast else self.torch.float32
    rates = {}
    for size, channels in HIDDEN_CONVOLUTIONS:
      for layout in (self.torch.contiguous_format, self.torch.channels_last):
        x = self.torch.randn(self.batch_size, channels, size, size,
                             dtype=dtype).contiguous(memory_format=layout)
        kernel = self.torch.randn(channels, channels, 3, 3, dtype=dtype
                                 ).contiguous(memory_format=layout)
        with self.torch.no_grad():
          functional.conv2d(x, kernel, padding=1)
          start = time.perf_counter()
          for _ in range(CONVOLUTION_REPEATS):
            functional.conv2d(x, kernel, padding=1)
          seconds = (time.perf_counter() - start) / CONVOLUTION_REPEATS
        suffix = (' channels_last' if layout == self.torch.channels_last
                  else '')
        rates[f'{size}x{size}x{channels}{suffix}'] = convolution_flops(
            self.batch_size, size, channels) / seconds / 1e9
    return rates

  def train(self):
    self.net.train()
    self.optimizer.zero_grad()
    with self._context():
      z, sldj = self.net(self.pixels, reverse=False)
      loss = self.loss_fn(z, sldj)
    loss.backward()
    self.clip(self.optimizer, REFERENCE_MAX_GRAD_NORM)
    self.optimizer.step()
    loss.item()

  def sample(self):
    self.net.eval()
    with self.torch.no_grad(), self._context():
      z = self.torch.randn((self.batch_size, 3, 32, 32))
      x, _ = self.net(z, reverse=True)
      self.torch.sigmoid(x).float().numpy()


def serve(worker, batch_size, train_steps):
  """Answers each 'train' or 'sample' line on stdin with its seconds."""
  worker.train()  # The first calls trace (ours) or warm the allocator.
  worker.sample()
  print(json.dumps(dict(ready=True, parameters=worker.parameters,
                        gflop_per_image=worker.gflop_per_image,
                        convolution_rates=worker.convolution_rates())),
        flush=True)
  for line in sys.stdin:
    phase = line.strip()
    run = worker.train if phase == 'train' else worker.sample
    repeats = train_steps if phase == 'train' else 1
    start = time.perf_counter()
    for _ in range(repeats):
      run()
    print(json.dumps(dict(seconds=time.perf_counter() - start,
                          count=repeats * batch_size)), flush=True)


class Worker:
  """A worker process of this script, driven over its pipes."""

  def __init__(self, kind, precision):
    python = sys.executable if kind == 'ours' else FLAGS.torch_python
    command = [python, os.path.abspath(__file__), f'--worker={kind}',
               f'--precision={precision}', f'--batch_size={FLAGS.batch_size}',
               f'--train_steps={FLAGS.train_steps}']
    if kind == 'reference':
      command.append(f'--reference_dir={os.path.abspath(FLAGS.reference_dir)}')
    self.name = f'{kind} {precision}'
    self.process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
    self.info = self._answer()

  def _answer(self):
    line = self.process.stdout.readline()
    if not line:
      raise RuntimeError(f'The {self.name} worker exited '
                         f'(code {self.process.wait()}); its stderr is above.')
    return json.loads(line)

  def time(self, phase):
    self.process.stdin.write(phase + '\n')
    self.process.stdin.flush()
    answer = self._answer()
    return answer['count'] / answer['seconds']

  def close(self):
    self.process.stdin.close()
    self.process.wait()


def _span(rates):
  return (f'{statistics.median(rates):.3g} '
          f'({min(rates):.3g}-{max(rates):.3g})')


def report(workers, all_rates, command, precisions, batch_size, rounds,
           train_steps):
  """The Markdown tables: `all_rates[worker name][phase]`, images/s per
  round; `workers[name].info`, what each worker reported as it started."""
  lines = [
      '## Speed beside the PyTorch reference (chrischute/real-nvp, CIFAR-10)',
      '', f'`{command}`', '', f'CPU: {benchmark.cpu_description()}.', '',
      f'Batch {batch_size}; images/s, median of {rounds} alternating rounds '
      f'(min-max); training rounds of {train_steps} steps.', '',
      '| precision | phase | ours | reference | ours / reference |',
      '| --- | --- | --- | --- | --- |']
  for precision in precisions:
    for phase in PHASES:
      ours = all_rates[f'ours {precision}'][phase]
      theirs = all_rates[f'reference {precision}'][phase]
      ratio = statistics.median(ours) / statistics.median(theirs)
      lines.append(f'| {precision} | {phase} | {_span(ours)} | '
                   f'{_span(theirs)} | {ratio:.2f}x |')
  lines += ['', '| model | parameters | sampling GFLOP/image |',
            '| --- | --- | --- |']
  for kind in ('ours', 'reference'):
    info = workers[f'{kind} {precisions[0]}'].info
    lines.append(f'| {kind} | {info["parameters"]:,} | '
                 f'{info["gflop_per_image"]:.2f} |')
  # The convolution ceiling each worker measured as it started, beside the
  # rate its sampling pass reaches (at its own model's FLOPs per image).
  shapes = []
  for worker in workers.values():
    shapes += [s for s in worker.info['convolution_rates'] if s not in shapes]
  lines += ['', 'Forward 3x3 convolution GFLOP/s of each framework on the '
            'model\'s two hidden shapes (batch, then height x width x '
            'channels in and out), measured by each worker as it started, '
            'and the GFLOP/s its sampling pass reaches:', '',
            '| worker | ' + ' | '.join(
                f'{batch_size}x{s}' for s in shapes) + ' | sampling |',
            '| --- |' + ' --- |' * (len(shapes) + 1)]
  for name, worker in workers.items():
    rates = worker.info['convolution_rates']
    cells = [f'{rates[s]:.0f}' if s in rates else '-' for s in shapes]
    sampling = (statistics.median(all_rates[name]['sample'])
                * worker.info['gflop_per_image'])
    lines.append(f'| {name} | ' + ' | '.join(cells) + f' | {sampling:.0f} |')
  return '\n'.join(lines) + '\n'


def main(argv):
  del argv
  if FLAGS.worker == 'ours':
    serve(OurWorker(FLAGS.precision, FLAGS.batch_size), FLAGS.batch_size,
          FLAGS.train_steps)
    return
  if FLAGS.worker == 'reference':
    serve(ReferenceWorker(FLAGS.precision, FLAGS.batch_size,
                          FLAGS.reference_dir), FLAGS.batch_size,
          FLAGS.train_steps)
    return
  if not FLAGS.reference_dir:
    raise app.UsageError('Give --reference_dir (a checkout of '
                         'chrischute/real-nvp) or $REALNVP_REFERENCE_DIR.')
  workers = {}
  try:
    # Started one at a time: each traces or warms up on idle cores.
    for precision in FLAGS.precisions:
      for kind in ('ours', 'reference'):
        worker = Worker(kind, precision)
        workers[worker.name] = worker
    rates = {name: {phase: [] for phase in PHASES} for name in workers}
    for _ in range(FLAGS.rounds):
      for name, worker in workers.items():
        for phase in PHASES:
          rates[name][phase].append(worker.time(phase))
  finally:
    for worker in workers.values():
      worker.close()
  command = 'python bench/reference_speed.py ' + ' '.join(sys.argv[1:])
  benchmark.publish(
      report(workers, rates, command, FLAGS.precisions, FLAGS.batch_size,
             FLAGS.rounds, FLAGS.train_steps), FLAGS.output)


if __name__ == '__main__':
  define_flags()
  app.run(main)
