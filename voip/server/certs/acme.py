"""Certificates from an ACME CA (Let's Encrypt by default), obtained and renewed in the background.

The voice server must keep serving while a CA is slow, down or refusing, so
everything here runs on one background thread owned by
``AcmeCertificateManager``; the server only ever sees finished
``CertificateBundle``s through the ``on_new_certificate`` callback and swaps
them in for new connections (``voip.server.certs.apply_bundle``).

Layout of ``<data dir>/acme/`` (keys 0600)::

    account.key   the ACME account key (EC P-256, JWS ES256)
    cert.pem      the certificate chain, leaf first
    cert.key      the certificate's private key
    cert.json     which domain and CA directory the certificate came from

See docs/ACME.md for choosing a challenge and testing against staging.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import josepy as jose
import requests
from acme import challenges, client, crypto_util, messages
from acme import errors as acme_errors
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from voip.errors import AcmeError, CertificateError, ConfigError
from voip.server.acme_challenges import (
    TLSALPN01,
    ChallengeResponder,
    HTTP01Responder,
    NullResponder,
    TLSALPN01Responder,
    responding,
    tls_alpn01_certificate,
)
from voip.server.certs import (
    CertificateBundle,
    bundle_from_pem,
    load_bundle,
    load_or_create_self_signed,
    write_private_file,
    write_public_file,
)

logger = logging.getLogger(__name__)

LETSENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"
LETSENCRYPT_STAGING_DIRECTORY = "https://acme-staging-v02.api.letsencrypt.org/directory"
CHALLENGES = ("http-01", "tls-alpn-01")
USER_AGENT = "voip-server (acme-python)"

_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$", re.IGNORECASE
)


# --- settings -----------------------------------------------------------------------


@dataclass(frozen=True)
class AcmeSettings:
    """What to ask which CA for, and how to prove control of the domain."""

    domain: str
    email: str
    directory_url: str = LETSENCRYPT_DIRECTORY
    challenge: str = "http-01"
    http_port: int = 80
    tls_alpn_port: int = 443
    #: PEM file of CA roots to trust for the *directory's* HTTPS (e.g. pebble's); None: system.
    ca_bundle: Path | None = None
    renew_before: dt.timedelta = dt.timedelta(days=30)
    #: How often a certificate that is not yet due is looked at again.
    check_interval: dt.timedelta = dt.timedelta(hours=12)
    #: Address the challenge listeners bind to; "" means every IPv4 and IPv6 address.
    bind_host: str = ""

    def __post_init__(self) -> None:
        if not self.domain or not self.email:
            raise ConfigError(
                "--acme-domain needs --acme-email"
                if self.domain
                else "--acme-email needs --acme-domain"
            )
        if not _DOMAIN_RE.match(self.domain) and not self.domain.startswith("*."):
            raise ConfigError(
                f"--acme-domain {self.domain!r} is not a fully qualified domain name; "
                "give the public DNS name clients use, e.g. voice.example.org"
            )
        if "@" not in self.email or self.email.startswith("mailto:"):
            raise ConfigError(
                f"--acme-email {self.email!r} is not an email address (name@example.org); "
                "the CA uses it for expiry and account notices"
            )
        if self.challenge not in CHALLENGES:
            raise ConfigError(
                f"--acme-challenge {self.challenge!r} is not supported; "
                f"choose one of {', '.join(CHALLENGES)}"
            )
        for flag, port in (
            ("--acme-http-port", self.http_port),
            ("--acme-tls-port", self.tls_alpn_port),
        ):
            if not 1 <= port <= 65535:
                raise ConfigError(f"{flag} {port} is not a TCP port (1-65535)")
        if not self.directory_url.startswith(("https://", "http://")):
            raise ConfigError(
                f"--acme-directory {self.directory_url!r} is not a URL; give the CA's ACME "
                f"directory, e.g. {LETSENCRYPT_STAGING_DIRECTORY}"
            )
        if self.ca_bundle is not None and not Path(self.ca_bundle).is_file():
            raise ConfigError(f"the ACME CA bundle {self.ca_bundle} does not exist")
        if self.renew_before <= dt.timedelta(0):
            raise ConfigError("the ACME renewal margin must be positive")

    @classmethod
    def from_args(
        cls,
        domain: str | None,
        email: str | None,
        directory: str | None = None,
        challenge: str | None = None,
        http_port: int | None = None,
        tls_port: int | None = None,
        ca_bundle: Path | str | None = None,
    ) -> AcmeSettings | None:
        """Settings from CLI flags / config; None when ACME was not asked for at all."""
        if not domain and not email:
            for flag, value in (
                ("--acme-directory", directory),
                ("--acme-challenge", challenge),
                ("--acme-http-port", http_port),
                ("--acme-tls-port", tls_port),
                ("--acme-ca-bundle", ca_bundle),
            ):
                if value is not None:
                    raise ConfigError(
                        f"{flag} only makes sense with --acme-domain and --acme-email"
                    )
            return None
        if not domain:
            raise ConfigError(
                "--acme-email needs --acme-domain (the domain to get a certificate for)"
            )
        if not email:
            raise ConfigError("--acme-domain needs --acme-email (the CA's contact for the account)")
        kwargs: dict[str, Any] = {}
        if directory is not None:
            kwargs["directory_url"] = directory
        if challenge is not None:
            kwargs["challenge"] = challenge
        if http_port is not None:
            kwargs["http_port"] = int(http_port)
        if tls_port is not None:
            kwargs["tls_alpn_port"] = int(tls_port)
        if ca_bundle is not None:
            kwargs["ca_bundle"] = Path(ca_bundle)
        return cls(domain=domain.strip().lower().rstrip("."), email=email.strip(), **kwargs)


# --- back-off -----------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number ``failures`` (1-based): initial * factor**(n-1), capped."""

    initial: dt.timedelta = dt.timedelta(minutes=1)
    maximum: dt.timedelta = dt.timedelta(hours=6)
    factor: float = 2.0

    def delay(self, failures: int) -> dt.timedelta:
        seconds = self.initial.total_seconds() * self.factor ** max(0, failures - 1)
        return min(dt.timedelta(seconds=seconds), self.maximum)


