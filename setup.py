"""selfgnn-tf2: a TensorFlow 2 port of SelfGNN (SIGIR 2024) and the HardGNN variant."""
from setuptools import find_packages, setup

setup(
    name="selfgnn-tf2",
    version="0.1.0",
    description="Faithful TensorFlow 2 port of SelfGNN (Liu, Xia, Huang, SIGIR 2024)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["selfgnn", "selfgnn.*", "hardgnn", "hardgnn.*", "baselines",
                                    "baselines.*", "data_prep", "data_prep.*"]),
    package_data={"selfgnn": ["published.csv"]},
    install_requires=["tensorflow>=2.15", "numpy", "scipy", "pandas", "absl-py"],
    # matplotlib: the grid search's plots; tensorboard: its HParams records (both optional).
    extras_require={"plots": ["matplotlib", "tensorboard"],
                    "test": ["pytest", "matplotlib", "tensorboard"]},
)
