"""A loopback TCP proxy whose network can be cut: a dropped connection, as a test sees it.

Browser emulation of "offline" leaves open WebSockets half alive (the page's
frames stop, the browser still answers pings), which no real network does.
Cutting here ends every connection at once and refuses new ones until the
network is restored.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from devtools.ports import free_port


class TcpProxy:
    """127.0.0.1:<port> forwarded to 127.0.0.1:<target>, in threads of its own."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._up = True
        self._cuts = 0
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        """End every connection at once and refuse new ones."""
        with self._lock:
            self._up = False
            self._cuts += 1
            doomed, self._open = self._open, set()
        for sock in doomed:
            _end(sock)

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                cuts_before, up = self._cuts, self._up
            if not up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                # A cut while the upstream was connecting must end this
                # connection too, or a reconnect in flight at the moment of the
                # cut would survive it.
                survives = self._up and self._cuts == cuts_before
                if survives:
                    self._open.update((client, upstream))
            if not survives:
                client.close()
                upstream.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _end(sock)


def _end(sock: socket.socket) -> None:
    """End a connection so that its peer sees it end, whichever thread is reading it.

    A close alone is not enough: while another thread is blocked reading the
    socket, the kernel keeps it open, no FIN goes out, and that reader never
    wakes. A shutdown sends the FIN and wakes the reader.
    """
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
