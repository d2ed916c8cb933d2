"""Uploaded file names: what the server would run or read as its configuration."""

from __future__ import annotations

import pytest

from apishield.checks.uploads import judge_file_name


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("shell.php", "php"),
        ("avatar.PHTML", "php"),
        ("photo.php. . .", "php"),  # Windows drops trailing dots and blanks
        ("photo. php5", "php"),
        ("dir/sub/x.phar", "php"),
        ("x.php\x00.jpg", "php"),  # C APIs stop at the NUL
        ("page.jspx", "java"),
        ("cmd.aspx", "rce"),
        ("..\\..\\run.cgi", "rce"),
        (".htaccess", "rce"),
        ("web.config", "rce"),
        (".user.ini", "rce"),
    ],
)
def test_server_side_scripts_and_configuration_files_are_named(name: str, cls: str) -> None:
    verdict = judge_file_name(name)
    assert verdict is not None and verdict[0] == cls


@pytest.mark.parametrize(
    "name",
    ["report.pdf", "photo.jpg", "php-logo.png", "notes.phpinfo", "archive.tar.gz", "php", ".php"],
)
def test_data_files_are_not(name: str) -> None:
    assert judge_file_name(name) is None
