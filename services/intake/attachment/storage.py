"""The attachment files on disk.

    <root>/partial/<upload id>                   bytes of an unfinished tus upload
    <root>/sha256/<hex[:2]>/<hex[2:4]>/<hex>     finished files, content-addressed (stored once)

    <root>/partial/<upload id>.<lease>.chunk     one PATCH body while it streams in

The database is authoritative for an upload's offset: a partial file longer than the recorded offset
(bytes written by a request whose transaction then failed) is cut back before the next append.
A PATCH streams into its own chunk file holding no database connection; the chunk is appended to the
partial file afterwards, under the upload row's lock and only if the PATCH still holds the lease.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.intake.config import IntakeSettings, get_settings

# A body that sends nothing for this long is treated as a dropped connection: what arrived is kept
# and the upload's lease is released, so a phone that lost its network can resume at once.
BODY_IDLE_TIMEOUT_SECONDS = 30.0
HASH_BLOCK = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

CHECKSUM_ALGORITHMS: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "md5": hashlib.md5,
}


class BodyInterrupted(Exception):
    """The request body stopped before its end (client disconnected)."""


class ChunkTooLarge(Exception):
    """The body carried more bytes than the upload has left; nothing was kept."""


class ChunkChecksumMismatch(Exception):
    """The chunk does not match its Upload-Checksum; nothing was kept."""


class PartialLost(Exception):
    """The partial file is missing or shorter than the recorded offset."""


@dataclass(frozen=True)
class ChunkChecksum:
    algorithm: str
    digest: bytes


@dataclass(frozen=True)
class Received:
    """One PATCH body, waiting in its own file to be appended to the partial file."""

    path: Path
    size: int
    interrupted: bool = False


class AttachmentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    # paths -----------------------------------------------------------------------------------

    def partial_path(self, upload_id: uuid.UUID) -> Path:
        return self.root / "partial" / str(upload_id)

    def blob_path(self, sha256: str) -> Path:
        if not _HEX64.match(sha256):
            raise ValueError("not a lowercase sha256 hex digest")
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    # partial uploads -------------------------------------------------------------------------

    def chunk_path(self, upload_id: uuid.UUID, lease: uuid.UUID) -> Path:
        return self.root / "partial" / f"{upload_id}.{lease}.chunk"

    async def receive(
        self,
        upload_id: uuid.UUID,
        lease: uuid.UUID,
        body: AsyncIterator[bytes],
        limit: int,
        checksum: ChunkChecksum | None = None,
        idle_timeout: float = BODY_IDLE_TIMEOUT_SECONDS,
    ) -> Received:
        """Stream one PATCH body into its own chunk file (no database connection is needed meanwhile),
        at most `limit` bytes.

        More than `limit` bytes → ChunkTooLarge; a checksum that does not match → ChunkChecksumMismatch;
        in both cases nothing is kept. A body that breaks off keeps what arrived (tus core), unless a
        checksum was declared: an incomplete chunk cannot be verified, so it is dropped."""
        path = self.chunk_path(upload_id, lease)
        fh = await asyncio.to_thread(_open_chunk, path)
        hasher = CHECKSUM_ALGORITHMS[checksum.algorithm]() if checksum else None
        try:
            written, interrupted = await _receive(fh, body, limit, hasher, idle_timeout)
            if checksum is not None and hasher is not None:
                if interrupted:
                    written = 0
                elif hasher.digest() != checksum.digest:
                    raise ChunkChecksumMismatch()
            await asyncio.to_thread(_flush_and_sync, fh)
        except BaseException:
            fh.close()
            path.unlink(missing_ok=True)
            raise
        fh.close()
        return Received(path=path, size=written, interrupted=interrupted)

    async def commit_chunk(self, upload_id: uuid.UUID, offset: int, chunk: Received) -> int:
        """Append a received chunk to the partial file at `offset` (the recorded offset; longer
        leftovers are cut back) and return the new offset. The chunk file is gone afterwards."""
        try:
            return await asyncio.to_thread(_append_file, self.partial_path(upload_id), offset, chunk.path)
        finally:
            chunk.path.unlink(missing_ok=True)

    async def partial_sha256(self, upload_id: uuid.UUID) -> str:
        return await asyncio.to_thread(_sha256_of, self.partial_path(upload_id))

    async def partial_head(self, upload_id: uuid.UUID, size: int) -> bytes:
        """The first `size` bytes of the partial file (what its type's magic number is read from)."""
        return await asyncio.to_thread(_head_of, self.partial_path(upload_id), size)

    async def promote(self, upload_id: uuid.UUID, sha256: str) -> None:
        """Move a verified partial file to its content address, atomically (rename on one
        filesystem). If the content is already there, the identical partial is just dropped."""
        source = self.partial_path(upload_id)
        target = self.blob_path(sha256)

        def _move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_file():
                source.unlink(missing_ok=True)
                return
            os.replace(source, target)
            _sync_dir(target.parent)

        await asyncio.to_thread(_move)

    async def discard(self, upload_id: uuid.UUID) -> None:
        """Drop the partial file and any chunk files of the upload."""

        def _drop() -> None:
            self.partial_path(upload_id).unlink(missing_ok=True)
            for chunk in self.partial_path(upload_id).parent.glob(f"{upload_id}.*.chunk"):
                chunk.unlink(missing_ok=True)

        await asyncio.to_thread(_drop)

    async def discard_chunk(self, chunk: Received) -> None:
        await asyncio.to_thread(chunk.path.unlink, True)


async def _receive(
    fh: Any, body: AsyncIterator[bytes], limit: int, hasher: Any, idle_timeout: float
) -> tuple[int, bool]:
    """Write the body to `fh`; (bytes written, whether the body broke off)."""
    written = 0
    chunks = body.__aiter__()
    while True:
        try:
            data = await asyncio.wait_for(chunks.__anext__(), idle_timeout)
        except StopAsyncIteration:
            return written, False
        except (TimeoutError, BodyInterrupted):
            return written, True
        if not data:
            continue
        if written + len(data) > limit:
            raise ChunkTooLarge()
        fh.write(data)  # into the page cache; flushed and synced once at the end
        written += len(data)
        if hasher is not None:
            hasher.update(data)


def _open_chunk(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    return os.fdopen(fd, "wb")


def _append_file(partial: Path, offset: int, chunk: Path) -> int:
    """Append `chunk` to `partial` at `offset`; the first chunk simply becomes the partial file."""
    size = chunk.stat().st_size
    if offset == 0:
        os.replace(chunk, partial)
        return size
    try:
        fd = os.open(partial, os.O_RDWR)
    except FileNotFoundError:
        raise PartialLost() from None
    with os.fdopen(fd, "r+b") as fh:
        current = os.fstat(fh.fileno()).st_size
        if current < offset:
            raise PartialLost()
        if current > offset:
            fh.truncate(offset)
        fh.seek(offset)
        with open(chunk, "rb") as src:
            shutil.copyfileobj(src, fh, HASH_BLOCK)
        fh.flush()
        os.fsync(fh.fileno())
    return offset + size


def _flush_and_sync(fh: Any) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _sync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _head_of(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def attachment_store(settings: IntakeSettings | None = None) -> AttachmentStore:
    """The store under the attachments directory of `settings` (default: the process settings)."""
    return AttachmentStore(Path((settings or get_settings()).attachments_dir))
