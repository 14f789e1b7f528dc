"""What an upload must pass: its real type, whole, within the limit, photos without metadata."""

from __future__ import annotations

import io

import pillow_heif
import pytest
from PIL import Image, ImageFile
from pypdf import PdfWriter

from documents.checks import Refused, inspect, safe_filename, sniff

from ..conftest import huge_png, jpeg_with_gps, pdf_bytes

ALL = ["pdf", "jpeg", "png"]
LIMIT = 10 * 1024 * 1024


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="PNG")
    return out.getvalue()


def heic() -> bytes:
    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 48), "green")).save(out, format="HEIF")
    return out.getvalue()


def test_the_type_comes_from_the_content() -> None:
    assert sniff(pdf_bytes()[:4096]) == "application/pdf"
    assert sniff(jpeg_with_gps()[:4096]) == "image/jpeg"
    assert sniff(png()[:4096]) == "image/png"
    assert sniff(b"MZ\x90\x00" + b"\x00" * 200) is None
    assert sniff(b"<html><script>alert(1)</script></html>") is None


def test_an_iphone_photo_becomes_a_jpeg_wherever_jpegs_are_accepted() -> None:
    checked = inspect(heic(), formats=ALL, max_bytes=LIMIT)
    assert checked.content_type == "image/jpeg"
    assert sniff(checked.content[:4096]) == "image/jpeg"
    with pytest.raises(Refused) as refused:
        inspect(heic(), formats=["pdf"], max_bytes=LIMIT)
    assert refused.value.reason == "unsupported-type"


def test_photos_are_reencoded_without_exif() -> None:
    checked = inspect(jpeg_with_gps(), formats=ALL, max_bytes=LIMIT)
    with Image.open(io.BytesIO(checked.content)) as image:
        assert not image.getexif()


def photo_with_every_kind_of_metadata(*, progressive: bool = False) -> bytes:
    """A phone photo with EXIF (GPS, maker), XMP, an ICC profile, IPTC, a comment, and a second
    image after its end."""
    image = Image.effect_noise((96, 64), 60).convert("RGB")
    exif = image.getexif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (5.0, 7.0, 30.0), "E", (120.0, 15.0, 0.0)
    out = io.BytesIO()
    image.save(
        out,
        format="JPEG",
        exif=exif,
        comment=b"Jl. Merdeka 7, Sinjai",
        icc_profile=b"ICC-PROFILE-HOME-ADDRESS" * 4,
        progressive=progressive,
        quality=85,
    )
    data = out.getvalue()

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload

    xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>Sinjai</x:xmpmeta>")
    iptc = segment(0xED, b"Photoshop 3.0\x00" + b"8BIM caption: Jl. Merdeka 7")
    second = io.BytesIO()  # as MPF photos carry a second image after the first one's end
    Image.new("RGB", (8, 8), "red").save(second, format="JPEG", comment=b"Jl. Merdeka 7")
    return data[:2] + xmp + iptc + data[2:] + second.getvalue()


METADATA = [b"Exif", b"PhoneMaker", b"ns.adobe.com/xap", b"ICC-PROFILE", b"Photoshop", b"Merdeka"]


@pytest.mark.parametrize("progressive", [False, True])
def test_upright_photos_keep_their_image_data_and_lose_every_metadata_segment(
    progressive: bool,
) -> None:
    original = photo_with_every_kind_of_metadata(progressive=progressive)
    checked = inspect(original, formats=ALL, max_bytes=LIMIT)
    assert checked.content_type == "image/jpeg"
    for trace in METADATA:
        assert trace not in checked.content, trace
    with (
        Image.open(io.BytesIO(original)) as before,
        Image.open(io.BytesIO(checked.content)) as after,
    ):
        assert after.size == before.size
        assert after.tobytes() == before.tobytes()  # not re-encoded: the very same pixels
        assert not after.getexif()
        assert "icc_profile" not in after.info


def test_photos_lose_their_comment_and_are_turned_upright() -> None:
    image = Image.new("RGB", (40, 30), "navy")
    exif = image.getexif()
    exif[0x0112] = 6  # taken holding the phone upright: to be turned a quarter
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"Jl. Merdeka 7, Sinjai")
    checked = inspect(out.getvalue(), formats=ALL, max_bytes=LIMIT)
    with Image.open(io.BytesIO(checked.content)) as cleaned:
        assert cleaned.size == (30, 40)
        assert "comment" not in cleaned.info
        assert not cleaned.getexif()


def test_pdfs_are_kept_byte_for_byte() -> None:
    content = pdf_bytes()
    assert inspect(content, formats=ALL, max_bytes=LIMIT).content == content


@pytest.mark.parametrize(
    ("content", "formats", "limit", "reason"),
    [
        (pdf_bytes()[:-200], ALL, LIMIT, "truncated"),
        (png()[:-20], ALL, LIMIT, "truncated"),
        (b"%PDF-1.7\n" + b"0" * 100, ALL, LIMIT, "truncated"),
        (pdf_bytes(), ["jpeg", "png"], LIMIT, "unsupported-type"),
        (pdf_bytes(), ALL, 100, "too-large"),
        (b"", ALL, LIMIT, "empty"),
    ],
)
def test_bad_uploads_are_refused_with_their_reason(
    content: bytes, formats: list[str], limit: int, reason: str
) -> None:
    with pytest.raises(Refused) as refused:
        inspect(content, formats=formats, max_bytes=limit)
    assert refused.value.reason == reason
    assert refused.value.messages["id"] and refused.value.messages["en"]


def test_a_password_protected_pdf_is_refused() -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("rahasia")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(Refused) as refused:
        inspect(out.getvalue(), formats=ALL, max_bytes=LIMIT)
    assert refused.value.reason == "encrypted"


def test_a_decompression_bomb_is_refused() -> None:
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, format="PNG")  # tiny file, 144 megapixels
    with pytest.raises(Refused) as refused:
        inspect(out.getvalue(), formats=ALL, max_bytes=LIMIT)
    assert refused.value.reason == "too-many-pixels"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_over_the_pixel_limit_is_refused_from_its_header_without_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def decode(self: ImageFile.ImageFile) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)
    # 81 megapixels: below twice Pillow's limit, where Pillow itself only warns.
    with pytest.raises(Refused) as refused:
        inspect(huge_png(), formats=ALL, max_bytes=LIMIT)
    assert refused.value.reason == "too-many-pixels"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\KTP.pdf", "KTP.pdf"),
        ("<script>x</script>.pdf", "scriptx script.pdf".replace(" ", "/").rsplit("/", 1)[-1]),
        ("\x00\x1b[31m.pdf", "[31m.pdf"),
        ("", "dokumen"),
        (None, "dokumen"),
        ("a" * 300 + ".pdf", "a" * 100),
    ],
)
def test_hostile_file_names_are_made_harmless(name: str | None, shown: str) -> None:
    assert safe_filename(name) == shown
