"""The issued output as a one-page A4 PDF: what it certifies, verification code, and a QR code
to check it.

Text is set in DejaVu Sans, bundled with the package (`fonts/`, subset to the Latin scripts), so
every Indonesian name prints as written — `Nurḥalizah`, `Đặng` — whatever the machine has
installed; a character outside it is transliterated (`Ｓ` prints as `S`, `李` as `?`)
rather than dropped.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import registerFont, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONTS = Path(__file__).parent / "fonts"
REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
ITALIC = "DejaVuSans-Oblique"
GREY = Color(0.35, 0.35, 0.35)
RULE = Color(0.6, 0.6, 0.6)

# Typed here: reportlab ships no type hints, and Any would spread through every coordinate.
MM: float = mm
PAGE_WIDTH: float = A4[0]
PAGE_HEIGHT: float = A4[1]
MARGIN = 20 * MM
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
LABEL_WIDTH = 52 * MM
QR_QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 requires
QR_SIZE = 44 * MM  # with its quiet zone: ~1 mm modules, easy for a phone camera on paper
BOX_PADDING = 4 * MM
ROW_GAP = 5 * MM  # between lines of the details, less when many lines must fit
MIN_ROW_GAP = 1.5 * MM
EMPTY = "-"  # an optional answer not given, as the national forms print it

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


@dataclass(frozen=True, slots=True)
class PrintedLine:
    """One line of what the output certifies: its labels and its value, as printed."""

    label_id: str
    label_en: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputFacts:
    """What an issued output says about itself."""

    regency_name: str  # the bare name, "Sinjai"
    service_name_id: str
    service_name_en: str
    agency_name: str
    holder_name: str
    tracking_number: str
    issued_at: dt.datetime  # a naive value is taken as UTC, as the store returns it
    valid_until: dt.date | None  # None: valid without limit
    verification_code: str
    verify_url: str
    timezone: str = "Asia/Makassar"  # the regency's, for the printed issue date
    # The document's own title (else the service's name) and what it certifies, in order; with
    # no lines, the holder's name is what it prints.
    title_id: str | None = None
    title_en: str | None = None
    lines: tuple[PrintedLine, ...] = ()


def render(facts: OutputFacts) -> bytes:
    """The output as a one-page A4 PDF; the same facts always give the same bytes."""
    _register_fonts()
    buffer = io.BytesIO()
    # invariant: no timestamp or random file id, so re-rendering reproduces the signed bytes.
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1, lang="id-ID")
    canvas.setTitle(f"{facts.title_id or facts.service_name_id} — {facts.tracking_number}")
    canvas.setAuthor(f"{facts.agency_name}, Pemerintah Kabupaten {facts.regency_name}")
    canvas.setSubject(f"Dokumen elektronik, kode verifikasi {facts.verification_code}")
    canvas.setCreator("MPP Elektronik")

    top = _draw_header(canvas, facts, PAGE_HEIGHT - MARGIN)
    top = _draw_title(canvas, facts, top - 12 * MM)
    footer_top = _draw_footer(canvas, facts)
    box_bottom = footer_top + 8 * MM
    _draw_verification(canvas, facts, box_bottom)
    _draw_details(canvas, facts, top - 8 * MM, bottom=box_bottom + QR_SIZE + 2 * BOX_PADDING)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code printed for `url`: rows top to bottom, True for a dark module."""
    # Never Micro QR: not every phone's camera app reads it.
    code = segno.make_qr(url, error="m")
    return tuple(tuple(bool(module) for module in row) for row in code.matrix)


def issue_date(facts: OutputFacts) -> dt.date:
    """The day the output was issued, in the regency's time zone."""
    moment = facts.issued_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(facts.timezone)).date()


