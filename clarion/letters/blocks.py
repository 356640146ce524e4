"""A letter body's markdown, split into the blocks a letter can show.

Notify's letter markdown is small (notifications-utils' letter renderer): `#` is a heading and `##` a
subheading (deeper levels are plain paragraphs), `*`, `-` or `•` start a bullet and `1.` a numbered
item, a line of three or more `*`, `-` or `_` is a page break, `^` inset text prints as a plain
paragraph, a link prints as "text: url", and a single newline is a line break. clarion adds
`**bold**`. Anything else is text: nothing a sender types is read as markup by the PDF library,
because `inline_markup` escapes it first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Block", "inline_markup", "parse_blocks"]

BlockKind = Literal["heading", "subheading", "paragraph", "bullet", "numbered", "page_break"]

_PAGE_BREAK = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]*(.*?)[ \t#]*$")
_BULLET = re.compile(r"^ *[•*-][ \t]+(.*)$")
_NUMBERED = re.compile(r"^ *(\d{1,9})\.[ \t]+(.*)$")
_INSET = re.compile(r"^ *\^ ?")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


@dataclass(frozen=True)
class Block:
    """One block of the body: its kind, its lines (plain text), and a list item's number."""

    kind: BlockKind
    lines: tuple[str, ...] = ()
    number: int | None = None


def parse_blocks(body: str) -> list[Block]:
    """The body's blocks, in order."""
    blocks: list[Block] = []
    current: list[str] = []
    current_kind: BlockKind | None = None
    number: int | None = None

    def close() -> None:
        nonlocal current, current_kind, number
        if current_kind is not None and any(line.strip() for line in current):
            blocks.append(Block(current_kind, tuple(current), number))
        current, current_kind, number = [], None, None

    for raw in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip():
            close()
        elif _PAGE_BREAK.match(line):
            close()
            blocks.append(Block("page_break"))
        elif heading := _HEADING.match(line):
            close()
            level = len(heading.group(1))
            kind: BlockKind = "heading" if level == 1 else "subheading" if level == 2 else "paragraph"
            current_kind, current = kind, [heading.group(2)]
            close()
        elif item := _BULLET.match(line):
            close()
            current_kind, current = "bullet", [item.group(1)]
        elif item := _NUMBERED.match(line):
            close()
            current_kind, current, number = "numbered", [item.group(2)], int(item.group(1))
        else:
            if current_kind is None:
                current_kind = "paragraph"
            current.append(_INSET.sub("", line).strip())
    close()
    return blocks


def inline_markup(text: str) -> str:
    """One line of text as reportlab paragraph markup: escaped, with bold and links applied."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    linked = _LINK.sub(lambda match: f"{match.group(1)}: {match.group(2)}", escaped)
    return _BOLD.sub(lambda match: f"<b>{match.group(1)}</b>", linked)
