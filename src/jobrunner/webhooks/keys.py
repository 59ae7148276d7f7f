"""The organization's signing secret: made on first use (one per organization, whoever
asks first: the settings endpoint or a delivery), sealed at rest with the service's keys
(``integrations/secrets.py``), opened for signing. After a rotation the previous secret
still signs until ``previous_secret_expires_at``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.integrations.secrets import SecretBox
from jobrunner.webhooks.signing import new_secret


@dataclass(frozen=True, slots=True)
class OrganizationWebhook:
    organization_id: str
    callback_url: str | None
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: dt.datetime | None
    secret_rotated_at: dt.datetime
    updated_at: dt.datetime

    def signing_secrets(self, now: dt.datetime) -> list[str]:
        """The secrets that sign now: the current one, and the previous one until it expires."""
        valid = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            valid.append(self.previous_secret)
        return valid


async def ensure_webhook(db: asyncpg.Pool | asyncpg.Connection, box: SecretBox, organization_id: str) -> Any:
    """The organization's row, made with a new secret if it has none."""
    return await db.fetchrow(Q.ensure_organization_webhook, organization_id, box.seal(new_secret()))


async def open_webhook(db: asyncpg.Pool | asyncpg.Connection, box: SecretBox, row: Any) -> OrganizationWebhook:
    """The row with its secrets opened; a secret sealed with an older key is sealed again."""
    secret, stale = box.open(row["secret"])
    if stale:
        await db.execute(Q.reseal_organization_webhook_secret, row["organization_id"], row["secret"], box.seal(secret))
    previous = box.open(row["previous_secret"])[0] if row["previous_secret"] else None
    return OrganizationWebhook(
        organization_id=row["organization_id"],
        callback_url=row["callback_url"],
        secret=secret,
        previous_secret=previous,
        previous_secret_expires_at=row["previous_secret_expires_at"],
        secret_rotated_at=row["secret_rotated_at"],
        updated_at=row["updated_at"],
    )


async def organization_webhook(
    db: asyncpg.Pool | asyncpg.Connection, box: SecretBox, organization_id: str
) -> OrganizationWebhook:
    return await open_webhook(db, box, await ensure_webhook(db, box, organization_id))
