"""Log lines: the modules' loggers import structlog only when they write their first line,
and then write it as ``configure`` set up (JSON lines here)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from flowhook.logging import configure
from flowhook.settings import Settings


@pytest.fixture
def json_logs(tmp_path: Path) -> Iterator[None]:
    configure(Settings(data_dir=tmp_path, log_json=True, log_level="info"))
    yield
    structlog.reset_defaults()


def test_a_module_logger_writes_a_json_line_once_configured(
    json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from flowhook.store.commit import log

    log.warning("group commit retry", attempt=2)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "group commit retry"
    assert (line["level"], line["attempt"]) == ("warning", 2)
    assert "timestamp" in line


@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_structlog_is_imported_by_the_first_log_line_not_by_the_modules() -> None:
    probe = (
        "import sys\n"
        "from flowhook.worker.runner import log\n"
        "print('structlog' in sys.modules)\n"
        "log.warning('lease lost', uuid='u1')\n"
        "print('structlog' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "False"
    assert "lease lost" in lines[1] and "u1" in lines[1]
    assert lines[-1] == "True"