def format_date(day: dt.date) -> str:
    """A date the Indonesian way: `17 Agustus 2026`."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _draw_header(canvas: Canvas, facts: OutputFacts, top: float) -> float:
    text = _printable(
        f"PEMERINTAH KABUPATEN {facts.regency_name} — MAL PELAYANAN PUBLIK ELEKTRONIK".upper()
    )
    size = _fitting_size(text, BOLD, 12, CONTENT_WIDTH)
    baseline = top - size
    canvas.setFont(BOLD, size)
    canvas.drawCentredString(PAGE_WIDTH / 2, baseline, text)
    # The thick-and-thin double rule under the letterhead of Indonesian government documents.
    rule = baseline - 3 * MM
    canvas.setLineWidth(1.5)
    canvas.line(MARGIN, rule, PAGE_WIDTH - MARGIN, rule)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN, rule - 1 * MM, PAGE_WIDTH - MARGIN, rule - 1 * MM)
    return rule - 1 * MM


def _draw_title(canvas: Canvas, facts: OutputFacts, top: float) -> float:
    title_id = facts.title_id or facts.service_name_id
    title_en = facts.title_en or facts.service_name_en
    y = _draw_centred(canvas, title_id, BOLD, 18, top, max_lines=3)
    canvas.setFillColor(GREY)
    y = _draw_centred(canvas, title_en, ITALIC, 11, y - 1 * MM, max_lines=2)
    canvas.setFillColor(black)
    return y


def detail_rows(facts: OutputFacts) -> list[PrintedLine]:
    """The lines of the details, in printed order: what the output certifies, then its issue."""
    valid_until = "Tidak terbatas" if facts.valid_until is None else format_date(facts.valid_until)
    certified = list(facts.lines) or [PrintedLine("Nama pemegang", "Holder", facts.holder_name)]
    return [
        *certified,
        PrintedLine("Nomor lacak", "Tracking number", facts.tracking_number),
        PrintedLine("Instansi penerbit", "Issuing agency", facts.agency_name),
        PrintedLine("Tanggal terbit", "Issued on", format_date(issue_date(facts))),
        PrintedLine("Berlaku sampai", "Valid until", valid_until),
    ]


def _draw_details(canvas: Canvas, facts: OutputFacts, top: float, *, bottom: float) -> float:
    rows = detail_rows(facts)
    value_width = CONTENT_WIDTH - LABEL_WIDTH
    room = top - bottom - 4 * MM
    # Each label over its English; when a long definition does not fit so, each label beside
    # its English on one smaller line.
    for compact in (False, True):
        size, leading = (10.0, 12.0) if compact else (11.0, 14.0)
        values = [_lines(row.value or EMPTY, BOLD, size, value_width, max_lines=2) for row in rows]
        first = 12.0 if compact else 19.0
        heights = [max(first, 10 + leading * (len(lines) - 1)) for lines in values]
        if sum(heights) + MIN_ROW_GAP * len(rows) <= room:
            break
    # The gap shrinks so that the last line still ends above the verification box.
    gap = max(MIN_ROW_GAP, min(ROW_GAP, (room - sum(heights)) / max(1, len(rows))))
    value_x = MARGIN + LABEL_WIDTH
    label_width = LABEL_WIDTH - 3 * MM
    y = top
    for row, lines, height in zip(rows, values, heights, strict=True):
        if compact:
            label = _lines(
                f"{row.label_id} / {row.label_en}", REGULAR, 8.5, label_width, max_lines=1
            )
            canvas.setFont(REGULAR, 8.5)
            canvas.drawString(MARGIN, y - 9, label[0] if label else "")
        else:
            label_id = _lines(row.label_id, REGULAR, 9.5, label_width, max_lines=1)
            canvas.setFont(REGULAR, 9.5)
            canvas.drawString(MARGIN, y - 10, label_id[0] if label_id else "")
            canvas.setFont(ITALIC, 7.5)
            canvas.setFillColor(GREY)
            label_en = _lines(row.label_en, ITALIC, 7.5, label_width, max_lines=1)
            canvas.drawString(MARGIN, y - 19, label_en[0] if label_en else "")
            canvas.setFillColor(black)
        canvas.setFont(BOLD, size)
        for index, line in enumerate(lines):
            canvas.drawString(value_x, y - (9 if compact else 10) - leading * index, line)
        y -= height + gap
    return y


def _draw_verification(canvas: Canvas, facts: OutputFacts, bottom: float) -> None:
    height = QR_SIZE + 2 * BOX_PADDING
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.75)
    canvas.roundRect(MARGIN, bottom, CONTENT_WIDTH, height, 3 * MM, stroke=1, fill=0)
    canvas.setStrokeColor(black)

    qr_x, qr_y = MARGIN + BOX_PADDING, bottom + BOX_PADDING
    _draw_qr(canvas, qr_matrix(facts.verify_url), qr_x, qr_y, QR_SIZE)
    canvas.linkURL(facts.verify_url, (qr_x, qr_y, qr_x + QR_SIZE, qr_y + QR_SIZE), relative=0)

    x = qr_x + QR_SIZE + 6 * MM
    width = PAGE_WIDTH - MARGIN - BOX_PADDING - x
    y = bottom + height - BOX_PADDING - 10
    canvas.setFont(BOLD, 10)
    canvas.drawString(x, y, "KODE VERIFIKASI")
    canvas.setFont(ITALIC, 8)
    canvas.setFillColor(GREY)
    canvas.drawString(x, y - 10, "Verification code")
    canvas.setFillColor(black)

    code = _printable(facts.verification_code)
    size = _fitting_size(code, BOLD, 28, width)
    y -= 14 + size
    canvas.setFont(BOLD, size)
    canvas.drawString(x, y, code)

    y -= 9 * MM
    canvas.setFont(REGULAR, 9)
    canvas.drawString(x, y, "Periksa di / Check at:")
    url = _printable(facts.verify_url)
    url_size = _fitting_size(url, REGULAR, 9, width)
    y -= 11
    canvas.setFont(REGULAR, url_size)
    canvas.drawString(x, y, url)
    canvas.linkURL(facts.verify_url, (x, y - 2, x + width, y + url_size), relative=0)


def _draw_qr(
    canvas: Canvas, matrix: tuple[tuple[bool, ...], ...], x: float, y: float, size: float
) -> None:
    # One module per unit inside a form, scaled into place: the form's rectangles are the
    # matrix itself, which is what lets tests read the printed code back out of the PDF.
    modules = len(matrix)
    total = modules + 2 * QR_QUIET_ZONE
    canvas.beginForm("qr", 0, 0, total, total)
    canvas.setFillColor(white)
    canvas.rect(0, 0, total, total, stroke=0, fill=1)
    canvas.setFillColor(black)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        bottom = QR_QUIET_ZONE + modules - 1 - row_index  # PDF's y axis points up
        column = 0
        while column < modules:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < modules and row[column]:
                column += 1
            path.rect(QR_QUIET_ZONE + start, bottom, column - start, 1)
    # One fill for the whole symbol: separate fills leave hairline seams in some viewers.
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.endForm()

    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(size / total, size / total)
    canvas.doForm("qr")
    canvas.restoreState()


def _draw_footer(canvas: Canvas, facts: OutputFacts) -> float:
    """Draws the footer down to the bottom margin; returns its top."""
    url = facts.verify_url
    indonesian = _lines(
        "Dokumen ini ditandatangani secara elektronik. "
        f"Pindai kode QR atau buka {url} untuk memeriksa keasliannya.",
        REGULAR,
        9,
        CONTENT_WIDTH,
        max_lines=3,
    )
    english = _lines(
        f"This document is signed electronically. Scan the QR code or open {url} "
        "to check that it is authentic.",
        ITALIC,
        7.5,
        CONTENT_WIDTH,
        max_lines=3,
    )
    top = MARGIN + 11.5 * len(indonesian) + 9.5 * len(english) + 4
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN, top, PAGE_WIDTH - MARGIN, top)
    canvas.setStrokeColor(black)
    y = top - 4
    canvas.setFont(REGULAR, 9)
    for line in indonesian:
        y -= 11.5
        canvas.drawCentredString(PAGE_WIDTH / 2, y + 2.5, line)
    canvas.setFillColor(GREY)
    canvas.setFont(ITALIC, 7.5)
    for line in english:
        y -= 9.5
        canvas.drawCentredString(PAGE_WIDTH / 2, y + 2, line)
    canvas.setFillColor(black)
    return top


def _draw_centred(
    canvas: Canvas, text: str, font: str, size: float, top: float, *, max_lines: int
) -> float:
    """Draws wrapped, centred lines below `top`; returns the bottom of the last line."""
    canvas.setFont(font, size)
    y = top
    for line in _lines(text, font, size, CONTENT_WIDTH, max_lines=max_lines):
        y -= size * 1.2
        canvas.drawCentredString(PAGE_WIDTH / 2, y, line)
    return y - size * 0.3


def _lines(text: str, font: str, size: float, width: float, *, max_lines: int) -> list[str]:
    """`text` wrapped to `width`; past `max_lines` the last line ends in an ellipsis."""
    lines: list[str] = simpleSplit(_printable(text), font, size, width)
    if len(lines) <= max_lines:
        return lines
    last = " ".join(lines[max_lines - 1 :])
    while last and stringWidth(last + "…", font, size) > width:
        last = last[:-1]
    return [*lines[: max_lines - 1], last.rstrip() + "…"]


def _fitting_size(text: str, font: str, size: float, width: float) -> float:
    """`size`, or smaller so that `text` fits on one line of `width`."""
    natural: float = stringWidth(text, font, size)
    return size if natural <= width else size * width / natural


def _printable(text: str) -> str:
    """`text` in characters the bundled font has, others transliterated."""
    printable: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if not char.isprintable():
            printable.append(" ")
        elif _in_font(char):
            printable.append(char)
        else:
            base = "".join(
                part
                for part in unicodedata.normalize("NFKD", char)
                if not unicodedata.combining(part) and _in_font(part)
            )
            printable.append(base or "?")
    return "".join(printable)


@functools.cache
def _register_fonts() -> frozenset[int]:
    """Register the bundled fonts once (on first use, not on import); the characters they have."""
    fonts = [TTFont(name, str(FONTS / f"{name}.ttf")) for name in (REGULAR, BOLD, ITALIC)]
    for font in fonts:
        registerFont(font)
    # Only what all three have, so a bold value never shows an empty box.
    return frozenset.intersection(*(frozenset(font.face.charToGlyph) for font in fonts))


def _in_font(char: str) -> bool:
    return ord(char) in _register_fonts()
