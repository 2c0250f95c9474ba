"""The throw-away PostgreSQL server of the test suite; it lives in ``bench/postgres.py``,
which the benchmark shares (durable there), so that neither imports the other's folder."""

from bench.postgres import (
    PostgresError,
    PostgresServer,
    find_bindir,
    postgres_available,
)

__all__ = ["PostgresError", "PostgresServer", "find_bindir", "postgres_available"]
