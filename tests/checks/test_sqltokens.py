"""The SQL lexer: contexts, folding and the fingerprint alphabet."""

from __future__ import annotations

from apishield.checks.sqltokens import MAX_SCAN, MAX_TOKENS, fingerprint, fold, tokenize


def shape(value: str, context: str = "") -> str:
    return fingerprint(fold(tokenize(value, context)))


def test_quote_context_starts_with_the_string_the_value_closes() -> None:
    tokens = tokenize("abc' OR 'q'='q", "'")
    assert tokens[0] == ("s", "abc'")
    assert shape("abc' OR 'q'='q", "'") == "s&sos"


def test_value_that_never_closes_the_quote_is_one_string() -> None:
    assert tokenize("plain words", "'") == [("s", "plain words")]


def test_doubled_and_escaped_quotes_do_not_close_a_string() -> None:
    assert tokenize("it''s here", "'") == [("s", "it''s here")]
    assert tokenize("a\\'b' OR 1", "'")[0] == ("s", "a\\'b'")


def test_apostrophe_inside_a_word_stops_the_quote_context() -> None:
    assert tokenize("O'Brien and friends", "'") == [("s", "O'"), ("n", "Brien")]


def test_keywords_functions_and_operators_have_their_own_kinds() -> None:
    assert shape("1 UNION ALL SELECT version(), @@datadir") == "1UEf(),v"
    assert shape("x LIKE 'a%' AND y <> 3") == "nls&no1"
    assert shape("5 DIV 2 || 1") == "1a1&1"


def test_dangerous_calls_are_marked() -> None:
    assert shape("SLEEP(3)") == "F(1)"
    assert shape("sleep well") == "nn"
    assert shape("pg_sleep") == "F"
    assert shape("sleep/**/(3)") == "F(1)"


def test_comments_inside_are_dropped_and_a_trailing_one_is_kept() -> None:
    assert shape("1/**/OR/**/1=1") == "1&1o1"
    assert shape("1 OR 1=1 -- x") == "1&1o1c"
    assert shape("1 OR 1=1 # x\n") == "1&1o1c"
    assert shape("1 -- note\nOR 2=2") == "1&1o1"


def test_mysql_versioned_comment_is_read_as_code() -> None:
    assert shape("1 /*!50000UNION*/ /*!SELECT*/ 2") == "1UE1"


def test_unary_signs_not_and_union_all_fold_away() -> None:
    assert shape("-1 OR NOT -2=~2") == "1&1o1"
    assert shape("1 UNION DISTINCT SELECT 2") == "1UE1"
    assert shape("1 WAITFOR DELAY '0:0:5'") == "1Ws"


def test_keyword_runs_merge_and_keep_their_words() -> None:
    tokens = fold(tokenize("1 ORDER BY 2"))
    assert tokens[1] == ("k", "ORDER BY")


def test_numbers_include_hex_binary_and_exponents() -> None:
    assert shape("0x4142 0b101 1.5e3 .5") == "1111"


def test_scan_and_token_count_are_bounded() -> None:
    assert len(tokenize("1 " * 5000)) == MAX_TOKENS
    tokens = tokenize("a" * (MAX_SCAN + 100))
    assert len(tokens[0][1]) == MAX_SCAN
