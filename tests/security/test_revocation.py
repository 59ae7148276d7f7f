"""Issue 9, item 4: revocation reaches every file endpoint. A signed link proves who it was
issued to, not that they still belong: the export download and the rejected-rows file
check membership and ``jobs.view_jobs`` in the database on every request, with the bearer
token and with the signed link alike, as the jobs endpoints do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.integration.api.conftest import assert_problem, auth
from tests.security.served_files import CONTENT, ServedFile, served, settings  # noqa: F401 (fixtures)


Revoke = Callable[..., Awaitable[object]]

REVOCATIONS = {
    "removed from the organization": "DELETE FROM organization_members WHERE organization_id = 'org_acme' AND user_id = 'user_member'",
    "all roles taken away": "DELETE FROM user_roles WHERE organization_id = 'org_acme' AND user_id = 'user_member'",
    "jobs.view_jobs removed from the role": "DELETE FROM role_permissions WHERE role_name = 'member' AND permission_name = 'jobs.view_jobs'",
    "moved to a role without jobs.view_jobs": "INSERT INTO roles (name, description) VALUES ('auditor', 'nothing on jobs');"
    "UPDATE user_roles SET role_name = 'auditor' WHERE organization_id = 'org_acme' AND user_id = 'user_member'",
}


async def _fetch_both(client, served: ServedFile, link: str):
    by_link = await client.get(link)
    by_token = await client.get(served.path, headers=auth(served.user))
    return by_link, by_token


@pytest.mark.parametrize("revocation", list(REVOCATIONS))
async def test_revoked_owner_loses_the_file_at_once(client, db, served: ServedFile, revocation: str) -> None:
    link = await served.signed_link(client)
    by_link, by_token = await _fetch_both(client, served, link)
    assert (by_link.status_code, by_token.status_code) == (200, 200)
    assert by_link.content == by_token.content == CONTENT

    await db.execute(REVOCATIONS[revocation])

    by_link, by_token = await _fetch_both(client, served, link)
    assert_problem(by_link, 404)
    assert_problem(by_token, 404)
    assert CONTENT[:20] not in by_link.content + by_token.content
    # The jobs endpoints refuse the same user at the same moment.
    status = await client.get(f"/v1/jobs/{served.job_id}/status", headers=auth(served.user))
    assert status.status_code in (401, 403)


async def test_demoted_to_viewer_keeps_their_own_files(client, db, served: ServedFile) -> None:
    """A viewer still sees their own jobs (jobs.view_jobs), so their files too: the same
    rule as the status endpoint, which keeps showing them the link."""
    await db.execute(
        "UPDATE user_roles SET role_name = 'viewer' WHERE organization_id = 'org_acme' AND user_id = 'user_member'"
    )
    link = await served.signed_link(client)
    by_link, by_token = await _fetch_both(client, served, link)
    assert (by_link.status_code, by_token.status_code) == (200, 200)


async def test_readmitted_owner_gets_the_file_back(client, db, served: ServedFile) -> None:
    """Nothing is cached: the answer follows the database both ways."""
    link = await served.signed_link(client)
    await db.execute(REVOCATIONS["all roles taken away"])
    assert_problem(await client.get(link), 404)
    await db.execute(
        "INSERT INTO user_roles (organization_id, user_id, role_name) VALUES ('org_acme', 'user_member', 'member')"
    )
    assert (await client.get(link)).status_code == 200


async def test_other_members_never_get_the_file(client, served: ServedFile) -> None:
    for user in ("user_admin", "user_viewer", "user_globex"):
        assert_problem(await client.get(served.path, headers=auth(user)), 404)
