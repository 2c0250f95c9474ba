"""The fenced code blocks of the user documentation (README.md, docs/*.md), and what each
one is for — read from its fence's info string:

- ```` ```sh ```` (or ``bash``, ``shell``): a command to paste; it is **run**.
- ```` ```sh no-test ````: shown, never run (``make run``, long-running or machine-changing
  commands, commands that need something the tests cannot give).
- ```` ```python file=NAME ````: a file the reader saves as NAME; written, then used by a
  later block. ```` ```python ```` alone is run; ```` ```python no-test ```` is a fragment.
- ```` ```text output ````: what the blocks before it print; checked, with ``…`` matching
  anything.
- any other language (``json``, ``text``, ``http``, ``js`` …): shown, never run.

Every fence must name its language, so that a new example is either run or explicitly
marked as not runnable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLS = frozenset({"sh", "bash", "shell"})
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    flags: frozenset[str]
    options: dict[str, str]
    text: str
    where: str = field(init=False)

    def __post_init__(self) -> None:
        self.where = f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self) -> bool:
        """A command the tests run (a shell block, or a Python block that is no file)."""
        if "no-test" in self.flags or "file" in self.options:
            return False
        return self.lang in SHELLS or self.lang == "python"

    @property
    def is_file(self) -> bool:
        return "file" in self.options and "no-test" not in self.flags

    @property
    def is_expected_output(self) -> bool:
        return "output" in self.flags and "no-test" not in self.flags


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info, indent = match["fence"], match["info"].strip(), len(match["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        words = info.split()
        lang = words[0].lower() if words else ""
        options = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        flags = frozenset(w for w in words[1:] if "=" not in w)
        found.append(Block(path, i + 1, lang, flags, options, "\n".join(body) + "\n"))
        i = j + 1
    return found


def output_pattern(expected: str) -> re.Pattern[str]:
    """Each line of an expected-output block, in order, with ``…`` matching anything."""
    lines = [line.strip() for line in expected.strip().splitlines() if line.strip()]
    parts = [".*?".join(re.escape(piece) for piece in line.split("…")) for line in lines]
    return re.compile(r"(?s)" + r".*?".join(parts))
