"""Private servers and a faulty network for the fault tests: a PostgreSQL cluster and a TCP proxy.

Both disturb nobody else: the cluster lives in a temporary folder on a free port, and the proxy sits between
one worker and Redis, so only that worker's connections are cut.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (Debian's newest, or the PATH's), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (trust auth, fsync off) that a test may stop and start at will.

    PostgreSQL refuses to run as root; as root (CI) the cluster runs as the ``postgres`` user, in a folder
    under the system temporary directory that user owns.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="calmline-pg-"))
        self.data = self.root / "data"
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            cwd=self.root,
            **self._as,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
        options += " -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o", options, "start")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: like a crash (no checkpoint; recovery on start); ``fast``: a clean shutdown."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        from sqlalchemy import create_engine, text

        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class FaultyLink:
    """A TCP proxy from a local port to ``target``, whose connections a test can break.

    - ``cut("reset")``: every open connection is closed and new ones are closed at once (a lost route, RST);
    - ``cut("blackhole")``: nothing passes any more, in either direction, and new connections hang (packets
      dropped: the client only notices through its own timeout);
    - ``restore()``: connections opened from now on work again; the ones that saw the cut are closed (the
      bytes they lost would otherwise desynchronise the protocol).
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode = "up"
        #: Connections the client opened while the link was cut (evidence that it noticed and reconnected).
        self.attempts_while_cut = 0
        self._pairs: list[_Pair] = []
        self._guard = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="faulty-link", daemon=True)
        self._thread.start()

    def cut(self, mode: str) -> None:
        assert mode in ("reset", "blackhole")
        with self._guard:
            self.mode = mode
            for pair in self._pairs:
                pair.doomed = True
                if mode == "reset":
                    pair.close()

    def restore(self) -> None:
        with self._guard:
            self.mode = "up"
            for pair in self._pairs:
                if pair.doomed:
                    pair.close()
            self._pairs = [p for p in self._pairs if not p.doomed]

    def close(self) -> None:
        self._closed = True
        self._thread.join(5)
        self._listener.close()
        with self._guard:
            for pair in self._pairs:
                pair.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._guard:
                if self.mode != "up":
                    self.attempts_while_cut += 1
                if self.mode == "reset":
                    client.close()
                    continue
                upstream = socket.create_connection(self.target)
                pair = _Pair(client, upstream, doomed=self.mode == "blackhole")
                self._pairs.append(pair)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=pair.pump, args=(src, dst), daemon=True).start()


class _Pair:
    def __init__(self, client: socket.socket, upstream: socket.socket, *, doomed: bool) -> None:
        self.client, self.upstream, self.doomed = client, upstream, doomed

    def pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if not self.doomed:  # a cut link drops everything: neither requests nor replies get through
                    dst.sendall(data)
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    """Wait until ``condition()`` is true (a timeout for waiting, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
