"""The project's docs stand alone: every relative link in the README and docs/ points at a file
of this repository that exists (a link to ../shared/SPEC.md worked only beside a checkout of
the team's shared folder)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_relative_links_stay_inside_the_repository_and_exist() -> None:
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    docs.append(REPO / "memoryd" / "share" / "service.md")
    checked, bad = 0, []
    for doc in docs:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # a URL, or an anchor in the same page
            path = (doc.parent / target.split("#")[0]).resolve()
            checked += 1
            if not path.is_relative_to(REPO) or not path.exists():
                bad.append(f"{doc.relative_to(REPO)} -> {target}")
    assert checked > 5 and bad == []


def test_the_contract_users_need_is_in_docs() -> None:
    spec = (REPO / "docs" / "spec.md").read_text(encoding="utf-8")
    for needle in ("MEMORYD_STATE_DIR", "memoryd service install", "memoryd clear", "--reextract"):
        assert needle in spec, needle
    assert "](docs/spec.md)" in (REPO / "README.md").read_text(encoding="utf-8")
