"""STARTTLS to aiosmtpd on 127.0.0.1 with a certificate from a private CA made for the test:
delivered when `ca_file` names that CA, refused (and not retried) when the system's CAs are
asked to vouch for it, and a CA file that cannot be read named at start-up."""

from __future__ import annotations

import datetime as dt
import gc
import ipaddress
import ssl
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apishield.alert import Alerter
from apishield.config import ConfigError

from ..conftest import MailServer, summary, wait_until
from .test_email import mail_sink


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, Any], ca: bool
) -> x509.Certificate:
    issuer_name, issuer_key = issuer
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
        builder = builder.add_extension(x509.SubjectAlternativeName([address]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def private_ca(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA's PEM file and a server context holding a certificate it signed for 127.0.0.1."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("apishield test CA", ca_key, ("apishield test CA", ca_key), ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("127.0.0.1", server_key, ("apishield test CA", ca_key), ca=False)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = tmp_path / "server.pem"
    key_file = tmp_path / "server.key"
    chain.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain, key_file)
    return ca_file, context


@pytest.fixture
def tls_server(
    receivers: list[Any], private_ca: tuple[Path, ssl.SSLContext]
) -> tuple[MailServer, Path]:
    """A mail server that requires STARTTLS with a certificate of the private CA, and that CA."""
    ca_file, context = private_ca
    server = MailServer(tls=context)
    receivers.append(server)
    return server, ca_file


def test_starttls_delivers_to_a_server_signed_by_the_configured_ca(
    alerters: Callable[..., Alerter],
    receivers: list[Any],
    tls_server: tuple[MailServer, Path],
) -> None:
    server, ca_file = tls_server
    alerter = alerters({"sinks": [mail_sink(server, starttls=True, ca_file=str(ca_file))]})
    alerter.incident(summary(3))
    [(sender, _, _)] = server.handler.inbox.wait(1)
    assert sender == "apishield@example.org"
    assert alerter.stats()["sinks"]["email"]["failed"] == 0
    _stop_leaving_no_warning(server, receivers)


def _stop_leaving_no_warning(server: MailServer, receivers: list[Any]) -> None:
    """aiosmtpd's side of the connection drops its plain transport after STARTTLS without
    closing it (the test receiver's socket, not apishield's): stop the receiver and collect
    that transport here, where its ResourceWarning is expected."""
    receivers.remove(server)
    server.stop()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_a_certificate_the_system_cas_do_not_vouch_for_fails_without_retries(
    alerters: Callable[..., Alerter], tls_server: tuple[MailServer, Path]
) -> None:
    server, _ = tls_server
    alerter = alerters({"sinks": [mail_sink(server, starttls=True)], "backoff_seconds": 0.01})
    alerter.incident(summary(3))
    wait_until(lambda: alerter.stats()["sinks"]["email"]["failed"] == 1)
    assert alerter.stats()["sinks"]["email"]["retried"] == 0
    assert server.handler.inbox.items == []


def test_a_server_that_requires_tls_refuses_plain_mail(
    alerters: Callable[..., Alerter], tls_server: tuple[MailServer, Path]
) -> None:
    server, _ = tls_server
    alerter = alerters({"sinks": [mail_sink(server)], "backoff_seconds": 0.01})
    alerter.incident(summary(3))
    wait_until(lambda: alerter.stats()["sinks"]["email"]["failed"] == 1)
    assert server.handler.inbox.items == []


def test_an_unreadable_ca_file_is_named_at_start(
    alerters: Callable[..., Alerter], tmp_path: Path
) -> None:
    sink = {**mail_sink(MailServerless()), "starttls": True, "ca_file": str(tmp_path / "no.pem")}
    with pytest.raises(ConfigError, match=r"no\.pem"):
        alerters({"sinks": [sink]})


def test_a_ca_file_without_starttls_is_a_config_error(alerters: Callable[..., Alerter]) -> None:
    with pytest.raises(ValueError, match="starttls"):
        alerters({"sinks": [{**mail_sink(MailServerless()), "ca_file": "/etc/ssl/ca.pem"}]})


class MailServerless:
    """Stands for a server in configs that never connect."""

    port = 2525
