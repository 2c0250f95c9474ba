"""``make bench-instructions``'s counting: the reading of callgrind's dump files, and the
zero-then-dump from outside that keeps start-up out of a count, on tiny real programs run
under valgrind (a few seconds each).

The whole scenario under callgrind is not run here: the server alone needs one to two
minutes to start under valgrind. Skipped where valgrind is missing, unless
``FLOWHOOK_REQUIRE_VALGRIND`` is set (CI sets it: there a missing valgrind is a failure).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bench.callgrind import Dump, group_of, object_label, parse
from bench.instructions import control, dump, valgrind_argv
from bench.procs import Process, start

pytestmark = pytest.mark.slow  # runs programs under valgrind in subprocesses

DATA_BYTES = 4_000_000
"""``zlib.crc32`` over this many zero bytes: a fixed amount of work in one C function."""


@pytest.fixture(scope="module", autouse=True)
def valgrind() -> None:
    missing = [t for t in ("valgrind", "callgrind_control") if shutil.which(t) is None]
    if missing:
        if os.environ.get("FLOWHOOK_REQUIRE_VALGRIND"):
            pytest.fail(f"FLOWHOOK_REQUIRE_VALGRIND is set but {missing} is missing")
        pytest.skip(f"{missing} not installed")


def crc32_cost(dump_: Dump) -> int:
    return sum(ir for (obj, fn), ir in dump_.functions.items() if "libz" in obj and "crc32" in fn)


def whole_run(tmp_path: Path) -> Dump:
    program = f"import zlib; zlib.crc32(bytes({DATA_BYTES}))"
    out = tmp_path / "whole.out"
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable]
    subprocess.run([*argv, "-c", program], check=True, capture_output=True, timeout=120)
    return parse(out)


def test_a_dump_splits_its_total_by_object_and_function_without_losing_any(
    tmp_path: Path,
) -> None:
    counted = whole_run(tmp_path)

    assert counted.total == sum(counted.objects.values()) == sum(counted.functions.values())
    # the program's one piece of real work is zlib's crc32, and start-up is all Python's
    (obj, fn, _ir), *_ = counted.top_functions(5)
    assert "crc32" in fn
    assert object_label(obj).startswith("libz.so")
    labels = {object_label(o) for o in counted.objects}
    assert "CPython" in {group_of(label) for label in labels}
    assert "lib-dynload/zlib" in labels or any("zlib" in label for label in labels)
    assert crc32_cost(counted) >= DATA_BYTES  # at least one instruction per byte


def test_zero_and_dump_from_outside_count_only_the_window(tmp_path: Path) -> None:
    """Start-up before the zero is left out; the window's work is counted exactly."""
    whole = whole_run(tmp_path)
    ready, go, done = (tmp_path / name for name in ("ready", "go", "done"))
    program = (
        "import time, zlib, pathlib\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.05)\n"
        f"zlib.crc32(bytes({DATA_BYTES}))\n"
        f"pathlib.Path({str(done)!r}).touch()\n"
        "time.sleep(600)\n"
    )
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    argv = valgrind_argv(dumps, [sys.executable, "-c", program])
    proc = start("program", argv, dict(os.environ), tmp_path)
    try:
        wait_for(ready, proc)
        control(proc.pid, "--zero")
        go.touch()
        wait_for(done, proc)
        window = asyncio.run(dump(proc, dumps))
    finally:
        proc.popen.kill()
        proc.popen.wait()

    assert window.pid == proc.pid
    assert crc32_cost(window) == crc32_cost(whole)
    # the whole run is start-up and the crc32; the window is the crc32 and a few polls
    assert window.total - crc32_cost(window) < (whole.total - crc32_cost(whole)) / 10


def wait_for(path: Path, proc: Process) -> None:
    while not path.exists():
        assert proc.alive(), proc.tail()
        time.sleep(0.05)
