"""A cuttable line to the real pcscd: a Unix socket relay that PC/SC clients reach through PCSCLITE_CSOCK_NAME.

pcscd's own socket is fixed at build time, so a test cannot run a private pcscd beside the
host's. Instead every client of the test session talks to the real pcscd through this relay;
`cut()` makes the service vanish for them (SCARD_E_NO_SERVICE) and `restore()` brings it back,
without touching a pcscd the tests did not start. The relay runs in its own process: in the
test process, a pcsc-lite call that holds the GIL would wait for a relay that needs the GIL.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

PCSCD_SOCKET = "/run/pcscd/pcscd.comm"


class Relay:
    def __init__(self, path: Path, upstream: str = PCSCD_SOCKET) -> None:
        self.path = path
        self.upstream = upstream
        self._server: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.path))
        os.chmod(self.path, 0o777)
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True, name="pcsc-line").start()

    def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.upstream)
            except OSError:
                client.close()
                upstream.close()
                continue
            with self._lock:
                if self._server is not server:
                    client.close()
                    upstream.close()
                    return
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)


class PcscLine:
    """The relay as a child process: `cut()` kills it with every connection through it."""

    def __init__(self, path: Path, upstream: str = PCSCD_SOCKET) -> None:
        self.path = path
        self.upstream = upstream
        self._process: subprocess.Popen[bytes] | None = None

    def restore(self) -> None:
        self.cut()
        self._process = subprocess.Popen([sys.executable, __file__, str(self.path), self.upstream])
        deadline = time.monotonic() + 10
        while not self.path.exists():
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("the PC/SC relay did not start")
            time.sleep(0.01)

    def cut(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    @property
    def up(self) -> bool:
        return self._process is not None and self._process.poll() is None


if __name__ == "__main__":
    relay = Relay(Path(sys.argv[1]), sys.argv[2])
    relay.restore()
    threading.Event().wait()
