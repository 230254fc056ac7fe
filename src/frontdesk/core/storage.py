"""Blob storage: file contents kept apart from the database, addressed by their sha256.

A blob's key is the hex sha256 of its bytes, so the same content is stored once however often
it is uploaded, and a key never names two different contents. Rows that use a blob hold its
key; deleting a blob that a row still names is the caller's mistake to avoid.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from uuid import uuid4

import anyio
from anyio import AsyncFile

from frontdesk.core.errors import PayloadTooLarge

CHUNK_SIZE = 64 * 1024
#: Worker threads that share one `put_all`: the disk's flushes of their files overlap.
PUT_ALL_THREADS = 4
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

    async def put_all(self, contents: Sequence[bytes]) -> list[StoredBlob]:
        """Store each of `contents` (bytes already in memory: a batch of mail and its files),
        in order; when it returns, every one is as durable as after `put`."""
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
    renamed into place, and the directories that gained an entry are flushed too: a blob's
    path exists only with its complete content, and survives a crash of the machine. The file
    work after the bytes is one call into a worker thread (a thread hop costs more than
    writing a small file); `put_all` shares a batch among a few threads.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.temp_dir = root / "tmp"
        self._temp_dir_made = False

    def path_of(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise BlobNotFound(key)
        return self.root / key[:2] / key[2:4] / key

    async def put(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> StoredBlob:
        temp, handle = await anyio.to_thread.run_sync(self._open_temp)
        try:
            try:
                digest, size = await _write(handle, chunks, max_bytes)
            except BaseException:
                handle.close()
                raise
            is_new = await anyio.to_thread.run_sync(self._seal, handle, temp, digest)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.Path(temp).unlink(missing_ok=True)
            raise
        return StoredBlob(key=digest, sha256=digest, size=size, is_new=is_new)

    async def put_all(self, contents: Sequence[bytes]) -> list[StoredBlob]:
        shares = [list(range(n, len(contents), PUT_ALL_THREADS)) for n in range(PUT_ALL_THREADS)]
        shares = [share for share in shares if share]
        done = await asyncio.gather(
            *(anyio.to_thread.run_sync(self._put_now, [contents[n] for n in s]) for s in shares),
            return_exceptions=True,  # every thread finishes before this returns or raises
        )
        stored: dict[int, StoredBlob] = {}
        for share, blobs in zip(shares, done, strict=True):
            if isinstance(blobs, BaseException):
                raise blobs
            stored.update(zip(share, blobs, strict=True))
        return [stored[n] for n in range(len(contents))]

    def _put_now(self, contents: list[bytes]) -> list[StoredBlob]:
        """`put` of each content, in the calling worker thread: every file written and flushed,
        then all moved into place, then each directory that gained an entry flushed once."""
        temps: list[Path] = []
        try:
            for content in contents:
                temp, handle = self._open_temp()
                temps.append(temp)
                with handle:
                    handle.write(content)
                    _flush_to_disk(handle)
            digests = [hashlib.sha256(content).hexdigest() for content in contents]
            placed = [self._move_into_place(t, d) for t, d in zip(temps, digests, strict=True)]
        except BaseException:
            for temp in temps:
                temp.unlink(missing_ok=True)
            raise
        for directory in set[Path]().union(*placed):
            _flush_directory(directory)
        return [
            StoredBlob(key=digest, sha256=digest, size=len(content), is_new=bool(directories))
            for content, digest, directories in zip(contents, digests, placed, strict=True)
        ]

    def _open_temp(self) -> tuple[Path, BinaryIO]:
        if not self._temp_dir_made:
            self.temp_dir.mkdir(parents=True, exist_ok=True)
            self._temp_dir_made = True
        temp = self.temp_dir / f"{uuid4().hex}.part"
        return temp, temp.open("xb")

    def _seal(self, handle: BinaryIO, temp: Path, digest: str) -> bool:
        """Flush the written temporary file to disk and move it into place; False when the
        content was stored already."""
        with handle:
            _flush_to_disk(handle)
        directories = self._move_into_place(temp, digest)
        for directory in directories:
            _flush_directory(directory)
        return bool(directories)

    def _move_into_place(self, temp: Path, digest: str) -> set[Path]:
        """Rename the temporary file to the blob's path; returns the directories that gained
        an entry (none when the content was stored already: the temporary file goes)."""
        final = self.path_of(digest)
        if final.is_file():
            temp.unlink()
            return set()
        made = _make_directories(final.parent, stop_at=self.root)
        # Two writers of the same content may both get here; the rename is atomic and both
        # files hold the same bytes, so either one winning is right.
        temp.replace(final)
        return {final.parent, *(directory.parent for directory in made)}

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
    handle: BinaryIO, chunks: AsyncIterable[bytes], max_bytes: int | None
) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise PayloadTooLarge(
                f"the file exceeds the limit of {max_bytes} bytes", max_bytes=max_bytes
            )
        hasher.update(chunk)
        await anyio.to_thread.run_sync(handle.write, chunk)
    return hasher.hexdigest(), size


def _flush_to_disk(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _make_directories(directory: Path, *, stop_at: Path) -> list[Path]:
    """Create `directory` and its missing parents below `stop_at`; returns those it made."""
    missing = []
    while directory != stop_at and not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
    return missing


def _flush_directory(directory: Path) -> None:
    """Make a directory's entries durable: a rename survives a crash only once it is."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


async def _read(handle: AsyncFile[bytes]) -> AsyncIterator[bytes]:
    async with handle:
        while chunk := await handle.read(CHUNK_SIZE):
            yield chunk
