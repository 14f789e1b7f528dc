"""What an upload must pass before anyone may attach it: the real type sniffed from the content
(never the name or the header), a size limit, a whole file (not truncated), and images without
their metadata (phones put the GPS position in JPEGs): upright JPEGs have their metadata segments
removed, other images are re-encoded. HEIC photos become JPEG."""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import unicodedata
from dataclasses import dataclass

import puremagic
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener
from pypdf import PdfReader
from pypdf.errors import PdfReadError

register_heif_opener()

# The formats citizens may upload, by the catalog's names, with what they are stored as.
FORMATS = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png", "heic": "image/heic"}
STORED_AS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/heic": "jpeg",
}
MAX_PIXELS = 50_000_000  # a 50-megapixel photo; beyond it is a decompression bomb, not a scan


class Refused(Exception):
    """The upload cannot be accepted; `messages` says why in Indonesian and English."""

    def __init__(self, reason: str, indonesian: str, english: str) -> None:
        super().__init__(english)
        self.reason = reason
        self.messages = {"id": indonesian, "en": english}


@dataclass(frozen=True)
class Checked:
    """An upload that passed: what to store."""

    content: bytes
    content_type: str
    size: int
    sha256: str


def sniff(head: bytes) -> str | None:
    """The media type the content's first bytes say, among the accepted ones; None otherwise."""
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        return None
    for match in matches:
        mime = (match.mime_type or "").lower()
        extension = (match.extension or "").lower()
        if mime == "application/pdf" or extension == ".pdf":
            return "application/pdf"
        if mime in ("image/jpeg", "image/jpg") or extension in (".jpg", ".jpeg"):
            return "image/jpeg"
        if mime == "image/png" or extension == ".png":
            return "image/png"
        if mime in ("image/heic", "image/heif") or extension in (".heic", ".heif"):
            return "image/heic"
    return None


def inspect(
    data: bytes, *, formats: list[str], max_bytes: int, sha256: str | None = None
) -> Checked:
    """Accept `data` as one of `formats` within `max_bytes`, cleaned; Refused otherwise.
    `sha256` is the data's, when it was hashed as it was read."""
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    if not data:
        raise Refused("empty", "Berkas kosong.", "The file is empty.")
    content_type = sniff(data[:4096])
    allowed = {FORMATS[f] for f in formats if f in FORMATS}
    if "image/jpeg" in allowed:
        allowed.add("image/heic")  # iPhones' photos: stored as JPEG, so wherever JPEG is
    if content_type is None or content_type not in allowed:
        names = ", ".join(f.upper() for f in formats)
        raise Refused(
            "unsupported-type",
            f"Isi berkas bukan {names}. Unggah dokumen dalam format {names}.",
            f"The file's content is not {names}. Upload a {names} document.",
        )
    if content_type == "application/pdf":
        content = _whole_pdf(data)
    else:
        content, content_type = _clean_image(data, content_type)
    if content is not data or sha256 is None:
        sha256 = hashlib.sha256(content).hexdigest()
    return Checked(content=content, content_type=content_type, size=len(content), sha256=sha256)


def too_large(max_bytes: int) -> Refused:
    """The refusal of a file over the limit."""
    megabytes = max_bytes // (1024 * 1024)
    return Refused(
        "too-large",
        f"Berkas lebih dari {megabytes} MB. Perkecil atau pindai dengan resolusi lebih rendah.",
        f"The file is larger than {megabytes} MB. Shrink it or scan at a lower resolution.",
    )


def size_differs(stored: int, declared: int) -> Refused:
    """The refusal of an upload whose stored size is not the size announced."""
    return Refused(
        "size-mismatch",
        f"Ukuran berkas yang diunggah ({stored} bita) tidak sesuai dengan yang diumumkan "
        f"({declared} bita). Unggah ulang berkas yang benar.",
        f"The uploaded file's size ({stored} bytes) differs from the size announced "
        f"({declared} bytes). Upload the right file again.",
    )


def too_many_pixels() -> Refused:
    """The refusal of an image beyond `MAX_PIXELS`."""
    megapixels = MAX_PIXELS // 1_000_000
    return Refused(
        "too-many-pixels",
        f"Gambar lebih dari {megapixels} megapiksel. Perkecil resolusinya atau pindai ulang.",
        f"The image is larger than {megapixels} megapixels. Reduce its resolution or rescan it.",
    )


def _truncated() -> Refused:
    return Refused(
        "truncated",
        "Berkas tidak utuh (terpotong saat diunggah?). Silakan unggah ulang.",
        "The file is incomplete (cut off during upload?). Please upload it again.",
    )


