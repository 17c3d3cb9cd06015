import re

from setuptools import find_packages, setup

with open("tinygrad_tf/__init__.py", encoding="utf-8") as f:  # one place for the version: `tinygrad-tf --version`
    VERSION = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)

setup(
    name="tinygrad_tf",
    version=VERSION,
    description=(
        "An educational tensor autograd engine (NumPy and CuPy backends) with the "
        "Transformer of 'Attention Is All You Need' built on it, op by op."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["autograd", "autograd.*", "ops", "ops.*", "tinygrad_tf", "tinygrad_tf.*"]),
    package_data={"tinygrad_tf": ["data/corpus/*", "viz/explorer/*.js", "viz/explorer/*.css", "viz/explorer/*.html"],
                  "autograd.cuda_kernels": ["*.cu"]},
    install_requires=["numpy>=1.24,<3", "click>=8.0", "graphviz>=0.20", "sacrebleu>=2", "tokenizers>=0.15"],
    extras_require={
        "cuda": ["cupy-cuda12x>=13"],
        "dev": ["pytest>=7", "hypothesis>=6", "scipy>=1.10", "selenium>=4.10"],
        "fast": ["numba>=0.59"],  # compiled CPU loops for layer norm, the loss, dropout, ReLU (ops.fast.compiled)
        "interop": ["torch>=2.0"],
        "plot": ["matplotlib>=3.6", "Pillow>=9"],
        "notebooks": ["matplotlib>=3.6", "Pillow>=9", "nbclient>=0.7", "nbformat>=5", "nbconvert>=7", "ipykernel>=6",
                      "jupytext>=1.14"],
    },
    entry_points={"console_scripts": ["tinygrad-tf=tinygrad_tf.cli:main"]},
    license="MIT",
)
