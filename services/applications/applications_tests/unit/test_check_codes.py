"""Check codes and the count of wrong ones per number, with a clock the tests move."""

from __future__ import annotations

import pytest

from applications import numbers
from applications.numbers import CodeGuesses

NUMBER = "SNJ-UJI-20260108-000123"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """`time.monotonic` as the tests set it."""
    now = [1000.0]
    monkeypatch.setattr(numbers.time, "monotonic", lambda: now[0])
    return now


def test_codes_are_six_unambiguous_symbols_and_differ() -> None:
    codes = {numbers.new_check_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 6 and set(c) <= set(numbers.CHECK_ALPHABET) for c in codes)
    assert not set("01IOL") & set(numbers.CHECK_ALPHABET)
    assert len(numbers.CHECK_ALPHABET) ** numbers.CHECK_LENGTH > 887_000_000


def test_a_code_is_matched_whatever_its_case_and_spacing() -> None:
    assert numbers.same_code(" k7q x4m ", "K7QX4M")
    assert not numbers.same_code("K7QX4N", "K7QX4M")
    assert not numbers.same_code("Ǩ7QX4M", "K7QX4M")


def test_after_the_limit_even_the_right_code_is_refused_until_the_window_ends(
    clock: list[float],
) -> None:
    guesses = CodeGuesses(limit=3, window_seconds=60)
    assert guesses.admits(NUMBER, "K7QX4M", "K7QX4M")
    for _ in range(3):
        assert not guesses.admits(NUMBER, "222222", "K7QX4M")
    assert not guesses.admits(NUMBER, "K7QX4M", "K7QX4M")
    assert guesses.admits("SNJ-UJI-20260108-000124", "ABCDEF", "ABCDEF"), "per number"
    clock[0] += 61
    assert guesses.admits(NUMBER, "K7QX4M", "K7QX4M")


def test_unknown_numbers_count_alike_and_no_code_is_no_guess(clock: list[float]) -> None:
    guesses = CodeGuesses(limit=2, window_seconds=60)
    for _ in range(5):
        assert not guesses.admits(NUMBER, None, "K7QX4M")
        assert not guesses.admits(NUMBER, "", "K7QX4M")
    assert guesses.admits(NUMBER, "K7QX4M", "K7QX4M"), "asking without a code counts nothing"
    unknown = "SNJ-UJI-20260108-999999"
    assert not guesses.admits(unknown, "222222", None)
    assert not guesses.admits(unknown, "222222", None)
    assert guesses._wrong[unknown][1] == 2, "a number that names nothing is counted the same"


def test_the_oldest_windows_go_first_when_too_many_numbers_are_counted(
    clock: list[float],
) -> None:
    guesses = CodeGuesses(limit=1, window_seconds=60, max_numbers=2)
    for n in range(3):
        guesses.admits(f"N-{n}", "222222", None)
        clock[0] += 1
    assert list(guesses._wrong) == ["N-1", "N-2"]
    clock[0] += 60
    guesses.admits("N-3", "222222", None)
    assert list(guesses._wrong) == ["N-3"], "ended windows are forgotten"
