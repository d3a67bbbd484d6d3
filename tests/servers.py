"""Real servers for tests and benchmarks: gunicorn and a private PostgreSQL, on free loopback ports.

    with Gunicorn("wsgi:app", env={"DATABASE_URL": url}, workers=4, threads=2) as server:
        requests.post(server.url + "/api/...", ...)
        server.output()             # what the master and workers printed so far
        server.stdout()             # of which stdout alone (the access log, when asked for)

    with PostgresCluster() as pg:   # initdb + pg_ctl in a temp dir, as `postgres` when root
        pg.url                      # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
        pg.stop(); pg.start()       # same data and port: a database outage and its return

    init_db({"DATABASE_URL": url})  # `flask db upgrade` in its own process
    free_port()                     # a loopback port nothing listens on, safe from other workers
    wait_http(url, deadline)        # poll a URL until it answers below 500 (or `ok(status)`)
    workers_of(server.process.pid)  # the pids of a gunicorn master's workers

Everything binds 127.0.0.1 only, is stopped on exit, and leaves no temp files behind.
"""

import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
# The serving flags of `make run` beyond workers and threads (the Makefile's SERVING, and a
# listening socket per process): its buffering worker. Without them, gunicorn's defaults
# (sync workers, gthread with threads) serve, as some tests need.
BUFFERED_WORKER = "backend.serving.worker.BufferedThreadWorker"
SERVE_AS_MAKE_RUN = ("--worker-class", BUFFERED_WORKER, "--reuse-port")
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def _port_range():
    """Ports below the kernel's ephemeral range, where neither bind(0) nor a client socket goes."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return 10000, max(low, 10001)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now, and that stays ours.

    Taken below the ephemeral range, so no other process's bind(0) or outgoing connection takes
    it between this probe and the server's bind, nor while a server stops and starts again on
    it. Under pytest-xdist each worker draws from its own residue class, so two workers never
    pick the same port.
    """
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    low, high = _port_range()
    while True:
        port = random.randrange(low, high)
        if port % count != index:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def flask_command(args, env, timeout=60):
    """`flask --app wsgi ARGS` in its own process from the repository, as an operator runs it.

    `env` is the whole environment; what it printed comes back as text.
    """
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def init_db(env):
    """`flask --app wsgi db upgrade` in its own process, `env` added to this one's environment."""
    flask_command(["db", "upgrade"], {**os.environ, **env}).check_returncode()


def wait_http(url, deadline, alive=lambda: True, ok=lambda status: status < 500):
    """Poll `url` with GET until `ok(status)`; False when `deadline` (monotonic) passes first."""
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = None
        if status is not None and ok(status):
            return True
        time.sleep(0.05)
    return False


