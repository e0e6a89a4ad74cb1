"""Installs tfp_realnvp."""

import setuptools

setuptools.setup(
    name='tfp_realnvp',
    version='0.3.0',
    description='Real NVP (Dinh et al., 2017) as TensorFlow Probability bijectors.',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache 2.0',
    packages=setuptools.find_packages(include=['tfp_realnvp', 'tfp_realnvp.*'])
    + ['tfp_realnvp_bin'],
    # bin/ is installed as the package tfp_realnvp_bin so that its scripts
    # can be console scripts, yet `python bin/train.py` still works.
    package_dir={'tfp_realnvp_bin': 'bin'},
    entry_points={
        'console_scripts': [
            'tfp-realnvp-train = tfp_realnvp_bin.train:console_main',
            'tfp-realnvp-sample = tfp_realnvp_bin.sample:console_main',
            'tfp-realnvp-evaluate = tfp_realnvp_bin.evaluate:console_main',
            'tfp-realnvp-latent-figures = tfp_realnvp_bin.latent_figures:console_main',
            'tfp-realnvp-score = tfp_realnvp_bin.score:console_main',
        ],
    },
    python_requires='>=3.10',
    # Every TensorFlow minor TFP 0.25 supports, each tested by .ci/run with
    # the matching tf-keras (tf-keras X.Y needs TensorFlow X.Y), so pip keeps
    # the TensorFlow a user already has.
    install_requires=[
        'tensorflow>=2.18,<2.22',
        'tensorflow-probability>=0.25,<0.26',
        'tf-keras>=2.18,<2.22',
        'tensorflow-datasets>=4.9.10,<5',
        # TFDS's metadata protos. 1.21 was generated for protobuf >= 6.31 but
        # does not say so, and TensorFlow 2.18/2.19 pin protobuf < 6: TFDS
        # then fails at import. 1.17's work with protobuf 5, 6 and 7 (CI).
        'tensorflow-metadata>=1.17.2,<1.18',
        'absl-py>=2.1,<3',
        # The embedded offline dataset (8x8 digits) and 2-D toy sets.
        'scikit-learn>=1.5,<2',
        # TensorBoard summaries (tf.summary needs it installed).
        'tensorboard>=2.18,<2.22',
        # Figure 1 of the paper for 2-D data.
        'matplotlib>=3.8,<4',
    ],
    extras_require={
        'test': [
            'pytest>=8,<10',
            # Test files in parallel processes (pytest.ini).
            'pytest-xdist>=3.7,<4',
            'hypothesis>=6.100,<7',
        ],
    },
)
