"""Every ``jobrunner`` command the docs name exists, with the options they give it: the
README's command table and every `jobrunner …` in README.md and docs/*.md (inline code
and shell examples). Each command named in the README's table answers ``--help`` with
exit code 0, without a database (``jobrunner flow show --help`` included)."""

from __future__ import annotations

import re
import shlex

from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from jobrunner.cli import app
from tests.support.processes import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
_INLINE = re.compile(r"`((?:\.venv/bin/)?jobrunner [^`]+)`")
_WORD = re.compile(r"^[a-z][a-z-]*(\|[a-z][a-z-]*)*$")


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")  # typer vendors its own click: no isinstance


def _cli() -> Any:
    command = typer.main.get_command(app)
    assert _is_group(command)
    return command


def _shell_lines(text: str) -> list[str]:
    """The lines of the shell code blocks (bash, sh, console or none), continuations joined."""
    lines: list[str] = []
    language = None  # None: outside a block
    for line in text.splitlines():
        fence = re.match(r"^\s*```(\w*)", line)
        if fence:
            language = None if language is not None else fence.group(1)
        elif language in ("", "bash", "sh", "console"):
            if lines and lines[-1].endswith("\\"):
                lines[-1] = lines[-1][:-1] + " " + line.strip()
            else:
                lines.append(line.strip())
    return lines


def _mentions() -> list[tuple[str, str]]:
    """(where, the command line) for every `jobrunner …` in the docs."""
    found = []
    for path in DOCS:
        text = path.read_text()
        for match in _INLINE.finditer(text):
            found.append((path.name, match.group(1).replace("\\|", "|")))
        for line in _shell_lines(text):
            at = re.search(r"(?:^|[\s=(])((?:\.venv/bin/)?jobrunner [a-z].*)", line)
            if at and not line.startswith("#"):
                found.append((path.name, at.group(1)))
    return found


def _words(line: str) -> list[str]:
    line = re.split(r"\s#", line, maxsplit=1)[0]
    try:
        return shlex.split(line)
    except ValueError:  # an unbalanced quote in prose: the plain words are enough
        return line.split()


def _options(word: str) -> list[str]:
    """``[--demo/--no-demo]`` -> ``--demo``, ``--no-demo``; ``--url=X`` -> ``--url``."""
    word = word.strip("[]").split("=", 1)[0]
    return [part for part in word.split("/") if part.startswith("-")]


def _resolve(group: Any, words: list[str]) -> tuple[list[Any], list[str]]:
    """The command(s) a documented line names (``jobs create|list`` is two) and the rest."""
    name, rest = words[0], words[1:]
    if "|" in name:  # `jobrunner admin|schedules|templates ...`: each of them
        return [_resolve(group, [each])[0][0] for each in name.split("|")], []
    command = group.commands.get(name)
    assert command is not None, f"no command `jobrunner {name}`"
    if _is_group(command) and rest and _WORD.match(rest[0]):
        subs = []
        for sub in rest[0].split("|"):
            assert sub in command.commands, f"no command `jobrunner {name} {sub}`"
            subs.append(command.commands[sub])
        return subs, rest[1:]
    return [command], rest


def test_every_documented_command_and_option_exists() -> None:
    group = _cli()
    mentions = _mentions()
    assert len(mentions) > 40
    problems = []
    for where, line in mentions:
        words = _words(line)[1:]
        if not words or not re.match(r"^[a-z]", words[0]):
            continue
        try:
            commands, rest = _resolve(group, words)
        except AssertionError as exc:
            problems.append(f"{where}: {line}: {exc}")
            continue
        if any(_is_group(command) for command in commands):
            continue  # `jobrunner jobs …`: the group alone, its options are its commands'
        for word in rest:
            for option in _options(word):
                if not any(
                    option in param.opts + param.secondary_opts for command in commands for param in command.params
                ):
                    problems.append(f"{where}: {line}: no option {option}")
    assert problems == []


def _readme_table_commands() -> list[list[str]]:
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("## The `jobrunner` command", 1)[1].split("\n## ", 1)[0]
    lines = []
    for row in re.findall(r"^\| `jobrunner ([^`]+)` \|", section, re.M):
        words = row.replace("\\|", "|").split()
        lines.append(words)
    return lines


def _readme_invocations() -> list[list[str]]:
    invocations = []
    for words in _readme_table_commands():
        if len(words) > 1 and _WORD.match(words[1]):
            invocations += [[words[0], sub] for sub in words[1].split("|")]
        else:
            invocations.append([words[0]])
    return invocations


def test_the_readme_table_names_every_command() -> None:
    named = {words[0] for words in _readme_table_commands()}
    assert named == set(_cli().commands)


@pytest.mark.parametrize("invocation", _readme_invocations(), ids=" ".join)
def test_each_readme_command_answers_help(invocation: list[str], tmp_path, monkeypatch) -> None:
    # An empty data folder and no database: --help must need neither.
    monkeypatch.setenv("JOBRUNNER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, [*invocation, "--help"])
    assert result.exit_code == 0, (invocation, result.output)
    assert not (tmp_path / "pgdata").exists()
