"""Search the way citizens type: Indonesian stemming, everyday words, spelling variants, typos.

Each published service is indexed by the words of its name, keywords, product, agency, category,
description and requirements, in both languages, each field with its weight. A query's words are
normalised (lower case, no accents), mapped through the everyday-words table ("akte" -> "akta",
"bikin" -> "buat", "ktp-el" -> "ktp"), stemmed (Sastrawi for Indonesian, Snowball for English)
and matched exactly, or failing that, to the nearest indexed word within a small edit distance.
Scores add up per field with BM25-style saturation; services matching more of the query's words
rank first. Every hit says which word matched what, in which field, and how.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz, process
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from catalog.models import CATEGORY_LABELS, Service

# Field weights: the name says most, requirements least.
WEIGHTS = {
    "name": 4.0,
    "keywords": 3.0,
    "product": 2.0,
    "agency": 1.5,
    "category": 1.0,
    "description": 1.0,
    "requirements": 0.3,
}

# Everyday words and spelling variants -> the words the catalog uses. Multi-word entries are
# matched before single words. Values may be several words.
EVERYDAY: dict[str, str] = {
    "akte": "akta",
    "akte lahir": "akta kelahiran",
    "akta lahir": "akta kelahiran",
    "surat lahir": "akta kelahiran",
    "akte kematian": "akta kematian",
    "akte mati": "akta kematian",
    "akte nikah": "akta perkawinan",
    "akte cerai": "akta perceraian",
    "e ktp": "ktp",
    "ektp": "ktp",
    "ktp el": "ktp",
    "ktpel": "ktp",
    "e-ktp": "ktp",
    "ktp-el": "ktp",
    "kartu tanda penduduk": "ktp",
    "kartu keluarga": "kk",
    "kartu identitas anak": "kia",
    "surat izin mengemudi": "sim",
    "sim a": "sim a",
    "sim c": "sim c",
    "surat kelakuan baik": "skck",
    "surat keterangan catatan kepolisian": "skck",
    "bikin": "buat",
    "membuat": "buat",
    "pembuatan": "buat",
    "urus": "buat",
    "ngurus": "buat",
    "mengurus": "buat",
    "bkin": "buat",
    "baru": "baru",
    "perpanjang": "perpanjangan",
    "memperpanjang": "perpanjangan",
    "extend": "renewal",
    "renew": "renewal",
    "ganti": "penggantian",
    "mengganti": "penggantian",
    "hilang": "kehilangan",
    "rusak": "penggantian",
    "menikah": "nikah",
    "kawin": "nikah",
    "perkawinan": "nikah",
    "pernikahan": "nikah",
    "cerai": "perceraian",
    "pasport": "paspor",
    "pasport baru": "paspor",
    "passport": "paspor",
    "pajak motor": "pajak kendaraan",
    "stnk": "pajak kendaraan",
    "bpjs": "bpjs",
    "npwp": "npwp",
    "nib": "nib",
    "izin usaha": "perizinan usaha",
    "ijin": "izin",
    "pindah": "pindah",
    "pindahan": "pindah",
    "domisili": "domisili",
    "air": "air minum",
    "pdam": "air minum",
    "listrik": "listrik",
    "pln": "listrik",
}
# Words that carry no meaning for search, in either language.
STOPWORDS = frozenset(
    [
        "yang",
        "di",
        "ke",
        "dari",
        "untuk",
        "dan",
        "atau",
        "dengan",
        "saya",
        "aku",
        "mau",
        "ingin",
        "cara",
        "bagaimana",
        "gimana",
        "mohon",
        "tolong",
        "the",
        "a",
        "an",
        "of",
        "for",
        "to",
        "and",
        "or",
        "my",
        "i",
        "want",
        "how",
        "do",
        "get",
        "apply",
        "please",
        "in",
        "at",
        "on",
        "with",
    ]
)
NAME_BONUS = 1.5  # every word of the query is in the service's name
FUZZY_MIN_LENGTH = 4
FUZZY_CUTOFF = 80.0

_english = snowballstemmer.stemmer("english")


@lru_cache(maxsize=1)
def _indonesian() -> object:
    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """The Indonesian stem of a word, or its English stem when that is shorter."""
    indonesian: str = _indonesian().stem(word)  # type: ignore[attr-defined]
    english: str = _english.stemWord(word)
    return (
        english
        if len(english) < len(indonesian) and not indonesian.startswith(english)
        else indonesian
    )


def normalize(text: str) -> str:
    """Lower case, accents removed, punctuation to spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def _everyday(words: list[str]) -> list[tuple[str, str]]:
    """Pairs (what the citizen typed, what the catalog calls it), longest phrases first."""
    result: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        for size in (4, 3, 2, 1):
            phrase = " ".join(words[i : i + size])
            if len(words) - i >= size and phrase in EVERYDAY:
                result.append((phrase, EVERYDAY[phrase]))
                i += size
                break
        else:
            result.append((words[i], words[i]))
            i += 1
    return result


def terms(text: str) -> list[str]:
    """The stemmed search terms of a text."""
    return [term for _, term in surface_terms(text)]


def surface_terms(text: str) -> list[tuple[str, str]]:
    """(word as written, its stemmed term) for each search term of a text."""
    words = [w for w in normalize(text).split() if w not in STOPWORDS]
    return [(w, stem(w)) for _, canonical in _everyday(words) for w in canonical.split()]


