"""The install secret behind every keyed hash, and the keys that make JWT identities trusted."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

from apishield.config import ConfigError, JwtConfig

SECRET_FILE = "install-secret"
TOKEN_FILE = "token"
"""The API token of `apishield serve`, beside the install secret unless `serve.token_file`."""


def install_secret(data_dir: Path) -> bytes:
    """Read the secret, creating it on first run. It never leaves the machine it was made on."""
    return _created_once(data_dir / SECRET_FILE, lambda: secrets.token_bytes(32))


def api_token(path: Path) -> str:
    """The server's API token, created (43 URL-safe characters, mode 0600) on first start."""
    return _created_once(path, lambda: secrets.token_urlsafe(32).encode()).decode().strip()


def read_token(path: Path) -> str:
    """A token another process created; raises ConfigError naming the file when it is missing."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the apishield serve token at {path}: {exc.strerror}. Start "
            "`apishield serve` once to create it, or set analysis.token_file."
        ) from exc
    if not token:
        raise ConfigError(f"the token file {path} is empty; delete it and restart the server")
    return token


def _created_once(path: Path, make: Callable[[], bytes]) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it between our read and our create: use theirs.
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
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
