"""Search over the seeded catalog finds what citizens mean, the way they type it."""

from __future__ import annotations

from functools import cache

import pytest

from catalog import seed
from catalog.search import SearchIndex, normalize, terms


@cache
def index() -> SearchIndex:
    views = seed.published_views()
    agencies = {a.code: [a.name.id, a.name.en, a.short_name] for a in seed.load_agencies()}
    return SearchIndex(views, agencies)


def top(query: str, n: int = 1) -> list[str]:
    return [hit.service.slug for hit in index().search(query, limit=n)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("bikin akte lahir anak", "akta-kelahiran"),
        ("akte kelahiran", "akta-kelahiran"),
        ("birth certificate", "akta-kelahiran"),
        ("akta kelahrian", "akta-kelahiran"),  # a typo
        ("urus akte kematian", "akta-kematian"),
        ("kartu keluarga baru", "kk-baru"),
        ("ktp hilang", "ktp-el-penggantian"),
        ("surat pindah", "skpwni-pindah"),
        ("ganti kk", "kk-perubahan"),
        ("izin praktik dokter", "sip-dokter"),
        ("kartu kuning", "kartu-ak1"),
        ("pasang listrik", "pasang-baru-listrik"),
        ("surat bebas narkoba", "skhpn"),
    ],
)
def test_the_service_citizens_mean_comes_first(query: str, expected: str) -> None:
    assert top(query) == [expected]


def test_renewing_a_driving_licence_finds_the_sim_renewals_first() -> None:
    assert set(top("perpanjang sim", 2)) == {"sim-a-perpanjangan", "sim-c-perpanjangan"}
    assert set(top("driving licence renewal", 2)) == {"sim-a-perpanjangan", "sim-c-perpanjangan"}


def test_hits_say_which_word_matched_what_and_how() -> None:
    hit = index().search("bikin akte lahir anak", limit=1)[0]
    reasons = {(m.query, m.how) for m in hit.matches}
    assert ("bikin", "everyday") in reasons
    assert ("akte lahir", "everyday") in reasons
    typo = index().search("akta kelahrian", limit=1)[0]
    assert any(m.how == "fuzzy" and m.query == "kelahrian" for m in typo.matches)


def test_words_that_mean_nothing_find_nothing() -> None:
    assert top("dan yang untuk") == []
    assert top("zzzzqqq") == []


def test_normalising_and_stemming() -> None:
    assert normalize("KTP-el  Hilang!") == "ktp el hilang"
    assert terms("Pembuatan Akte Kelahiran") == ["buat", "akta", "lahir"]
    assert terms("e-KTP") == ["ktp"]
