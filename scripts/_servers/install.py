"""Installing the servers: pip --target wheels, Debian packages and the service user."""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .config import SERVICE_USER
from .proc import ServerError, clean_env, run

IS_ROOT = os.geteuid() == 0
MARKER = ".durastate-installed"


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip_python() -> tuple[list[str], list[str]]:
    """A Python that has pip, plus extra pip flags it needs."""
    for python in (sys.executable, shutil.which("python3") or ""):
        if python and _has_pip(python):
            return [python, "-m", "pip"], []
    apt_install("pip", ("python3-pip",))
    return ["/usr/bin/python3", "-m", "pip"], ["--break-system-packages"]


def _has_pip(python: str) -> bool:
    probe = subprocess.run(
        [python, "-m", "pip", "--version"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return probe.returncode == 0


def pip_target(server: str, install_root: Path, spec: str, extra: Sequence[str] = ()) -> Path:
    """Install one wheel (no dependencies) into its own directory; a no-op when present."""
    target = install_root / spec.replace("==", "-")
    if (target / MARKER).is_file():
        return target
    with file_lock(install_root / ".lock"):
        if (target / MARKER).is_file():
            return target
        staging = target.with_name(target.name + f".partial-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        pip, flags = _pip_python()
        print(f"servers: installing {spec} into {target}", file=sys.stderr, flush=True)
        run(
            server,
            [
                *pip,
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-warn-script-location",
                "--no-deps",
                "--no-compile",
                "--target",
                staging,
                *flags,
                *extra,
                spec,
            ],
            timeout=900,
            env=clean_env(PIP_ROOT_USER_ACTION="ignore"),
            what=f"pip install {spec}",
        )
        (staging / MARKER).write_text(spec + "\n")
        shutil.rmtree(target, ignore_errors=True)
        os.rename(staging, target)
    return target


def _dpkg_installed(package: str) -> bool:
    probe = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return probe.returncode == 0 and probe.stdout.strip() == "install ok installed"


def apt_install(server: str, packages: Sequence[str]) -> None:
    """apt-get install the missing packages, without letting them start distro services."""
    missing = [p for p in packages if not _dpkg_installed(p)]
    if not missing:
        return
    if not IS_ROOT:
        raise ServerError(
            server,
            f"Debian packages missing: {' '.join(missing)}; "
            f"install them as root (apt-get install {' '.join(missing)})",
        )
    print(f"servers: apt-get install {' '.join(missing)}", file=sys.stderr, flush=True)
    env = clean_env(DEBIAN_FRONTEND="noninteractive")
    policy = Path("/usr/sbin/policy-rc.d")
    created_policy = False
    if not policy.exists():  # keep invoke-rc.d from starting the distro's own instances
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        created_policy = True
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    try:
        with file_lock(Path("/tmp/durastate-servers-apt.lock")):
            try:
                run(server, install, timeout=900, env=env, what="apt-get install")
            except ServerError:  # stale or absent package lists: refresh once and retry
                run(
                    server, ["apt-get", "update", "-q"], timeout=600, env=env, what="apt-get update"
                )
                run(server, install, timeout=900, env=env, what="apt-get install")
    finally:
        if created_policy:
            policy.unlink(missing_ok=True)


def ensure_service_user() -> str | None:
    """The user that runs postgres and pgbouncer (None: run as ourselves, we are not root)."""
    if not IS_ROOT:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        run(
            "postgres",
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            what="useradd",
        )
    return SERVICE_USER


def as_service_user(user: str | None, argv: Sequence[str | os.PathLike[str]]) -> list[str]:
    """argv run as the service user, with its open-files soft limit raised to the hard one
    (runuser's PAM session drops it to 1024, too few for pgbouncer's 2000 clients)."""
    args = [str(a) for a in argv]
    if not user:
        return args
    raise_nofile = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"'
    return ["runuser", "-u", user, "--", "sh", "-c", raise_nofile, "sh", *args]


def give_to(user: str | None, *paths: Path) -> None:
    if not user:
        return
    entry = pwd.getpwnam(user)
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def user_can_write(user: str | None, path: Path) -> bool:
    if not user:
        return os.access(path, os.W_OK | os.X_OK)
    probe = subprocess.run(
        as_service_user(user, ["test", "-w", str(path), "-a", "-x", str(path)]),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0
