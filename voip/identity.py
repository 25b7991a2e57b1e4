"""The client's Ed25519 identity key.

A user is known to a server by their public key, so the private key is the
account: it lives in the platformdirs config dir, created on first use with
0600 permissions, and is never sent anywhere. Only signatures leave.
"""

from __future__ import annotations

import base64
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from voip.errors import IdentityError

log = logging.getLogger(__name__)

APP_NAME = "voip"
KEY_FILE = "identity.key"
_HEADER = "voip-ed25519-seed-v1"


def default_config_dir() -> Path:
    """The per-user config dir (XDG on Linux), e.g. ~/.config/voip."""
    return platformdirs.user_config_path(APP_NAME)


@dataclass(frozen=True)
class Identity:
    signing_key: SigningKey
    path: Path

    @property
    def public_key(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    def sign(self, data: bytes) -> bytes:
        """Detached Ed25519 signature (64 bytes)."""
        return bytes(self.signing_key.sign(data).signature)

    @property
    def short_id(self) -> str:
        """A short printable form of the public key, for logs and the UI."""
        return base64.b32encode(self.public_key).decode()[:16].lower()


def verify_signature(public_key: bytes, data: bytes, signature: bytes) -> bool:
    """True only when `signature` is `public_key`'s signature over `data`."""
    try:
        VerifyKey(public_key).verify(data, signature)
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


def load_or_create_identity(config_dir: Path | None = None) -> Identity:
    """Load the key from `config_dir`, creating it (0600) on first use."""
    directory = config_dir if config_dir is not None else default_config_dir()
    path = directory / KEY_FILE
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise IdentityError(f"cannot create the config dir {directory}: {exc}") from exc
    if path.exists():
        return _load(path)
    key = SigningKey.generate()
    text = f"{_HEADER}\n{base64.b64encode(bytes(key)).decode()}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load(path)  # another process created it first
    except OSError as exc:
        raise IdentityError(f"cannot write the identity key {path}: {exc}") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    log.info("created a new identity key in %s", path)
    return Identity(key, path)


def _load(path: Path) -> Identity:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("identity key %s was readable by others (mode %o); fixing to 0600", path, mode)
        path.chmod(0o600)
    try:
        header, body = path.read_text().split()
        if header != _HEADER:
            raise ValueError("unknown header")
        seed = base64.b64decode(body, validate=True)
        return Identity(SigningKey(seed), path)
    except (ValueError, TypeError, OSError) as exc:
        raise IdentityError(
            f"the identity key {path} is unreadable or corrupt ({exc}); move it away to "
            "create a new identity (servers will then see you as a new user)"
        ) from exc
