"""nginx -t accepts deploy/nginx.conf, its two example files and the docs' plain-HTTP server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.factories import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
DOC = PROJECT_ROOT / "docs" / "deployment.md"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def default_server_conf() -> str:
    """Return docs/deployment.md's /etc/nginx/conf.d/00-default.conf."""
    found = re.search(r"<!-- 00-default.conf -->\n```nginx\n(.*?)^```$", DOC.read_text(),
                      re.DOTALL | re.MULTILINE)
    assert found, "docs/deployment.md shows no 00-default.conf"
    return found.group(1)


def checked(directory: Path) -> subprocess.CompletedProcess[str]:
    """Lay out /etc/nginx as the docs say under directory, with its paths inside it, and
    run nginx -t on it. Only what the files name outside /etc/nginx is moved: the
    certificate (a throw-away one), the logs and the ACME webroot."""
    (directory / "survey_app").mkdir(parents=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "letsencrypt"):
        (directory / sub).mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=danhgia.tinh.gov.vn", "-keyout", str(directory / "privkey.pem"),
         "-out", str(directory / "fullchain.pem")], check=True, capture_output=True)
    site = (DEPLOY / "survey_app/site.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/danhgia.tinh.gov.vn", str(directory))
    site = site.replace("/var/log/nginx", str(directory))
    (directory / "survey_app/site.conf").write_text(site)
    shutil.copyfile(DEPLOY / "survey_app/app_hosts.conf", directory / "survey_app/app_hosts.conf")
    shutil.copyfile(DEPLOY / "nginx.conf", directory / "survey_app.conf")  # as it stands
    (directory / "00-default.conf").write_text(
        default_server_conf().replace("/var/www/letsencrypt", str(directory / "letsencrypt")))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(f"""\
{user}pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    access_log off;
    include 00-default.conf;
    include survey_app.conf;
}}
""")
    binary = nginx_binary()
    assert binary is not None
    command = [binary, "-t", "-p", f"{directory}/", "-c", str(directory / "nginx.conf")]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def test_nginx_accepts_the_deployment_files_as_the_docs_install_them(tmp_path):
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light; make cluster-test does)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no throw-away certificate for site.conf")
    result = checked(tmp_path / "nginx")
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr
