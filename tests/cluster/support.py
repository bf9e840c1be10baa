"""The deployment shape for the cluster test: app hosts in network namespaces, each with its
own address and its own gunicorn, and Debian's nginx in front with deploy/nginx.conf.

Each host is a network namespace joined to the machine by a veth pair (a /30 in
10.77.0.0/16, chosen free at random); gunicorn runs inside it, bound to the namespace's
address. PostgreSQL and Redis listen on the machine's loopback only, which a namespace
cannot reach, so a relay on the root side of each host's link carries its connections
there (tests/cluster/relay.py); their configuration is never changed. Everything started
here is stopped, and every namespace deleted, when its context ends, also on failure.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.factories import PROJECT_ROOT, free_port
from tests.load.support import plain_url, server_environment

requests = pytest.importorskip("requests")

NGINX_CONF = PROJECT_ROOT / "deploy" / "nginx.conf"
EXAMPLE_APP_HOSTS = PROJECT_ROOT / "deploy" / "survey_app" / "app_hosts.conf"
APP_PORT = 8000
START_TIMEOUT = 30.0
STEP_TIMEOUT = 10.0


def _ip(*args: str, namespace: str | None = None, check: bool = True) -> str:
    command = ["ip", *(("-n", namespace) if namespace else ()), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=STEP_TIMEOUT)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


def namespaces_unavailable() -> str | None:
    """Return why network namespaces cannot be made here, or None when they can."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    probe = f"survey-probe-{secrets.token_hex(4)}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True,
                          timeout=STEP_TIMEOUT)
    if done.returncode != 0:
        return f"ip netns add is not allowed here ({done.stderr.strip() or done.returncode})"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=STEP_TIMEOUT)
    return None


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )


def _free_subnet() -> int:
    """Return a third octet k such that 10.77.k.0/24 is used by no interface here."""
    used = set(re.findall(r"\b10\.77\.(\d+)\.", _ip("-4", "-o", "addr")))
    free = [k for k in range(256) if str(k) not in used]
    if not free:
        raise RuntimeError("no free /24 left in 10.77.0.0/16")
    return random.choice(free)


@dataclass
class AppHost:
    """One app host: its namespace, its address, its relays and its gunicorn."""

    name: str
    namespace: str
    address: str  # inside the namespace, where gunicorn listens
    gateway: str  # the root side of the link, where the relays listen
    directory: Path
    environment: dict[str, str] = field(default_factory=dict)
    gunicorn: subprocess.Popen[bytes] | None = None
    relays: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def upstream(self) -> str:
        return f"{self.address}:{APP_PORT}"

    @property
    def url(self) -> str:
        return f"http://{self.upstream}"

    @property
    def log_path(self) -> Path:
        return self.directory / f"gunicorn-{self.name}.log"

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    # Relays to the machine's PostgreSQL and Redis ------------------------------------

    def start_relay(self, service: str, port: int) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.cluster.relay", f"{self.gateway}:{port}",
             f"127.0.0.1:{port}"],
            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        process.stdout.close()
        if not line.startswith(b"ready"):
            process.kill()
            raise RuntimeError(f"the {service} relay of host {self.name} did not start: {line!r}")
        self.relays[service] = process

    def stop_relay(self, service: str) -> None:
        process = self.relays.pop(service, None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=STEP_TIMEOUT)

    # gunicorn ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start gunicorn -c gunicorn.conf.py wsgi:app inside the namespace; wait for it."""
        with open(self.log_path, "ab") as log:
            self.gunicorn = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace,
                 sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=PROJECT_ROOT, env=self.environment, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_until_healthy(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gunicorn is not None and self.gunicorn.poll() is not None:
                break
            if self.health() == 200:
                return
            time.sleep(0.2)
        tail = "\n".join(self.log().splitlines()[-40:])
        raise RuntimeError(f"host {self.name} did not become healthy; log tail:\n{tail}")

    def health(self) -> int:
        """Return /healthz's status asked of this host directly (0: no answer)."""
        try:
            return requests.get(self.url + "/healthz", timeout=3).status_code
        except requests.RequestException:
            return 0

    def pids(self) -> list[int]:
        return [int(p) for p in _ip("netns", "pids", self.namespace, check=False).split()]

    def kill(self) -> None:
        """kill -9 every process of the host (its gunicorn master and workers) at once."""
        for pid in self.pids():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.gunicorn is not None:
            self.gunicorn.wait(timeout=STEP_TIMEOUT)

    def stop(self) -> None:
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.gunicorn.wait(timeout=STEP_TIMEOUT)
        self.kill()


@contextmanager
def app_host(name: str, run: str, directory: Path) -> Iterator[AppHost]:
    """Make a namespace joined to the machine by a veth pair; delete it afterwards."""
    namespace = f"survey-{run}-{name}"
    outside, inside = f"sv{run}{name}0", f"sv{run}{name}1"  # at most 15 characters
    octet = _free_subnet()
    gateway, address = f"10.77.{octet}.1", f"10.77.{octet}.2"
    _ip("netns", "add", namespace)
    host = AppHost(name, namespace, address, gateway, directory)
    try:
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", namespace)
        _ip("addr", "add", f"{gateway}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("addr", "add", f"{address}/30", "dev", inside, namespace=namespace)
        _ip("link", "set", inside, "up", namespace=namespace)
        _ip("link", "set", "lo", "up", namespace=namespace)
        yield host
    finally:
        host.stop()
        for service in list(host.relays):
            host.stop_relay(service)
        _ip("link", "del", outside, check=False)  # gone with the namespace, if not before
        _ip("netns", "del", namespace, check=False)


def host_environment(host: AppHost, database_url: str, redis_db: int, public_url: str,
                     **settings: str) -> dict[str, str]:
    """Return what the host's gunicorn runs with: the database and Redis through its relays,
    TRUSTED_PROXIES=1 (nginx in front), and the shared SECRET_KEY of the load tests."""
    url = make_url(plain_url(database_url)).set(host=host.gateway, port=5432)
    env = server_environment(url.render_as_string(hide_password=False), APP_PORT, **settings)
    env.update(
        GUNICORN_BIND=host.upstream,
        GUNICORN_WORKERS="2",
        PUBLIC_BASE_URL=public_url,
        RATELIMIT_STORAGE_URI=f"redis://{host.gateway}:6379/{redis_db}",
        TRUSTED_PROXIES="1",
    )
    env.update(settings)
    return env


# nginx ----------------------------------------------------------------------------------


MAIN_CONF = """\
# The test's own nginx.conf: what Debian's /etc/nginx/nginx.conf gives the http context,
# with every path under this directory. The deployment's file is included as it stands.
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log notice;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    access_log off;
    include survey_app.conf;
}}
"""

SITE_CONF = """\
listen 127.0.0.1:{port};
server_name localhost;
root {static_root};
access_log {dir}/survey_app.access.log survey_app;
error_log {dir}/survey_app.error.log warn;
"""


def app_hosts_conf(hosts: list[AppHost]) -> str:
    """Return deploy/survey_app/app_hosts.conf with the example's addresses, in the order
    they first appear, replaced by the hosts': the example itself is what is tested."""
    example = EXAMPLE_APP_HOSTS.read_text()
    addresses = list(dict.fromkeys(re.findall(r"^server (\S+)", example, re.MULTILINE)))
    assert len(addresses) == len(hosts), addresses
    for address, host in zip(addresses, hosts, strict=True):
        example = re.sub(rf"^server {re.escape(address)} ", f"server {host.upstream} ",
                         example, flags=re.MULTILINE)
    return example


def fail_timeout() -> float:
    found = re.search(r"fail_timeout=(\d+)s", EXAMPLE_APP_HOSTS.read_text())
    assert found, "deploy/survey_app/app_hosts.conf gives no fail_timeout"
    return float(found.group(1))


@dataclass
class Nginx:
    process: subprocess.Popen[bytes]
    url: str
    directory: Path

    @property
    def access_log(self) -> Path:
        return self.directory / "survey_app.access.log"

    def log_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []


LOG_LINE = re.compile(
    r'^(?P<time>\S+) "(?P<method>[A-Z]+) (?P<uri>[^"]*)" (?P<status>\d+) \d+ \S+ '
    r'"(?P<upstreams>[^"]*)" "(?P<upstream_statuses>[^"]*)"$'
)


def parse_log(lines: list[str]) -> list[dict[str, Any]]:
    """Return the access-log lines as dicts; upstreams is the list of hosts tried."""
    parsed = []
    for line in lines:
        found = LOG_LINE.match(line)
        if found:
            entry: dict[str, Any] = found.groupdict()
            entry["upstreams"] = [u.strip() for u in re.split(r"\s*[,:]\s+", entry["upstreams"])
                                  if u.strip() and u.strip() != "-"]
            parsed.append(entry)
    return parsed


@contextmanager
def nginx(directory: Path, hosts: list[AppHost]) -> Iterator[Nginx]:
    """Run nginx with deploy/nginx.conf (copied byte for byte) in front of the hosts."""
    binary = nginx_binary()
    assert binary is not None
    directory.mkdir(parents=True, exist_ok=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "survey_app"):
        (directory / sub).mkdir(exist_ok=True)
    port = free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(MAIN_CONF.format(user=user, dir=directory))
    shutil.copyfile(NGINX_CONF, directory / "survey_app.conf")
    (directory / "survey_app" / "app_hosts.conf").write_text(app_hosts_conf(hosts))
    (directory / "survey_app" / "site.conf").write_text(
        SITE_CONF.format(port=port, dir=directory, static_root=PROJECT_ROOT / "survey_app")
    )
    command = [binary, "-p", f"{directory}/", "-c", str(directory / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True,
                             timeout=STEP_TIMEOUT)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused the configuration:\n{checked.stderr}")
    process = subprocess.Popen([*command, "-g", "daemon off;"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Nginx(process, f"http://127.0.0.1:{port}", directory)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited with {process.returncode}: "
                                   f"{(directory / 'error.log').read_text()}")
            try:
                requests.get(server.url + "/static/errors/50x.html", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful: workers finish, then exit
            try:
                process.wait(timeout=STEP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STEP_TIMEOUT)


# Clients from addresses of their own ------------------------------------------------------


class FromAddress(requests.adapters.HTTPAdapter):  # type: ignore[misc]
    """Connect from this source address (any of 127.0.0.0/8 on Linux): one citizen's
    network, as nginx sees it."""

    def __init__(self, address: str) -> None:
        self.source = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> Any:
    """Return a cookie-keeping session whose connections come from `address`."""
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def citizen_address(n: int) -> str:
    """Return the n-th citizen's own loopback address: 127.1.x.y."""
    return f"127.1.{n // 250}.{n % 250 + 1}"

