from __future__ import annotations

import io

from rich.console import Console

from apishield.report.plain import plain


def _printed(text: str) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=200)
    console.print(text, highlight=False)
    return out.getvalue()


def test_markup_in_traffic_is_printed_as_text() -> None:
    path = "/a/[link=https://evil.example/]click[/link]/[bold red]x[/]"
    printed = _printed(f"endpoint {plain(path)}")
    assert "[link=https://evil.example/]click[/link]" in printed
    assert "\x1b]8;" not in printed  # no OSC 8 hyperlink was emitted


def test_control_characters_are_shown_not_sent() -> None:
    user = "jane\x1b[2J\x1b]8;;https://evil.example\x07\u202eevil\x85"
    printed = _printed(plain(user))
    assert "\x1b[2J" not in printed and "\x07" not in printed and "\u202e" not in printed
    assert "\\x1b[2J" in printed and "\\u202e" in printed and "\\x85" in printed
