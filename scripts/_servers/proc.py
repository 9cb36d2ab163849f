"""Process plumbing: running commands, pid checks, port owners, log tails and a tiny RESP client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class ServerError(Exception):
    """A server could not be installed, started, stopped or reached."""

    def __init__(self, server: str, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.server = server
        self.log = log

    def report(self) -> str:
        text = f"servers: {self.server}: {self}"
        if self.log is not None:
            text += "\n" + log_tail(self.log)
        return text


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            tail = f.read().decode("utf-8", "replace").splitlines()[-lines:]
    except OSError as exc:
        return f"(no log at {path}: {exc.strerror})"
    body = "\n".join("  | " + line for line in tail) or "  | (empty)"
    return f"  last lines of {path}:\n{body}"


def clean_env(**extra: str) -> dict[str, str]:
    """A minimal environment: no PG*/REDIS* settings of the caller leak into our tools."""
    keep = ("PATH", "HOME", "LANG", "TZ", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env["LC_ALL"] = "C.UTF-8"
    env.update(extra)
    return env


def run(
    server: str,
    argv: Sequence[str | os.PathLike[str]],
    *,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    what: str | None = None,
    log: Path | None = None,
) -> str:
    """Run a command; return its stdout, or raise ServerError with its output."""
    args = [str(a) for a in argv]
    try:
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env if env is not None else clean_env(),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServerError(
            server, f"{what or args[0]} did not finish in {timeout:.0f}s", log
        ) from None
    except OSError as exc:
        raise ServerError(server, f"cannot run {args[0]}: {exc.strerror}", log) from None
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        raise ServerError(
            server,
            f"{what or ' '.join(args[:2])} failed (exit {proc.returncode})"
            + (":\n" + _indent(output) if output else ""),
            log,
        )
    return proc.stdout


def _indent(text: str, limit: int = 40) -> str:
    lines = text.splitlines()[-limit:]
    return "\n".join("  | " + line for line in lines)


def read_pid(path: Path) -> int | None:
    try:
        first = path.read_text().split("\n", 1)[0].strip()
        return int(first) if first else None
    except (OSError, ValueError):
        return None


def pid_alive(pid: int | None, binary: str | None = None) -> bool:
    """True if pid runs (and, when given, its command line names binary)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if binary is None:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # a zombie is gone
        return False
    return binary.encode() in cmdline


def terminate(pid: int, timeout: float = 15, first: signal.Signals = signal.SIGTERM) -> None:
    """``first`` (SIGTERM), wait, then SIGKILL."""
    for sig, wait in ((first, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_until(lambda: not pid_alive(pid), wait):
            return


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return True
        except (OSError, ServerError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def port_owner(port: int) -> str:
    """Which process listens on a TCP port, as 'pid N (name)', found through /proc."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if (
                len(fields) > 9
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(fields[9])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    name = (entry / "comm").read_text().strip()
                    return f"pid {entry.name} ({name})"
        except OSError:
            continue
    return "another process"


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> None:
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    path.write_text(text)
    path.chmod(mode)


def ensure_port_free(server: str, port: int, var: str) -> None:
    if port_open(port):
        raise ServerError(
            server, f"port {port} is already in use by {port_owner(port)}; stop it or set {var}"
        )


# --- a tiny RESP2 client: enough for PING, INFO, CLUSTER INFO, MODULE LIST, SHUTDOWN ---


class RedisReplyError(Exception):
    pass


def redis_call(port: int, *args: str, timeout: float = 3.0) -> object:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        payload = f"*{len(args)}\r\n".encode()
        for arg in args:
            data = arg.encode()
            payload += b"$%d\r\n%s\r\n" % (len(data), data)
        sock.sendall(payload)
        with sock.makefile("rb") as stream:
            return _read_reply(stream)


def _read_reply(stream: object) -> object:
    line = stream.readline()  # type: ignore[attr-defined]
    if not line:
        raise ConnectionError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisReplyError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data = stream.read(size + 2)  # type: ignore[attr-defined]
        return data[:-2].decode("utf-8", "replace")
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [_read_reply(stream) for _ in range(size)]
    raise ConnectionError(f"unexpected reply {line!r}")


def redis_ping(port: int) -> bool:
    try:
        return redis_call(port, "PING", timeout=1.0) == "PONG"
    except (OSError, ConnectionError, RedisReplyError):
        return False


def redis_info_fields(text: object) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in str(text).splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    return fields
