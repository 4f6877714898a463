"""The Fashion-MNIST loader, one test per way it can go: local files, download, no data.

The download is tested without a network: the source URL points at a local folder
(``file://``), which urllib opens the way it opens ``http://``.
"""

import gzip
import hashlib
import struct

import numpy as np
import pytest

from attention_course.data import fashion_mnist
from attention_course.data.fashion_mnist import (
    CLASS_NAMES,
    INSTALL_COMMAND,
    PACKAGE_DIRECTORY,
    load_fashion_mnist,
)

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def small_data_set(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


def write_split(folder, split, images, labels):
    folder.mkdir(parents=True, exist_ok=True)
    images_name, labels_name = SPLIT_FILES[split]
    (folder / images_name).write_bytes(idx_bytes(images))
    (folder / labels_name).write_bytes(idx_bytes(labels))


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "attention_course" / "fashion-mnist"


def test_reads_local_files_first(tmp_path, empty_cache, monkeypatch):
    images, labels = small_data_set()
    write_split(tmp_path / "local", "test", images, labels)
    monkeypatch.setattr(fashion_mnist, "SOURCE_URL", "file:///nowhere/")  # never used
    data = load_fashion_mnist("test", directories=[tmp_path / "missing", tmp_path / "local"])
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, labels)
    assert data.images.dtype == np.uint8 and data.labels.dtype == np.int64 and len(data) == 5
    assert data.images.flags.writeable  # a copy, not a read-only view of the file's bytes
    assert not empty_cache.exists()


def test_the_debian_package_is_installed_and_complete():
    # The book's notebooks need it: .ci/run installs `dataset-fashion-mnist`.
    train, test = (
        load_fashion_mnist("train", download=False),
        load_fashion_mnist("test", download=False),
    )
    assert train.images.shape == (60_000, 28, 28) and test.images.shape == (10_000, 28, 28)
    assert np.bincount(train.labels).tolist() == [6_000] * 10
    assert np.bincount(test.labels).tolist() == [1_000] * 10
    assert len(CLASS_NAMES) == 10
    assert 0.28 < train.images.mean() / 255 < 0.29  # the data set's known pixel mean, 0.286
    assert PACKAGE_DIRECTORY.is_dir()


def serve_from(tmp_path, monkeypatch, images, labels, split="train", corrupt=None):
    """Put a split's files in a folder the 'download' reads from; register their MD5 sums."""
    source = tmp_path / "source"
    write_split(source, split, images, labels)
    sums = {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in source.iterdir()}
    if corrupt:
        sums[corrupt] = "0" * 32
    monkeypatch.setattr(fashion_mnist, "SOURCE_URL", source.as_uri() + "/")
    monkeypatch.setattr(fashion_mnist, "SOURCE_MD5", sums)
    return source


def test_downloads_into_the_cache_when_no_folder_has_the_files(tmp_path, empty_cache, monkeypatch):
    images, labels = small_data_set(seed=1)
    source = serve_from(tmp_path, monkeypatch, images, labels)
    data = load_fashion_mnist("train", directories=[tmp_path / "missing"])
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, labels)
    assert sorted(p.name for p in empty_cache.iterdir()) == sorted(SPLIT_FILES["train"])
    # The next call reads the cache: the source may be gone.
    for path in source.iterdir():
        path.unlink()
    again = load_fashion_mnist("train", directories=[tmp_path / "missing", empty_cache])
    np.testing.assert_array_equal(again.images, images)


def test_a_corrupt_download_is_rejected_and_not_kept(tmp_path, empty_cache, monkeypatch):
    images, labels = small_data_set()
    source = serve_from(tmp_path, monkeypatch, images, labels, corrupt="train-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="arrived corrupt") as error:
        load_fashion_mnist("train", directories=[tmp_path / "missing"])
    assert INSTALL_COMMAND in str(error.value)
    assert sorted(p.name for p in empty_cache.iterdir()) == ["train-images-idx3-ubyte.gz"]
    # Once the source is sound again, only the missing file is fetched.
    serve_from(tmp_path, monkeypatch, images, labels)
    (source / "train-images-idx3-ubyte.gz").unlink()
    data = load_fashion_mnist("train", directories=[tmp_path / "missing"])
    np.testing.assert_array_equal(data.labels, labels)


def test_without_files_or_network_the_error_names_the_install_command(
    tmp_path, empty_cache, monkeypatch
):
    monkeypatch.setattr(fashion_mnist, "SOURCE_URL", (tmp_path / "offline").as_uri() + "/")
    with pytest.raises(FileNotFoundError) as error:
        load_fashion_mnist("test", directories=[tmp_path / "missing"])
    message = str(error.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "could not be downloaded" in message and str(tmp_path / "missing") in message
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("test", directories=[tmp_path / "missing"], download=False)


def test_bad_files_and_arguments_get_clear_errors(tmp_path, empty_cache):
    images, labels = small_data_set()
    write_split(tmp_path / "local", "test", images, labels[:4])
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        load_fashion_mnist("test", directories=[tmp_path / "local"])
    (tmp_path / "local" / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(b"\x00\x00\x0d\x01xx")
    )
    with pytest.raises(ValueError, match="not an idx file of unsigned bytes"):
        load_fashion_mnist("test", directories=[tmp_path / "local"])
    (tmp_path / "local" / "t10k-labels-idx1-ubyte.gz").write_bytes(idx_bytes(labels)[:-3])
    with pytest.raises(ValueError, match="not a complete gzip file"):
        load_fashion_mnist("test", directories=[tmp_path / "local"])
    with pytest.raises(ValueError, match="split"):
        load_fashion_mnist("validation")
