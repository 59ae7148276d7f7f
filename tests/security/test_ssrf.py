"""Item 2: no server-side request forgery. Outbound requests refuse loopback, private,
link-local, multicast and reserved destinations (checked on the resolved address when
connecting), unless the operator allows a network; a job never shows what a receiver
answered, nor which network error it was.

Real servers on loopback stand for the internal services an attacker would aim at."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import pytest

from jobrunner.domain.errors import DestinationNotAllowed
from jobrunner.outbound.client import outbound_client
from jobrunner.outbound.policy import DestinationPolicy, ip_literal
from jobrunner.settings import Settings
from jobrunner.worker.loop import Worker
from tests.integration.api.conftest import assert_problem, auth
from tests.integration.jobtypes.conftest import start_job, wait_final
from tests.integration.worker.conftest import fast_settings

SECRET = "ssrf-test-secret-0123456789"
INTERNAL = "INTERNAL-ANSWER-do-not-leak"


@contextmanager
def internal_server(
    status: int = 200, body: bytes = INTERNAL.encode(), headers: dict[str, str] | None = None
) -> Iterator[dict]:
    """An 'internal service' on 127.0.0.1: answers every request with ``status`` and
    ``body``; ``hits`` counts the requests it got."""
    state: dict = {"hits": 0}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            state["hits"] += 1
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET = _answer  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["port"] = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Default-deny settings, as in production; ``indirect`` with "loopback" allows
    127.0.0.0/8 (how tests and development reach receivers on this machine)."""
    allowed = ["127.0.0.0/8"] if getattr(request, "param", None) == "loopback" else []
    return fast_settings(
        data_dir=tmp_path / "data",
        max_body_bytes=16 * 1024,
        pool_min_size=1,
        webhook_timeout_seconds=1.0,
        outbound_allowed_networks=allowed,
    )


@pytest.fixture
async def worker(database_url: str, settings: Settings) -> AsyncIterator[Worker]:
    async with Worker(database_url, settings, concurrency=2, worker_id="ssrf-test").running() as w:
        yield w


# --- The policy ---------------------------------------------------------------------------

REFUSED = [
    "127.0.0.1",
    "127.255.0.9",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",
    "240.0.0.1",
    "192.0.2.1",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::1",
    "64:ff9b::a9fe:a9fe",
    "2001:db8::1",
]
PERMITTED = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_policy_refuses_internal_addresses(address: str) -> None:
    assert not DestinationPolicy().permits(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PERMITTED)
def test_policy_permits_public_addresses(address: str) -> None:
    assert DestinationPolicy().permits(ipaddress.ip_address(address))


def test_allowed_networks_open_only_what_they_name() -> None:
    policy = DestinationPolicy.from_networks(["127.0.0.0/8", "10.20.0.0/16"])
    assert policy.permits(ipaddress.ip_address("127.0.0.1"))
    assert policy.permits(ipaddress.ip_address("10.20.3.4"))
    assert not policy.permits(ipaddress.ip_address("10.21.3.4"))
    assert not policy.permits(ipaddress.ip_address("169.254.169.254"))
    assert not policy.permits(ipaddress.ip_address("::1"))


@pytest.mark.parametrize(
    "spelling",
    ["2130706433", "017700000001", "0x7f000001", "0x7f.1", "127.1", "[::1]", "[::ffff:7f00:1]", "[fe80::1%25eth0]"],
)
def test_every_spelling_of_an_ip_is_recognised(spelling: str) -> None:
    address = ip_literal(spelling.replace("%25", "%"))
    assert address is not None and not DestinationPolicy().permits(address)


# --- The guarded client, connecting -------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "127.1"])
async def test_the_client_refuses_loopback_however_it_is_named(host: str) -> None:
    with internal_server() as internal:
        async with outbound_client(Settings()) as client:
            with pytest.raises(DestinationNotAllowed, match="^the destination is not allowed$"):
                await client.post(f"http://{host}:{internal['port']}/", content=b"{}", headers={}, timeout=2)
    assert internal["hits"] == 0  # refused before connecting


