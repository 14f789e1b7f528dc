"""The photos of a paper document's pages (a KK, a letter of several sheets), taken one by one on
a phone, made into one PDF: each page is checked and cleaned as any uploaded photo is, then laid
on an A4 sheet in the order sent. The PDF then passes the checks of any upload."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from documents import checks

# A KK is one or two sheets, a letter a few; twenty photos are a bundle, not one document.
MAX_PAGES = 20
PAGE_FORMATS = ["jpeg", "png", "heic"]
# Twenty phone photos at 2000 px are 60 megapixels. The bound keeps one request's decoding within
# twice that of the largest single photo: a few kilobytes of PNG can be 50 megapixels.
MAX_TOTAL_PIXELS = 2 * checks.MAX_PIXELS


class PageRefused(checks.Refused):
    """A page that cannot be accepted; `page` is its number, from 1."""

    def __init__(self, page: int, refusal: checks.Refused) -> None:
        if refusal.reason == "unsupported-type":
            indonesian = f"Halaman {page} bukan foto (JPEG, PNG atau HEIC). Ambil ulang fotonya."
            english = f"Page {page} is not a photo (JPEG, PNG or HEIC). Take the photo again."
        else:
            indonesian = f"Halaman {page}: {refusal.messages['id']}"
            english = f"Page {page}: {refusal.messages['en']}"
        super().__init__(refusal.reason, indonesian, english)
        self.page = page


def too_many_pages() -> checks.Refused:
    """The refusal of more than `MAX_PAGES` pages."""
    return checks.Refused(
        "too-many-pages",
        f"Paling banyak {MAX_PAGES} halaman untuk satu dokumen.",
        f"At most {MAX_PAGES} pages make one document.",
    )


def pdf_not_accepted(formats: list[str]) -> checks.Refused:
    """The refusal of pages for a requirement that takes no PDF: they cannot become one."""
    names = ", ".join(f.upper() for f in formats)
    return checks.Refused(
        "unsupported-type",
        f"Dokumen ini diterima dalam format {names}, bukan PDF: unggah fotonya satu per satu.",
        f"This document is accepted as {names}, not PDF: upload the photos one by one.",
    )


def too_many_pixels() -> checks.Refused:
    """The refusal of pages beyond `MAX_TOTAL_PIXELS` together."""
    megapixels = MAX_TOTAL_PIXELS // 1_000_000
    return checks.Refused(
        "too-many-pixels",
        f"Foto-foto halamannya bersama lebih dari {megapixels} megapiksel. Perkecil fotonya.",
        f"The pages' photos are over {megapixels} megapixels together. Make them smaller.",
    )


def combine(pages: list[bytes], *, max_bytes: int) -> bytes:
    """One PDF of `pages` (photos), each checked and cleaned as an upload, within `max_bytes` in
    all; `checks.Refused` (a `PageRefused` naming the page) otherwise."""
    if len(pages) > MAX_PAGES:
        raise too_many_pages()
    if sum(_pixels(page) for page in pages) > MAX_TOTAL_PIXELS:
        raise too_many_pixels()
    cleaned: list[checks.Checked] = []
    total = 0
    for number, data in enumerate(pages, start=1):
        try:
            page = checks.inspect(data, formats=PAGE_FORMATS, max_bytes=max_bytes)
        except checks.Refused as exc:
            raise PageRefused(number, exc) from None
        total += page.size
        if total > max_bytes:  # the PDF holds every page's bytes: it would be over the limit too
            raise checks.too_large(max_bytes)
        cleaned.append(page)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    with tempfile.TemporaryDirectory() as folder:
        for number, page in enumerate(cleaned, start=1):
            _draw(pdf, page, Path(folder) / f"{number}.jpg")
            pdf.showPage()
        pdf.save()
    return out.getvalue()


def _pixels(data: bytes) -> int:
    """The pixels a photo's header announces, before any is decoded; 0 when it has none (the
    page's own check then says why)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        return 0
    return width * height


def _draw(pdf: canvas.Canvas, page: checks.Checked, spare: Path) -> None:
    """The photo on an A4 sheet turned its way, as large as fits."""
    with Image.open(io.BytesIO(page.content)) as opened:  # reads the header only
        width, height = opened.size
        image: str | ImageReader
        if page.content_type == "image/jpeg":
            # From a .jpg file, reportlab puts a JPEG into the PDF as it is: its pixels are
            # neither decoded (a large photo would take hundreds of MB) nor encoded again.
            spare.write_bytes(page.content)
            image = str(spare)
        else:
            flat = opened.convert("RGBA")
            background = Image.new("RGB", flat.size, "white")  # transparency shows as paper
            background.paste(flat, mask=flat.getchannel("A"))
            image = ImageReader(background)
    sheet = landscape(A4) if width > height else A4
    pdf.setPageSize(sheet)
    pdf.drawImage(image, 0, 0, *sheet, preserveAspectRatio=True, anchor="c")
