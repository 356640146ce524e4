"""Notify-flavoured markdown to HTML for email bodies.

Notify's email markdown is small: ``#`` headings, ``*``/``-``/``•`` bullets, numbered lists, ``^``
inset text, ``---`` rules, ``[text](url)`` links and bare URLs made clickable, single newlines kept
as line breaks. Raw HTML, emphasis, code and images are not markup there, so they are switched off
here: ``user_name`` stays as typed and ``<b>`` shows as text.
"""

from __future__ import annotations

import html
import re
import threading
import xml.etree.ElementTree as etree

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.util import AtomicString

__all__ = ["prepare_template", "to_html"]

_INSET = re.compile(r"^\^ ?", re.MULTILINE)
_BULLET = re.compile(r"^•\s*", re.MULTILINE)
_BARE_URL = r"(https?://[^\s<>\"']*[^\s<>\"'.,:;!?)\]])"
_DISABLED_INLINE = ("backtick", "image_link", "image_reference", "short_image_ref", "html", "em_strong", "em_strong2",
                    "not_strong")
_DISABLED_BLOCK = ("code", "setextheader")

_local = threading.local()


class _BareUrlProcessor(InlineProcessor):
    """Turns a URL written in running text into a link, as Notify's emails do."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[etree.Element, int, int]:  # noqa: N802
        link = etree.Element("a", {"href": m.group(1)})
        link.text = AtomicString(m.group(1))
        return link, m.start(0), m.end(0)


class _NotifyMarkdown(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        for name in _DISABLED_INLINE:
            if name in md.inlinePatterns:
                md.inlinePatterns.deregister(name)
        for name in _DISABLED_BLOCK:
            if name in md.parser.blockprocessors:
                md.parser.blockprocessors.deregister(name)
        # Priority 95 runs after explicit links but before entities, so &amp; in a query survives.
        md.inlinePatterns.register(_BareUrlProcessor(_BARE_URL, md), "bare_url", 95)


def _converter() -> markdown.Markdown:
    # A Markdown instance is not thread-safe but is costly to build, so keep one per thread.
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = markdown.Markdown(extensions=["nl2br", "sane_lists", _NotifyMarkdown()], output_format="html")
        _local.converter = converter
    return converter.reset()


def prepare_template(content: str) -> str:
    """Template source made safe for to_html: HTML escaped, ^ insets and • bullets made markdown."""
    escaped = html.escape(content, quote=False)
    return _BULLET.sub("* ", _INSET.sub("> ", escaped))


def to_html(prepared: str) -> str:
    """HTML for prepared, filled markdown whose personalisation values are already HTML-escaped."""
    return _converter().convert(prepared)