@dataclass(frozen=True)
class Match:
    """Why a query word matched."""

    query: str  # the word as typed
    term: str  # the indexed term it matched
    field: str
    how: str  # exact | everyday | fuzzy


@dataclass
class Hit:
    """A service found, its score, and why."""

    service: Service
    score: float
    matches: list[Match] = field(default_factory=list)


@dataclass
class _Doc:
    service: Service
    fields: dict[str, list[str]]
    lengths: dict[str, int]


class SearchIndex:
    """An in-memory index of the published services; rebuilt whenever the catalog changes."""

    def __init__(self, services: Iterable[Service], agency_names: dict[str, list[str]]) -> None:
        self.docs: list[_Doc] = []
        self.postings: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        # Every word as written -> its term, so a typo is matched against real words, not stems.
        self.surface: dict[str, str] = {}
        for number, service in enumerate(services):
            texts = _field_texts(service, agency_names.get(service.agency, [service.agency]))
            fields: dict[str, list[str]] = {}
            for name, values in texts.items():
                pairs = [pair for text in values for pair in surface_terms(text)]
                self.surface.update(pairs)
                fields[name] = [term for _, term in pairs]
            self.docs.append(_Doc(service, fields, {k: len(v) for k, v in fields.items()}))
            for name, field_terms in fields.items():
                for term in field_terms:
                    counts = self.postings[term][number]
                    counts[name] = counts.get(name, 0) + 1
        self.vocabulary = sorted(self.surface)
        total = max(len(self.docs), 1)
        self.average = {
            name: sum(d.lengths.get(name, 0) for d in self.docs) / total or 1.0 for name in WEIGHTS
        }

    def search(self, query: str, *, limit: int = 20) -> list[Hit]:
        """Services matching the query, best first."""
        wanted = self._resolve(query)
        if not wanted:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, list[Match]] = defaultdict(list)
        covered: dict[int, set[str]] = defaultdict(set)
        in_name: dict[int, set[str]] = defaultdict(set)
        for typed, term, how, quality in wanted:
            postings = self.postings.get(term, {})
            idf = math.log(1 + (len(self.docs) - len(postings) + 0.5) / (len(postings) + 0.5))
            for number, per_field in postings.items():
                doc = self.docs[number]
                best_field = max(per_field, key=lambda f: WEIGHTS[f])
                for name, count in per_field.items():
                    saturation = (
                        count
                        * 2.2
                        / (count + 1.2 * (0.25 + 0.75 * doc.lengths[name] / self.average[name]))
                    )
                    scores[number] += WEIGHTS[name] * idf * saturation * quality
                if "name" in per_field:
                    in_name[number].add(typed)
                if all(m.query != typed for m in matched[number]):
                    matched[number].append(Match(query=typed, term=term, field=best_field, how=how))
                # A word found only among the requirements hardly says what the service is.
                if set(per_field) - {"requirements"}:
                    covered[number].add(typed)
        typed_words = {typed for typed, *_ in wanted}
        hits = [
            Hit(
                self.docs[n].service,
                round(_rank(score, covered[n], in_name[n], typed_words), 4),
                matched[n],
            )
            for n, score in scores.items()
        ]
        hits.sort(key=lambda h: (-h.score, h.service.slug))
        return hits[:limit]

    def _resolve(self, query: str) -> list[tuple[str, str, str, float]]:
        """(typed, indexed term, how, quality) for each query word that can match anything."""
        words = [w for w in normalize(query).split() if w not in STOPWORDS]
        resolved: list[tuple[str, str, str, float]] = []
        for typed, canonical in _everyday(words):
            how = "exact" if typed == canonical else "everyday"
            for word in canonical.split():
                term = stem(word)
                if term in self.postings:
                    resolved.append((typed, term, how, 1.0))
                elif len(word) >= FUZZY_MIN_LENGTH:
                    nearest = process.extract(
                        word, self.vocabulary, scorer=fuzz.ratio, limit=3, score_cutoff=FUZZY_CUTOFF
                    )
                    found: dict[str, float] = {}
                    for candidate, similarity, _ in nearest:
                        close = self.surface[candidate]
                        found[close] = max(found.get(close, 0.0), similarity / 100 * 0.8)
                    resolved += [(typed, t, "fuzzy", quality) for t, quality in found.items()]
        return resolved


def _rank(score: float, covered: set[str], in_name: set[str], typed: set[str]) -> float:
    """Services matching more of the query rank higher; all of it in the name, higher still."""
    coverage = (len(covered) / len(typed)) ** 2
    return score * coverage * (NAME_BONUS if in_name >= typed else 1.0)


def _field_texts(service: Service, agency_names: list[str]) -> dict[str, list[str]]:
    standard = service.standard
    label = CATEGORY_LABELS[service.category]
    return {
        "name": [service.name.id, service.name.en],
        "keywords": list(service.keywords),
        "product": [standard.product.name.id, standard.product.name.en],
        "agency": agency_names,
        "category": [label.id, label.en],
        "description": [service.description.id, service.description.en],
        "requirements": [text for r in standard.requirements for text in (r.name.id, r.name.en)],
    }
