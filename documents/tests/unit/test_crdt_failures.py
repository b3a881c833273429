"""How a pycrdt failure is contained (documents/storage/crdt.py): turned into the caller's
error or logged, while cancellation, exit and Ctrl+C always pass through."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pycrdt import Doc

from documents.storage import crdt


class Refused(ValueError):
    pass


def a_pycrdt_failure() -> BaseException:
    """What pycrdt itself raises for an update it cannot decode."""
    doc: Doc = Doc()
    try:
        doc.apply_update(b"\x01\x01\xff\xff\xff\xff\x0f\x00\x28\x01\x00")
        doc.get_update()
    except BaseException as exc:
        return exc
    raise AssertionError("that update no longer fails")


@pytest.mark.parametrize("failure", [ValueError("bad update"), RuntimeError("x")])
def test_a_failure_becomes_the_callers_error_with_its_cause(failure: BaseException) -> None:
    with pytest.raises(Refused, match=str(failure)) as raised, crdt.failures_as(Refused):
        raise failure
    assert raised.value.__cause__ is failure


def test_pycrdts_own_failures_are_turned_into_the_callers_error() -> None:
    failure = a_pycrdt_failure()
    assert crdt.is_crdt_failure(failure)
    with pytest.raises(Refused), crdt.failures_as(Refused):
        raise failure

    class PanicException(BaseException):  # pyo3's, as a Rust panic surfaces
        pass

    with pytest.raises(Refused, match="panicked"), crdt.failures_as(Refused):
        raise PanicException("panicked")


@pytest.mark.parametrize("passing", [asyncio.CancelledError, KeyboardInterrupt, SystemExit])
def test_cancellation_exit_and_ctrl_c_pass_through(passing: type[BaseException]) -> None:
    with pytest.raises(passing), crdt.failures_as(Refused):
        raise passing()
    with pytest.raises(passing), crdt.failures_logged(logging.getLogger("t"), "m"):
        raise passing()


def test_nothing_raised_nothing_done(caplog: pytest.LogCaptureFixture) -> None:
    with crdt.failures_as(Refused):
        pass
    with crdt.failures_logged(logging.getLogger("t"), "m"):
        pass
    assert caplog.records == []


def test_a_logged_failure_is_written_with_its_traceback_and_the_block_is_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after: list[str] = []
    with crdt.failures_logged(logging.getLogger("rooms"), "room %s failed", "r1"):
        raise ValueError("cannot apply")
    after.append("carried on")
    assert after == ["carried on"]
    (record,) = caplog.records
    assert record.getMessage() == "room r1 failed" and record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