async def test_the_client_refuses_the_database_port_and_metadata_address() -> None:
    async with outbound_client(Settings()) as client:
        for url in (
            "http://127.0.0.1:5432/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:5432/",
            "http://0.0.0.0:5432/",
        ):
            with pytest.raises(DestinationNotAllowed):
                await client.post(url, content=b"{}", headers={}, timeout=2)


async def test_allowed_network_is_reached_without_redirects_and_with_a_size_cap() -> None:
    settings = Settings(outbound_allowed_networks=["127.0.0.0/8"], outbound_max_response_bytes=1000)
    with internal_server(body=b"x" * 5_000_000) as big:
        async with outbound_client(settings) as client:
            response = await client.post(f"http://127.0.0.1:{big['port']}/", content=b"{}", headers={}, timeout=5)
    assert response.status_code == 200 and len(response.content) == 1000
    with (
        internal_server() as target,
        internal_server(302, b"", {"Location": f"http://127.0.0.1:{target['port']}/"}) as redirecting,
    ):
        async with outbound_client(settings) as client:
            response = await client.post(
                f"http://127.0.0.1:{redirecting['port']}/", content=b"{}", headers={}, timeout=5
            )
    assert response.status_code == 302 and target["hits"] == 0


# --- Saving an integration ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://017700000001/",
        "http://10.0.0.8/hook",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:3000/",
        "https://192.168.0.1/",
        "http://[fe80::1%25eth0]/",
    ],
)
async def test_a_literal_internal_address_is_refused_when_saved(client, url: str) -> None:
    response = await client.put(
        "/v1/integrations/crm", json={"targetUrl": url, "secret": SECRET}, headers=auth("user_admin")
    )
    assert_problem(response, 422)
    (error,) = response.json()["errors"]
    assert error["loc"] == "targetUrl" and "not allowed" in error["message"]


# --- Jobs: refused destinations, and nothing leaks into the job ---------------------------


async def test_a_name_resolving_to_loopback_is_refused_when_the_job_connects(client, worker) -> None:
    """A host name passes the save-time check (its addresses can change: DNS rebinding);
    the connect-time check on the resolved address stops it, permanently."""
    with internal_server() as internal:
        response = await client.put(
            "/v1/integrations/notifications",
            headers=auth("user_admin"),
            json={"targetUrl": f"http://localhost:{internal['port']}/hook", "secret": SECRET},
        )
        assert response.status_code == 201, response.text
        job_id = await start_job(
            client,
            "notification",
            {"channel": "webhook", "template": "message", "data": {"subject": "s", "body": "b"}},
            user="user_member",
        )
        job = await wait_final(client, job_id, user="user_member")
    assert job["status"] == "failed" and job["retryCount"] == 0, job
    assert job["errorMessage"] == "the destination is not allowed"
    assert internal["hits"] == 0


@pytest.mark.parametrize("settings", ["loopback"], indirect=True)
async def test_a_receivers_answer_never_reaches_the_job(client, worker, db: asyncpg.Connection) -> None:
    with internal_server(403, f"{INTERNAL} port 5432 user=postgres".encode()) as internal:
        url = f"http://127.0.0.1:{internal['port']}/secret-path?token=abc"
        response = await client.put(
            "/v1/integrations/crm", json={"targetUrl": url, "secret": SECRET}, headers=auth("user_admin")
        )
        assert response.status_code == 201, response.text
        await db.execute(
            "INSERT INTO customers (organization_id, name, email, country)"
            " VALUES ('org_acme', 'C', 'c@example.com', 'DE')"
        )
        job_id = await start_job(client, "sync", {"integration": "crm", "dataset": "customers"}, user="user_member")
        job = await wait_final(client, job_id, user="user_member")
    assert internal["hits"] >= 1
    assert job["status"] == "failed" and job["errorMessage"] == "the receiver answered 403", job
    status = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_member"))).text
    assert INTERNAL not in status and "secret-path" not in status and "token=abc" not in status


