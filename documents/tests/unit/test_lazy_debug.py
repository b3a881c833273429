"""Autobahn's per-connection debug dump (editor_project/server/lazy_debug.py): nothing is
formatted unless the line is written, and what is written reads as before."""

from __future__ import annotations

import pprint

import autobahn.websocket.protocol as autobahn_protocol
import pytest

from editor_project.server import lazy_debug

CONFIG = [("autoPingInterval", 0, "Factory"), ("openHandshakeTimeout", 5, "Protocol")] * 20


def test_the_dump_is_formatted_only_when_written(monkeypatch: pytest.MonkeyPatch) -> None:
    lazy_debug.install()
    calls: list[object] = []
    real = pprint.pformat

    def counted(value: object) -> str:
        calls.append(value)
        return real(value)

    monkeypatch.setattr(pprint, "pformat", counted)
    dump = autobahn_protocol.pformat(CONFIG)
    assert calls == []  # what every connection costs now: nothing
    # As Autobahn's logger fills in "\n{attrs}".
    assert "\n{attrs}".format(attrs=dump) == "\n" + real(CONFIG)  # noqa: UP032
    assert str(dump) == real(CONFIG)
    assert len(calls) == 2


def test_timings_still_print_as_text() -> None:
    lazy_debug.install()
    timings = autobahn_protocol.Timings()
    timings.track("onOpen")
    assert isinstance(str(timings), str)
    assert "onOpen" in str(timings)


def test_a_reads_debug_line_names_its_method_only_when_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import autobahn.twisted.websocket as autobahn_twisted
    import autobahn.util

    lazy_debug.install()
    calls: list[object] = []
    real = autobahn.util.hltype

    def counted(obj: object) -> str:
        calls.append(obj)
        return str(real(obj))

    monkeypatch.setattr(lazy_debug, "_hltype", counted)
    for module in (autobahn_protocol, autobahn_twisted):
        name = module.hltype(test_timings_still_print_as_text)
        assert calls == []
        line = "{func} received".format(func=name)  # noqa: UP032  (as Autobahn's logger does)
        assert line == real(test_timings_still_print_as_text) + " received"
        assert str(name) == real(test_timings_still_print_as_text)
        calls.clear()
