"""Storage tests against a real S3-compatible server (moto in server mode), one bucket per
test; the in-process clients reach it through the usual AWS_* variables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobrunner.settings import Settings
from tests.integration.jobtypes.conftest import worker  # noqa: F401 - fixture
from tests.integration.api.conftest import app, client, db  # noqa: F401 - fixtures
from tests.integration.worker.conftest import fast_settings
from tests.support.object_store import ObjectStore, moto_server


@pytest.fixture(scope="session")
def object_store() -> Iterator[ObjectStore]:
    with moto_server() as store:
        saved = {name: os.environ.get(name) for name in store.env}
        os.environ.update(store.env)
        try:
            yield store
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture
def bucket(object_store: ObjectStore) -> str:
    return object_store.new_bucket()


@pytest.fixture
def settings(tmp_path: Path, bucket: str) -> Settings:
    return fast_settings(
        data_dir=tmp_path / "data",
        storage_url=f"s3://{bucket}/tenant-files",
        storage_part_bytes=5 * 1024 * 1024,
        max_body_bytes=16 * 1024,
        upload_max_bytes=64 * 1024 * 1024,
        pool_min_size=1,
    )
