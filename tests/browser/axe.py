"""axe-core in the Playwright tests: the npm package pinned in package.json.

``npm ci`` (run by .ci/run and ``make test``) puts it under node_modules/; nothing
is fetched from a CDN and nothing here is served to users. The script is added
to the page through the DevTools protocol, which the page's Content-Security-
Policy does not apply to, so the strict CSP stays as it is.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# What must not be there at all; "moderate" and "minor" findings are reported only.
BLOCKING = ("serious", "critical")


@cache
def _script() -> str:
    if not AXE_JS.exists():
        message = f"{AXE_JS} is missing: run `npm ci` (package.json pins axe-core)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE_JS.read_text(encoding="utf-8")


def axe_run(page: Any) -> list[dict[str, Any]]:
    """The violations axe-core finds on the page as it is now (WCAG 2.x A and AA, and
    axe's best practices)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_script())
    result = page.evaluate(
        """() => axe.run(document, {
            resultTypes: ["violations"],
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                              "wcag22aa", "best-practice"]}
        })"""
    )
    return result["violations"]


def summarize(violations: list[dict[str, Any]]) -> dict[str, int]:
    """Counts by impact: {"critical": n, "serious": n, "moderate": n, "minor": n}."""
    counts = {"critical": 0, "serious": 0, "moderate": 0, "minor": 0}
    for violation in violations:
        counts[violation.get("impact") or "minor"] += len(violation["nodes"])
    return counts


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        if v.get("impact") in BLOCKING:
            targets = "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            lines.append(f"{v['impact']} {v['id']}: {v['help']} [{targets}]")
    return "\n".join(lines)
