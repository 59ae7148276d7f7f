"""Item 7, last part: integration secrets are encrypted at rest (Fernet, key from
JOBRUNNER_SECRETS_KEY or generated into the data folder); signing still verifies at the
receiver; secrets saved in plain text before keep working and are sealed when first read;
an old key in the list still opens, and the secret is re-sealed with the first key."""

from __future__ import annotations

import base64

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pydantic
import pytest
from cryptography.fernet import Fernet

from jobrunner.settings import Settings
from jobrunner.worker.loop import Worker
from tests.integration.api.conftest import auth
from tests.integration.jobtypes.conftest import start_job, wait_final
from tests.integration.worker.conftest import fast_settings
from tests.support.receivers import http_receiver

SECRET = "a-shared-secret-that-must-not-be-stored-0123"
# Fixed keys (valid Fernet keys: 32 bytes, urlsafe base64), so test ids are the same in every
# process that collects them (pytest-xdist compares them).
OLD_KEY, NEW_KEY = base64.urlsafe_b64encode(b"o" * 32).decode(), base64.urlsafe_b64encode(b"n" * 32).decode()


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return fast_settings(
        data_dir=tmp_path / "data",
        max_body_bytes=16 * 1024,
        pool_min_size=1,
        webhook_timeout_seconds=2.0,
        outbound_allowed_networks=["127.0.0.0/8"],
        secrets_key=getattr(request, "param", None),
    )


@pytest.fixture
async def worker(database_url: str, settings: Settings) -> AsyncIterator[Worker]:
    async with Worker(database_url, settings, concurrency=2, worker_id="secrets-test").running() as w:
        yield w


async def stored(db: asyncpg.Connection, name: str) -> str:
    return await db.fetchval("SELECT secret FROM integrations WHERE organization_id = 'org_acme' AND name = $1", name)


async def webhook(client) -> dict:
    job_id = await start_job(
        client,
        "notification",
        {"channel": "webhook", "template": "message", "data": {"subject": "s", "body": "b"}},
        user="user_member",
    )
    return await wait_final(client, job_id, user="user_member")


async def test_the_column_never_holds_the_secret_and_signing_still_verifies(client, worker, db, settings) -> None:
    with http_receiver(SECRET) as receiver:
        response = await client.put(
            "/v1/integrations/notifications",
            headers=auth("user_admin"),
            json={"targetUrl": receiver.url, "secret": SECRET},
        )
        assert response.status_code == 201, response.text
        value = await stored(db, "notifications")
        assert SECRET not in value and value.startswith("fernet:")
        # Sealed with the key generated into the data folder (mode 0600).
        key_file = settings.data_dir / "secrets-key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert Fernet(key_file.read_bytes().strip()).decrypt(value.removeprefix("fernet:").encode()).decode() == SECRET
        job = await webhook(client)
    assert job["status"] == "succeeded", job
    (received,) = receiver.received
    assert received.signature_ok


async def test_sync_signing_verifies_with_a_sealed_secret(client, worker, db) -> None:
    await db.execute(
        "INSERT INTO customers (organization_id, name, email, country) VALUES ('org_acme', 'C', 'c@example.com', 'DE')"
    )
    with http_receiver(SECRET) as receiver:
        await client.put(
            "/v1/integrations/crm", json={"targetUrl": receiver.url, "secret": SECRET}, headers=auth("user_admin")
        )
        assert SECRET not in await stored(db, "crm")
        job_id = await start_job(client, "sync", {"integration": "crm", "dataset": "customers"}, user="user_member")
        job = await wait_final(client, job_id, user="user_member")
    assert job["status"] == "succeeded", job
    assert [r.signature_ok for r in receiver.received] == [True]


async def test_a_secret_saved_in_plain_text_before_keeps_working_and_is_sealed(client, worker, db) -> None:
    with http_receiver(SECRET) as receiver:
        await db.execute(
            "INSERT INTO integrations (organization_id, name, target_url, secret)"
            " VALUES ('org_acme', 'notifications', $1, $2)",
            receiver.url,
            SECRET,
        )
        job = await webhook(client)
    assert job["status"] == "succeeded", job
    assert receiver.received[0].signature_ok
    value = await stored(db, "notifications")
    assert value.startswith("fernet:") and SECRET not in value


@pytest.mark.parametrize("settings", [f"{NEW_KEY},{OLD_KEY}"], indirect=True)
async def test_rotation_old_key_still_opens_and_the_secret_is_resealed(client, worker, db) -> None:
    old_token = "fernet:" + Fernet(OLD_KEY).encrypt(SECRET.encode()).decode()
    with http_receiver(SECRET) as receiver:
        await db.execute(
            "INSERT INTO integrations (organization_id, name, target_url, secret)"
            " VALUES ('org_acme', 'notifications', $1, $2)",
            receiver.url,
            old_token,
        )
        job = await webhook(client)
    assert job["status"] == "succeeded" and receiver.received[0].signature_ok, job
    value = await stored(db, "notifications")
    assert Fernet(NEW_KEY).decrypt(value.removeprefix("fernet:").encode()).decode() == SECRET


@pytest.mark.parametrize("settings", [NEW_KEY], indirect=True)
async def test_a_secret_sealed_with_an_unknown_key_fails_in_our_words(client, worker, db) -> None:
    foreign = "fernet:" + Fernet(OLD_KEY).encrypt(SECRET.encode()).decode()
    with http_receiver(SECRET) as receiver:
        await db.execute(
            "INSERT INTO integrations (organization_id, name, target_url, secret)"
            " VALUES ('org_acme', 'notifications', $1, $2)",
            receiver.url,
            foreign,
        )
        job = await webhook(client)
    assert job["status"] == "failed" and job["retryCount"] == 0, job
    assert job["errorMessage"].startswith("the integration's secret cannot be decrypted with this service's keys")
    assert receiver.received == []


@pytest.mark.parametrize("key", ["not-a-key", "c2hvcnQ=", f"{NEW_KEY},oops"])
def test_a_malformed_key_refuses_to_start(key: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="JOBRUNNER_SECRETS_KEY must be"):
        Settings(secrets_key=key)
