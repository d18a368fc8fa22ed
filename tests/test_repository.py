"""The repository itself: no merge leftovers in what is committed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)


def test_no_file_holds_merge_conflict_markers():
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    marked = []
    for name in filter(None, tracked):
        path = ROOT / name.decode()
        if not path.is_file() or path.suffix in {".png", ".svg", ".ico", ".woff2"}:
            continue
        text = path.read_text(errors="ignore")
        if MARKER.search(text):
            marked.append(name.decode())
    assert marked == []
