"""Files in an S3-compatible object store (AWS S3, MinIO, Ceph, R2...), through aiobotocore
(docs/deployment.md says why that client).

Configured by ``JOBRUNNER_STORAGE_URL=s3://bucket/prefix``; the endpoint, region and
credentials come from the usual AWS variables (``AWS_ENDPOINT_URL``, ``AWS_REGION``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``...), read by botocore itself.

Writing: bytes given to ``write`` are collected into parts of
``JOBRUNNER_STORAGE_PART_BYTES`` and sent as a multipart upload while the next part
fills (at most one part in flight: memory stays at two parts, and no local copy is made);
``commit`` completes the upload, which is when the object appears, whole. A file smaller
than one part is one PUT. A process killed mid-write leaves an incomplete multipart
upload, invisible to readers; ``abort_abandoned`` (maintenance, cleanup) removes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from jobrunner.domain.errors import StorageUnavailable
from jobrunner.storage.base import READ_BYTES, FileMissing, PendingFile, Storage, check_key

CHUNK_BYTES = 256 * 1024
DELETE_BATCH = 1000  # S3's DeleteObjects limit
HEAD_CONCURRENCY = 16
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}


def parse_storage_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (bucket, "some/prefix")."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError("a storage URL looks like s3://bucket or s3://bucket/prefix")
    return parts.netloc, parts.path.strip("/")


class _Clients:
    """One client per event loop: making one costs tens of milliseconds, and a client
    belongs to the loop it was made on."""

    def __init__(self) -> None:
        self._made: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[tuple[Any, Any]]] = (
            weakref.WeakKeyDictionary()
        )

    async def get(self) -> Any:
        loop = asyncio.get_running_loop()
        task = self._made.get(loop)
        if task is None or (task.done() and task.exception() is not None):
            task = self._made[loop] = loop.create_task(self._make())
        with _translated():
            return (await asyncio.shield(task))[1]

    @staticmethod
    async def _make() -> tuple[Any, Any]:
        config = AioConfig(
            signature_version="s3v4",
            # Checksums only where the API requires them (botocore's default before 1.36):
            # many S3-compatible stores refuse the newer default headers, and TLS already
            # protects the bytes in transit; it also spares a CRC over every part.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=32,
            connect_timeout=10,
            read_timeout=60,
        )
        maker = get_session().create_client("s3", config=config)
        return maker, await maker.__aenter__()

    async def close(self) -> None:
        """Close this loop's client (at shutdown)."""
        task = self._made.pop(asyncio.get_running_loop(), None)
        if task is not None and task.done() and task.exception() is None:
            maker, _client = task.result()
            await maker.__aexit__(None, None, None)


CLIENTS = _Clients()


def _is_missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in _MISSING or status == 404


