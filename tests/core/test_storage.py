"""The local blob store's batch write: every content stored whole, in order, reused when known."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from frontdesk.core.storage import LocalBlobStore


async def read(store: LocalBlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in await store.open(key)])


async def test_put_all_stores_each_content_in_order(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    known = await store.put_all([b"known"])
    contents = [f"mail {n}".encode() for n in range(9)] + [b"known", b"mail 3"]
    blobs = await store.put_all(contents)
    assert [blob.sha256 for blob in blobs] == [hashlib.sha256(c).hexdigest() for c in contents]
    assert [blob.size for blob in blobs] == [len(c) for c in contents]
    assert [await read(store, blob.key) for blob in blobs] == contents
    assert known[0].is_new
    assert all(blob.is_new for blob in blobs[:9])
    assert not blobs[9].is_new, "stored by the earlier call"
    assert list((tmp_path / "tmp").iterdir()) == []
    assert await store.put_all([]) == []


async def test_put_all_leaves_no_temporary_file_when_it_fails(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    await store.put_all([b"first"])
    blocked = hashlib.sha256(b"second").hexdigest()
    (tmp_path / blocked[:2]).write_bytes(b"a file where a directory must go")
    with pytest.raises(FileExistsError):
        await store.put_all([b"second"])
    assert list((tmp_path / "tmp").iterdir()) == []


async def test_put_and_put_all_agree_on_keys(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    async def chunks():  # type: ignore[no-untyped-def]
        yield b"same "
        yield b"bytes"

    streamed = await store.put(chunks())
    (batched,) = await store.put_all([b"same bytes"])
    assert (batched.key, batched.size, batched.is_new) == (streamed.key, 10, False)
