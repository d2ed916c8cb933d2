from __future__ import annotations

import stat
from pathlib import Path

import jwt
import pytest

from apishield.config import ConfigError, JwtConfig
from apishield.store.keys import install_secret, load_jwt_key


def test_secret_is_created_once_and_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = install_secret(home)
    assert len(first) == 32
    assert install_secret(home) == first
    mode = (home / "install-secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_jwt_keys(tmp_path: Path) -> None:
    assert load_jwt_key(JwtConfig()) is None
    secret = tmp_path / "hmac"
    secret.write_text("shared-secret-value\n")
    assert load_jwt_key(JwtConfig(verify_key_file=secret)) == b"shared-secret-value"
    jwks = tmp_path / "jwks.json"
    jwks.write_text(
        '{"keys": [{"kty": "oct", "kid": "k1", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}]}'
    )
    assert isinstance(load_jwt_key(JwtConfig(jwks_file=jwks)), jwt.PyJWKSet)
    jwks.write_text("[]")
    with pytest.raises(ConfigError, match="jwks_file"):
        load_jwt_key(JwtConfig(jwks_file=jwks))
    with pytest.raises(ConfigError, match="verify_key_file"):
        load_jwt_key(JwtConfig(verify_key_file=tmp_path / "missing"))


def test_an_empty_or_short_token_file_is_refused_not_accepted(tmp_path: Path) -> None:
    from apishield.config import ConfigError
    from apishield.store.keys import api_token, read_token

    token = tmp_path / "token"
    made = api_token(token)
    assert len(made) >= 32 and api_token(token) == made
    assert token.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["token"]  # no temporary file left behind
    for content in ("\n", "short"):
        token.write_text(content)
        with pytest.raises(ConfigError, match="Delete the file"):
            api_token(token)
        with pytest.raises(ConfigError, match="Delete the file"):
            read_token(token)
