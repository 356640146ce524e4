"""Letters rendered per second and peak memory, for a one-page and a ten-page letter.

Renders each letter to PDF in this process (clarion.letters.render, one core), then runs the
precompiled check over the PDF it made, as a worker does for every precompiled letter. Peak memory
is reported two ways: the largest Python heap one render needs (tracemalloc, measured on a separate
run so its bookkeeping does not slow the timed loop), and the process's peak resident size.

    python benchmarks/letters.py                    # 200 renders of each letter
    python benchmarks/letters.py --letters 1000
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from collections.abc import Callable
from datetime import date

from clarion.letters.precompiled import CheckedLetter, check_precompiled
from clarion.letters.render import LetterContent, RenderedPdf, render_pdf

PARAGRAPH = ("Your application has been received and will be processed within the next ten working days. "
             "If we need more information we will write to you at the address above, quoting the reference "
             "at the top of this letter. Please keep this letter for your records.")


def letter(pages: int) -> LetterContent:
    """A letter whose body fills `pages` pages: headings, paragraphs and a list on each."""
    page = (f"## Section\n\n{PARAGRAPH}\n\n* first point to note\n* second point to note\n\n"
            + "\n\n".join([PARAGRAPH] * 5))
    body = "\n\n***\n\n".join([page] * pages)
    return LetterContent(
        address_lines=("Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH"),
        subject="Your application", body=body,
        contact_block="Licensing Office\nPO Box 123\nSwansea\nSA1 1AA\n0300 123 4567", date=date(2026, 11, 22),
    )


def rate(work: Callable[[], object], count: int) -> float:
    """Calls per second of `work`, over `count` calls."""
    started = time.perf_counter()
    for _ in range(count):
        work()
    return count / (time.perf_counter() - started)


def peak_heap_mib(work: Callable[[], object]) -> float:
    """The most Python heap one call holds at once."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(pages: int, count: int) -> None:
    content = letter(pages)
    rendered: RenderedPdf = render_pdf(content)  # also warms up the font registration
    if rendered.pages != pages:
        raise SystemExit(f"the {pages}-page benchmark letter rendered to {rendered.pages} pages; fix letter()")
    checked = check_precompiled(rendered.pdf)
    if not isinstance(checked, CheckedLetter):
        raise SystemExit(f"the benchmark letter failed its own check: {checked}")
    rendered_per_s = rate(lambda: render_pdf(content), count)
    checked_per_s = rate(lambda: check_precompiled(rendered.pdf), max(count // 4, 1))
    render_heap = peak_heap_mib(lambda: render_pdf(content))
    check_heap = peak_heap_mib(lambda: check_precompiled(rendered.pdf))
    print(f"  {pages:>2}-page letter   rendered {rendered_per_s:7.1f}/s ({1000 / rendered_per_s:5.1f} ms each), "
          f"checked {checked_per_s:7.1f}/s; {len(rendered.pdf) / 1024:5.1f} KiB, {rendered.sheets} sheets; "
          f"peak heap: render {render_heap:5.2f} MiB, check {check_heap:5.2f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=200, help="renders of each letter to time")
    args = parser.parse_args()
    print(f"letters: {args.letters} renders of each letter, one process, one core")
    for pages in (1, 10):
        measure(pages, args.letters)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident size of this process: {peak_rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
