"""Issue 9, item 7 (tokens and secrets): a bearer token lives at most
JOBRUNNER_MAX_TOKEN_TTL_SECONDS (24 h by default), measured from now and from its ``iat``;
``exp`` must be an integer; a JWT secret shorter than 32 bytes is refused at start-up;
``jobrunner token --ttl`` over the maximum is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from hypothesis import strategies as st

from jobrunner.auth.tokens import MIN_SECRET_BYTES
from jobrunner.domain.errors import ConfigurationError
from jobrunner.runtime import load_runtime, resolve_jwt_secret
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import assert_problem
from tests.integration.api.test_fuzz import samples
from tests.support.processes import command_env, jobrunner
from tests.support.workers import WORKER_JWT_SECRET

DAY = 24 * 3600


def token(exp, iat=None, secret: str = JWT_SECRET) -> str:
    claims = {"sub": "user_member", "org": "org_acme", "exp": exp}
    if iat is not None:
        claims["iat"] = iat
    return jwt.encode(claims, secret, algorithm="HS256")


def raw_token(payload: bytes, secret: str = JWT_SECRET) -> str:
    """A token over a hand-written payload (JSON that PyJWT's encoder would not write)."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(payload)
    signature = b64(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def test_a_token_within_the_maximum_lifetime_works(client) -> None:
    now = int(time.time())
    for exp, iat in ((now + 3600, now), (now + DAY - 60, None), (now + DAY - 60, now - 30)):
        assert (await client.get("/v1/jobs", headers=bearer(token(exp, iat)))).status_code == 200


@pytest.mark.parametrize(
    "describe, make",
    [
        ("exp ten years away", lambda now: token(now + 10 * 365 * DAY)),
        ("exp ten years away, iat now", lambda now: token(now + 10 * 365 * DAY, now)),
        ("exp 1e300", lambda now: token(1e300)),
        ("exp a float", lambda now: token(now + 60.5)),
        ("exp a numeric string", lambda now: token(str(now + 60))),
        ("exp true", lambda now: raw_token(b'{"sub":"user_member","org":"org_acme","exp":true}')),
        ("exp Infinity", lambda now: raw_token(b'{"sub":"user_member","org":"org_acme","exp":Infinity}')),
        ("exp NaN", lambda now: raw_token(b'{"sub":"user_member","org":"org_acme","exp":NaN}')),
        ("exp 10**400", lambda now: raw_token(b'{"sub":"user_member","org":"org_acme","exp":1' + b"0" * 400 + b"}")),
        ("lifetime from iat over the maximum", lambda now: token(now + 3600, now - DAY)),
        ("iat a float", lambda now: token(now + 3600, now + 0.5)),
        ("iat 1e300", lambda now: token(now + 3600, 1e300)),
    ],
)
async def test_tokens_beyond_the_maximum_lifetime_or_mistyped_are_401(client, describe, make) -> None:
    response = await client.get("/v1/jobs", headers=bearer(make(int(time.time()))))
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Traceback" not in body["detail"] and "jwt" not in body["detail"].lower()


async def test_the_maximum_is_a_setting(app, client) -> None:
    app.state.settings = app.state.settings.model_copy(update={"max_token_ttl_seconds": 600})
    from jobrunner.api.deps import TokenCache

    app.state.token_cache = TokenCache(JWT_SECRET, 600)
    now = int(time.time())
    assert (await client.get("/v1/jobs", headers=bearer(token(now + 500, now)))).status_code == 200
    assert_problem(await client.get("/v1/jobs", headers=bearer(token(now + 3600, now))), 401)


async def test_no_exp_or_iat_value_makes_a_5xx(client) -> None:
    values = st.one_of(
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(),
        st.text(max_size=10),
        st.booleans(),
        st.none(),
        st.lists(st.integers(), max_size=2),
    )
    for example in samples(exp=values, iat=values):
        claims = {"sub": "user_member", "org": "org_acme", "exp": example["exp"]}
        if example["iat"] is not None:
            claims["iat"] = example["iat"]
        payload = json.dumps(claims, allow_nan=True).encode()
        response = await client.get("/v1/jobs", headers=bearer(raw_token(payload)))
        assert response.status_code in (200, 401), (claims, response.text)


def test_secrets_shorter_than_32_bytes_are_refused(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        load_runtime(Settings(jwt_secret="fourteen-bytes", data_dir=tmp_path))
    (tmp_path / "jwt-secret").write_text("short\n")
    with pytest.raises(ConfigurationError, match="32 bytes"):
        resolve_jwt_secret(Settings(data_dir=tmp_path))
    assert resolve_jwt_secret(Settings(jwt_secret="x" * MIN_SECRET_BYTES, data_dir=tmp_path))[0] == "x" * 32


def test_a_generated_secret_is_long_enough(tmp_path) -> None:
    secret, generated = resolve_jwt_secret(Settings(data_dir=tmp_path / "fresh"))
    assert generated and len(secret.encode()) >= MIN_SECRET_BYTES


def test_the_tests_own_secrets_are_long_enough() -> None:
    assert len(JWT_SECRET.encode()) >= MIN_SECRET_BYTES
    assert len(WORKER_JWT_SECRET.encode()) >= MIN_SECRET_BYTES


def test_the_cli_refuses_to_start_with_a_short_secret(tmp_path) -> None:
    env = command_env(JOBRUNNER_JWT_SECRET="fourteen-bytes", JOBRUNNER_DATA_DIR=str(tmp_path / "data"))
    for command in (["serve", "--port", "1"], ["token", "--user", "user_admin"], ["worker"]):
        answer = jobrunner(*command, env=env, timeout=60)
        assert answer.returncode == 1, (command, answer.stdout, answer.stderr)
        lines = [line for line in answer.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "32 bytes" in lines[0] and "JOBRUNNER_JWT_SECRET" in lines[0], answer.stderr
        assert answer.stdout == ""


def test_the_cli_refuses_a_ttl_over_the_maximum(tmp_path) -> None:
    env = command_env(JOBRUNNER_JWT_SECRET=JWT_SECRET, JOBRUNNER_DATA_DIR=str(tmp_path / "data"))
    for ttl in (str(DAY + 1), str(10 * 365 * DAY), "0", "-5"):
        answer = jobrunner("token", "--user", "user_admin", "--ttl", ttl, env=env, timeout=60)
        assert answer.returncode == 1, (ttl, answer.stderr)
        assert "lifetime" in answer.stderr and str(DAY) in answer.stderr
        assert answer.stdout == "" and "Traceback" not in answer.stderr
