"""Issued outputs: the rendered PDF, its detached signature, and the codes printed on it."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import io
import re

import pytest
import segno
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader
from pypdf.generic import ContentStream

from documents.outputs import codes, signing
from documents.outputs.pdf import OutputFacts, format_date, issue_date, qr_matrix, render
from mpp_shared.auth import public_jwk

URL = "https://mpp.sinjaikab.go.id/verifikasi/K7QM-3XRT-9HWA"
FACTS = OutputFacts(
    regency_name="Sinjai",
    service_name_id="Akta Kelahiran",
    service_name_en="Birth Certificate",
    agency_name="Dinas Kependudukan dan Pencatatan Sipil Kabupaten Sinjai",
    holder_name="Siti Aminah Daeng",
    tracking_number="MPP-2026-000123",
    issued_at=dt.datetime(2026, 8, 17, 1, 30, tzinfo=dt.UTC),
    valid_until=dt.date(2031, 8, 17),
    verification_code="K7QM-3XRT-9HWA",
    verify_url=URL,
)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def printed_qr(pdf: bytes) -> tuple[tuple[bool, ...], ...]:
    """The QR matrix read back from the rectangles of the PDF's QR form (one unit per module)."""
    reader = PdfReader(io.BytesIO(pdf))
    xobjects = reader.pages[0]["/Resources"]["/XObject"]
    (form,) = [xobj.get_object() for xobj in xobjects.values()]
    cells: set[tuple[int, int]] = set()
    rects = [ops for ops, op in ContentStream(form, reader).operations if op == b"re"]
    background, *modules = rects  # the first rectangle is the white quiet zone
    side = int(background[2])
    for x, y, width, height in modules:
        assert height == 1
        cells.update((int(y), int(x) + i) for i in range(int(width)))
    rows = sorted({row for row, _ in cells}, reverse=True)
    columns = sorted({column for _, column in cells})
    size = rows[0] - rows[-1] + 1
    assert side == size + 8  # a quiet zone of four modules on each side
    return tuple(
        tuple((row, column) in cells for column in range(columns[0], columns[0] + size))
        for row in range(rows[0], rows[0] - size, -1)
    )


def matrix_of(code: segno.QRCode) -> tuple[tuple[bool, ...], ...]:
    return tuple(tuple(bool(module) for module in row) for row in code.matrix)


# The PDF


def test_output_is_one_a4_page() -> None:
    reader = PdfReader(io.BytesIO(render(FACTS)))

    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(595.28, abs=0.5)
    assert float(box.height) == pytest.approx(841.89, abs=0.5)


def test_output_shows_its_key_facts() -> None:
    text = text_of(render(FACTS))

    for fact in (
        "PEMERINTAH KABUPATEN SINJAI — MAL PELAYANAN PUBLIK ELEKTRONIK",
        "Akta Kelahiran",
        "Birth Certificate",
        "Siti Aminah Daeng",
        "MPP-2026-000123",
        "K7QM-3XRT-9HWA",
        "Tanggal terbit",
        "17 Agustus 2026",
        "Berlaku sampai",
        "17 Agustus 2031",
        "Dokumen ini ditandatangani secara elektronik.",
        URL,
    ):
        assert fact in text, fact
    assert "Dinas Kependudukan dan Pencatatan Sipil" in text


def test_output_without_expiry_says_it_is_unlimited() -> None:
    text = text_of(render(dataclasses.replace(FACTS, valid_until=None)))

    assert "Tidak terbatas" in text


def test_output_has_its_metadata() -> None:
    metadata = PdfReader(io.BytesIO(render(FACTS))).metadata

    assert metadata is not None
    assert metadata.title == "Akta Kelahiran — MPP-2026-000123"
    assert metadata.author is not None
    assert "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Sinjai" in metadata.author
    assert metadata.subject is not None
    assert "K7QM-3XRT-9HWA" in metadata.subject


def test_rendering_the_same_facts_twice_gives_the_same_bytes() -> None:
    assert render(FACTS) == render(dataclasses.replace(FACTS))


def test_rendering_other_facts_gives_other_bytes() -> None:
    assert render(FACTS) != render(dataclasses.replace(FACTS, holder_name="Andi Baso"))


def test_qr_code_in_the_pdf_encodes_the_verification_url() -> None:
    printed = printed_qr(render(FACTS))

    # Whatever error correction level is chosen, it must be a QR code of exactly this URL.
    candidates = [matrix_of(segno.make_qr(URL, error=level, boost_error=False)) for level in "lmqh"]
    assert printed in candidates
    assert printed == qr_matrix(URL)


def test_qr_code_changes_with_the_url() -> None:
    other = dataclasses.replace(FACTS, verify_url=URL.replace("K7QM", "K7QN"))

    assert printed_qr(render(other)) != printed_qr(render(FACTS))


