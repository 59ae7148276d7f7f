"""Demo identities of DECISIONS.md: organizations ``org_acme`` and ``org_globex``; users
``user_admin`` (admin), ``user_member`` (member), ``user_viewer`` (viewer) in org_acme and
``user_globex`` (admin) in org_globex."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from jobrunner.db.sql import Q

DEMO_ORGANIZATIONS = {"org_acme": "Acme Corporation", "org_globex": "Globex Corporation"}


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    organization_id: str
    role: str
    display_name: str


DEMO_USERS = (
    DemoUser("user_admin", "org_acme", "admin", "Ada Admin"),
    DemoUser("user_member", "org_acme", "member", "Max Member"),
    DemoUser("user_viewer", "org_acme", "viewer", "Vera Viewer"),
    DemoUser("user_globex", "org_globex", "admin", "Gus Globex"),
)


async def seed_identities(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        for org_id, name in DEMO_ORGANIZATIONS.items():
            await conn.execute(Q.upsert_organization, org_id, name)
        for user in DEMO_USERS:
            await conn.execute(Q.upsert_user, user.user_id, f"{user.user_id}@example.com", user.display_name)
            await conn.execute(Q.add_member, user.organization_id, user.user_id)
            await conn.execute(Q.grant_role, user.organization_id, user.user_id, user.role)