def workers_of(master_pid):
    """The pids of a gunicorn master's workers, read from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:
            pids.append(int(stat.parent.name))
    return pids


class Gunicorn:
    """`gunicorn app` on a free port with `env` added to this process's environment."""

    def __init__(
        self,
        app="wsgi:app",
        env=None,
        workers=2,
        threads=1,
        ready_path="/healthz",
        extra_args=(),
        cwd=ROOT,
    ):
        self.app, self.workers, self.threads = app, workers, threads
        self.env = {**os.environ, **(env or {})}
        self.ready_path, self.extra_args, self.cwd = ready_path, list(extra_args), cwd
        self.process = None
        self.port = None
        self._log_dir = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30, attempts=5):
        """Start and wait until every worker is booted and `ready_path` answers below 500.

        A port someone else bound since `free_port()` probed it: start again on another.
        """
        self._log_dir = tempfile.mkdtemp(prefix="gunicorn-")
        deadline = time.monotonic() + timeout
        for _ in range(attempts):
            self.port = free_port()
            if self._boot(deadline):
                break
            # Its master is sleeping between bind retries and would answer TERM only later.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        else:
            self._fail(f"found no free port in {attempts} attempts")
        if not wait_http(self.url + self.ready_path, deadline, self._alive):
            self._fail(f"did not answer {self.ready_path}")
        return self

    def _boot(self, deadline):
        """Run gunicorn until its workers booted: True; False when its port was taken."""
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            # Several servers at once must not share gunicorn's default control socket path.
            "--no-control-socket",
            # As `make run`: gunicorn's lines as JSON (it finds the file alone only in ROOT).
            "--config",
            str(GUNICORN_CONF),
            *self.extra_args,
            self.app,
        ]
        log_dir = Path(self._log_dir)
        with open(log_dir / "stdout.log", "wb") as out, open(log_dir / "stderr.log", "wb") as err:
            self.process = subprocess.Popen(
                command,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        while (output := self.output()).count("Booting worker") < self.workers:
            if "Connection in use" in output:
                return False
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._fail("did not boot its workers")
            time.sleep(0.05)
        return True

    def _alive(self):
        return self.process.poll() is None

    def _fail(self, why):
        output = self.output()
        self.cleanup()
        raise RuntimeError(f"gunicorn {self.app} {why}:\n{output[-4000:]}")

    def output(self):
        """Everything the server printed so far (access log off, app logs and errors on)."""
        return self.stderr() + self.stdout()

    def stderr(self):
        """What the server printed on stderr so far: gunicorn's lines and the app's JSON lines."""
        return self._read("stderr.log")

    def stdout(self):
        """What the server printed on stdout so far: the access log, when asked for with `-`."""
        return self._read("stdout.log")

    def _read(self, name):
        if self._log_dir is None:
            return ""
        path = Path(self._log_dir) / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def stop(self):
        """Stop the master and its workers (TERM, then KILL after 10 s); keep the output."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def cleanup(self):
        """Stop, then remove the captured output."""
        self.stop()
        if self._log_dir:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc):
        self.cleanup()


class PostgresCluster:
    """A throwaway PostgreSQL cluster (initdb, trust auth) in a temp dir, on a free port."""

    def __init__(self, bin_dir=PG_BIN):
        self.bin_dir = Path(bin_dir)
        self.port = None
        self.base = None

    @property
    def url(self):
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def available(bin_dir=PG_BIN):
        """True when initdb and pg_ctl are installed (and, as root, a `postgres` user exists)."""
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return False
        return (Path(bin_dir) / "initdb").exists() and (Path(bin_dir) / "pg_ctl").exists()

    def _run(self, *args, timeout=60):
        # PostgreSQL refuses to run as root: run it as the `postgres` OS user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *map(str, args)],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,
        )

    def create(self):
        """initdb into a fresh temp dir owned by the server's user."""
        self.base = tempfile.mkdtemp(prefix="pgcluster-")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.base, user.pw_uid, user.pw_gid)
        self.port = free_port()
        self._run(
            self.bin_dir / "initdb",
            "-D",
            f"{self.base}/data",
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        return self

    def start(self):
        """Start (or restart) the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            self.bin_dir / "pg_ctl",
            "-D",
            f"{self.base}/data",
            "-l",
            f"{self.base}/server.log",
            "-o",
            options,
            "-w",
            "start",
        )
        return self

    def stop(self, mode="fast"):
        """Stop the server: `fast` ends sessions at once, `immediate` is a crash."""
        self._run(self.bin_dir / "pg_ctl", "-D", f"{self.base}/data", "-m", mode, "-w", "stop")

    def running(self):
        """True while the server's postmaster is up."""
        try:
            self._run(self.bin_dir / "pg_ctl", "-D", f"{self.base}/data", "status")
        except subprocess.CalledProcessError:
            return False
        return True

    def cleanup(self):
        """Stop the server if it runs and remove its files."""
        if self.base is None:
            return
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)
        self.base = None

    def start_on_a_free_port(self, attempts=5):
        """The first start: on another free port when someone bound this one since its probe."""
        log = Path(self.base, "server.log")
        for _ in range(attempts - 1):
            logged = log.stat().st_size if log.exists() else 0
            try:
                return self.start()
            except subprocess.CalledProcessError:
                with open(log, "rb") as server_log:
                    server_log.seek(logged)
                    if b"Address already in use" not in server_log.read():
                        raise
                self.port = free_port()
        return self.start()

    def __enter__(self):
        try:
            return self.create().start_on_a_free_port()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *_exc):
        self.cleanup()
