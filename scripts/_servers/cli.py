"""The `scripts/servers` command line: start, stop, status, env and in-place restarts."""

from __future__ import annotations

import json
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .config import DEPENDS, SERVERS, URL_VARS, Config
from .install import apt_install, file_lock
from .postgres import PgBouncer, Postgres
from .proc import ServerError
from .redis import RedisCluster, RedisStandalone

USAGE = """\
usage: scripts/servers COMMAND [NAME...]

Real test servers on 127.0.0.1, installed and started without Docker.

commands:
  start [NAME...]          install (when missing) and start; a no-op for running servers
  stop [NAME...]           stop (Redis data is dropped; PostgreSQL data is kept)
  status [--json] [NAME...]
  env                      print `export DURASTATE_TEST_*_URL=...` lines
  restart NAME...          restart in place: same port, same data; waits until it answers
  restart-postgres         = restart postgres
  restart-redis NAME       NAME: redis-stack | redis | valkey | redis-cluster | redis-cluster-N
  install [NAME...]        only install what the servers need
  help

names: postgres, pgbouncer, redis-stack, redis, valkey, redis-cluster (default: all)

ports (override with DURASTATE_SERVERS_<NAME>_PORT, e.g. DURASTATE_SERVERS_REDIS_STACK_PORT):
  postgres 25432, pgbouncer 25433, redis-stack 26400, redis 26401, valkey 26402,
  redis-cluster 27001-27003 (cluster bus 28001-28003)
state and logs: $DURASTATE_SERVERS_DIR (default: <repo>/.servers)
installs: $DURASTATE_SERVERS_INSTALL_DIR (default: /opt/durastate-test-servers as root)
"""

ALIASES = {
    "pg": "postgres",
    "postgresql": "postgres",
    "stack": "redis-stack",
    "redis-plain": "redis",
    "cluster": "redis-cluster",
}


def build(cfg: Config) -> dict[str, Any]:
    postgres = Postgres(cfg)
    return {
        "postgres": postgres,
        "pgbouncer": PgBouncer(cfg, postgres),
        "redis-stack": RedisStandalone(cfg, "redis-stack", "stack"),
        "redis": RedisStandalone(cfg, "redis", "plain"),
        "valkey": RedisStandalone(cfg, "valkey", "valkey"),
        "redis-cluster": RedisCluster(cfg),
    }


def _names(args: list[str], with_deps: bool) -> list[str]:
    wanted = {ALIASES.get(a, a) for a in args} or set(SERVERS)
    unknown = wanted - set(SERVERS)
    if unknown:
        raise SystemExit(
            f"servers: unknown server {', '.join(sorted(unknown))}; known: {', '.join(SERVERS)}"
        )
    if with_deps:
        for name in list(wanted):
            wanted.update(DEPENDS.get(name, ()))
    return [n for n in SERVERS if n in wanted]


def _line(name: str, state: str, server: Any, seconds: float | None = None) -> None:
    took = f"  ({seconds:.1f}s)" if seconds is not None and seconds >= 0.05 else ""
    print(f"{name:<14} {state:<16} {server.describe()}{took}", flush=True)


def _install(servers: dict[str, Any], names: list[str]) -> dict[str, ServerError]:
    """Install everything the given servers need, apt and pip in parallel."""
    failures: dict[str, ServerError] = {}
    packages = sorted({p for n in names for p in servers[n].apt_packages()})
    pip_based = [n for n in names if not servers[n].apt_packages()]

    def install(name: str) -> None:
        try:
            if name == "apt":
                apt_install("apt", packages)
            else:
                servers[name].install()
        except ServerError as exc:
            failures[name] = exc

    jobs = (["apt"] if packages else []) + pip_based
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        list(pool.map(install, jobs))
    if "apt" in failures:
        for name in names:
            if servers[name].apt_packages():
                failures[name] = failures["apt"]
        del failures["apt"]
    return failures


