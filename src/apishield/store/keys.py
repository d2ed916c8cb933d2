"""The install secret behind every keyed hash, and the keys that make JWT identities trusted."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

from apishield.config import ConfigError, JwtConfig

SECRET_FILE = "install-secret"
TOKEN_FILE = "token"
"""The API token of `apishield serve`, beside the install secret unless `serve.token_file`."""


MIN_TOKEN = 32
"""Characters a token must have: an empty or short file never turns authentication off."""


def install_secret(data_dir: Path) -> bytes:
    """Read the secret, creating it on first run. It never leaves the machine it was made on."""
    path = data_dir / SECRET_FILE
    secret = _created_once(path, lambda: secrets.token_bytes(32))
    if len(secret) < 16:
        raise ConfigError(
            f"the install secret {path} is {len(secret)} bytes, too short to key hashes; "
            "delete it to make a new one (earlier keyed hashes will no longer match)"
        )
    return secret


def api_token(path: Path) -> str:
    """The server's API token, created (43 URL-safe characters, mode 0600) on first start."""
    token = _created_once(path, lambda: secrets.token_urlsafe(32).encode()).decode().strip()
    return _long_enough(token, path)


def read_token(path: Path) -> str:
    """A token another process created; raises ConfigError naming the file when it is missing."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the apishield serve token at {path}: {exc.strerror}. Start "
            "`apishield serve` once to create it, or set analysis.token_file."
        ) from exc
    return _long_enough(token, path)


def _long_enough(token: str, path: Path) -> str:
    if len(token) < MIN_TOKEN:
        raise ConfigError(
            f"the token in {path} has {len(token)} characters; a token needs {MIN_TOKEN} or "
            "more. Delete the file and restart `apishield serve` to make one"
        )
    return token


def _created_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes, or new ones written whole before the file appears under its name (a
    private temporary file linked into place), so no process ever reads it half-written."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = make()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp makes it 0600
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            # Another process created it between our read and our link: use theirs.
            return path.read_bytes()
    finally:
        os.unlink(temporary)
    return value


def load_jwt_key(config: JwtConfig) -> Any:
    """A JWKS, a PEM public key or an HMAC secret, or None when identities are read untrusted."""
    if config.jwks_file is not None:
        try:
            document = json.loads(config.jwks_file.read_text(encoding="utf-8"))
            if not isinstance(document, dict):
                raise ValueError("the top level is not an object")
            return jwt.PyJWKSet.from_dict(document)
        except (OSError, jwt.PyJWTError, ValueError) as exc:
            raise ConfigError(
                f"identity.jwt.jwks_file {config.jwks_file}: cannot be used as a JWKS ({exc}). "
                "Point it at a JSON file with a top-level 'keys' list."
            ) from exc
    if config.verify_key_file is not None:
        try:
            key = config.verify_key_file.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"identity.jwt.verify_key_file {config.verify_key_file}: {exc.strerror}"
            ) from exc
        return key.strip()
    return None
