"""Sending e-mail through the server named by SMTP_URL.

    smtp://host[:port]                  plain SMTP (port 25); STARTTLS when the server offers it
    smtp://user:password@host:587       the same, signing in (only over TLS, or on loopback)
    smtps://user:password@host[:465]    SMTP over TLS from the first byte

User and password are percent-encoded in the URL (an @ in a password is %40).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from ipaddress import ip_address
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class SmtpSettings:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_smtp_url(url: str) -> SmtpSettings:
    """Read an SMTP_URL; raise ValueError (without the password) when it is not one."""
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("SMTP_URL names no host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as error:
        raise ValueError("SMTP_URL has an invalid port") from error
    return SmtpSettings(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    """Return a plain-text UTF-8 message."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(body)
    return mail


def send(settings: SmtpSettings, mail: EmailMessage) -> None:
    """Send one message; any failure raises (the caller keeps it to try again)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.scheme == "smtps":
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=TIMEOUT_SECONDS,
                                  context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
    with client:
        client.ehlo()
        is_encrypted = settings.scheme == "smtps"
        if not is_encrypted and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
            is_encrypted = True
        if settings.username:
            if not is_encrypted and not settings.is_loopback:
                raise smtplib.SMTPException(
                    "the server offers no TLS: the password is not sent in clear text")
            client.login(settings.username, settings.password or "")
        client.send_message(mail)
