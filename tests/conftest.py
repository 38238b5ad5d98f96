"""Shared fixtures: tiny synthetic data sets in the original file format."""
import pytest

from data_prep import synthetic


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
    """`<root>/tiny/` with the four pickles of the `tiny` preset; returns <root>."""
    root = tmp_path_factory.mktemp("datasets")
    synthetic.write(synthetic.generate(synthetic.PRESETS["tiny"]), str(root / "tiny"))
    return root
