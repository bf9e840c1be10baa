"""Flask's session with its signer kept: the same cookies, the keys still honoured."""

from __future__ import annotations

from flask import Flask, session

from survey_app.web.sessions import KeptSignerSessionInterface


def _app(secret: str, fallbacks: list[str] | None = None) -> Flask:
    app = Flask(__name__)
    app.secret_key = secret
    app.config["SECRET_KEY_FALLBACKS"] = fallbacks or []
    app.session_interface = KeptSignerSessionInterface()

    @app.get("/set")
    def set_value() -> str:
        session["who"] = "an officer"
        return "set"

    @app.get("/get")
    def get_value() -> str:
        return str(session.get("who"))

    return app


def test_a_session_set_is_read_back_and_the_signer_is_made_once():
    app = _app("first key")
    client = app.test_client()
    client.get("/set")
    assert client.get("/get").get_data(as_text=True) == "an officer"
    interface = app.session_interface
    assert isinstance(interface, KeptSignerSessionInterface)
    assert interface.get_signing_serializer(app) is interface.get_signing_serializer(app)


def test_another_key_refuses_the_cookie_and_a_fallback_key_accepts_it():
    old = _app("first key")
    client = old.test_client()
    client.get("/set")
    cookie = client.get_cookie("session")
    assert cookie is not None
    for app, expected in ((_app("second key"), "None"),
                          (_app("second key", ["first key"]), "an officer")):
        other = app.test_client()
        other.set_cookie("session", cookie.value)
        assert other.get("/get").get_data(as_text=True) == expected


def test_a_key_changed_on_the_same_app_is_used_at_once():
    app = _app("first key")
    client = app.test_client()
    client.get("/set")
    app.secret_key = "second key"
    app.config["SECRET_KEY"] = "second key"
    assert client.get("/get").get_data(as_text=True) == "None"
