"""docs/deployment.md shows the nginx files the cluster test runs, exactly as they are."""

from __future__ import annotations

import re

import pytest

from tests.factories import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "deployment.md"
SHOWN = ("deploy/nginx.conf", "deploy/survey_app/app_hosts.conf", "deploy/survey_app/site.conf")


def quoted(path: str) -> str:
    """Return the code block that follows `<!-- path -->` in docs/deployment.md."""
    found = re.search(rf"<!-- {re.escape(path)} -->\n```nginx\n(.*?)^```$", DOC.read_text(),
                      re.DOTALL | re.MULTILINE)
    assert found, f"docs/deployment.md shows no {path}"
    return found.group(1)


@pytest.mark.parametrize("path", SHOWN)
def test_the_docs_show_each_nginx_file_as_it_is(path):
    assert quoted(path) == (PROJECT_ROOT / path).read_text()


def test_the_tested_file_keeps_what_debian_12s_nginx_accepts_and_the_app_relies_on():
    conf = (PROJECT_ROOT / "deploy/nginx.conf").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())
    assert "http2 on" not in code  # nginx 1.25.1 and newer only
    # The client's address overwritten, never appended (TRUSTED_PROXIES=1).
    assert "proxy_set_header X-Forwarded-For   $remote_addr;" in code
    assert "$proxy_add_x_forwarded_for" not in code
    # The app's own answers (its 503 form page) are never replaced by nginx's.
    assert "proxy_intercept_errors" not in code
    assert not re.search(r"error_page[^;]*\b503\b", code)
    # Posts are passed on to another host only on the citizen's forms.
    non_idempotent = [block for block in re.split(r"\n\s*location ", code)
                      if "non_idempotent" in block]
    assert len(non_idempotent) == 1 and non_idempotent[0].startswith("~ ^/[sr]/ {")
    assert "client_max_body_size 64k;" in code
    # With the database down for every host, the app's 503 page (the form kept) reaches the
    # citizen: one pass-on at most, and every host listed again as a backup never left out.
    assert "proxy_next_upstream_tries 2;" in code
    hosts = (PROJECT_ROOT / "deploy/survey_app/app_hosts.conf").read_text()
    primary = re.findall(r"^server (\S+) max_fails=1 fail_timeout=\d+s;$", hosts, re.MULTILINE)
    backup = re.findall(r"^server (\S+) backup max_fails=0;$", hosts, re.MULTILINE)
    assert len(primary) >= 2 and primary == backup
    for page in ("50x", "413", "429"):
        assert (PROJECT_ROOT / f"survey_app/static/errors/{page}.html").is_file()


def _gunicorn_default(name: str) -> int:
    conf = (PROJECT_ROOT / "gunicorn.conf.py").read_text()
    found = re.search(rf'_env_int\("{name}", (\d+)\)', conf)
    assert found, f"gunicorn.conf.py reads no {name}"
    return int(found.group(1))


def test_the_docs_give_gunicorns_own_defaults():
    text = DOC.read_text()
    for name in ("GUNICORN_MAX_REQUESTS", "GUNICORN_MAX_REQUESTS_JITTER", "GUNICORN_TIMEOUT",
                 "GUNICORN_GRACEFUL_TIMEOUT"):
        stated = re.search(rf"`{name}` \((\d+)", text)
        assert stated, f"docs/deployment.md gives no default for {name}"
        assert int(stated.group(1)) == _gunicorn_default(name), name


def test_the_health_checks_disk_threshold_is_documented_with_its_default():
    from config import Config

    stated = re.search(r"`HEALTHZ_MIN_FREE_MB` free \((\d+) MB\)", DOC.read_text())
    assert stated and int(stated.group(1)) == Config.HEALTHZ_MIN_FREE_MB


def test_the_install_steps_work_in_the_order_written():
    text = DOC.read_text()
    # The service user's folder exists, empty and its own, before the clone writes into it.
    user = text.index("sudo useradd --system")
    folder = text.index("sudo install -d -o survey -g survey -m 0755 /srv/survey_app")
    clone = text.index("sudo -u survey git clone")
    assert user < folder < clone
    # The exact locked versions, checked against their hashes, then the app alone.
    assert "pip install --require-hashes -r requirements/app.lock" in text
    assert "pip install --no-index --find-links" in text
    # certbot's plain-HTTP server, then the certificate, then the TLS server that needs it.
    challenge = text.index("location ^~ /.well-known/acme-challenge/")
    certificate = text.index("sudo certbot certonly --webroot")
    tls = text.index("sudo cp /srv/survey_app/deploy/nginx.conf")
    assert challenge < certificate < tls
    assert "chrony" in text[:clone]
    # The nightly dump goes through the encrypting script, never to a plain file.
    assert "/srv/survey_app/deploy/backup.sh" in text
    assert "pg_dump -Fc survey >" not in text


def test_nginx_names_no_version():
    conf = (PROJECT_ROOT / "deploy/nginx.conf").read_text()
    assert re.search(r"^\s*server_tokens off;", conf, re.MULTILINE)
