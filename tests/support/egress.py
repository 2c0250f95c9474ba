"""The egress policy of every flowhook the tests start: loopback only.

Property and fuzz tests hand the product arbitrary URLs; with this allow list no test can
make flowhook connect anywhere but this machine, whatever the URL (the guard refuses the
rest with ``EGRESS_DENIED`` before connecting). CI also runs the suite in a network
namespace that has nothing but loopback (``.ci/run``).
"""

from __future__ import annotations

LOOPBACK_ONLY = ["127.0.0.0/8", "::1"]
"""``FLOWHOOK_EGRESS_ALLOW`` for servers, processes and every ``Settings()`` of the suite."""

LOOPBACK_ONLY_ENV = ",".join(LOOPBACK_ONLY)
