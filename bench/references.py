"""The reference servers the benchmark runs beside the project, from bench/references/ (npm):
Hocuspocus and the y-websocket server, each in memory, one Node process on a free port."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bench.common import ROOT
from devtools.child_server import ChildServer
from devtools.ports import wait_for_port

REFERENCES = ROOT / "bench" / "references"


class ReferenceServer(ChildServer):
    """`node bench/references/<kind>.mjs PORT`, its output appended to `log_path`; stopped as
    the project's servers are (SIGTERM: Hocuspocus closes its connections first)."""

    def __init__(self, kind: str, log_path: Path) -> None:
        super().__init__(dict(os.environ), log_path)
        self.kind = kind

    def start(self, timeout: float = 20.0) -> ReferenceServer:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                ["node", str(REFERENCES / f"{self.kind}.mjs"), str(self.port)],
                cwd=REFERENCES,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, timeout)
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.kind} exited early; see {self.log_path}")
        return self


def installed() -> bool:
    return all((REFERENCES / "node_modules" / name).is_dir() for name in ("@hocuspocus", "@y"))
