"""bench/RESULTS.md, one section per benchmark: each script replaces its own section and leaves the rest."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(title: str, text: str, path: Path = RESULTS) -> None:
    """Replace the ``## title`` section of ``path`` with ``text`` (appended when there is none)."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"## {title}\n\n{text.strip()}\n"
    pattern = rf"## {re.escape(title)}\n.*?(?=\n## |\Z)"
    if re.search(pattern, old, flags=re.S):
        new = re.sub(pattern, lambda _: section, old, count=1, flags=re.S)
    else:
        new = old.rstrip() + "\n\n" + section
    path.write_text(new)
