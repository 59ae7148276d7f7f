"""``jobrunner flow ...``: an operator configures flow control on the database; every change
is audited with the operator's name, and refused input is one line on stderr, exit 1."""

from __future__ import annotations

import json

import asyncpg

from tests.conftest import JWT_SECRET
from tests.support.processes import command_env, jobrunner


async def test_configure_everything_and_read_it_back(database_url: str, pool: asyncpg.Pool) -> None:
    env = command_env(DATABASE_URL=database_url, JOBRUNNER_JWT_SECRET=JWT_SECRET)

    def ok(*args: str) -> str:
        done = jobrunner("flow", *args, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    ok("tier", "gold", "--max-running", "8", "--weight", "2")
    ok("org", "org_acme", "--tier", "gold")
    ok("cap", "export_report", "--max-running", "4", "--per-org", "2")
    ok("rate", "notification", "--max", "100", "--per", "60")
    ok("rate", "--max", "1000", "--per", "60", "--cluster")
    ok("breaker", "notification", "--failures", "3", "--cooldown", "10", "--per-org")
    shown = json.loads(ok("show", "--json"))
    assert {"name": "gold", "max_running": 8, "weight": 2, "organizations": 1} in shown["tiers"]
    assert shown["organizations"] == [{"organization_id": "org_acme", "tier": "gold"}]
    assert shown["caps"] == [{"job_type": "export_report", "max_running": 4, "max_running_per_org": 2, "running": 0}]
    assert [(r["job_type"], r["per_organization"], r["max_starts"]) for r in shown["rate_limits"]] == [
        (None, False, 1000),
        ("notification", True, 100),
    ]
    assert shown["breaker_rules"] == [
        {
            "job_type": "notification",
            "per_organization": True,
            "failure_threshold": 3,
            "window_seconds": 60,
            "cooldown_seconds": 10,
        }
    ]
    assert shown["breakers"] == []
    assert await pool.fetchval("SELECT active FROM flow_control")

    # Breakers opened by failures (two organizations' receivers), reset by hand: one, then all.
    await pool.execute(
        "INSERT INTO circuit_breakers (job_type, organization_id, state, failures, retry_at, last_error)"
        " VALUES ('notification', 'org_acme', 'open', 3, now() + interval '1 h', 'the receiver answered 503'),"
        "        ('notification', 'org_globex', 'open', 3, now() + interval '1 h', NULL)"
    )
    shown = json.loads(ok("show", "--json"))
    assert [(b["organization_id"], b["state"], b["last_error"]) for b in shown["breakers"]] == [
        ("org_acme", "open", "the receiver answered 503"),
        ("org_globex", "open", None),
    ]
    assert "1 breaker(s) closed (1 were open" in ok("reset", "notification", "--org", "org_acme")
    assert dict(await pool.fetch("SELECT organization_id, state FROM circuit_breakers")) == {
        "org_acme": "closed",
        "org_globex": "open",
    }
    assert "2 breaker(s) closed (1 were open" in ok("reset", "notification")

    # Every change is audited, by the operator.
    changes = await pool.fetch("SELECT actor, subject, operation FROM flow_changes ORDER BY id")
    assert {c["actor"] for c in changes} == {changes[0]["actor"]} and changes[0]["actor"].startswith("cli")
    assert [c["subject"] for c in changes] == [
        "flow_tiers",
        "organization_tiers",
        "job_type_limits",
        "rate_limits",
        "rate_limits",
        "circuit_breaker_rules",
        "circuit_breakers",
        "circuit_breakers",
        "circuit_breakers",
    ]

    # Removing things.
    ok("cap", "export_report")
    ok("rate", "notification", "--delete")
    ok("rate", "--delete", "--cluster")
    ok("breaker", "notification", "--delete")
    ok("org", "org_acme", "--clear")
    ok("tier", "gold", "--delete")
    assert not await pool.fetchval("SELECT active FROM flow_control")


def test_refusals_are_one_line_and_exit_1(database_url: str) -> None:
    env = command_env(DATABASE_URL=database_url, JOBRUNNER_JWT_SECRET=JWT_SECRET)
    for args, said in [
        (("org", "org_acme", "--tier", "nope"), "refused"),
        (("org", "org_nope", "--tier", "free"), "refused"),
        (("org", "org_acme", "--clear"), "on no tier"),
        (("reset", "export_report"), "no breaker"),
        (("tier", "free"), "--max-running is required"),
        (("rate", "--delete"), "no rate limit"),
    ]:
        done = jobrunner("flow", *args, env=env)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert said in done.stderr, (args, done.stderr)
        assert done.stdout == ""
    # A tier still in use cannot go.
    assert jobrunner("flow", "org", "org_acme", "--tier", "free", env=env).returncode == 0
    in_use = jobrunner("flow", "tier", "free", "--delete", env=env)
    assert in_use.returncode == 1 and "refused" in in_use.stderr
