"""Which errors mean "the database is away" (a 503 to callers, and an event that waits) and which
are faults of their own (a 500, a dead letter after the retries)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from mpp_shared.db import is_unreachable


class Sqlstate(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_a_refused_or_reset_connection_is_unreachable() -> None:
    assert is_unreachable(ConnectionRefusedError(111, "Connection refused"))
    assert is_unreachable(ConnectionResetError(104, "Connection reset by peer"))
    assert is_unreachable(TimeoutError())


def test_a_server_shutting_down_or_starting_is_unreachable() -> None:
    for state in ("57P01", "57P03", "08006"):
        assert is_unreachable(DBAPIError("SELECT 1", {}, Sqlstate(state)))


def test_a_transaction_left_unusable_by_a_lost_connection_is_unreachable() -> None:
    error = PendingRollbackError("Can't reconnect until invalid transaction is rolled back")
    error.__context__ = ConnectionRefusedError(111, "Connection refused")
    assert is_unreachable(error)


def test_no_connection_free_in_the_pool_waits_like_an_outage() -> None:
    # An overloaded service's event must not count the wait against its attempts (and end as a
    # dead letter); the same work succeeds once a connection comes free.
    assert is_unreachable(PoolTimeout("QueuePool limit of size 10 overflow 10 reached"))


def test_faults_of_the_request_or_the_code_are_not() -> None:
    assert not is_unreachable(IntegrityError("INSERT", {}, Sqlstate("23505")))
    assert not is_unreachable(DBAPIError("INSERT", {}, Sqlstate("22021")))
    assert not is_unreachable(ValueError("a bug"))
    assert not is_unreachable(PendingRollbackError("rolled back after a failed statement"))