@contextlib.contextmanager
def _translated(key: str = "") -> Iterator[None]:
    """The store's errors in our words: a missing object is FileMissing; anything else
    the client raises (refused, unreachable, timed out, denied) is StorageUnavailable,
    the store's own text kept for the log (``__cause__``)."""
    try:
        yield
    except ClientError as exc:
        if _is_missing(exc):
            raise FileMissing(f"no file {key}") from exc
        raise StorageUnavailable("the file storage refused the request") from exc
    except (BotoCoreError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise StorageUnavailable("the file storage is unavailable") from exc


class S3PendingFile(PendingFile):
    def __init__(self, storage: S3Storage, key: str) -> None:
        self.key = key
        self.path = storage.scratch / f".{uuid.uuid4().hex}.part"
        self._storage = storage
        self._object = storage.object_key(key)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._in_flight: asyncio.Task[None] | None = None
        self._size = 0
        self._finished = False

    async def write(self, data: bytes) -> None:
        self._buffer += data
        self._size += len(data)
        if len(self._buffer) >= self._storage.part_bytes:
            await self._send_part()

    async def _send_part(self) -> None:
        client = await CLIENTS.get()
        if self._upload_id is None:
            with _translated():
                created = await client.create_multipart_upload(Bucket=self._storage.bucket, Key=self._object)
            self._upload_id = created["UploadId"]
        if self._in_flight is not None:
            await self._in_flight  # one part in flight while the next one fills
        body, self._buffer = bytes(self._buffer), bytearray()
        number = len(self._parts) + 1
        self._parts.append({"PartNumber": number})
        self._in_flight = asyncio.create_task(self._upload_part(client, number, body))

    async def _upload_part(self, client: Any, number: int, body: bytes) -> None:
        with _translated():
            answer = await client.upload_part(
                Bucket=self._storage.bucket, Key=self._object, UploadId=self._upload_id, PartNumber=number, Body=body
            )
        self._parts[number - 1]["ETag"] = answer["ETag"]

    async def commit(self) -> int:
        if self._size == 0 and self.path.exists():  # written by path (a library's file)
            with open(self.path, "rb") as file:
                while chunk := await asyncio.to_thread(file.read, READ_BYTES):
                    await self.write(chunk)
        client = await CLIENTS.get()
        bucket = self._storage.bucket
        if self._upload_id is None:
            with _translated():
                await client.put_object(Bucket=bucket, Key=self._object, Body=bytes(self._buffer))
        else:
            await self._send_part()
            assert self._in_flight is not None
            await self._in_flight
            with _translated():
                await client.complete_multipart_upload(
                    Bucket=bucket, Key=self._object, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
                )
        self._finished = True
        self._buffer = bytearray()
        self.path.unlink(missing_ok=True)
        return self._size

    async def abort(self) -> None:
        self._buffer = bytearray()
        self.path.unlink(missing_ok=True)
        if self._in_flight is not None:
            self._in_flight.cancel()
            await asyncio.gather(self._in_flight, return_exceptions=True)
            self._in_flight = None
        if self._upload_id is not None and not self._finished:
            upload_id, self._upload_id = self._upload_id, None
            with contextlib.suppress(StorageUnavailable, FileMissing):  # maintenance removes it otherwise
                client = await CLIENTS.get()
                with _translated():
                    await client.abort_multipart_upload(
                        Bucket=self._storage.bucket, Key=self._object, UploadId=upload_id
                    )


class S3Storage(Storage):
    """The files under ``prefix/`` of ``bucket``; ``scratch`` is a local folder for the
    files a library insists on writing by path (then streamed up on commit)."""

    def __init__(self, bucket: str, prefix: str, *, scratch: Path, part_bytes: int) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.scratch = scratch
        self.part_bytes = part_bytes

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def begin(self, key: str) -> S3PendingFile:
        self.scratch.mkdir(parents=True, exist_ok=True)
        return S3PendingFile(self, key)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        client = await CLIENTS.get()
        options = {} if (start, end) == (0, None) else {"Range": f"bytes={start}-{'' if end is None else end}"}
        with _translated(key):
            answer = await client.get_object(Bucket=self.bucket, Key=self.object_key(key), **options)
            async with answer["Body"] as body:
                async for chunk in body.iter_chunks(CHUNK_BYTES):
                    yield chunk

    async def size(self, key: str) -> int:
        client = await CLIENTS.get()
        with _translated(key):
            answer = await client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        return int(answer["ContentLength"])

    async def exists(self, key: str) -> bool:
        try:
            await self.size(key)
        except FileMissing:
            return False
        return True

    async def local_file(self, key: str, scratch: Path) -> Path:
        file = await asyncio.to_thread(open, scratch, "wb")
        try:
            async for chunk in self.read(key):
                await asyncio.to_thread(file.write, chunk)
        finally:
            file.close()
        return scratch

    async def delete(self, key: str) -> bool:
        existed = await self.exists(key)
        client = await CLIENTS.get()
        with _translated(key):
            await client.delete_object(Bucket=self.bucket, Key=self.object_key(key))
        return existed

    async def delete_many(self, keys: Sequence[str]) -> int:
        """Sizes by HEAD (a few at a time), then one DeleteObjects per thousand keys."""
        turns = asyncio.Semaphore(HEAD_CONCURRENCY)

        async def size_or_zero(key: str) -> int:
            async with turns:
                try:
                    return await self.size(key)
                except FileMissing:
                    return 0

        sizes = await asyncio.gather(*(size_or_zero(key) for key in keys))
        client = await CLIENTS.get()
        for first in range(0, len(keys), DELETE_BATCH):
            objects = [{"Key": self.object_key(key)} for key in keys[first : first + DELETE_BATCH]]
            with _translated():
                await client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
        return sum(sizes)

    async def presigned_url(self, key: str, *, seconds: int, disposition: str, content_type: str) -> str | None:
        client = await CLIENTS.get()
        params = {
            "Bucket": self.bucket,
            "Key": self.object_key(key),
            "ResponseContentDisposition": disposition,
            "ResponseContentType": content_type,
            "ResponseCacheControl": "private, no-store",
        }
        with _translated(key):
            url: str = await client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)
        return url

    async def abort_abandoned(self, older_than: dt.timedelta) -> int:
        client = await CLIENTS.get()
        before = dt.datetime.now(dt.UTC) - older_than
        aborted = 0
        paginator = client.get_paginator("list_multipart_uploads")
        with _translated():
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < before:
                        with contextlib.suppress(FileMissing):  # completed or aborted meanwhile
                            with _translated():
                                await client.abort_multipart_upload(
                                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                                )
                            aborted += 1
        return aborted
