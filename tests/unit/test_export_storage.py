"""LocalDiskStorage: atomic publish, abort, ranged reads, delete, key validation."""

from __future__ import annotations

import pytest

from jobrunner.storage import FileMissing, LocalDiskStorage, Storage


async def _read(storage, key, start=0, end=None) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, start, end)])


async def test_write_commit_read(tmp_path) -> None:
    storage = LocalDiskStorage(tmp_path / "exports")
    pending = await storage.begin("a/b.csv")
    pending.path.write_bytes(b"0123456789" * 100_000)
    assert not await storage.exists("a/b.csv")  # invisible until committed
    assert await pending.commit() == 1_000_000
    assert await storage.exists("a/b.csv") and await storage.size("a/b.csv") == 1_000_000
    assert await _read(storage, "a/b.csv", 5, 14) == b"5678901234"
    assert len(await _read(storage, "a/b.csv")) == 1_000_000
    assert [p.name for p in (tmp_path / "exports" / "a").iterdir()] == ["b.csv"]
    await pending.abort()  # after commit: harmless
    assert await storage.exists("a/b.csv")
    assert await storage.delete("a/b.csv") and not await storage.delete("a/b.csv")


async def test_abort_leaves_nothing(tmp_path) -> None:
    storage = LocalDiskStorage(tmp_path)
    pending = await storage.begin("x.json")
    pending.path.write_bytes(b"[")
    await pending.abort()
    await pending.abort()
    assert list(tmp_path.iterdir()) == []


async def test_missing_files(tmp_path) -> None:
    storage = LocalDiskStorage(tmp_path)
    with pytest.raises(FileMissing):
        await storage.size("nope.csv")
    with pytest.raises(FileMissing):
        await _read(storage, "nope.csv")


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../x", "", ".hidden", "a//b", "a\\b"])
async def test_invalid_keys(tmp_path, key) -> None:
    with pytest.raises(ValueError):
        await LocalDiskStorage(tmp_path).exists(key)


@pytest.mark.parametrize("implementation", ["local", "interface default"])
async def test_delete_many_frees_bytes_and_skips_missing(tmp_path, implementation) -> None:
    """What cleanup counts as ``bytesFreed``: the sizes of the files that were there."""
    storage = LocalDiskStorage(tmp_path)
    for key, size in (("a.csv", 10), ("b/c.csv", 5)):
        pending = await storage.begin(key)
        pending.path.write_bytes(b"x" * size)
        await pending.commit()
    delete_many = (
        storage.delete_many if implementation == "local" else (lambda keys: Storage.delete_many(storage, keys))
    )
    assert await delete_many(["a.csv", "gone.csv", "b/c.csv"]) == 15
    assert not await storage.exists("a.csv") and not await storage.exists("b/c.csv")
    assert await delete_many(["a.csv"]) == 0