# --- storage ------------------------------------------------------------------------


class AcmeStore:
    """The files under ``<data dir>/acme``."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = Path(data_dir) / "acme"
        self.account_key = self.directory / "account.key"
        self.cert = self.directory / "cert.pem"
        self.cert_key = self.directory / "cert.key"
        self.meta = self.directory / "cert.json"

    def load_or_create_account_key(self) -> jose.JWKEC:
        if self.account_key.exists():
            try:
                key = serialization.load_pem_private_key(
                    self.account_key.read_bytes(), password=None
                )
            except (OSError, ValueError) as exc:
                raise AcmeError(
                    f"the ACME account key {self.account_key} is unreadable: {exc}; "
                    "move it away to register a new account"
                ) from exc
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise AcmeError(f"the ACME account key {self.account_key} is not an EC key")
            return jose.JWKEC(key=key)
        key = ec.generate_private_key(ec.SECP256R1())
        write_private_file(
            self.account_key,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        logger.info("created a new ACME account key in %s", self.account_key)
        return jose.JWKEC(key=key)

    def load(self, settings: AcmeSettings) -> CertificateBundle | None:
        """The stored certificate if it is for these settings and not expired."""
        if not self.cert.exists() or not self.cert_key.exists():
            return None
        try:
            bundle = load_bundle(self.cert, self.cert_key, source="acme")
            meta = json.loads(self.meta.read_text()) if self.meta.exists() else {}
        except (CertificateError, OSError, ValueError) as exc:
            logger.warning("ignoring the stored ACME certificate in %s: %s", self.directory, exc)
            return None
        if meta.get("directory_url") != settings.directory_url:
            logger.info(
                "the stored ACME certificate came from %s, not %s: ordering a new one",
                meta.get("directory_url"),
                settings.directory_url,
            )
            return None
        if settings.domain not in _dns_names(bundle):
            logger.info(
                "the stored ACME certificate is for %s, not %s: ordering a new one",
                ", ".join(_dns_names(bundle)),
                settings.domain,
            )
            return None
        if bundle.remaining() <= dt.timedelta(0):
            logger.info("the stored ACME certificate expired on %s", bundle.not_after)
            return None
        return bundle

    def save(self, bundle: CertificateBundle, settings: AcmeSettings) -> None:
        # Key first: a crash between the writes leaves a pair that load() rejects
        # (key does not match), which only costs one new order.
        write_private_file(self.cert_key, bundle.key_pem)
        write_public_file(self.cert, bundle.cert_chain_pem)
        write_public_file(
            self.meta,
            json.dumps(
                {
                    "domain": settings.domain,
                    "directory_url": settings.directory_url,
                    "not_after": bundle.not_after.isoformat(),
                    "fingerprint": bundle.fingerprint_text,
                },
                indent=2,
            ).encode(),
        )


def _dns_names(bundle: CertificateBundle) -> list[str]:
    try:
        san = bundle.leaf().extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.value.get_values_for_type(x509.DNSName)]


# --- CA error text ------------------------------------------------------------------


def describe_failure(exc: BaseException) -> str:
    """The CA's own words for a failure, as far as the ``acme`` package kept them."""
    if isinstance(exc, acme_errors.ValidationError):
        parts = []
        for authzr in exc.failed_authzrs:
            for chall in authzr.body.challenges:
                if chall.error is not None:
                    parts.append(f"{authzr.body.identifier.value} {chall.chall.typ}: {chall.error}")
        return "validation failed: " + ("; ".join(parts) or "no detail given by the CA")
    if isinstance(exc, acme_errors.IssuanceError):
        return f"issuance refused: {exc.error}"
    if isinstance(exc, messages.Error):
        return str(exc)
    if isinstance(exc, acme_errors.ClientError) and exc.args:
        response = exc.args[0]
        if isinstance(response, requests.Response):
            body = " ".join(response.text.split())[:300]
            return (
                f"the CA answered HTTP {response.status_code} {response.reason} for "
                f"{response.url}" + (f": {body}" if body else "") + "; check --acme-directory"
            )
    if isinstance(exc, acme_errors.TimeoutError):
        return "timed out waiting for the CA"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error talking to the CA (wrong --acme-directory or CA bundle?): {exc}"
    if isinstance(exc, requests.exceptions.RequestException):
        return f"cannot reach the CA: {exc}"
    if isinstance(exc, AcmeError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# --- the manager -----------------------------------------------------------------------


@dataclass
class AcmeCounters:
    """What the manager did, for logs and tests."""

    orders_started: int = 0
    orders_succeeded: int = 0
    orders_failed: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    callbacks_failed: int = 0
    #: Times the background thread looked at the certificate (ordering or not).
    checks: int = 0


class _Stopped(Exception):
    """stop() was called while an order was in flight."""


@dataclass
class _Session:
    acme: client.ClientV2
    account_key: jose.JWKEC
    directory_url: str = field(default="")


class AcmeCertificateManager:
    """Owns the ACME account and certificate; obtains and renews on its own thread."""

    def __init__(
        self,
        settings: AcmeSettings,
        data_dir: Path,
        on_new_certificate: Callable[[CertificateBundle], None],
        *,
        backoff: Backoff | None = None,
        authorization_timeout: dt.timedelta = dt.timedelta(seconds=90),
    ) -> None:
        self.settings = settings
        self.on_new_certificate = on_new_certificate
        self.backoff = backoff or Backoff()
        self.authorization_timeout = authorization_timeout
        self.counters = AcmeCounters()
        self._store = AcmeStore(data_dir)
        self._lock = threading.Lock()
        self._bundle: CertificateBundle | None = None
        self._loaded = False
        self._session: _Session | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- queries (any thread) --

    def current(self) -> CertificateBundle | None:
        """The newest valid certificate for the settings (stored or just obtained), if any."""
        with self._lock:
            if not self._loaded:
                self._bundle = self._store.load(self.settings)
                self._loaded = True
            bundle = self._bundle
        if bundle is not None and bundle.remaining() <= dt.timedelta(0):
            return None
        return bundle

    def is_due(self, now: dt.datetime | None = None) -> bool:
        bundle = self.current()
        return bundle is None or bundle.remaining(now) < self.settings.renew_before

    # -- lifecycle --

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="acme", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to end and wait for it (an HTTP request in flight may delay it)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("the ACME thread did not stop within %.0f s", timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        logger.debug("ACME thread started for %s", self.settings.domain)
        while not self._stop.is_set():
            wait = self._step()
            if self._stop.wait(wait.total_seconds()):
                break
        logger.debug("ACME thread for %s stopped", self.settings.domain)

    def _step(self) -> dt.timedelta:
        """Order if due; return how long to wait before looking again."""
        self.counters.checks += 1
        bundle = self.current()
        if bundle is not None and not self.is_due():
            until_due = bundle.remaining() - self.settings.renew_before
            return max(dt.timedelta(seconds=1), min(self.settings.check_interval, until_due))
        try:
            bundle = self.obtain()
        except _Stopped:
            return dt.timedelta(0)
        except Exception as exc:
            failures = self.counters.consecutive_failures
            delay = self.backoff.delay(failures)
            have = self.current()
            logger.error(
                "ACME order for %s from %s failed (attempt %d): %s. Retrying in %s; meanwhile "
                "serving %s",
                self.settings.domain,
                self.settings.directory_url,
                failures,
                describe_failure(exc),
                _human(delay),
                f"the previous ACME certificate (valid until {have.not_after:%Y-%m-%d})"
                if have
                else "the fallback certificate",
            )
            logger.debug("ACME failure detail", exc_info=exc)
            return delay
        try:
            self.on_new_certificate(bundle)
        except Exception:
            self.counters.callbacks_failed += 1
            logger.exception("installing the new ACME certificate failed")
        if bundle.remaining() < self.settings.renew_before:
            logger.warning(
                "the CA issues certificates valid for %s only, less than the renewal margin %s; "
                "renewing again in %s",
                _human(bundle.remaining()),
                _human(self.settings.renew_before),
                _human(self.settings.check_interval),
            )
        return self.settings.check_interval

    # -- one order (background thread, or directly from tests/tools) --

    def obtain(self) -> CertificateBundle:
        """Run one complete order now; store and return the certificate. Raises on failure."""
        self.counters.orders_started += 1
        try:
            bundle = self._order()
        except _Stopped:
            raise
        except Exception as exc:
            self.counters.orders_failed += 1
            self.counters.consecutive_failures += 1
            self.counters.last_error = describe_failure(exc)
            # A broken session (bad nonce, account gone) is rebuilt on the next try.
            self._session = None
            raise
        self._store.save(bundle, self.settings)
        with self._lock:
            self._bundle = bundle
            self._loaded = True
        self.counters.orders_succeeded += 1
        self.counters.consecutive_failures = 0
        self.counters.last_error = None
        logger.info(
            "obtained an ACME certificate for %s from %s: %s, valid until %s",
            self.settings.domain,
            self.settings.directory_url,
            bundle.fingerprint_text,
            bundle.not_after.isoformat(),
        )
        return bundle

    def _connect(self) -> _Session:
        if self._session is not None:
            return self._session
        account_key = self._store.load_or_create_account_key()
        verify: bool | str = True
        if self.settings.ca_bundle is not None:
            verify = str(self.settings.ca_bundle)
        net = client.ClientNetwork(
            account_key,
            alg=jose.ES256,
            # requests takes a CA bundle path here as well as a bool.
            verify_ssl=cast(bool, verify),
            user_agent=USER_AGENT,
        )
        directory = client.ClientV2.get_directory(self.settings.directory_url, net)
        acme = client.ClientV2(directory, net)
        registration = messages.NewRegistration.from_data(
            email=self.settings.email, terms_of_service_agreed=True
        )
        try:
            acme.new_account(registration)
            logger.info("registered ACME account at %s", self.settings.directory_url)
        except acme_errors.ConflictError as exists:
            net.account = messages.RegistrationResource(
                uri=exists.location, body=messages.Registration()
            )
        self._session = _Session(acme, account_key, self.settings.directory_url)
        return self._session

    def _order(self) -> CertificateBundle:
        session = self._connect()
        acme = session.acme
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        csr_pem = crypto_util.make_csr(key_pem, [self.settings.domain])
        logger.info(
            "ordering a certificate for %s from %s (%s)",
            self.settings.domain,
            self.settings.directory_url,
            self.settings.challenge,
        )
        order = acme.new_order(csr_pem)
        pending = [a for a in order.authorizations if a.body.status != messages.STATUS_VALID]
        answers: list[tuple[messages.AuthorizationResource, messages.ChallengeBody, Any]] = []
        for authzr in pending:
            challb = self._pick_challenge(authzr)
            answers.append((authzr, challb, challb.chall.response(session.account_key)))
        responder = self._responder(session, [(a, c) for a, c, _ in answers])
        deadline = dt.datetime.now() + self.authorization_timeout
        with responding(responder):
            for _, challb, response in answers:
                acme.answer_challenge(challb, response)
            for authzr, _, _ in answers:
                self._wait_authorization(acme, authzr, deadline)
            self._check_stop()
            order = acme.finalize_order(order, deadline)
        if not order.fullchain_pem:
            raise AcmeError("the CA finalized the order but returned no certificate")
        try:
            return bundle_from_pem(order.fullchain_pem.encode(), key_pem, "acme")
        except CertificateError as exc:
            raise AcmeError(f"the CA returned an unusable certificate: {exc}") from exc

    def _pick_challenge(self, authzr: messages.AuthorizationResource) -> messages.ChallengeBody:
        wanted = TLSALPN01 if self.settings.challenge == "tls-alpn-01" else challenges.HTTP01
        for challb in authzr.body.challenges:
            if isinstance(challb.chall, wanted):
                return challb
        offered = ", ".join(c.chall.typ for c in authzr.body.challenges) or "none"
        raise AcmeError(
            f"the CA offers no {self.settings.challenge} challenge for "
            f"{authzr.body.identifier.value} (it offers: {offered}); choose another "
            "--acme-challenge"
        )

    def _responder(
        self,
        session: _Session,
        answers: Sequence[tuple[messages.AuthorizationResource, messages.ChallengeBody]],
    ) -> ChallengeResponder:
        if not answers:
            return NullResponder()
        host = self.settings.bind_host
        if self.settings.challenge == "http-01":
            resources = {
                challb.chall.encode("token"): challb.chall.validation(session.account_key)
                for _, challb in answers
            }
            return HTTP01Responder(host, self.settings.http_port, resources)
        certificates = {
            authzr.body.identifier.value: tls_alpn01_certificate(
                authzr.body.identifier.value, challb.chall.validation(session.account_key)
            )
            for authzr, challb in answers
        }
        return TLSALPN01Responder(host, self.settings.tls_alpn_port, certificates)

    def _wait_authorization(
        self,
        acme: client.ClientV2,
        authzr: messages.AuthorizationResource,
        deadline: dt.datetime,
    ) -> None:
        interval = 0.2
        while True:
            authzr, _ = acme.poll(authzr)
            status = authzr.body.status
            if status == messages.STATUS_VALID:
                return
            if status != messages.STATUS_PENDING:
                raise acme_errors.ValidationError([authzr])
            if dt.datetime.now() >= deadline:
                raise AcmeError(
                    f"the CA did not validate {authzr.body.identifier.value} within "
                    f"{_human(self.authorization_timeout)}"
                )
            self._check_stop(interval)
            interval = min(interval * 2, 3.0)

    def _check_stop(self, wait: float = 0.0) -> None:
        if self._stop.wait(wait) if wait else self._stop.is_set():
            raise _Stopped()


def _human(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{max(delta.total_seconds(), 0):.3g} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds // 86400} days"


# --- choosing the server's certificate ---------------------------------------------------


def resolve_certificate(
    data_dir: Path,
    cert_file: Path | None,
    key_file: Path | None,
    acme_settings: AcmeSettings | None,
    *,
    on_new_certificate: Callable[[CertificateBundle], None] | None = None,
    hostnames: Sequence[str] = ("localhost",),
    backoff: Backoff | None = None,
) -> tuple[CertificateBundle, AcmeCertificateManager | None]:
    """The certificate to serve now, and the ACME manager to start (not started yet).

    Order of preference: operator files; a stored valid ACME certificate; the
    self-signed one (with a loud warning when ACME is configured, since
    clients that do not pin will refuse it until the first order succeeds).
    """
    if (cert_file is None) != (key_file is None):
        raise ConfigError("--cert and --key go together: give both files or neither")
    if cert_file is not None and key_file is not None:
        if acme_settings is not None:
            raise ConfigError(
                "--cert/--key and --acme-domain both choose the certificate; give only one"
            )
        bundle = load_bundle(cert_file, key_file)
        logger.info("serving the certificate from %s: %s", cert_file, bundle.fingerprint_text)
        return bundle, None
    if acme_settings is None:
        bundle = load_or_create_self_signed(data_dir, hostnames)
        return bundle, None

    def _not_wired(bundle: CertificateBundle) -> None:
        logger.warning(
            "a new ACME certificate %s was obtained but nothing installs it",
            bundle.fingerprint_text,
        )

    manager = AcmeCertificateManager(
        acme_settings, data_dir, on_new_certificate or _not_wired, backoff=backoff
    )
    stored = manager.current()
    if stored is not None:
        logger.info(
            "serving the stored ACME certificate for %s: %s, valid until %s",
            acme_settings.domain,
            stored.fingerprint_text,
            stored.not_after.isoformat(),
        )
        return stored, manager
    names = [acme_settings.domain, *(h for h in hostnames if h != acme_settings.domain)]
    fallback = load_or_create_self_signed(data_dir, names)
    logger.warning(
        "NO ACME CERTIFICATE YET for %s: serving the SELF-SIGNED certificate %s until the first "
        "ACME order succeeds. Clients that verify certificates will refuse to connect until then; "
        "watch this log for the ACME result.",
        acme_settings.domain,
        fallback.fingerprint_text,
    )
    return fallback, manager
