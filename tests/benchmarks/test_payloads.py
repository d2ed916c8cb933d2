import json
from pathlib import Path

import pytest

from benchmarks import payloads


def test_each_class_is_counted_and_its_misses_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lists = tmp_path / "lists"
    (lists / "xss").mkdir(parents=True)
    (lists / "xss" / "a.txt").write_text("<script>alert(1)</script>\nplain words\n\n")
    (lists / "sqli").mkdir()
    (lists / "sqli" / "b.txt").write_text("1' OR '1'='1\n1' OR '1'='1\n")
    specs = tmp_path / "specs"
    specs.mkdir()
    spec = {"paths": {"/a": {"get": {"description": "Lists the orders of a customer."}}}}
    spec["components"] = {"schemas": {"S": {"enum": ["shipped", "open"], "example": "x-1"}}}
    (specs / "api.json").write_text(json.dumps(spec))

    assert payloads.main([str(lists), "--specs", str(specs), "--misses", str(tmp_path / "m")]) == 0

    out = capsys.readouterr().out
    assert "sqli" in out and "xss" in out
    assert "all                 3       2    66.7%" in out
    assert "benign: 4 documented values" in out and "0 flagged" in out
    tune_misses = "plain words\n" if payloads.half("plain words") == "tune" else ""
    assert (tmp_path / "m" / "xss.txt").read_text() == tune_misses
    assert (tmp_path / "m" / "sqli.txt").read_text() == ""


def test_the_halves_are_fixed_by_the_text_and_both_are_used() -> None:
    values = [f"payload {n}" for n in range(200)]
    halves = [payloads.half(value) for value in values]
    assert halves == [payloads.half(value) for value in values]
    assert 60 < halves.count("tune") < 140


def test_only_the_tune_half_misses_are_written(tmp_path: Path) -> None:
    words = [f"plain words {n}" for n in range(40)]
    lists = tmp_path / "lists"
    (lists / "xss").mkdir(parents=True)
    (lists / "xss" / "a.txt").write_text("".join(f"{w}\n" for w in words))

    assert (
        payloads.main([str(lists), "--specs", str(tmp_path), "--misses", str(tmp_path / "m")]) == 0
    )

    written = (tmp_path / "m" / "xss.txt").read_text().splitlines()
    assert written == [w for w in words if payloads.half(w) == "tune"]
    assert 0 < len(written) < len(words)


def test_a_payload_already_encoded_is_also_sent_as_written() -> None:
    sent = [exchange.request.query for exchange in payloads.forms("%3Cscript%3E")]
    assert "q=%253Cscript%253E" in sent and "q=%3Cscript%3E" in sent


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        payloads.main([str(tmp_path / "absent")])
