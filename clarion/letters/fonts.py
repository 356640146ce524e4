"""The TrueType fonts letters are set in, registered with reportlab once per process.

Print houses want every font embedded, and reportlab embeds (a subset of) TrueType fonts but not its
14 built-in PostScript fonts, which also cover only Latin-1. The default is Bitstream Vera, which
reportlab ships, so a letter renders on any machine; it lacks a few characters (Welsh ŵ and ŷ, some
Polish letters), so LETTER_FONT_PATH / LETTER_BOLD_FONT_PATH can name a fuller font such as DejaVu Sans.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from clarion.config import Settings

__all__ = ["DEFAULT_FONTS", "LetterFonts", "RegisteredFonts", "fonts_from_settings", "missing_characters", "register"]


@dataclass(frozen=True)
class LetterFonts:
    """A regular and a bold TrueType font file; None means reportlab's own Vera."""

    regular: Path | None = None
    bold: Path | None = None


@dataclass(frozen=True)
class RegisteredFonts:
    """The reportlab names of a registered font pair."""

    regular: str
    bold: str


DEFAULT_FONTS = LetterFonts()
_BUNDLED = {"regular": "Vera.ttf", "bold": "VeraBd.ttf"}  # found on reportlab's own font path
_registered: dict[LetterFonts, RegisteredFonts] = {}
_lock = threading.Lock()


def fonts_from_settings(settings: Settings) -> LetterFonts:
    """The fonts LETTER_FONT_PATH and LETTER_BOLD_FONT_PATH name (each defaults to Vera)."""
    return LetterFonts(regular=settings.letter_font_path, bold=settings.letter_bold_font_path)


def register(fonts: LetterFonts = DEFAULT_FONTS) -> RegisteredFonts:
    """Register the pair with reportlab (once) and return the names to draw with."""
    with _lock:
        known = _registered.get(fonts)
        if known is None:
            known = _register(fonts)
            _registered[fonts] = known
        return known


def _register(fonts: LetterFonts) -> RegisteredFonts:
    regular_file = str(fonts.regular) if fonts.regular else _BUNDLED["regular"]
    bold_file = str(fonts.bold) if fonts.bold else _BUNDLED["bold"]
    # Names derive from the files, so two different pairs never overwrite each other's registration.
    tag = hashlib.sha1(f"{regular_file}\0{bold_file}".encode()).hexdigest()[:8]
    names = RegisteredFonts(regular=f"ClarionLetter-{tag}", bold=f"ClarionLetterBold-{tag}")
    pdfmetrics.registerFont(TTFont(names.regular, regular_file))
    pdfmetrics.registerFont(TTFont(names.bold, bold_file))
    # Paragraph markup's <b> looks the bold face up through these mappings.
    addMapping(names.regular, 0, 0, names.regular)
    addMapping(names.regular, 1, 0, names.bold)
    addMapping(names.regular, 0, 1, names.regular)
    addMapping(names.regular, 1, 1, names.bold)
    return names


def missing_characters(font_name: str, text: str) -> set[str]:
    """The characters of `text` the registered font has no glyph for (they would print as a box)."""
    covered = pdfmetrics.getFont(font_name).face.charToGlyph
    return {character for character in set(text) if character.isprintable() and ord(character) not in covered}
