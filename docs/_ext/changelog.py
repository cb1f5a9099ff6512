"""Sphinx extension: render the repository's ``CHANGELOG.md`` inside ``changelog.rst``.

The changelog is written in the `Keep a Changelog <https://keepachangelog.com/>`_ Markdown
dialect, which uses only a handful of constructs (``#`` headings, ``-`` bullets, inline code,
emphasis and links). They are converted to reStructuredText here so that the documentation
build needs no Markdown parser. In ``changelog.rst`` the line ``.. pymod-changelog::`` is
replaced by the converted text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

MARKER = ".. pymod-changelog::"

_LINK_DEF = re.compile(r"^\[([^\]]+)\]:\s*(\S+)\s*$")
_INLINE_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_REF_LINK = re.compile(r"\[([^\]]+)\](?!\()")
_CODE = re.compile(r"`([^`]+)`")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)([-*+])\s+(.*)$")

_UNDERLINES = {2: "-", 3: "~", 4: "^"}


def _inline(text: str, links: Dict[str, str]) -> str:
    """Convert inline Markdown (code, links) to reStructuredText."""
    pieces: List[str] = []
    pos = 0
    # Protect code spans first: nothing inside them is converted.
    for match in _CODE.finditer(text):
        before = text[pos:match.start()]
        pieces.append(_links(before, links))
        # reST inline markup must start after whitespace/punctuation and end before it:
        # ``code``s is not valid, ``code``\ s is.
        if before and before[-1].isalnum():
            pieces.append("\\ ")
        pieces.append(f"``{match.group(1)}``")
        after = text[match.end():match.end() + 1]
        if after and after.isalnum():
            pieces.append("\\ ")
        pos = match.end()
    pieces.append(_links(text[pos:], links))
    return "".join(pieces)


def _links(text: str, links: Dict[str, str]) -> str:
    text = _INLINE_LINK.sub(lambda m: f"`{m.group(1)} <{m.group(2)}>`__", text)

    def ref(match: re.Match[str]) -> str:
        label = match.group(1)
        url = links.get(label.lower())
        return f"`{label} <{url}>`__" if url else label

    return _REF_LINK.sub(ref, text)


def markdown_to_rst(markdown: str) -> str:
    """Convert a Keep-a-Changelog Markdown document to reStructuredText.

    The level-1 heading is dropped (the page has its own title); ``##`` becomes a section,
    ``###`` a subsection. Link reference definitions are resolved into inline links.
    """
    lines = markdown.splitlines()
    links: Dict[str, str] = {}
    body: List[str] = []
    for line in lines:
        match = _LINK_DEF.match(line)
        if match:
            links[match.group(1).lower()] = match.group(2)
        else:
            body.append(line)
    out: List[str] = []
    in_list = False
    for line in body:
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            if level == 1:
                continue
            title = _REF_LINK.sub(lambda m: m.group(1), heading.group(2))
            title = _CODE.sub(lambda m: f"``{m.group(1)}``", title)
            if out and out[-1] != "":
                out.append("")
            out.extend([title, _UNDERLINES.get(level, "^") * max(len(title), 3), ""])
            in_list = False
            continue
        bullet = _BULLET.match(line)
        if bullet:
            indent = len(bullet.group(1).expandtabs(4))
            if not in_list and out and out[-1] != "":
                out.append("")
            out.append(" " * indent + "- " + _inline(bullet.group(3), links))
            in_list = True
            continue
        if not line.strip():
            out.append("")
            continue
        if in_list and line.startswith(" "):
            # continuation of a bullet item: align with the item text
            stripped = line.strip()
            prev = next((x for x in reversed(out) if x.strip()), "")
            lead = len(prev) - len(prev.lstrip())
            if prev.lstrip().startswith("- "):
                lead += 2
            out.append(" " * lead + _inline(stripped, links))
            continue
        if in_list and out and out[-1] != "":
            out.append("")
        in_list = False
        out.append(_inline(line, links))
    return "\n".join(out).strip() + "\n"


def _on_source_read(app: Any, docname: str, source: List[str]) -> None:
    if MARKER not in source[0]:
        return
    path = Path(app.confdir).parent / "CHANGELOG.md"
    app.env.note_dependency(str(path))
    if path.is_file():
        text = markdown_to_rst(path.read_text(encoding="utf-8"))
    else:
        text = "*CHANGELOG.md was not found next to the docs directory.*\n"
    source[0] = source[0].replace(MARKER, text)


def setup(app: Any) -> Dict[str, Any]:
    app.connect("source-read", _on_source_read)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
