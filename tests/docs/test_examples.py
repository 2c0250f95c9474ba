"""The documentation's examples work as written: every runnable block of README.md and
docs/*.md is run, in order, as a reader would paste it, against a real
``flowhook serve --demo`` started on 127.0.0.1 (see ``doc_blocks.py`` for how a block says
what it is).

What the harness gives the blocks:

- a working directory with ``.venv`` (this test's virtualenv) and ``data/`` (the server's
  data directory: ``data/demo.json`` holds the demo key, as after ``make run``);
- ports: ``127.0.0.1:8080`` is replaced by the test server's port, and any other
  ``127.0.0.1:PORT`` or ``("127.0.0.1", PORT)`` (a receiver's) by a free port, the same
  one throughout a document;
- for docs/*.md, ``BASE`` and ``KEY`` (the demo account's API key) as the quick start
  sets them, and ``.venv/bin`` on ``PATH`` (``flowhook`` as after ``source
  .venv/bin/activate``); README.md sets its own and must work without activation;
- shell variables carry over from one block to the next of the same document, and
  background processes (``… &``) keep running until the document ends.

A block fails when it exits non-zero or prints an error answer
(``{"error": {"code": …}}``); a ```` ```text output ```` block fails when the output so far
does not show it within a minute.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from doc_blocks import ROOT, Block, blocks, documents, output_pattern

from support.process import Served, flowhook_env, free_port

DOCUMENTS = documents()
# 127.0.0.1:PORT in a URL, ("127.0.0.1", PORT) in Python
LOOPBACK = re.compile(r"\b(?:127\.0\.0\.1|localhost)(?::|[\"'],\s*)(\d+)\b")
URL_HOST = re.compile(r"\bhttps?://(\[[^\]]*\]|[^/\s:'\"$]+)")
ERROR_ANSWER = re.compile(r'\{"error":\s*\{"code"')
VENV = Path(sys.executable).parent.parent


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def runnable_documents() -> list[Path]:
    return [p for p in DOCUMENTS if any(b.runs or b.is_expected_output for b in blocks(p))]


@pytest.mark.parametrize("path", DOCUMENTS, ids=name)
def test_every_code_block_says_what_it_is(path: Path) -> None:
    unnamed = [b.where for b in blocks(path) if not b.lang]
    assert unnamed == [], (
        "fenced blocks without a language: name it (sh, sh no-test, python file=NAME, "
        "text, text output, json …; see tests/docs/doc_blocks.py)"
    )


@pytest.mark.parametrize("path", DOCUMENTS, ids=name)
def test_runnable_examples_reach_only_this_machine(path: Path) -> None:
    for block in blocks(path):
        if block.runs or block.is_file:
            hosts = {h for h in URL_HOST.findall(block.text) if h not in ("127.0.0.1", "localhost")}
            assert not hosts, f"{block.where}: a runnable example must use 127.0.0.1: {hosts}"


class Reader:
    """Pastes one document's blocks into bash, one after the other."""

    def __init__(self, path: Path, work: Path, server_port: int, env: dict[str, str]) -> None:
        self.path = path
        self.work = work
        self.ports = {"8080": str(server_port)}
        self.env = env
        self.log = work / "output.log"
        self.state = work / ".variables.sh"
        self.groups: list[int] = []

    def substitute(self, text: str) -> str:
        def port(match: re.Match[str]) -> str:
            number = self.ports.setdefault(match[1], str(free_port()))
            return match[0][: -len(match[1])] + number

        return LOOPBACK.sub(port, text)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def play(self, block: Block) -> None:
        text = self.substitute(block.text)
        if block.is_file:
            (self.work / block.options["file"]).write_text(text)
        elif block.runs:
            self.run(block, text)
        elif block.is_expected_output:
            self.expect(block, text)

    def run(self, block: Block, text: str) -> None:
        if block.lang == "python":
            script = self.work / ".block.py"
            script.write_text(text)
            argv = [sys.executable, str(script)]
        else:
            script = self.work / ".block.sh"
            load = f"source {shlex.quote(str(self.state))}\n" if self.state.exists() else ""
            save = f"\nexport -p > {shlex.quote(str(self.state))}\n"
            script.write_text("set -a\n" + load + "set -euo pipefail\n" + text + save)
            argv = ["bash", str(script)]
        before = len(self.output())
        with self.log.open("a") as log:
            log.write(f"\n--- {block.where}\n")
            log.flush()
            proc = subprocess.Popen(
                argv,
                cwd=self.work,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its background jobs are stopped with the document
            )
            self.groups.append(proc.pid)
            code = proc.wait(timeout=120)
        printed = self.output()[before:]
        assert code == 0, self.failure(block, f"exited with {code}", printed)
        assert not ERROR_ANSWER.search(printed), self.failure(block, "an error answer", printed)

    def expect(self, block: Block, text: str) -> None:
        pattern = output_pattern(text)
        deadline = time.monotonic() + 60
        while not pattern.search(self.output()):
            if time.monotonic() > deadline:
                raise AssertionError(self.failure(block, "never printed", self.output()))
            time.sleep(0.1)

    def failure(self, block: Block, what: str, printed: str) -> str:
        return f"{block.where}: {what}\n--- block\n{block.text}--- output\n{printed[-3000:]}"

    def stop(self) -> None:
        for group in self.groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, Path, int]]:
    """``flowhook serve --demo`` on a free port, its data in ``work/data``."""
    work = tmp_path / "work"
    data = work / "data"
    data.mkdir(parents=True)
    (work / ".venv").symlink_to(VENV)
    port = free_port()
    env = flowhook_env(f"sqlite:///{data}/flowhook.db", data)
    server = Served(
        ["--demo", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path / "serve.log"
    )
    try:
        assert server.banner, server.output()
        yield server, work, port
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("path", runnable_documents(), ids=name)
def test_examples_run_as_written(path: Path, served: tuple[Served, Path, int]) -> None:
    server, work, port = served
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWHOOK_")}
    if path.name != "README.md":
        env["BASE"] = server.banner["url"]
        env["KEY"] = server.banner["demo API key"]
        env["PATH"] = f"{work / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"  # as if activated
    reader = Reader(path, work, port, env)
    try:
        for block in blocks(path):
            reader.play(block)
    finally:
        reader.stop()


BANNER_ROW = re.compile(r"^(\s*(?:flowhook is running at|[\w ]+:)\s+)")


@pytest.mark.slow
def test_the_docs_show_the_banner_as_make_run_prints_it(
    served: tuple[Served, Path, int],
) -> None:
    """Every row of the start-up banner that README.md and docs/console.md show has the
    label, and the spacing, that ``flowhook serve --demo`` (``make run``) prints."""
    server, _, _ = served
    printed = {m[1] for line in server.stdout if (m := BANNER_ROW.match(line))}
    for path in (ROOT / "README.md", ROOT / "docs" / "console.md"):
        shown = [b for b in blocks(path) if b.lang == "text" and "demo password:" in b.text]
        assert shown, f"{name(path)}: no banner block"
        for block in shown:
            for line in block.text.splitlines():
                row = BANNER_ROW.match(line)
                assert row and row[1] in printed, f"{block.where}: {line!r} not as printed"
