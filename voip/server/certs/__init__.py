"""The server's TLS certificate over its whole life: choose, load, generate, obtain, renew.

``source.py`` chooses between operator files, ACME and the self-signed
certificate; ``bundle.py`` holds one certificate ready to serve and installs
it into aioquic; ``self_signed.py`` makes and keeps the fallback;
``acme*.py`` and ``challenges.py`` obtain and renew from an ACME CA on a
background thread. The names most callers need are re-exported here; the
ACME parts are not, so that loading a certificate does not import the ACME
client.
"""

from voip.server.certs.bundle import (
    CertificateBundle,
    apply_bundle,
    bundle_from_pem,
    load_bundle,
)
from voip.server.certs.self_signed import generate_self_signed, load_or_create_self_signed

__all__ = [
    "CertificateBundle",
    "apply_bundle",
    "bundle_from_pem",
    "generate_self_signed",
    "load_bundle",
    "load_or_create_self_signed",
]
