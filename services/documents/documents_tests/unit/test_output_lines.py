"""What an output certifies, as the PDF prints it: its title, its lines in order, all above the
verification box however many the service defines."""

from __future__ import annotations

import dataclasses
import io

from pypdf import PdfReader

from documents.outputs.pdf import PrintedLine, render

from .test_outputs import FACTS

BIRTH = dataclasses.replace(
    FACTS,
    title_id="Kutipan Akta Kelahiran",
    title_en="Birth Certificate (Extract)",
    lines=(
        PrintedLine("Nama anak", "Child's name", "Siti Nurḥalizah"),
        PrintedLine("Tempat lahir", "Place of birth", "Sinjai"),
        PrintedLine("Nama ayah", "Father's name", "Đặng Văn Hùng"),
        PrintedLine("Nama ibu", "Mother's name", ""),
    ),
)


def placed(pdf: bytes) -> dict[str, float]:
    """Each piece of text of the page, with the height it is printed at."""
    heights: dict[str, float] = {}

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            heights.setdefault(text.strip(), cm[5] + tm[5] * cm[3])

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return heights


def test_the_title_and_the_lines_print_in_order_with_names_beyond_latin_1() -> None:
    text = PdfReader(io.BytesIO(render(BIRTH))).pages[0].extract_text()

    facts = ["Kutipan Akta Kelahiran", "Nama anak", "Siti Nurḥalizah", "Tempat lahir", "Sinjai"]
    facts += ["Nama ayah", "Đặng Văn Hùng", "Nama ibu", "-", "Nomor lacak", "Tanggal terbit"]
    places: list[int] = []
    for fact in facts:  # each found after the one before
        places.append(text.find(fact, places[-1] + 1 if places else 0))
    assert -1 not in places, list(zip(facts, places, strict=True))
    # With lines of its own, the output prints the holder only where its service says.
    assert "Nama pemegang" not in text and "Siti Aminah Daeng" not in text


def test_a_long_definition_still_ends_above_the_verification_box() -> None:
    many = tuple(
        PrintedLine(f"Isian nomor {index}", f"Field number {index}", f"Jawaban {index}")
        for index in range(16)  # the most the catalog allows
    )
    heights = placed(render(dataclasses.replace(BIRTH, lines=many)))

    lowest = (
        heights["Tidak terbatas"] if "Tidak terbatas" in heights else heights["17 Agustus 2031"]
    )
    assert lowest > heights["KODE VERIFIKASI"] + 10
    assert all(f"Jawaban {index}" in heights for index in range(16))
