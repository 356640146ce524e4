"""The plain-text part of an email: Notify-flavoured markdown read aloud as text."""

from __future__ import annotations

import re

__all__ = ["email_plain_text"]

RULE = "=" * 65

_HEADING = re.compile(r"^#{1,6}\s*(.*?)\s*#*\s*$")
_INSET = re.compile(r"^[\^>]\s?")
_BULLET = re.compile(r"^\s*[*\-+•]\s+")
_HORIZONTAL_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\(\s*([^)\s]+)\s*\)")
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")
_THREE_OR_MORE_NEWLINES = re.compile(r"\n{3,}")


def _line(line: str) -> str:
    if _HORIZONTAL_RULE.match(line):
        return RULE
    heading = _HEADING.match(line)
    if heading:
        title = heading.group(1)
        return f"\n{title}\n{'-' * len(title)}"
    line = _INSET.sub("", line)
    return _BULLET.sub("• ", line)


def email_plain_text(content_filled: str) -> str:
    """Plain text for a filled email body: links spelled out, markup characters removed."""
    text = "\n".join(_line(line) for line in content_filled.splitlines())
    text = _LINK.sub(lambda m: f"{m.group(1)}: {m.group(2)}" if m.group(1) else m.group(2), text)
    text = _MARKDOWN_ESCAPE.sub(r"\1", text)
    return _THREE_OR_MORE_NEWLINES.sub("\n\n", text).strip()
