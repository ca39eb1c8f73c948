"""What the documents point a reader to is there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)\)")  # a markdown link or picture: [words](target) / ![words](target)


def test_every_picture_and_file_a_document_links_to_exists() -> None:
    """A picture deleted when the screenshots were made again left docs/hall-server.md showing nothing."""
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = []
    links = 0
    for document in documents:
        for target in LINK.findall(document.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or a heading of the same page
            links += 1
            if not (document.parent / target.split("#", 1)[0]).exists():
                missing.append(f"{document.relative_to(ROOT)}: {target}")
    assert links > 20, "the documents' links were found"
    assert not missing, "\n".join(missing)
