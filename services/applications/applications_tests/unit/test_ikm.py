"""The satisfaction index (IKM, PermenPAN-RB 14/2017) against a worked example computed by hand
in the regulation's table layout: ten respondents, nine elements (U1..U9), scores 1-4."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from applications.surveys.service import (
    CODES,
    element_averages,
    figures,
    grade_of,
    index,
    rounded,
)

# Respondent x element scores (U1..U9).
RESPONSES = [
    (3, 4, 3, 4, 4, 3, 4, 2, 3),
    (4, 4, 3, 4, 4, 4, 4, 4, 4),
    (4, 4, 4, 4, 4, 4, 3, 3, 3),
    (4, 3, 4, 4, 3, 3, 4, 3, 4),
    (3, 3, 3, 4, 3, 3, 4, 3, 3),
    (4, 3, 3, 4, 3, 4, 4, 3, 4),
    (3, 3, 3, 4, 4, 4, 4, 4, 3),
    (3, 4, 4, 4, 4, 3, 3, 3, 3),
    (4, 4, 3, 4, 3, 4, 3, 3, 3),
    (4, 3, 3, 4, 4, 3, 4, 4, 4),
]
# By hand: each column's total, its NRR (total / 10 respondents), and NRR x 1/9 to 3 decimals.
TOTALS = [36, 35, 33, 40, 36, 35, 37, 32, 34]  # 318 in all
NRR = [3.6, 3.5, 3.3, 4.0, 3.6, 3.5, 3.7, 3.2, 3.4]  # sum 31.8
WEIGHTED = [0.400, 0.389, 0.367, 0.444, 0.400, 0.389, 0.411, 0.356, 0.378]
# IKM = 31.8 x 1/9 x 25 = 795 / 9 = 88.333... -> 88.33, grade A (88.31-100).
IKM = 88.33
# The same table with the rounded weight 0.111, as many published reports compute it:
# 31.8 x 0.111 = 3.5298; x 25 = 88.245 -> 88.25, grade B. The weight decides the grade here.
IKM_WITH_0111 = Decimal("88.25")


def as_scores(row: tuple[int, ...]) -> dict[str, int]:
    return dict(zip(CODES, row, strict=True))


def test_the_worked_example_gives_each_elements_nrr_the_index_and_grade_a() -> None:
    assert [sum(column) for column in zip(*RESPONSES, strict=True)] == TOTALS
    result = figures(as_scores(r) for r in RESPONSES)
    assert result.respondents == 10
    assert [e.code for e in result.elements] == [
        "u1",
        "u2",
        "u3",
        "u4",
        "u5",
        "u6",
        "u7",
        "u8",
        "u9",
    ]
    assert [e.nrr for e in result.elements] == NRR
    assert [e.weighted for e in result.elements] == WEIGHTED
    assert result.ikm == IKM
    assert result.grade is not None
    assert (result.grade.code, result.grade.label.id) == ("A", "Sangat Baik")


def test_the_rounded_weight_0111_would_put_the_worked_example_in_grade_b() -> None:
    averages = element_averages(as_scores(r) for r in RESPONSES)
    published = rounded(sum(averages.values(), Fraction(0)) * Fraction("0.111") * 25, 2)
    assert published == IKM_WITH_0111
    assert grade_of(published).code == "B"
    assert rounded(index(averages), 2) == Decimal("88.33")


def test_the_scale_runs_from_25_to_100() -> None:
    best = figures([as_scores((4,) * 9)])
    worst = figures([as_scores((1,) * 9)])
    assert (best.ikm, best.grade and best.grade.code) == (100.0, "A")
    # With 0.111 the worst would be 24.98, below grade D's lower bound of 25.00.
    assert (worst.ikm, worst.grade and worst.grade.code) == (25.0, "D")


@pytest.mark.parametrize(
    ("ikm", "grade", "label"),
    [
        ("100.00", "A", "Sangat Baik"),
        ("88.31", "A", "Sangat Baik"),
        ("88.30", "B", "Baik"),
        ("76.61", "B", "Baik"),
        ("76.60", "C", "Kurang Baik"),
        ("65.00", "C", "Kurang Baik"),
        ("64.99", "D", "Tidak Baik"),
        ("25.00", "D", "Tidak Baik"),
    ],
)
def test_grades_follow_the_regulations_intervals(ikm: str, grade: str, label: str) -> None:
    found = grade_of(Decimal(ikm))
    assert (found.code, found.label.id) == (grade, label)


def test_figures_are_rounded_half_up_only_for_display() -> None:
    # U1 scored 4, 4, 3: NRR 11/3 = 3.6666... -> 3.667; the index uses the exact value.
    rows = [(4,) * 9, (4,) * 9, (3,) * 9]
    result = figures(as_scores(r) for r in rows)
    assert result.elements[0].nrr == 3.667
    assert result.elements[0].weighted == 0.407  # 11/27 = 0.40740...
    assert result.ikm == 91.67  # 11/3 x 25 = 91.666...
    assert rounded(Fraction(88245, 1000), 2) == Decimal("88.25")  # half up, not to even


def test_no_respondents_no_figures() -> None:
    result = figures([])
    assert result.respondents == 0
    assert result.ikm is None
    assert result.grade is None
    assert all(e.nrr is None for e in result.elements)
