"""Receiving uploads (streamed to the upload storage, never held in memory) and serving an import's
rejected-rows file to its owner (signed link or bearer token)."""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from jobrunner.auth import rbac
from jobrunner.auth.tokens import TokenClaims
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.db.sql import Q
from jobrunner.domain.errors import InvalidInput, NotFound
from jobrunner.domain.quotas import upload_refusal
from jobrunner.timestamps import iso_utc
from jobrunner.settings import Settings
from jobrunner.storage import FileMissing, PendingFile, Storage, upload_storage
from jobrunner.uploads import links
from jobrunner.uploads.store import rejected_rows_key, upload_key

PROCESS_DATA = "data.process_data"
_NO_REJECTED_ROWS = "no rejected rows"
_UPLOAD_NOT_FOUND = "upload not found"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


class UploadService:
    def __init__(self, pool: asyncpg.Pool, settings: Settings, jwt_secret: str) -> None:
        self._pool = pool
        self._settings = settings
        self._files = upload_storage(settings)
        self._access = JobsRepository(pool)
        self._secret = jwt_secret

    async def require_uploader(self, claims: TokenClaims) -> None:
        access = await self._access.access(claims.organization_id, claims.user_id, [PROCESS_DATA])
        rbac.require(access, PROCESS_DATA)

    async def require_room(self, claims: TokenClaims, declared_bytes: int) -> None:
        """Refuse at once, before the body is read, when the organization's stored uploads
        are at their quota or the declared size would not fit (``create_upload`` makes
        the exact check once the size is known)."""
        row = await self._pool.fetchrow(Q.upload_room, claims.organization_id, self._settings.quota_max_upload_bytes)
        if row["quota"] is not None and row["used_bytes"] + max(declared_bytes, 1) > row["quota"]:
            raise upload_refusal(row, declared_bytes)

    async def receive(self, claims: TokenClaims, filename: str | None, chunks: AsyncIterator[bytes]) -> dict[str, Any]:
        """Streams the body into a pending file, then publishes it and records the upload.
        Whatever goes wrong on the way (a body over the limit, a dropped connection), the
        partial file is discarded."""
        upload_id = uuid.uuid4()
        key = upload_key(upload_id)
        pending = await self._files.begin(key)
        try:
            max_line = self._settings.import_max_line_chars
            size, head = await _spool(chunks, pending, head_bytes=4 * max_line + 4)
            _check_csv_head(size, head, max_line, self._settings.import_max_columns)
            await pending.commit()
        finally:
            await pending.abort()  # nothing left to discard after a commit
        try:
            row = await self._pool.fetchrow(
                Q.create_upload,
                upload_id,
                claims.organization_id,
                claims.user_id,
                _clean_filename(filename),
                key,
                size,
                self._settings.quota_max_upload_bytes,
            )
            if row["refused"] is not None:
                raise upload_refusal(row, size)
        except BaseException:
            await self._files.delete(key)
            raise
        return _present(row)

    async def get(self, claims: TokenClaims, upload_id: str) -> dict[str, Any]:
        """One of the caller's own uploads; anything else (another user's, a malformed id)
        is a 404, as for jobs."""
        await self.require_uploader(claims)
        try:
            ident = uuid.UUID(upload_id) if len(upload_id) <= 64 else None
        except ValueError:
            ident = None
        row = None
        if ident is not None:
            row = await self._pool.fetchrow(Q.upload_of_owner, ident, claims.organization_id, claims.user_id)
        if row is None:
            raise NotFound(_UPLOAD_NOT_FOUND)
        return _present(row)

    async def rejected_rows_file(
        self, job_id: str, *, claims: TokenClaims | None, expires: int | None, signature: str | None
    ) -> tuple[Storage, str, int]:
        """Where the file is (storage, key, size), for the job's owner only: a valid signed
        link or the owner's token, and the owner still a member with ``jobs.view_jobs``
        (checked in the database on every request). Anything else is a 404 (never reveal
        that the job exists)."""
        try:
            ident = uuid.UUID(job_id)
        except ValueError:
            raise NotFound(_NO_REJECTED_ROWS) from None
        owner = await self._pool.fetchrow(Q.import_job_owner, ident)
        if owner is None:
            raise NotFound(_NO_REJECTED_ROWS)
        user_id, organization_id = owner["user_id"], owner["organization_id"]
        by_token = claims is not None and (claims.user_id, claims.organization_id) == (user_id, organization_id)
        by_link = links.verify(
            self._secret,
            signature,
            job_id=str(ident),
            user_id=user_id,
            organization_id=organization_id,
            expires=expires,
        )
        if not (by_token or by_link) or not await rbac.may_fetch_job_files(self._access, organization_id, user_id):
            raise NotFound(_NO_REJECTED_ROWS)
        key = rejected_rows_key(ident)
        try:
            return self._files, key, await self._files.size(key)
        except FileMissing:
            raise NotFound(_NO_REJECTED_ROWS) from None


def _present(row: Any) -> dict[str, Any]:
    return {
        "uploadId": str(row["id"]),
        "filename": row["filename"],
        "sizeBytes": row["size_bytes"],
        "createdAt": iso_utc(row["created_at"]),
    }


async def _spool(chunks: AsyncIterator[bytes], pending: PendingFile, head_bytes: int) -> tuple[int, bytes]:
    size, head = 0, b""
    async for chunk in chunks:
        if len(head) < head_bytes:
            head += chunk[: head_bytes - len(head)]
        size += len(chunk)
        await pending.write(chunk)
    return size, head


def _check_csv_head(size: int, head: bytes, max_line_chars: int, max_columns: int) -> None:
    """A cheap look at the start: text, with a header line within the import's limits
    (``head`` holds room for ``max_line_chars`` characters of any width and a line break).
    Rows are checked by the import."""
    if size == 0:
        raise InvalidInput("empty upload", [{"loc": "body", "message": "the CSV file is empty"}])
    if b"\x00" in head[:4096]:
        raise InvalidInput("not a CSV file", [{"loc": "body", "message": "binary content (NUL bytes)"}])
    first_line = head.split(b"\n", 1)[0]
    cut = len(first_line) == len(head) < size  # the header line goes on past the head
    try:
        header_line = first_line.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not cut or exc.end < len(first_line) - 4:  # a cut multi-byte character at the end is fine
            raise InvalidInput("not a CSV file", [{"loc": "body", "message": "the header line is not UTF-8"}]) from exc
        header_line = first_line[: exc.start].decode("utf-8")
    header_line = header_line.removeprefix("\ufeff").rstrip("\r")
    if cut or len(header_line) > max_line_chars:
        raise InvalidInput(
            "header line too long",
            [{"loc": "body", "message": f"the header line is longer than {max_line_chars} characters"}],
        )
    try:
        columns = len(next(csv.reader([header_line]), []))
    except csv.Error:
        return  # the import says what is wrong with it
    if columns > max_columns:
        raise InvalidInput(
            "too many columns", [{"loc": "body", "message": f"the header has more than {max_columns} columns"}]
        )


def _clean_filename(name: str | None) -> str:
    cleaned = _SAFE_NAME.sub("_", (name or "upload.csv").rsplit("/", 1)[-1])[:200].strip()
    return cleaned or "upload.csv"
