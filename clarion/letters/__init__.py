"""Letters as paper: rendering a template letter to PDF, checking a precompiled PDF, keeping PDFs in
a folder or S3, and scanning precompiled PDFs for viruses with clamd.

These are building blocks with no database or queue: `clarion.delivery` and the API call them.

  render        LetterContent -> RenderedPdf (PDF bytes, pages, sheets)
  precompiled   PDF bytes -> CheckedLetter (address lines, pages) or RefusedLetter (Notify's reason)
  storage       LetterStore: LocalFolderStore, S3Store; the scan and PDF buckets
  virus_scan    Scanner: ClamdScanner, NoScanner -> ScanResult (clean, infected, error)
  layout        the page geometry both rendering and checking use
"""

from clarion.letters.fonts import LetterFonts, fonts_from_settings
from clarion.letters.precompiled import CheckedLetter, RefusedLetter, check_precompiled
from clarion.letters.render import LetterContent, RenderedPdf, render_pdf, sheets_for
from clarion.letters.storage import (
    LetterStore,
    LetterStores,
    LocalFolderStore,
    S3Store,
    StorageError,
    letter_key,
    stores_from_settings,
)
from clarion.letters.virus_scan import ClamdScanner, NoScanner, Scanner, ScanResult, scanner_from_settings

__all__ = [
    "CheckedLetter",
    "ClamdScanner",
    "LetterContent",
    "LetterFonts",
    "LetterStore",
    "LetterStores",
    "LocalFolderStore",
    "NoScanner",
    "RefusedLetter",
    "RenderedPdf",
    "S3Store",
    "ScanResult",
    "Scanner",
    "StorageError",
    "check_precompiled",
    "fonts_from_settings",
    "letter_key",
    "render_pdf",
    "scanner_from_settings",
    "sheets_for",
    "stores_from_settings",
]
