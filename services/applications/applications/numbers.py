"""Human-friendly numbers: `SNJ-DUKCAPIL-20260108-000123` for applications,
`ADU-SNJ-20260108-000007` for complaints. Unique, and sortable by date and agency, from one
counter per prefix and day.

A number is taken in the transaction that records what it numbers: the counter's row stays
locked until that transaction ends, and a transaction that rolls back (a retry that lost to the
first request with its key, a refused filing) gives its number back. So numbers have no gaps and
never name nothing.

Being sequential, a number is easy to guess: each comes with a random check code that only its
applicant is given (`K7QX4M`), and the public tracking pages ask for both. Wrong codes are
counted per number, so a code cannot be found by trying (`CodeGuesses`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import time
from collections import OrderedDict

from sqlalchemy import Column, Integer, Table, Text, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from applications.store import metadata

number_counters = Table(
    "number_counters",
    metadata,
    Column("series", Text, primary_key=True),  # `<prefix>-<YYYYMMDD>`
    Column("last", Integer, nullable=False),
)


# Built once (SQLAlchemy works out a statement's cache key once per statement object): one
# statement per number taken cost as much CPU as running it.
_TAKE = (
    pg_insert(number_counters)
    .values(series=bindparam("series"), last=1)
    .on_conflict_do_update(
        index_elements=[number_counters.c.series],
        set_={"last": number_counters.c.last + 1},
    )
    .returning(number_counters.c.last)
)


async def next_number(connection: AsyncConnection, *, prefix: str, day: dt.date) -> str:
    """The next number of the day under `prefix`: `<prefix>-<YYYYMMDD>-<six digits>`."""
    series = f"{prefix}-{day:%Y%m%d}"
    taken = await connection.execute(_TAKE, {"series": series})
    return f"{series}-{taken.scalar_one():06d}"


# --- check codes ---------------------------------------------------------------------------------

# Symbols nobody mistakes for another when read from a phone or paper (no 0/O, 1/I/L): six of
# them give about 887 million codes.
CHECK_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CHECK_LENGTH = 6
# Wrong codes a number may get per window before every code for it is refused until the window
# ends (the right one too: a guesser learns nothing from what is answered meanwhile).
WRONG_CODES_PER_WINDOW = 10
WRONG_CODES_WINDOW_SECONDS = 3600.0


def new_check_code() -> str:
    """A random check code: drawn from `secrets`, so no code tells anything of another."""
    return "".join(secrets.choice(CHECK_ALPHABET) for _ in range(CHECK_LENGTH))


def same_code(given: str, expected: str) -> bool:
    """Whether a typed code is the expected one, case and spaces aside, in constant time."""
    typed = "".join(given.split()).upper()
    return hmac.compare_digest(typed.encode(), expected.encode())


class CodeGuesses:
    """Wrong check codes counted per number in fixed windows, in this process's memory.

    The gateway limits each address, not each number: from many addresses a number's code could
    still be tried for. Counting per number bounds the tries on any one number whoever makes them
    (10 an hour: 887 million codes take thousands of years), at the price of a number's public
    page being closed for the rest of the hour after its tenth wrong code; its applicant still
    sees it signed in. At most `max_numbers` numbers are counted at once, the oldest windows
    forgotten first.
    """

    def __init__(
        self,
        *,
        limit: int = WRONG_CODES_PER_WINDOW,
        window_seconds: float = WRONG_CODES_WINDOW_SECONDS,
        max_numbers: int = 100_000,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.max_numbers = max_numbers
        # number -> (end of its window, wrong codes in it); in order of their windows' ends,
        # since every window is as long and one is added only when it starts.
        self._wrong: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def admits(self, number: str, given: str | None, expected: str | None) -> bool:
        """Whether `given` is the check code of `number` (`expected`: None for a number that
        names nothing, answered as a wrong code is); a wrong code is counted, and while the
        number has had too many every code is refused. No code at all is no guess."""
        if not given:
            return False
        now = time.monotonic()
        self._forget_ended(now)
        found = self._wrong.get(number)
        if found is not None and found[1] >= self.limit:
            return False
        if expected is not None and same_code(given, expected):
            return True
        if found is None:
            self._wrong[number] = (now + self.window_seconds, 1)
            while len(self._wrong) > self.max_numbers:
                self._wrong.popitem(last=False)
        else:
            self._wrong[number] = (found[0], found[1] + 1)  # keeps its place in the order
        return False

    def _forget_ended(self, now: float) -> None:
        while self._wrong:
            number, (ends, _) = next(iter(self._wrong.items()))
            if ends > now:
                return
            del self._wrong[number]
