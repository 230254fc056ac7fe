"""Blob storage: file contents kept apart from the database, addressed by their sha256.

A blob's key is the hex sha256 of its bytes, so the same content is stored once however often
it is uploaded, and a key never names two different contents. Rows that use a blob hold its
key; deleting a blob that a row still names is the caller's mistake to avoid.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from uuid import uuid4

import anyio
from anyio import AsyncFile

from frontdesk.core.errors import PayloadTooLarge

CHUNK_SIZE = 64 * 1024
KEY_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(LookupError):
    """No blob is stored under the key (or the key is not a key at all)."""


@dataclass(frozen=True)
class StoredBlob:
    key: str
    sha256: str
    size: int
    #: False when the same content was stored already and was reused.
    is_new: bool


class BlobStore(Protocol):
    async def put(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> StoredBlob:
        """Store the bytes of `chunks`, whole or not at all.

        Raises PayloadTooLarge as soon as more than `max_bytes` arrive; nothing is kept then.
        """
        ...

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; raises BlobNotFound before the first chunk if missing."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing one is not an error."""
        ...


class LocalBlobStore:
    """Blobs as files under `root`, at `ab/cd/<sha256>`.

    Bytes go to a temporary file in `root/tmp` (same filesystem), are flushed to disk, then
    renamed into place: a blob's path exists only with its complete content.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.temp_dir = root / "tmp"

    def path_of(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise BlobNotFound(key)
        return self.root / key[:2] / key[2:4] / key

    async def put(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> StoredBlob:
        await anyio.Path(self.temp_dir).mkdir(parents=True, exist_ok=True)
        temp = self.temp_dir / f"{uuid4().hex}.part"
        try:
            digest, size = await _write(temp, chunks, max_bytes)
            is_new = await self._move_into_place(temp, self.path_of(digest))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.Path(temp).unlink(missing_ok=True)
            raise
        return StoredBlob(key=digest, sha256=digest, size=size, is_new=is_new)

    async def _move_into_place(self, temp: Path, final: Path) -> bool:
        target = anyio.Path(final)
        if await target.is_file():
            await anyio.Path(temp).unlink()
            return False
        await target.parent.mkdir(parents=True, exist_ok=True)
        # Two writers of the same content may both get here; the rename is atomic and both
        # files hold the same bytes, so either one winning is right.
        await anyio.Path(temp).replace(final)
        return True

    async def open(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await anyio.open_file(self.path_of(key), "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        return _read(handle)

    async def exists(self, key: str) -> bool:
        try:
            return await anyio.Path(self.path_of(key)).is_file()
        except BlobNotFound:
            return False

    async def delete(self, key: str) -> None:
        await anyio.Path(self.path_of(key)).unlink(missing_ok=True)


async def _write(
    temp: Path, chunks: AsyncIterable[bytes], max_bytes: int | None
) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    async with await anyio.open_file(temp, "xb") as handle:
        async for chunk in chunks:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise PayloadTooLarge(
                    f"the file exceeds the limit of {max_bytes} bytes", max_bytes=max_bytes
                )
            hasher.update(chunk)
            await handle.write(chunk)
        await handle.flush()
        await anyio.to_thread.run_sync(os.fsync, handle.wrapped.fileno())
    return hasher.hexdigest(), size


async def _read(handle: AsyncFile[bytes]) -> AsyncIterator[bytes]:
    async with handle:
        while chunk := await handle.read(CHUNK_SIZE):
            yield chunk