def _whole_pdf(data: bytes) -> bytes:
    if b"%%EOF" not in data[-2048:]:
        raise _truncated()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Refused(
                "encrypted",
                "PDF terkunci kata sandi tidak dapat diperiksa petugas. Unggah PDF tanpa sandi.",
                "A password-protected PDF cannot be read by officers. Upload it unprotected.",
            )
        if len(reader.pages) < 1:
            raise _truncated()
    except (PdfReadError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise _truncated() from exc
    return data


def _clean_image(data: bytes, content_type: str) -> tuple[bytes, str]:
    """The image re-encoded: upright, without EXIF/GPS or other metadata; HEIC as JPEG."""
    # Decoders forgive a missing end; an upload cut short must not pass for a whole one.
    trailer = data.rstrip(b"\x00")[-12:]
    if (content_type == "image/png" and not trailer.endswith(b"IEND\xaeB`\x82")) or (
        content_type == "image/jpeg" and not trailer.endswith(b"\xff\xd9")
    ):
        raise _truncated()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # a second guard: Pillow refuses only beyond twice this
    _within_pixel_limit(data)
    if content_type == "image/jpeg":
        stripped = _upright_jpeg_without_metadata(data)
        if stripped is not None:
            return stripped, "image/jpeg"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decodes every pixel: a truncated file fails here
            # In place: a 12-megapixel photo's copy costs as much as a third of its encoding.
            ImageOps.exif_transpose(image, in_place=True)
            stored = STORED_AS[content_type]
            upright = image.convert("RGB") if stored == "jpeg" and image.mode != "RGB" else image
            # Into a file, not a BytesIO: Pillow encodes into a file with the GIL released, but
            # holds it through a whole encoding into memory (about 100 ms for a 12-megapixel
            # photo), stalling the event loop and every other upload meanwhile.
            with tempfile.TemporaryFile() as out:
                # Saved without `exif=` or `pnginfo=`, and with an empty JPEG comment (Pillow
                # would carry the original's over): no metadata survives.
                if stored == "jpeg":
                    upright.save(out, format="JPEG", quality=90, comment=b"")
                else:
                    upright.save(out, format="PNG")
                out.seek(0)
                content = out.read()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _truncated() from exc
    return content, f"image/{stored}"


def _within_pixel_limit(data: bytes) -> None:
    """Refuse an image beyond `MAX_PIXELS` from the size in its header, before any pixel is
    decoded (`Image.open` reads only the header)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError:  # Pillow's own check, beyond twice the limit
        raise too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise _truncated() from exc
    if width * height > MAX_PIXELS:
        raise too_many_pixels()


def _upright_jpeg_without_metadata(data: bytes) -> bytes | None:
    """An upright JPEG photo without its metadata, its image data kept byte for byte; None
    when it must be re-encoded (turned by its EXIF, CMYK, or not plainly structured).

    Re-encoding a 5 MB photo cost 275 ms of CPU; this costs a decode at an eighth of the size
    (which still reads every byte of the image data: a damaged file fails here too)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.mode not in ("RGB", "L") or image.getexif().get(ORIENTATION, 1) != 1:
                return None
            size = image.size
            image.draft(image.mode, (max(1, size[0] // 8), max(1, size[1] // 8)))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _truncated() from exc
    stripped = _jpeg_segments_kept(data)
    if stripped is None:
        return None
    with Image.open(io.BytesIO(stripped)) as check:
        if check.size != size or check.getexif() or "comment" in check.info:
            return None
    return stripped


ORIENTATION = 0x0112
# Kept: APP0 (JFIF: pixel density) and APP14 (Adobe: how to read the colours). Every other APPn
# segment (EXIF with its GPS position and thumbnail, XMP, ICC, IPTC, maker notes, the extra
# images of MPF) and every comment is dropped.
KEPT_APPLICATION_SEGMENTS = {0xE0, 0xEE}


def _jpeg_segments_kept(jpeg: bytes) -> bytes | None:
    """The JPEG's segments up to its end marker, without metadata; None if it is not laid out
    as ITU T.81 says (the caller then re-encodes it). No maintained Python library removes a
    JPEG's metadata without re-encoding; this walks the segment list and copies the rest."""
    if not jpeg.startswith(b"\xff\xd8"):
        return None
    kept = [b"\xff\xd8"]
    at, end = 2, len(jpeg)
    while at < end:
        if jpeg[at] != 0xFF:
            return None
        while at < end and jpeg[at] == 0xFF:  # fill bytes before a marker
            at += 1
        if at >= end:
            return None
        marker = jpeg[at]
        at += 1
        if marker == 0xD9:  # end of image: anything after it is dropped
            kept.append(b"\xff\xd9")
            return b"".join(kept)
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            kept.append(bytes((0xFF, marker)))
            continue
        length = int.from_bytes(jpeg[at : at + 2], "big")
        if length < 2 or at + length > end:
            return None
        segment_end = at + length
        if marker == 0xDA:  # start of scan: its header, then image data up to the next marker
            scan = segment_end
            while True:
                scan = jpeg.find(b"\xff", scan)
                if scan < 0 or scan + 1 >= end:
                    return None
                following = jpeg[scan + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffed byte, restart
                    scan += 2
                elif following == 0xFF:
                    scan += 1
                else:
                    break
            kept.append(b"\xff\xda" + jpeg[at:scan])
            at = scan
            continue
        metadata = 0xE0 <= marker <= 0xEF and marker not in KEPT_APPLICATION_SEGMENTS
        if not metadata and marker != 0xFE:
            kept.append(bytes((0xFF, marker)) + jpeg[at:segment_end])
        at = segment_end
    return None


def safe_filename(name: str | None) -> str:
    """A file name fit to show: no path, no control or markup characters, at most 100 characters."""
    text = unicodedata.normalize("NFKC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "", text).strip(" .")
    return text[:100] or "dokumen"
