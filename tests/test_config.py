from __future__ import annotations

from pathlib import Path

import pytest

from apishield.config import ConfigError, load_config, parse_config


def test_empty_file_gives_defaults() -> None:
    config = parse_config("")
    assert config.store.url == "sqlite:///apishield.db"
    assert config.ingest.format == "auto"
    assert config.identity.trusted_proxies == []


def test_unknown_key_names_the_fix() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("identity:\n  trusted_proxy: [10.0.0.0/8]\n")
    message = str(info.value)
    assert "identity.trusted_proxy: unknown key" in message
    assert "Did you mean 'trusted_proxies'?" in message
    assert "api_key_headers" in message  # the valid keys are listed


def test_unknown_section() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'ingest'"):
        parse_config("ingset: {}\n")


def test_bad_format_lists_valid_values() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("ingest:\n  format: apache\n")
    assert "'apache'" in str(info.value)
    assert "nginx-json" in str(info.value)


def test_bad_cidr_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"identity\.trusted_proxies\.0"):
        parse_config("identity:\n  trusted_proxies: [not-a-network]\n")


def test_not_yaml_and_not_mapping() -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config("a: [1, 2\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_config("- 1\n- 2\n")


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "apishield.yaml"
    path.write_text(
        "identity:\n  trusted_proxies: [10.0.0.0/8, '2001:db8::/32']\n  hash_ips: true\n"
    )
    config = load_config(path)
    assert [str(n) for n in config.identity.trusted_proxies] == ["10.0.0.0/8", "2001:db8::/32"]
    assert config.identity.hash_ips is True
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_a_bad_url_is_reported_without_its_password() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config("state: {backend: redis, url: 'http://ops:s3cret@cache.internal:6379/0'}\n")
    message = str(raised.value)
    assert "s3cret" not in message
    assert "http://ops:***@cache.internal:6379/0" in message


def test_a_bad_media_type_pattern_names_the_shapes_that_work() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config("checks:\n  request_media_types: [application/json, 'text plain']\n")
    message = str(error.value)
    assert "checks.request_media_types" in message
    assert "'text plain'" in message and "'application/*+json'" in message
    config = parse_config("checks:\n  request_media_types: ['*/*', 'image/*']\n")
    assert config.checks.request_media_types == ["*/*", "image/*"]
