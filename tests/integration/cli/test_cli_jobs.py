"""Issue 15, the CLI: id prefixes wherever a job id is taken (an ambiguous or unknown one
is a clear error on stderr, exit 1), ids never cut at 80 columns (``--wide`` for whole
ones), ``jobs watch [ID]``, ``jobs download ID -o FILE`` and ``import customers FILE
--wait`` with the rejected rows saved beside the file. Real processes, a live service."""

from __future__ import annotations

import csv
import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.web.conftest import LiveService
from tests.integration.web.test_cli_client import cli as web_cli

pytestmark = pytest.mark.slow

LATER = "2099-01-01T00:00:00.000Z"


def cli(service: LiveService, *args: str, user: str = "user_member") -> subprocess.CompletedProcess[str]:
    """The ``jobrunner`` command itself, in an 80-column terminal."""
    return web_cli(service, *args, user=user, columns=80, module="jobrunner.cli")


def scheduled_jobs(service: LiveService, count: int) -> list[str]:
    """Export jobs scheduled far ahead: they stay queued."""
    body = {"jobType": "export_report", "payload": {"reportType": "quotes", "format": "csv"}, "scheduledAt": LATER}
    with service.api() as api:
        return [api.post("/v1/jobs", json=body).json()["jobId"] for _ in range(count)]


def test_prefixes_everywhere_and_ids_that_copy_back(live_service: LiveService) -> None:
    # 17 ids: at least two share a first character (16 hex digits).
    ids = scheduled_jobs(live_service, 17)
    shared = next(c for c, n in Counter(i[0] for i in ids).items() if n > 1)
    unused = next(c for c in "0123456789abcdef" if not any(i.startswith(c) for i in ids))

    listed = cli(live_service, "jobs", "list", "--page-size", "100")
    assert listed.returncode == 0, listed.stderr
    shown = [line.split("│")[1].strip() for line in listed.stdout.splitlines() if line.startswith("│")]
    # At 80 columns every id is there whole enough to paste back: a unique prefix, uncut.
    assert len(shown) == 17 and all(len(s) >= 8 and "…" not in s for s in shown), listed.stdout
    assert {next(i for i in ids if i.startswith(s)) for s in shown} == set(ids)
    wide = cli(live_service, "jobs", "list", "--page-size", "100", "--wide")
    assert all(f" {i} " in wide.stdout for i in ids), wide.stdout

    target = ids[0]
    status = cli(live_service, "jobs", "status", target[:6], "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["job"]["id"] == target

    ambiguous = cli(live_service, "jobs", "status", shared)
    assert ambiguous.returncode == 1 and ambiguous.stdout == ""
    sharing = [i for i in ids if i[0] == shared]
    # The message counts them and names the first five, all of which share the prefix.
    assert "ambiguous" in ambiguous.stderr and f"{len(sharing)} of your jobs" in ambiguous.stderr
    named = [i for i in ids if i in ambiguous.stderr]
    assert len(named) == min(len(sharing), 5) and set(named) <= set(sharing), ambiguous.stderr
    unknown = cli(live_service, "jobs", "cancel", unused)
    assert unknown.returncode == 1 and "No job of yours" in unknown.stderr
    nonsense = cli(live_service, "jobs", "status", "not-an-id")
    assert nonsense.returncode == 1 and "not a job id" in nonsense.stderr

    cancelled = cli(live_service, "jobs", "cancel", target[:8])
    assert cancelled.returncode == 0 and cancelled.stdout.strip() == "Job cancelled successfully"
    # Another user's job is not found by its prefix.
    foreign = cli(live_service, "jobs", "status", ids[1][:8], user="user_admin")
    assert foreign.returncode == 1 and "No job of yours" in foreign.stderr


def test_watch_then_download_by_prefix(live_service: LiveService, tmp_path: Path) -> None:
    started = cli(live_service, "export", "quotes", "--format", "csv")
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.strip()

    watched = cli(live_service, "jobs", "watch", job_id[:8])
    assert watched.returncode == 0, watched.stderr
    assert job_id[:8] in watched.stdout and "succeeded" in watched.stdout and "100%" in watched.stdout
    everything = cli(live_service, "jobs", "watch", "--wide")  # all final: one table, then done
    assert everything.returncode == 0 and job_id in everything.stdout

    out = tmp_path / "quotes.csv"
    downloaded = cli(live_service, "jobs", "download", job_id[:8], "-o", str(out))
    assert downloaded.returncode == 0, downloaded.stderr
    with out.open(encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0][0] == "Quote Number" and len(rows) > 1

    queued = scheduled_jobs(live_service, 1)[0]
    nothing = cli(live_service, "jobs", "download", queued[:8], "-o", str(tmp_path / "x.csv"))
    assert nothing.returncode == 1 and "has no file" in nothing.stderr


def test_import_wait_saves_the_rejected_rows_beside_the_file(live_service: LiveService, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        "name,email,country\n"
        "Ada Lovelace,ada@cli-import.test,GB\n"
        "No Email,,DE\n"
        "Grace Hopper,grace@cli-import.test,US\n"
        "Bad Country,bad@cli-import.test,Narnia\n",
        encoding="utf-8",
    )
    run = cli(live_service, "import", "customers", str(source), "--wait")
    assert run.returncode == 0, run.stderr
    assert "import started: job" in run.stderr
    assert "2 inserted, 0 updated, 2 rejected" in run.stderr, run.stderr
    beside = tmp_path / "people.rejected.csv"
    assert str(beside) in run.stderr.replace("\n", "")
    with beside.open(encoding="utf-8") as file:
        rejected = list(csv.DictReader(file))
    assert [row["line"] for row in rejected] == ["3", "5"] and all(row["reason"] for row in rejected)

    job_id = run.stderr.split("import started: job ")[1].split()[0]
    again = cli(live_service, "jobs", "download", job_id[:8], "-o", str(tmp_path / "again.csv"))
    assert again.returncode == 0 and (tmp_path / "again.csv").read_bytes() == beside.read_bytes()
