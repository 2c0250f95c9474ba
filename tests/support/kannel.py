"""A real Kannel for tests: bearerbox with a fake SMSC, smsbox with its sendsms interface,
and Kannel's ``fakesmsc`` test client as the SMS centre, all on 127.0.0.1 (Debian's
``kannel`` and ``kannel-extras``). Skipped where the binaries are missing, unless
``FLOWHOOK_REQUIRE_KANNEL`` is set (CI sets it: there a missing Kannel is a failure)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.process import free_port

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
USERNAME, PASSWORD = "flowhook", "kannel-secret"


def require_kannel() -> None:
    missing = [str(p) for p in (BEARERBOX, SMSBOX, FAKESMSC) if not p.exists()]
    if missing:
        if os.environ.get("FLOWHOOK_REQUIRE_KANNEL"):
            pytest.fail(f"FLOWHOOK_REQUIRE_KANNEL is set but Kannel is missing: {missing}")
        pytest.skip(
            f"Kannel is not installed ({', '.join(missing)}): apt-get install kannel kannel-extras"
        )


@dataclass
class Kannel:
    sendsms_url: str
    smsc_log: Path  # what fakesmsc (the SMS centre) received, one message a line

    def received(self) -> list[str]:
        text = self.smsc_log.read_text(errors="replace") if self.smsc_log.exists() else ""
        return [
            line.split("Got message", 1)[1] for line in text.splitlines() if "Got message" in line
        ]

    async def wait_received(self, count: int, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.received()) < count:
            assert time.monotonic() < deadline, self.smsc_log.read_text(errors="replace")
            await asyncio.sleep(0.05)
        return self.received()


CONFIG = """
group = core
admin-port = {admin}
admin-password = admin-secret
admin-interface = 127.0.0.1
admin-allow-ip = 127.0.0.1
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = {dir}/bearerbox.log
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
host = 127.0.0.1
port = {smsc}
interface-version = 34
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = {dir}/smsbox.log
log-level = 1

group = sendsms-user
username = {username}
password = {password}
max-messages = 10
concatenation = true
"""


async def _listening(port: int, procs: list[subprocess.Popen[bytes]], logs: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        for proc in procs:
            assert proc.poll() is None, f"a Kannel process exited: {list(logs.glob('*.log'))}"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            assert time.monotonic() < deadline, f"Kannel did not listen on {port}"
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


@asynccontextmanager
async def kannel(directory: Path) -> AsyncIterator[Kannel]:
    require_kannel()
    directory.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("admin", "box", "smsc", "sendsms")}
    conf = directory / "kannel.conf"
    conf.write_text(CONFIG.format(dir=directory, username=USERNAME, password=PASSWORD, **ports))
    procs: list[subprocess.Popen[bytes]] = []
    logs = [(directory / f"{n}.out").open("ab") for n in ("bearerbox", "smsbox", "smsc")]
    try:
        procs.append(subprocess.Popen([str(BEARERBOX), str(conf)], stdout=logs[0], stderr=logs[0]))
        await _listening(ports["box"], procs, directory)
        await _listening(ports["smsc"], procs, directory)
        procs.append(subprocess.Popen([str(SMSBOX), str(conf)], stdout=logs[1], stderr=logs[1]))
        smsc = [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(ports["smsc"]), "-m", "0", "0 0 text x"]
        procs.append(subprocess.Popen(smsc, stdout=logs[2], stderr=logs[2]))
        await _listening(ports["sendsms"], procs, directory)
        bearerbox_log = directory / "bearerbox.log"
        deadline = time.monotonic() + 30
        while "Fakesmsc client connected" not in bearerbox_log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "fakesmsc did not connect to bearerbox"
            await asyncio.sleep(0.05)
        yield Kannel(f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms", directory / "smsc.out")
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for log in logs:
            log.close()
