"""Certificates from an ACME CA (Let's Encrypt by default), obtained and renewed in the background.

The voice server must keep serving while a CA is slow, down or refusing, so
everything here runs on one background thread owned by
``AcmeCertificateManager``; the server only ever sees finished
``CertificateBundle``s through the ``on_new_certificate`` callback and swaps
them in for new connections (``bundle.apply_bundle``). The files it keeps are
described in ``acme_store.py``.

See docs/ACME.md for choosing a challenge and testing against staging.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import josepy as jose
import requests
from acme import challenges, client, crypto_util, messages
from acme import errors as acme_errors
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from voip.errors import AcmeError, CertificateError
from voip.server.certs.acme_settings import AcmeSettings, Backoff
from voip.server.certs.acme_store import AcmeStore
from voip.server.certs.bundle import CertificateBundle, bundle_from_pem
from voip.server.certs.challenges import (
    TLSALPN01,
    ChallengeResponder,
    HTTP01Responder,
    NullResponder,
    TLSALPN01Responder,
    responding,
    tls_alpn01_certificate,
)
from voip.server.certs.renewal import human_duration

logger = logging.getLogger(__name__)

USER_AGENT = "voip-server (acme-python)"


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
    #: Failed orders while the certificate in hand was close to expiry.
    urgent_failures: int = 0
    #: Times an ACME certificate expired unrenewed and the fallback was installed.
    expired_fallbacks: int = 0


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
        fallback: Callable[[], CertificateBundle] | None = None,
    ) -> None:
        """``fallback`` gives the certificate to serve once an ACME one expired unrenewed."""
        self.settings = settings
        self.on_new_certificate = on_new_certificate
        self.fallback = fallback
        #: When the certificate in hand is due for renewal (logged when it changes).
        self.next_renewal: dt.datetime | None = None
        self.backoff = backoff or Backoff()
        self.authorization_timeout = authorization_timeout
        self.counters = AcmeCounters()
        self._store = AcmeStore(data_dir)
        self._lock = threading.Lock()
        self._bundle: CertificateBundle | None = None
        #: The ACME certificate new connections get, as far as this manager installed it.
        self._served: CertificateBundle | None = None
        self._loaded = False
        self._session: _Session | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- queries (any thread) --

    def current(self, now: dt.datetime | None = None) -> CertificateBundle | None:
        """The newest valid certificate for the settings (stored or just obtained), if any."""
        with self._lock:
            if not self._loaded:
                self._bundle = self._store.load(self.settings)
                self._loaded = True
                # The server starts with the stored certificate when there is one.
                self._served = self._bundle
            bundle = self._bundle
        if bundle is not None and bundle.validity.expired(now or _utcnow()):
            return None
        return bundle

    def is_due(self, now: dt.datetime | None = None) -> bool:
        now = now or _utcnow()
        bundle = self.current(now)
        return bundle is None or self.settings.renewal.is_due(bundle.validity, now)

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
        """Order if due; return how long to sleep before looking again (never past expiry)."""
        self.counters.checks += 1
        now = _utcnow()
        policy = self.settings.renewal
        self._fall_back_if_expired(now)
        bundle = self.current(now)
        if bundle is not None and not policy.is_due(bundle.validity, now):
            return self._schedule(bundle, now)
        try:
            bundle = self.obtain()
        except _Stopped:
            return dt.timedelta(0)
        except Exception as exc:
            return self._failed(exc, _utcnow())
        self._install(bundle)
        return self._schedule(bundle, _utcnow())

    def _schedule(self, bundle: CertificateBundle, now: dt.datetime) -> dt.timedelta:
        """The sleep until the next look; logs the renewal time once per certificate."""
        policy = self.settings.renewal
        due = policy.renew_at(bundle.validity)
        if self.next_renewal != due:
            self.next_renewal = due
            logger.info(
                "next renewal of the certificate for %s (valid until %s) is due at %s, "
                "in %s (%s)",
                self.settings.domain,
                bundle.not_after.isoformat(),
                due.isoformat(timespec="seconds"),
                human_duration(due - now),
                policy.explain(bundle.validity),
            )
        return policy.wait(bundle.validity, now)

    def _failed(self, exc: Exception, now: dt.datetime) -> dt.timedelta:
        failures = self.counters.consecutive_failures
        have = self.current(now)
        delay = self.settings.renewal.retry_delay(
            self.backoff.delay(failures), have.validity if have else None, now
        )
        logger.error(
            "ACME order for %s from %s failed (attempt %d): %s. Retrying in %s; meanwhile "
            "serving %s",
            self.settings.domain,
            self.settings.directory_url,
            failures,
            describe_failure(exc),
            human_duration(delay),
            f"the previous ACME certificate (valid until {have.not_after.isoformat()})"
            if have
            else "the fallback certificate",
        )
        logger.debug("ACME failure detail", exc_info=exc)
        if have is not None and self.settings.renewal.is_urgent(have.validity, now):
            self.counters.urgent_failures += 1
            logger.critical(
                "THE CERTIFICATE FOR %s EXPIRES IN %s (at %s) AND RENEWAL KEEPS FAILING "
                "(%d attempts, last: %s). Verifying clients will refuse this server once it "
                "expires; the server then falls back to its self-signed certificate.",
                self.settings.domain.upper(),
                human_duration(have.remaining(now)),
                have.not_after.isoformat(),
                failures,
                describe_failure(exc),
            )
        return delay

    def _install(self, bundle: CertificateBundle) -> None:
        try:
            self.on_new_certificate(bundle)
        except Exception:
            self.counters.callbacks_failed += 1
            logger.exception("installing the new ACME certificate failed")
            return
        with self._lock:
            self._served = bundle

    def _fall_back_if_expired(self, now: dt.datetime) -> None:
        """An expired certificate is never served: swap in the fallback when it runs out."""
        with self._lock:
            served = self._served
        if served is None or not served.validity.expired(now):
            return
        if self.fallback is None:
            return
        fallback = self.fallback()
        logger.error(
            "the ACME certificate for %s expired at %s without a renewal: serving the "
            "self-signed certificate %s to new connections until an order succeeds",
            self.settings.domain,
            served.not_after.isoformat(),
            fallback.fingerprint_text,
        )
        self.counters.expired_fallbacks += 1
        try:
            self.on_new_certificate(fallback)
        except Exception:
            self.counters.callbacks_failed += 1
            logger.exception("installing the fallback certificate failed")
            return
        with self._lock:
            self._served = None

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
                    f"{human_duration(self.authorization_timeout)}"
                )
            self._check_stop(interval)
            interval = min(interval * 2, 3.0)

    def _check_stop(self, wait: float = 0.0) -> None:
        if self._stop.wait(wait) if wait else self._stop.is_set():
            raise _Stopped()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