def cmd_start(cfg: Config, servers: dict[str, Any], args: list[str], install_only: bool) -> int:
    names = _names(args, with_deps=True)
    began = time.monotonic()
    with file_lock(cfg.servers_dir / ".lock"):
        up = set() if install_only else {n for n in names if servers[n].running()}
        failures = _install(servers, [n for n in names if n not in up])
        if install_only:
            for exc in failures.values():
                print(exc.report(), file=sys.stderr)
            print(f"installed in {time.monotonic() - began:.1f}s")
            return 1 if failures else 0
        for name in names:
            server = servers[name]
            t0 = time.monotonic()
            blocked = [d for d in DEPENDS.get(name, ()) if d in failures]
            try:
                if name in failures:
                    raise failures[name]
                if blocked:
                    raise ServerError(name, f"not started: {', '.join(blocked)} failed")
                if name in up:
                    if name == "postgres":
                        server.verify()
                    state = "already running"
                else:
                    state = server.start()
            except ServerError as exc:
                failures[name] = exc
                _line(name, "FAILED", server)
                print(exc.report(), file=sys.stderr, flush=True)
                continue
            _line(name, state, server, time.monotonic() - t0)
    total = time.monotonic() - began
    if failures:
        print(
            f"servers: {len(failures)} of {len(names)} failed to start: "
            f"{', '.join(n for n in names if n in failures)}",
            file=sys.stderr,
        )
        return 1
    print(
        f"{len(names)} servers ready in {total:.1f}s; "
        f'eval "$(scripts/servers env)" exports their URLs'
    )
    return 0


def cmd_stop(cfg: Config, servers: dict[str, Any], args: list[str]) -> int:
    names = _names(args, with_deps=False)
    if not args:  # dependents first
        names = list(reversed(names))
    failed = 0
    with file_lock(cfg.servers_dir / ".lock"):
        for name in names:
            try:
                _line(name, servers[name].stop(), servers[name])
            except ServerError as exc:
                failed += 1
                print(exc.report(), file=sys.stderr)
    return 1 if failed else 0


def cmd_restart(cfg: Config, servers: dict[str, Any], args: list[str]) -> int:
    if not args:
        raise SystemExit("servers: restart needs a server name")
    failed = 0
    with file_lock(cfg.servers_dir / ".lock"):
        for arg in args:
            name = ALIASES.get(arg, arg)
            node = None
            if name.startswith("redis-cluster-"):
                node, name = name, "redis-cluster"
                try:
                    servers[name].node(node)
                except KeyError:
                    raise SystemExit(f"servers: unknown cluster node {node}") from None
            if name not in servers:
                raise SystemExit(f"servers: unknown server {arg}; known: {', '.join(SERVERS)}")
            t0 = time.monotonic()
            server = servers[name]
            try:
                state = server.restart(node) if node else server.restart()
            except ServerError as exc:
                failed += 1
                _line(node or name, "FAILED", server)
                print(exc.report(), file=sys.stderr)
                continue
            _line(node or name, state, server, time.monotonic() - t0)
    return 1 if failed else 0


def cmd_status(servers: dict[str, Any], args: list[str]) -> int:
    as_json = "--json" in args
    names = _names([a for a in args if a != "--json"], with_deps=False)
    report = {}
    for name in names:
        server = servers[name]
        running = server.running()
        report[name] = {
            "running": running,
            "port": server.port,
            "pid": server.pid() if running else None,
            "log": str(server.log),
        }
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for name, info in report.items():
            state = f"running (pid {info['pid']})" if info["running"] else "stopped"
            _line(name, state, servers[name])
    return 0 if all(info["running"] for info in report.values()) else 3


def cmd_env(cfg: Config) -> int:
    for name in SERVERS:
        print(f"export {URL_VARS[name]}={shlex.quote(cfg.url(name))}")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("help", "-h", "--help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, args = argv[0], argv[1:]
    cfg = Config.from_env()
    if command == "env":
        return cmd_env(cfg)
    cfg.servers_dir.mkdir(parents=True, exist_ok=True)
    servers = build(cfg)
    if command in ("start", "install"):
        return cmd_start(cfg, servers, args, install_only=command == "install")
    if command == "stop":
        return cmd_stop(cfg, servers, args)
    if command == "status":
        return cmd_status(servers, args)
    if command == "restart":
        return cmd_restart(cfg, servers, args)
    if command == "restart-postgres":
        return cmd_restart(cfg, servers, ["postgres", *args])
    if command == "restart-redis":
        if len(args) != 1:
            raise SystemExit(
                "servers: restart-redis needs one NAME: redis-stack, redis, valkey, "
                "redis-cluster or redis-cluster-N"
            )
        return cmd_restart(cfg, servers, args)
    print(f"servers: unknown command {command!r}\n\n{USAGE}", file=sys.stderr, end="")
    return 2
