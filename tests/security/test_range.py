"""Issue 9, item 8 (headers): ``Range`` on both file endpoints is parsed bounded and total
(a malformed one is ignored, RFC 9110 section 14.2; one with no byte in the file is a 416
problem with ``Content-Range: bytes */SIZE``), and no value of the headers the service
reads (Range, If-None-Match, Authorization) ever makes a 5xx."""

from __future__ import annotations

import re

from hypothesis import strategies as st

from tests.integration.api.conftest import assert_problem, auth
from tests.integration.api.test_fuzz import samples
from tests.security.served_files import CONTENT, ServedFile, served, settings  # noqa: F401 (fixtures)

SIZE = len(CONTENT)
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def check_ranged(response, range_header) -> None:
    """The answer to one Range: the whole file, the right slice, or a 416 problem."""
    assert response.status_code in (200, 206, 416), (range_header, response.status_code, response.text[:200])
    if response.status_code == 200:
        assert response.content == CONTENT
    elif response.status_code == 206:
        first, last, size = map(int, _CONTENT_RANGE.fullmatch(response.headers["content-range"]).groups())
        assert size == SIZE and response.content == CONTENT[first : last + 1]
    else:
        assert_problem(response, 416)
        assert response.headers["content-range"] == f"bytes */{SIZE}"


async def test_a_5000_digit_range_is_ignored(client, served: ServedFile) -> None:
    for header in ("bytes=0-" + "9" * 5000, "bytes=" + "9" * 5000 + "-", "bytes=-" + "9" * 5000):
        response = await client.get(served.path, headers={**auth(served.user), "Range": header})
        assert response.status_code == 200 and response.content == CONTENT


async def test_unsatisfiable_range_is_a_416_problem(client, served: ServedFile) -> None:
    for header in (f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"):
        response = await client.get(served.path, headers={**auth(served.user), "Range": header})
        assert_problem(response, 416)
        assert response.headers["content-range"] == f"bytes */{SIZE}"


async def test_single_ranges_are_served_and_others_ignored(client, served: ServedFile) -> None:
    headers = auth(served.user)
    response = await client.get(served.path, headers={**headers, "Range": "bytes=10-19"})
    assert response.status_code == 206 and response.content == CONTENT[10:20]
    assert response.headers["content-range"] == f"bytes 10-19/{SIZE}"
    for ignored in ("bytes=0-1,5-6", "bytes=9-1", "items=0-1", "bytes=x-y", "bytes 0-1", ""):
        response = await client.get(served.path, headers={**headers, "Range": ignored})
        assert response.status_code == 200 and response.content == CONTENT, ignored


numbers = st.one_of(
    st.integers(min_value=0, max_value=SIZE + 5),
    st.integers(min_value=0, max_value=10**30),
    st.integers(min_value=-5, max_value=-1),
)
range_headers = st.one_of(
    st.builds(lambda a, b: f"bytes={a}-{b}", numbers, numbers),
    st.builds(lambda a: f"bytes={a}-", numbers),
    st.builds(lambda b: f"bytes=-{b}", numbers),
    st.builds(
        lambda unit, a, b, sep: f"{unit}{sep}{a}-{b}",
        st.sampled_from(["bytes", "BYTES", "byte", " bytes"]),
        numbers,
        numbers,
        st.sampled_from(["=", " = ", "=\t", "", "=="]),
    ),
    st.lists(st.builds(lambda a, b: f"{a}-{b}", numbers, numbers), min_size=1, max_size=5).map(
        lambda parts: "bytes=" + ",".join(parts)
    ),
    st.builds(lambda n: "bytes=0-" + "9" * n, st.integers(min_value=50, max_value=6000)),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=300),
)


async def test_any_range_header_gets_a_whole_file_a_slice_or_a_416(client, served: ServedFile) -> None:
    link = await served.signed_link(client)
    for example in samples(header=range_headers):
        header = example["header"].encode("latin-1")
        check_ranged(await client.get(link, headers={"Range": header}), header)
        check_ranged(await client.get(served.path, headers={**auth(served.user), "Range": header}), header)


absurd_values = st.one_of(
    st.binary(max_size=300).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"")),
    st.builds(lambda n: b"9" * n, st.integers(min_value=1, max_value=10_000)),
    st.builds(lambda n: b"Bearer " + b"A" * n, st.integers(min_value=1, max_value=20_000)),
    st.builds(lambda n: b'W/"' + b"x" * n + b'"', st.integers(min_value=1, max_value=20_000)),
    st.builds(lambda n: b", " * n, st.integers(min_value=1, max_value=5_000)),
    st.sampled_from([b"Bearer", b"Bearer ", b"bearer  a.b.c", b"Bearer a.b", b"Bearer \xff\xfe", b"*", b"\x00"]),
)


def _never_5xx(response) -> None:
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_absurd_authorization_and_if_none_match_never_make_a_5xx(client, served: ServedFile) -> None:
    status_path = f"/v1/jobs/{served.job_id}/status"
    for example in samples(value=absurd_values):
        value = example["value"]
        _never_5xx(await client.get(status_path, headers={**auth(served.user), "If-None-Match": value}))
        for path in (status_path, "/v1/jobs", "/v1/me", served.path, "/metrics"):
            _never_5xx(await client.get(path, headers={"Authorization": value}))
