"""The `analysis:` section: where in-line traffic is analysed, and its mistakes named."""

from __future__ import annotations

import pytest

from apishield.config import ConfigError, parse_config


def test_local_analysis_is_the_default() -> None:
    analysis = parse_config("").analysis
    assert analysis.mode == "local"
    assert analysis.stream == "apishield:exchanges"
    assert analysis.on_unavailable == "local"


def test_stream_settings_are_read() -> None:
    text = "analysis:\n  mode: stream\n  stream: 'x:y'\n  maxlen: 0\n  batch: 32\n"
    analysis = parse_config(text).analysis
    assert (analysis.mode, analysis.stream, analysis.maxlen, analysis.batch) == (
        "stream",
        "x:y",
        0,
        32,
    )


def test_a_bad_mode_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"analysis\.mode: 'remotely' is not valid.*'stream'"):
        parse_config("analysis:\n  mode: remotely\n")


def test_a_misspelt_key_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'maxlen'"):
        parse_config("analysis:\n  max_len: 10\n")


def test_claims_must_wait_longer_than_saves() -> None:
    with pytest.raises(ConfigError, match=r"claim_idle_seconds .* must exceed save_seconds"):
        parse_config("analysis:\n  save_seconds: 60\n  claim_idle_seconds: 30\n")


@pytest.mark.parametrize("text", ["stream: ''", "stream: 'a b'", "group: ''", "batch: 0"])
def test_names_and_sizes_are_checked(text: str) -> None:
    with pytest.raises(ConfigError, match="analysis"):
        parse_config(f"analysis:\n  {text}\n")
