"""What a PostgreSQL connection sent, read from libpq's trace: the statements and the
round trips (for the tests that count them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Connection


class Wire:
    """The frontend messages of libpq's trace: which statements ran, and the round trips
    (each ``Sync`` of the extended protocol or simple ``Query`` waits for the server)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("w")
        self.traced: set[int] = set()

    def attach(self, conn: Connection, *_args: Any) -> None:
        pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
        if id(pgconn) not in self.traced:
            pgconn.trace(self.file.fileno())
            self.traced.add(id(pgconn))

    def read(self) -> tuple[list[str], int]:
        self.file.flush()
        named: dict[str, str] = {}
        parsed = ""
        executed: list[str] = []
        trips = 0
        for line in self.path.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) < 4 or fields[1] != "F":
                continue
            kind, rest = fields[3], fields[4] if len(fields) > 4 else ""
            if kind == "Parse":
                name, text = re.match(r' "([^"]*)" "(.*)" \d', rest).groups()  # type: ignore[union-attr]
                named[name] = parsed = text
            elif kind == "Bind":
                name = re.match(r' "[^"]*" "([^"]*)"', rest).group(1)  # type: ignore[union-attr]
                executed.append(named[name] if name else parsed)
            elif kind == "Query":
                executed.append(rest.strip().strip('"'))
                trips += 1
            elif kind == "Sync":
                trips += 1
        return executed, trips
