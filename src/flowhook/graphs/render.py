"""DOT → SVG to inline in a page, by running Graphviz's ``dot``.

``dot`` runs as a child process (``asyncio`` subprocess, arguments as a list, never a
shell) with a bounded input, a timeout after which it is killed, and at most
:data:`CONCURRENT` at a time: drawing is CPU work that a page view must not let grow
without limit on a shared server. Its SVG is returned without the XML prolog, doctype and
comments, ready to inline in HTML.

The same DOT text always draws the same SVG, so drawings are cached by the text's hash
(a flow version draws the same text until it is edited; a finished execution's coloured
path too). Where ``dot`` is not installed the answer says so — the console then lists
the widgets — and nothing is cached, so installing Graphviz takes effect at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import shutil
from collections import OrderedDict
from dataclasses import dataclass

from flowhook.logging import get_logger

log = get_logger(__name__)

MAX_DOT_BYTES = 256 * 1024
"""Larger graphs (about a thousand widgets) take ``dot`` longer than a page may wait."""
TIMEOUT_SECONDS = 10.0
CONCURRENT = 2
CACHE_ENTRIES = 256
NOT_INSTALLED = "graph unavailable: install graphviz (the `dot` command was not found)"

_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->\n?", re.DOTALL)


@dataclass(frozen=True)
class Drawing:
    """An SVG to inline, or why there is none (``problem``, a sentence for the page)."""

    svg: str | None
    problem: str | None = None


def inline_svg(output: str) -> str:
    """``dot``'s SVG document as an element to put in HTML: from ``<svg`` on, no comments."""
    return _COMMENT.sub("", _PROLOG.sub("", output, count=1)).strip()


class GraphRenderer:
    """Runs ``dot -Tsvg``; one per process (the runtime's), holding the cache."""

    def __init__(
        self,
        command: str = "dot",
        *,
        timeout: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_DOT_BYTES,
        cache_entries: int = CACHE_ENTRIES,
    ) -> None:
        self.command = command
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cache_entries = cache_entries
        self._cache: OrderedDict[str, Drawing] = OrderedDict()
        self._slots = asyncio.Semaphore(CONCURRENT)

    async def svg(self, dot: str) -> Drawing:
        """The drawing of ``dot``'s text (from the cache when it was drawn before)."""
        source = dot.encode("utf-8")
        if len(source) > self.max_bytes:
            return Drawing(
                None, f"graph unavailable: the flow is too large to draw ({len(source)} bytes)"
            )
        key = hashlib.sha256(source).hexdigest()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        executable = shutil.which(self.command)
        if executable is None:
            return Drawing(None, NOT_INSTALLED)
        async with self._slots:
            drawing = await self._run(executable, source)
        if drawing.svg is not None:
            self._cache[key] = drawing
            while len(self._cache) > self.cache_entries:
                self._cache.popitem(last=False)
        return drawing

    async def _run(self, executable: str, source: bytes) -> Drawing:
        try:
            process = await asyncio.create_subprocess_exec(
                executable,
                "-Tsvg",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:  # removed or not executable since `which` found it
            log.warning("graphviz did not start", command=executable, error=str(exc))
            return Drawing(None, NOT_INSTALLED)
        try:
            out, err = await asyncio.wait_for(process.communicate(source), self.timeout)
        except TimeoutError:
            log.warning("graphviz timed out", seconds=self.timeout, bytes=len(source))
            return Drawing(
                None, f"graph unavailable: drawing took longer than {self.timeout:g} seconds"
            )
        finally:  # timed out, or the page's request was cancelled: no orphan `dot`
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if process.returncode != 0:
            reason = err.decode("utf-8", "replace").strip().splitlines()[:1]
            log.warning("graphviz failed", returncode=process.returncode, error=reason)
            return Drawing(None, "graph unavailable: graphviz could not draw this flow")
        return Drawing(inline_svg(out.decode("utf-8", "replace")))