# --- Item 8: every malformed integration URL is a 422 in our words -------------------------

MALFORMED = [
    "http://exa\x00mple.com/",
    "http://example.com/\x00",
    "http://" + "a" * 1000 + ".com/",
    "http://" + "a" * 64 + ".example.com/",
    "http://" + ".".join(["abcdefghi"] * 26) + "/",
    "http://-bad-.example.com/",
    "http://exa mple.com/",
    "http://example.com/\r\nX-Injected: 1",
    "ftp://example.com/",
    "javascript:alert(1)",
    "http://",
    "http:///path",
    "http://user:pw@example.com/",
    "http://example.com:99999/",
    "http://example.com:0/",
    "http://example.com:port/",
    "http://[::1/",
    "http://[not-an-ip]/",
    "https://exa\u2028mple.com/",
    "http://ex%41mple.com/",
    "https://" + "a" * 2100,
]


@pytest.mark.parametrize("url", MALFORMED)
async def test_malformed_urls_are_refused_in_our_words(client, url: str) -> None:
    response = await client.put(
        "/v1/integrations/crm", json={"targetUrl": url, "secret": SECRET}, headers=auth("user_admin")
    )
    body = assert_problem(response, 422)
    for error in body["errors"]:
        assert error["loc"] == "targetUrl"
        assert error["message"].startswith(("the target URL ", "String should have at most")), error
        assert "\x00" not in error["message"] and "Traceback" not in response.text


async def test_a_nul_in_the_secret_is_a_422(client) -> None:
    response = await client.put(
        "/v1/integrations/crm",
        headers=auth("user_admin"),
        json={"targetUrl": "https://example.com/", "secret": "0123456789abcdef\x00"},
    )
    assert_problem(response, 422)


async def test_fuzzed_urls_never_cause_a_5xx(client) -> None:
    """Hypothesis draws URL-shaped strings (hosts, ports, paths with any characters) and
    plain text; the real endpoint answers each with 2xx or a 422 problem, never a 5xx."""
    from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

    anything = st.text(max_size=300)
    label = st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=70)
    host = (
        st.lists(label, min_size=1, max_size=6).map(".".join)
        | st.integers(0, 2**40).map(str)
        | st.ip_addresses().map(lambda a: f"[{a}]" if a.version == 6 else str(a))
    )
    port = st.none() | st.text(max_size=8) | st.integers(-5, 70000).map(str)
    urls = (
        st.builds(
            lambda scheme, h, p, path: f"{scheme}://{h}{'' if p is None else ':' + p}/{path}",
            st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
            host,
            port,
            anything,
        )
        | anything
    )
    drawn: list[str] = []

    @hsettings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(urls)
    def collect(url: str) -> None:
        drawn.append(url)

    collect()
    for url in drawn:
        response = await client.put(
            "/v1/integrations/fuzz", json={"targetUrl": url, "secret": SECRET}, headers=auth("user_admin")
        )
        assert response.status_code in (200, 201, 422), (url, response.status_code, response.text)
        if response.status_code == 422:
            assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("url", ["http://" + "a" * 1000 + ".com/", "http://exa\x01mple.com/", "http://[::1/"])
async def test_a_malformed_url_saved_before_fails_the_job_in_our_words(client, worker, db, url: str) -> None:
    """Rows written before URLs were checked: the job fails permanently, nothing crashes."""
    await db.execute(
        "INSERT INTO integrations (organization_id, name, target_url, secret)"
        " VALUES ('org_acme', 'notifications', $1, $2)",
        url,
        SECRET,
    )
    job_id = await start_job(
        client,
        "notification",
        {"channel": "webhook", "template": "message", "data": {"subject": "s", "body": "b"}},
        user="user_member",
    )
    job = await wait_final(client, job_id, user="user_member")
    assert job["status"] == "failed" and job["retryCount"] == 0, job
    assert job["errorMessage"] == "the target URL is not valid"
