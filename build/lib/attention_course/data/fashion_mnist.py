"""Fashion-MNIST: 70,000 grey 28×28 pictures of clothes in 10 classes (Zalando Research, MIT).

:func:`load_fashion_mnist` looks for the four idx files in this order:

1. the folder the Debian package ``dataset-fashion-mnist`` installs them in,
   ``/usr/share/datasets/fashion-mnist/``;
2. this course's download cache, ``~/.cache/attention_course/fashion-mnist/``
   (``$XDG_CACHE_HOME`` is respected);
3. the original source, where a network exists (e.g. in Colab): each file is downloaded
   into the cache and checked against the MD5 sum the data set's authors publish.

Where none of these works, it raises :class:`FileNotFoundError` naming the install command.
The machines that build the book have no network, so they need the Debian package.

The idx format (Yann LeCun's, as for MNIST; here gzip-compressed): two zero bytes, a byte
for the element type (``0x08`` = unsigned byte), a byte for the number of dimensions,
one big-endian uint32 per dimension, then the data in row-major order.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
PACKAGE_DIRECTORY = Path("/usr/share/datasets/fashion-mnist")
INSTALL_COMMAND = "sudo apt-get install dataset-fashion-mnist"
# The original source, as the data set's README gives it, and the MD5 sums it publishes
# for each file. (Debian recompressed the files, so its copies have other sums; every
# file is checked by its contents instead, see _read_idx.)
SOURCE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
SOURCE_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
DOWNLOAD_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class FashionMNIST:
    images: np.ndarray  # (n, 28, 28) uint8, 0 = background, 255 = brightest
    labels: np.ndarray  # (n,) int64, indices into CLASS_NAMES

    def __len__(self) -> int:
        return len(self.labels)


def cache_directory() -> Path:
    """Where downloaded files are kept: ``$XDG_CACHE_HOME`` or ``~/.cache``, then our folder."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "attention_course" / "fashion-mnist"


def load_fashion_mnist(
    split: str = "train", directories=None, download: bool = True
) -> FashionMNIST:
    """The 60,000 training or 10,000 test pictures (``split`` is "train" or "test").

    ``directories``: where to look, in order (default: the Debian package's folder, then
    the download cache). ``download``: whether to fetch the files from the original
    source into the download cache when no directory has them.
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if directories is None:
        directories = [PACKAGE_DIRECTORY, cache_directory()]
    directories = [Path(directory) for directory in directories]
    images_name, labels_name = _FILES[split]
    for directory in directories:
        if (directory / images_name).is_file() and (directory / labels_name).is_file():
            return _load(directory / images_name, directory / labels_name)
    searched = ", ".join(str(directory) for directory in directories)
    if not download:
        raise FileNotFoundError(
            f"Fashion-MNIST ({split}) is not in {searched}. Install it with "
            f"`{INSTALL_COMMAND}` (Debian, Ubuntu), or allow the download."
        )
    try:
        paths = [_download(name, cache_directory()) for name in (images_name, labels_name)]
    except OSError as error:  # urllib's URLError is an OSError too
        raise FileNotFoundError(
            f"Fashion-MNIST ({split}) is not in {searched} and could not be downloaded from "
            f"{SOURCE_URL} ({error}). Install it with `{INSTALL_COMMAND}` (Debian, Ubuntu), "
            "or run where a network is available."
        ) from None
    return _load(*paths)


def _load(images_path: Path, labels_path: Path) -> FashionMNIST:
    images, labels = _read_idx(images_path), _read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1:
        raise ValueError(
            f"{images_path} and {labels_path}: expected (n, 28, 28) images and "
            f"(n,) labels, got {images.shape} and {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} has {len(images)} images but {labels_path} {len(labels)} labels"
        )
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise ValueError(f"{labels_path}: labels must be 0..9, found {labels.max()}")
    # np.frombuffer gives a read-only view of the bytes; torch warns on those, so copy.
    return FashionMNIST(images=images.copy(), labels=labels.astype(np.int64))


def _read_idx(path: Path) -> np.ndarray:
    """An array from a gzip-compressed idx file of unsigned bytes."""
    try:
        with gzip.open(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError) as error:  # not gzip, or cut short
        raise ValueError(f"{path}: not a complete gzip file ({error})") from None
    if len(data) < 4:
        raise ValueError(f"{path}: too short to be an idx file")
    zero, element_type, n_dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or element_type != 0x08:
        raise ValueError(
            f"{path}: not an idx file of unsigned bytes (its header starts "
            f"{data[:4].hex()}, expected 0000 08 and the number of dimensions)"
        )
    header = 4 + 4 * n_dims
    dims = struct.unpack(f">{n_dims}I", data[4:header])
    if len(data) - header != int(np.prod(dims)):
        raise ValueError(
            f"{path}: the header announces {dims} = {int(np.prod(dims))} bytes "
            f"of data, the file has {len(data) - header}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _download(name: str, cache: Path) -> Path:
    """Fetch one file into the cache, check its MD5 sum, and only then give it its name."""
    target = cache / name
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    # Into a temporary file first: an interrupted or corrupt download never takes the
    # file's name, so the next call downloads again instead of reading half a file.
    handle, part = tempfile.mkstemp(dir=cache, suffix=".part")
    try:
        with (
            os.fdopen(handle, "wb") as file,
            urllib.request.urlopen(SOURCE_URL + name, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response,
        ):
            shutil.copyfileobj(response, file)
        digest = hashlib.md5(Path(part).read_bytes()).hexdigest()
        if digest != SOURCE_MD5[name]:
            raise OSError(f"{name} arrived corrupt: MD5 {digest}, expected {SOURCE_MD5[name]}")
        os.replace(part, target)
    finally:
        if os.path.exists(part):
            os.remove(part)
    return target
