"""Servers kept running across tests and lent to one test at a time.

Starting `python -m editor_project.server.serve` costs about a second here and
three on a slow machine, almost all of it imports, and most browser tests
need nothing of a server but that it serves their own fresh database. The
pool keeps one running server per distinct environment (a test's
`documents.conf` overrides, production mode, its own MEDIA_ROOT...), so tests
started with the same environment share it, one after the other.

Each borrower gets its part of the server's output as a file of its own,
copied while the test runs, so what a test reads there (a mail printed to
the console) was written during that test. What a test must not do to a
shared server (kill it, restart it) is refused: such a test asks for a
server of its own.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

from devtools.child_server import ChildServer

# Set by pytest for each test in turn: not part of what the server runs with.
PER_TEST_VARIABLES = frozenset({"PYTEST_CURRENT_TEST"})
TAIL_INTERVAL_SECONDS = 0.05


class LogTail:
    """Copies what a server appends to its log into the current borrower's file, as it comes."""

    def __init__(self, source: Path) -> None:
        self._source_path = source
        self._source: BinaryIO | None = None
        self._target: BinaryIO | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"tail {source.name}", daemon=True)
        self._thread.start()

    def lend(self, path: Path) -> None:
        """From now on, copy into `path` (what came before goes to the previous borrower)."""
        with self._lock:
            self._pump()
            self._close_target()
            self._target = path.open("ab")

    def end(self) -> None:
        """Copy everything written so far to the borrower's file, and stop copying."""
        with self._lock:
            self._pump()
            self._close_target()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        with self._lock:
            self._pump()
            self._close_target()
            if self._source is not None:
                self._source.close()

    def _run(self) -> None:
        while not self._stopped.wait(TAIL_INTERVAL_SECONDS):
            with self._lock:
                self._pump()

    def _pump(self) -> None:
        if self._source is None:
            try:
                self._source = self._source_path.open("rb")
            except FileNotFoundError:
                return
        data = self._source.read()
        if data and self._target is not None:
            self._target.write(data)
            self._target.flush()

    def _close_target(self) -> None:
        if self._target is not None:
            self._target.close()
            self._target = None


class SharedServerError(RuntimeError):
    """A test tried to stop or restart a server other tests share."""


class LentServer:
    """One test's use of a pooled server: its address, and its part of the log."""

    def __init__(self, server: ChildServer, log_path: Path) -> None:
        self._server = server
        self.log_path = log_path
        self.env = server.env

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def ws_url(self) -> str:
        return self._server.ws_url

    @property
    def pid(self) -> int:
        return self._server.pid

    def alive(self) -> bool:
        return self._server.running()

    def log(self) -> str:
        """What the server printed during this test."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise SharedServerError(
            "this server is shared with other tests: a test that stops, kills or restarts "
            "its server asks for one of its own with @pytest.mark.private_server"
        )

    kill = stop = start = restart = _refuse


class _Pooled:
    def __init__(self, server: ChildServer) -> None:
        self.server = server
        self.tail = LogTail(server.log_path)
        self.borrowed = False


class ServerPool:
    """Running servers by environment, the `keep` most recently used of them."""

    def __init__(self, log_dir: Path, keep: int = 6) -> None:
        self.log_dir = log_dir
        self.keep = keep
        self.started = 0
        self.lent = 0
        self._servers: OrderedDict[frozenset[tuple[str, str]], _Pooled] = OrderedDict()
        self._stopping: list[threading.Thread] = []

    def lend(self, env: dict[str, str], log_path: Path) -> LentServer:
        """A running server started with `env`, its output from now on copied to `log_path`."""
        key = frozenset((k, v) for k, v in env.items() if k not in PER_TEST_VARIABLES)
        pooled = self._servers.pop(key, None)
        if pooled is not None and not pooled.server.running():
            self._retire(pooled)  # died during its last test, which was told
            pooled = None
        if pooled is None:
            while len(self._servers) >= self.keep:
                _, oldest = self._servers.popitem(last=False)
                self._retire(oldest)
            self.started += 1
            log = self.log_dir / f"server-{self.started}.log"
            pooled = _Pooled(ChildServer(dict(env), log).start())
        assert not pooled.borrowed, "a pooled server is lent to one test at a time"
        self._servers[key] = pooled
        pooled.borrowed = True
        pooled.tail.lend(log_path)
        self.lent += 1
        return LentServer(pooled.server, log_path)

    def give_back(self, lent: LentServer) -> None:
        """The test is over; fails if the server died during it."""
        for pooled in self._servers.values():
            if pooled.server is lent._server:
                pooled.tail.end()
                pooled.borrowed = False
                break
        process = lent._server.process
        if process is not None and not lent.alive():
            raise RuntimeError(
                f"the shared server exited with {process.returncode} during the test;"
                f" see {lent.log_path} and {lent._server.log_path}"
            )

    def close(self) -> None:
        """Stop every server."""
        while self._servers:
            _, pooled = self._servers.popitem()
            self._retire(pooled)
        for thread in self._stopping:
            thread.join()

    def _retire(self, pooled: _Pooled) -> None:
        # SIGTERM waits for the server to finish its sockets; the next test
        # need not wait for that.
        def stop() -> None:
            with contextlib.suppress(Exception):
                pooled.server.stop()
            pooled.tail.stop()

        thread = threading.Thread(target=stop, name=f"stop {pooled.server.log_path.name}")
        thread.start()
        self._stopping.append(thread)
