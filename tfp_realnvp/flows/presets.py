"""The paper's model configurations by dataset (§4.1), and the default depth."""

__all__ = ['PRESETS', 'default_num_scales']

# Paper §4.1: CIFAR-10 uses 8 residual blocks, 64 feature maps and downscales
# once; the others 4 blocks (2 for LSUN) and 32 feature maps, recursing down to
# 4 x 4. The small presets are for CPU runs: `mnist`'s shape is the best of a
# sweep of 10-minute bin/train.py runs on a 2-core CPU (BENCHMARKS.md, "The
# budget sweep"): two scales of 32 filters beat the three scales of 16 it had
# before (test 1.42 against 1.48 bits/dim), and fewer couplings step faster.
PRESETS = {
    'cifar10': dict(image_shape=(32, 32, 3), num_scales=2, num_res_blocks=8,
                    num_filters=64),
    'imagenet32': dict(image_shape=(32, 32, 3), num_scales=4,
                       num_res_blocks=4, num_filters=32),
    'imagenet64': dict(image_shape=(64, 64, 3), num_scales=5,
                       num_res_blocks=4, num_filters=32),
    'celeba': dict(image_shape=(64, 64, 3), num_scales=5, num_res_blocks=4,
                   num_filters=32),
    'lsun': dict(image_shape=(64, 64, 3), num_scales=5, num_res_blocks=2,
                 num_filters=32),
    'mnist': dict(image_shape=(28, 28, 1), num_scales=2, num_res_blocks=2,
                  num_filters=32),
    'digits': dict(image_shape=(8, 8, 1), num_scales=2, num_res_blocks=1,
                   num_filters=16),
}


def default_num_scales(image_shape):
  """Scales until the last one's input is 4 x 4 (or cannot be squeezed)."""
  height, width = image_shape[0], image_shape[1]
  num_scales = 1
  while height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= 4:
    height, width = height // 2, width // 2
    num_scales += 1
  return num_scales
