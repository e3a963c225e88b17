"""Atomic writes: permissions of new and replaced files."""

import os
import stat

import pytest

from autoencoders._io import atomic_path, atomic_write


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_new_file_gets_the_permissions_of_a_plain_open(tmp_path, umask_022):
    atomic_write(tmp_path / "new.txt", "x")
    with open(tmp_path / "plain.txt", "w") as f:
        f.write("x")
    assert _mode(tmp_path / "new.txt") == _mode(tmp_path / "plain.txt") == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_replaced_file_keeps_its_permissions(tmp_path, umask_022):
    target = tmp_path / "private.json"
    target.write_text("old")
    target.chmod(0o600)
    atomic_write(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o600


def test_a_failed_write_removes_the_folders_it_made_and_no_others(tmp_path):
    # A hostile trial: embed --out new/deep/x.npy of data with a NaN left new/deep behind.
    (tmp_path / "kept").mkdir()
    for parent in (tmp_path / "new" / "deep", tmp_path / "kept"):
        with pytest.raises(RuntimeError), atomic_path(parent / "x.npy"):
            raise RuntimeError("the writer failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    assert not any((tmp_path / "kept").iterdir())
    with atomic_path(tmp_path / "new" / "deep" / "x.npy") as tmp:
        tmp.write_bytes(b"x")
    assert (tmp_path / "new" / "deep" / "x.npy").read_bytes() == b"x"
