"""Reading SMTP_URL: plain SMTP, SMTP over TLS, a percent-encoded sign-in."""

from __future__ import annotations

import pytest

from survey_app.services.mail import SmtpSettings, message, parse_smtp_url


def test_plain_smtp_defaults_to_port_25():
    assert parse_smtp_url("smtp://mail.tinh.gov.vn") == SmtpSettings("smtp", "mail.tinh.gov.vn", 25)


def test_smtps_with_a_percent_encoded_password():
    settings = parse_smtp_url("smtps://canh%40bao:m%40t%20khau@mail.example:2465")
    assert settings == SmtpSettings("smtps", "mail.example", 2465, "canh@bao", "m@t khau")
    assert not settings.is_loopback


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "mail.example:25",
                                 "smtp://mail.example:99999", "smtp://host:port"])
def test_anything_else_is_refused_without_echoing_a_password(url):
    with pytest.raises(ValueError) as refused:
        parse_smtp_url(url)
    assert "SMTP_URL" in str(refused.value)


def test_a_secret_in_a_bad_url_is_not_repeated():
    with pytest.raises(ValueError) as refused:
        parse_smtp_url("ftp://user:bi-mat@mail.example")
    assert "bi-mat" not in str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_hosts_are_known(host):
    assert SmtpSettings("smtp", host, 25).is_loopback


def test_a_message_is_plain_utf8_text():
    mail = message("canhbao@tinh.example", "lanhdao@xa.example", "[Cảnh báo] Xã A", "Nơi: Xã A")
    assert mail["Subject"] == "[Cảnh báo] Xã A"
    assert mail.get_content_type() == "text/plain" and "Nơi: Xã A" in mail.get_content()