def test_qr_code_is_never_micro_qr_even_for_short_urls() -> None:
    assert len(qr_matrix("https://x.id/a")) >= 21  # version 1 QR; Micro QR is at most 17


def test_issue_date_is_the_regencys_day_not_utcs() -> None:
    late_utc = dt.datetime(2026, 8, 16, 23, 30, tzinfo=dt.UTC)  # 07:30 WITA on the 17th

    assert issue_date(dataclasses.replace(FACTS, issued_at=late_utc)) == dt.date(2026, 8, 17)


def test_naive_issue_time_is_taken_as_utc() -> None:
    naive = dt.datetime(2026, 8, 16, 23, 30)

    assert issue_date(dataclasses.replace(FACTS, issued_at=naive)) == dt.date(2026, 8, 17)


def test_dates_are_written_in_indonesian() -> None:
    assert format_date(dt.date(2026, 1, 5)) == "5 Januari 2026"
    assert format_date(dt.date(2026, 12, 31)) == "31 Desember 2026"


def test_names_print_as_written_in_every_latin_script() -> None:
    text = text_of(render(dataclasses.replace(FACTS, holder_name="Ğülşen Nguyễn Ñoño")))

    assert "Ğülşen Nguyễn Ñoño" in text  # beyond Latin-1: the bundled font has them all


def test_characters_outside_the_bundled_font_are_transliterated() -> None:
    # Full-width letters fold to their plain forms; a script the font lacks prints as "?".
    text = text_of(render(dataclasses.replace(FACTS, holder_name="Ｓiti 李")))

    assert "Siti ?" in text


def test_long_names_wrap_and_stay_on_one_page() -> None:
    long = dataclasses.replace(
        FACTS,
        service_name_id="Surat Izin Praktik " * 12,
        agency_name="Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu " * 4,
        holder_name="Andi " * 30,
    )
    reader = PdfReader(io.BytesIO(render(long)))

    assert len(reader.pages) == 1
    assert "…" in reader.pages[0].extract_text()


# Signing


KEY = signing.signing_key("", "development secret")
OTHER_KEY = Ed25519PrivateKey.generate()
PUBLIC_KEYS = {signing.key_id(KEY.public_key()): KEY.public_key()}


def test_signed_output_verifies() -> None:
    pdf = render(FACTS)
    signature = signing.sign(pdf, KEY)

    assert signing.verify(pdf, signature, PUBLIC_KEYS)
    assert signature.algorithm == "Ed25519"
    assert signature.key_id in PUBLIC_KEYS


def test_signature_carries_the_outputs_sha256() -> None:
    pdf = render(FACTS)

    assert signing.sign(pdf, KEY).sha256 == hashlib.sha256(pdf).hexdigest()


def test_output_with_one_byte_flipped_fails() -> None:
    pdf = render(FACTS)
    signature = signing.sign(pdf, KEY)
    tampered = bytearray(pdf)
    tampered[len(pdf) // 2] ^= 0x01

    assert not signing.verify(bytes(tampered), signature, PUBLIC_KEYS)


def test_output_with_bytes_appended_fails() -> None:
    # An incremental update appended to a PDF can change what it shows.
    pdf = render(FACTS)
    signature = signing.sign(pdf, KEY)

    assert not signing.verify(pdf + b"\n%%EOF\n", signature, PUBLIC_KEYS)


def test_signature_by_another_key_fails() -> None:
    pdf = render(FACTS)
    forged = signing.sign(pdf, OTHER_KEY)

    assert not signing.verify(pdf, dataclasses.replace(forged, key_id=forged.key_id), PUBLIC_KEYS)
    # ...even when it claims to be the regency's key.
    claimed = dataclasses.replace(forged, key_id=signing.key_id(KEY.public_key()))
    assert not signing.verify(pdf, claimed, PUBLIC_KEYS)


def test_signature_by_an_unknown_key_id_fails() -> None:
    pdf = render(FACTS)
    signature = dataclasses.replace(signing.sign(pdf, KEY), key_id="unknown")

    assert not signing.verify(pdf, signature, PUBLIC_KEYS)


def test_signature_with_a_changed_digest_fails() -> None:
    pdf = render(FACTS)
    signature = signing.sign(pdf, KEY)
    other_digest = dataclasses.replace(signature, sha256="0" * 64)

    assert not signing.verify(pdf, other_digest, PUBLIC_KEYS)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not base64!",
        "AAAA",  # valid base64url, but far too short
        "A" * 85,  # not a whole number of bytes
        "A" * 86,  # 64 bytes, but not the signature
        "ÄÖÜ",
        base64.b64encode(b"\xff" * 64).decode(),  # standard alphabet, with '/' and '='
    ],
)
def test_garbage_signature_fails_without_raising(garbage: str) -> None:
    pdf = render(FACTS)
    signature = dataclasses.replace(signing.sign(pdf, KEY), signature=garbage)

    assert not signing.verify(pdf, signature, PUBLIC_KEYS)


def test_malformed_signature_fields_fail_without_raising() -> None:
    pdf = render(FACTS)
    good = signing.sign(pdf, KEY)

    for bad in (
        dataclasses.replace(good, sha256="ä" * 64),
        dataclasses.replace(good, algorithm="RS256"),  # type: ignore[arg-type]
        dataclasses.replace(good, key_id=["unhashable"]),  # type: ignore[arg-type]
        dataclasses.replace(good, signature=None),  # type: ignore[arg-type]
    ):
        assert not signing.verify(pdf, bad, PUBLIC_KEYS)


def test_development_key_is_derived_deterministically_from_the_secret() -> None:
    again = signing.signing_key("", "development secret")
    other = signing.signing_key("", "another secret")

    assert signing.key_id(again.public_key()) == signing.key_id(KEY.public_key())
    assert signing.key_id(other.public_key()) != signing.key_id(KEY.public_key())


def test_pem_key_is_preferred_to_the_secret() -> None:
    pem = OTHER_KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()

    key = signing.signing_key(pem, "development secret")

    assert signing.key_id(key.public_key()) == signing.key_id(OTHER_KEY.public_key())


def test_non_ed25519_pem_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )

    with pytest.raises(ValueError, match="Ed25519"):
        signing.signing_key(pem, "development secret")


def test_no_pem_and_no_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        signing.signing_key("", "")


def test_key_id_is_the_same_thumbprint_as_the_gateways_jwks() -> None:
    assert signing.key_id(OTHER_KEY.public_key()) == public_jwk(OTHER_KEY)["kid"]


# Codes


def test_verification_code_is_three_groups_of_four_unambiguous_characters() -> None:
    code = codes.new_verification_code()

    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code)
    assert not set(code) & set("01OIL")


def test_verification_codes_do_not_repeat() -> None:
    assert len({codes.new_verification_code() for _ in range(10_000)}) == 10_000


def test_verification_codes_use_the_whole_alphabet() -> None:
    seen = set("".join(codes.new_verification_code() for _ in range(1_000)).replace("-", ""))

    assert seen == set(codes.ALPHABET)


def test_issued_code_normalizes_to_itself() -> None:
    code = codes.new_verification_code()

    assert codes.normalize_code(code) == code


@pytest.mark.parametrize(
    "typed",
    [
        "k7qm-3xrt-9hwa",
        "K7QM3XRT9HWA",
        " k7qm 3xrt 9hwa ",
        "K7QM – 3XRT — 9HWA",  # dashes from a PDF viewer or a phone keyboard
        "Ｋ７ＱＭ３ＸＲＴ９ＨＷＡ",  # full-width
        "k-7-q-m-3-x-r-t-9-h-w-a",
    ],
)
def test_typed_code_normalizes_to_the_issued_form(typed: str) -> None:
    assert codes.normalize_code(typed) == "K7QM-3XRT-9HWA"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "K7QM-3XRT-9HW",  # too short
        "K7QM-3XRT-9HWAB",  # too long
        "K7QM-3XRT-9HW0",  # zero is not in the alphabet
        "K7QM-3XRT-9HWO",
        "K7QM-3XRT-9HW1",
        "K7QM-3XRT-9HWI",
        "K7QM-3XRT-9HWL",
        "K7QM_3XRT_9HWA",
        "K7QM.3XRT.9HWA",
        "K7QM-3XRT-9HWÄ",
        "'; DROP TABLE outputs; --",
    ],
)
def test_bad_code_is_rejected(typed: str) -> None:
    assert codes.normalize_code(typed) is None


def test_pin_is_six_digits() -> None:
    pins = [codes.new_pin() for _ in range(1_000)]

    assert all(re.fullmatch(r"[0-9]{6}", pin) for pin in pins)
    assert len(set(pins)) > 900


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Siti Aminah Daeng", "S*** A***** D****"),
        ("Andi", "A***"),
        ("A", "A"),
        ("M. Yusuf", "M. Y****"),
        ("  Siti   Aminah  ", "S*** A*****"),
        ("Ma'ruf Amin", "M*'*** A***"),
        ("Ñoño Ácaro", "Ñ*** Á****"),
        ("Nguye\u0302\u0303n Van", "N***** V**"),  # decomposed accents are hidden with their letter
        ("E\u0301lodie", "É*****"),  # and kept with a first letter
        ("Aq\u0323il", "A***"),  # a mark with no precomposed letter goes with the star it follows
        ("李小龍", "李**"),
        ("Andi Muh. Arif2", "A*** M**. A****"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_name_is_masked_to_its_initials(name: str, masked: str) -> None:
    assert codes.mask_name(name) == masked
