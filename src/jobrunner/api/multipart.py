"""Reading one file out of a ``multipart/form-data`` body as it streams in (the body is
never held whole, in memory or on disk): what browsers' ``FormData`` and generated clients
send. Other parts are skipped; a second part with the file's field name is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from jobrunner.domain.errors import InvalidInput


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_name: bytes = b""
    header_value: bytes = b""


@dataclass
class MultipartFile:
    """The file part named ``field_name`` of a body: ``chunks()`` streams its bytes; then
    ``filename`` holds the name the client gave (None if it gave none)."""

    body: AsyncIterator[bytes]
    boundary: bytes
    field_name: str = "file"
    filename: str | None = None
    _found: bool = False

    async def chunks(self) -> AsyncIterator[bytes]:
        pending: list[bytes] = []
        part = _Part()
        in_file = False

        def on_header_field(data: bytes, start: int, end: int) -> None:
            part.header_name += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            part.header_value += data[start:end]

        def on_header_end() -> None:
            part.headers[part.header_name.lower()] = part.header_value
            part.header_name = part.header_value = b""

        def on_headers_finished() -> None:
            nonlocal in_file
            _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
            in_file = options.get(b"name") == self.field_name.encode()
            if in_file:
                if self._found:
                    raise InvalidInput("one file per upload", [{"loc": self.field_name, "message": "repeated"}])
                self._found = True
                name = options.get(b"filename")
                self.filename = name.decode("utf-8", "replace") if name else None

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if in_file:
                pending.append(data[start:end])

        def on_part_end() -> None:
            nonlocal in_file, part
            in_file = False
            part = _Part()

        parser = MultipartParser(
            self.boundary,
            {
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data,
                "on_part_end": on_part_end,
            },
        )
        async for chunk in self.body:
            try:
                parser.write(chunk)
            except InvalidInput:
                raise
            except Exception as exc:  # the parser's own errors: a malformed body
                raise InvalidInput(
                    "malformed multipart body", [{"loc": "body", "message": "not valid multipart"}]
                ) from exc
            if pending:
                yield b"".join(pending)
                pending.clear()
        parser.finalize()
        if not self._found:
            raise InvalidInput("no file", [{"loc": self.field_name, "message": "a part named 'file' is required"}])


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` Content-Type, or None."""
    media_type, options = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        return None
    return options.get(b"boundary") or None
