"""Is a request value SQL injection? A structural judgement over lexed fingerprints.

Keyword lists alone flag "LOCK AND KEY" and miss `1'||(select 1)||'`. Instead the value is lexed as
SQL in each context it could land in (see `sqltokens`), and the fingerprint must show an injection's
shape. Either a construct prose never has, anywhere: UNION SELECT, a call to a time, file, command
or error-based function, a stacked statement of a known shape, WAITFOR DELAY, a subquery, a
PostgreSQL cast, a system catalog name. Or a break-out: an operand (in a quote context, the string
the value closes) followed by a pivot that turns the rest into SQL: logic with a comparison or a
call, UNION, a clause such as ORDER BY, or a comment that swallows the rest of the query.

Signatures for single keywords belong to the Hyperscan rules; this detector aims at structure.
Most values never reach the lexer: one regex scan rejects a value with no SQL punctuation and none
of a few telling words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from apishield.checks.sqltokens import MAX_SCAN, Token, fingerprint, fold, tokenize


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STRONG = re.compile(r"""['"`();=<>|&*/#\\]|--|@@|::""")
"""Punctuation that SQL needs and plain words, numbers, names, dates and emails lack."""
_TELLING = re.compile(
    r"union|select|waitfor|shutdown|declare|exec|sleep|benchmark|xp_|pg_|dbms_|utl_"
    r"|information_schema|mysql\.|msdb|sysobjects|sqlite_master"
)
"""Words that make a value worth lexing even without punctuation (matched on lower case)."""
_CATALOG = re.compile(
    r"\b(?:information_schema|mysql\.(?:user|db)|sysobjects|syscolumns|sysdatabases"
    r"|sys\.(?:objects|tables|columns|databases|sql_logins)|pg_(?:catalog|shadow|user|tables)"
    r"|all_tab(?:les|_columns)|user_tab(?:les|_columns)|dba_users|msysobjects"
    r"|sqlite_(?:master|schema)|msdb)\b"
)
"""System catalogs: naming one is schema enumeration, whatever surrounds it."""

_CAST_TYPES = _words(
    """
    int int2 int4 int8 integer bigint smallint numeric decimal real float float4 float8 double
    text varchar char bool boolean json jsonb xml date timestamp regclass bytea oid inet uuid
    """
)
_CLAUSES = frozenset(("order", "group", "having", "limit", "procedure", "where", "into"))
_DDL_OBJECTS = _words(
    "table database schema user procedure function view index trigger login role sequence"
)

# An operand: what the value starts with before the pivot that makes it SQL. In a quote
# context it begins with the string the value closes.
_OPERAND = re.compile(r"\(*(?:[1nvsf][1nvsfoal().,]*)?")
_LITERAL_COMPARE = re.compile(r"&\(*[1svf][^&;.]{0,4}?(?:o|l\(*[1svfn])")
_NAME_COMPARE = re.compile(r"&\(*n[^&;.]{0,4}?(?:o|l\(*[1sv])")
"""A comparison a few tokens after AND/OR (`OR a+b=1`, `AND f(x) LIKE 'a'`); one further on
belongs to a sentence ("and png files are supported up to a size that is 5 MB")."""
_LOGIC_CALL = re.compile(r"&\(*[fFE]|&\(+[1sv]")
_UNION_PROBE = re.compile(r"U(?:c?$|\(*1)")
_LOGIC_CLAUSE = re.compile(r"&\(*[1v]\)*(?=k)")
_LOGIC_LITERAL = re.compile(r"&\(*(?:[1v]|s)\)*c?$")
_LITERAL_COMMENT = re.compile(r"(?=[^c]*[1vf(])[(1vsfaol&Ek).,]*c$")
_QUOTED_COMMENT = re.compile(r"(?=[^c]*[1vf(])(?:[(1vsfaol&Ek).,]*|(?=[^c]*f)[(1vsnfaol&Ek).,]*)c$")
_QUOTED_COMPARE = re.compile(r"o\(*[1sv]\)*c?$|[oal](?=[^&;]*[ol])")
_ARITHMETIC_CALL = re.compile(r"\(*1\)*a\(*[fFE]")
_TAUTOLOGY = re.compile(r"\(*[1sv]\)*&\(*[1sv]")
_FRAGMENT = re.compile(r"f\((?:$|.*[fFEvo])")


def detect_sqli(value: str) -> str | None:
    """A short reason ("union-select sUE1,1") when `value` is SQL injection, else None."""
    text = value[:MAX_SCAN]
    if _STRONG.search(text) is None:
        low = text.lower()
        if _TELLING.search(low) is None:
            return None
        if _CATALOG.search(low):
            return "catalog"
    elif _TELLING.search(low := text.lower()) and _CATALOG.search(low):
        return "catalog"
    for context in ("", "'", '"'):
        if context and context not in text:
            continue
        tokens = fold(tokenize(text, context))
        reason = judge(tokens, context)
        if reason is not None:
            return f"{reason} {fingerprint(tokens)[:24]}"
    return None


def judge(tokens: list[Token], context: str) -> str | None:
    """The name of the first injection shape the folded tokens of one context show, or None."""
    if context and len(tokens) < 2:
        return None
    fp = fingerprint(tokens)
    reason = _anywhere(tokens, fp)
    if reason is None:
        reason = _breakout(tokens, fp, context)
    return reason


_STATEMENT_KINDS = re.compile(r"[UEMDXW;]")


def _anywhere(tokens: list[Token], fp: str) -> str | None:
    if "F" in fp:
        return "dangerous-call"
    for found in _STATEMENT_KINDS.finditer(fp):
        index = found.start()
        kind = fp[index]
        if kind == "U" and _union_select(tokens, fp, index):
            return "union-select"
        if _stacked(fp, index) and _statement(tokens, index):
            return "stacked-query" if index else "statement"
    if "a" in fp:
        for index, token in enumerate(tokens):
            if token[1] == "::" and _is_cast(tokens, index):
                return "cast"
    if fp.startswith("f(") and _FRAGMENT.match(fp):
        return "function-fragment"
    if _ARITHMETIC_CALL.match(fp):
        return "arithmetic-call"
    return None


def _union_select(tokens: list[Token], fp: str, index: int) -> bool:
    """UNION [ALL] [(] SELECT, unless two plain words follow, as in a name ("Union Select Wood")."""
    select = index + 1
    while select < len(fp) and fp[select] == "(":
        select += 1
    return fp.startswith("E", select) and fp[select + 1 : select + 3] != "nn"


def _stacked(fp: str, index: int) -> bool:
    """Can a statement start here? At the start, after ";", a SELECT after "(" or UNION, and
    (as MSSQL allows) a command straight after a break-out string or number."""
    if index == 0 or fp[index] == "W":
        return True
    before = fp[index - 1]
    if before == ";":
        return True
    if fp[index] == "E":
        return before in "(U"
    return before in "s1)"


def _statement(tokens: list[Token], index: int) -> bool:
    """Does the keyword at `index` begin a statement of a shape SQL accepts and prose lacks?"""
    word = tokens[index][1].lower()
    after = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
    second = tokens[index + 2] if index + 2 < len(tokens) else ("", "")
    shape = _SHAPES.get(word)
    return shape is not None and shape(after[0], after[1].lower(), second)


def _select(kind: str, word: str, second: Token) -> bool:
    """SELECT 1, SELECT 'a', SELECT f(, SELECT *, SELECT TOP, SELECT a, / a FROM / a+ / a("""
    if kind in _SELECT_FIRST or word in ("*", "top", "distinct", "all"):
        return True
    return kind == "n" and second[0] in _SELECT_SECOND


def _exec(kind: str, word: str, second: Token) -> bool:
    """EXEC('..'), EXEC @sql, EXEC xp_cmdshell, EXECUTE AS LOGIN."""
    if kind == "(":
        return second[0] in ("s", "v")
    return kind in ("s", "v") or word.startswith(("xp_", "sp_", "master.", "as"))


def _if(kind: str, word: str, second: Token) -> bool:
    """`; IF (..)`, `; IF 1=1`, `; IF EXISTS`: a T-SQL conditional as a second statement."""
    return word == "if" and (second[0] in ("(", "1") or second[1].lower() == "exists")


_SELECT_FIRST = frozenset("1svfF(")
_SELECT_SECOND = frozenset(",kao.(")
Shape = Callable[[str, str, Token], bool]
_SHAPES: dict[str, Shape] = {
    ";": _if,
    "select": _select,
    "insert": lambda kind, word, second: word.startswith("into"),
    "replace": lambda kind, word, second: word.startswith("into"),
    "load": lambda kind, word, second: word.split(" ", 1)[0] in ("data", "xml"),
    "delete": lambda kind, word, second: (
        word.startswith("from") or word in ("ignore", "low_priority", "quick")
    ),
    "update": lambda kind, word, second: kind == "n" and second[1].lower() == "set",
    "exec": _exec,
    "execute": _exec,
    "declare": lambda kind, word, second: kind == "v",
    "set": lambda kind, word, second: kind == "v",
    "waitfor": lambda kind, word, second: kind in ("s", "1"),
    "shutdown": lambda kind, word, second: kind in ("", "c", ";"),
    "call": lambda kind, word, second: kind in ("n", "f") and second[0] == "(",
}
_SHAPES.update(
    dict.fromkeys(
        ("drop", "create", "alter", "truncate", "rename"),
        lambda kind, word, second: word in _DDL_OBJECTS,
    )
)
"""Per statement keyword: given the next token's kind and lower-cased text and the token after,
is this the statement's real shape? Each needs what prose lacks (INTO, FROM, @var, TABLE)."""


def _is_cast(tokens: list[Token], index: int) -> bool:
    """`x::int` and `'{..}'::jsonb`: PostgreSQL casts, used for error-based extraction."""
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    return index > 0 and after is not None and after[1].lower() in _CAST_TYPES


def _breakout(tokens: list[Token], fp: str, context: str) -> str | None:
    if context:
        reason = _quoted_expression(tokens, fp, context)
        if reason is not None:
            return reason
    if fp.endswith("c"):
        reason = _comment(tokens, fp, context)
        if reason is not None:
            return reason
    start = _OPERAND.match(fp)
    split = start.end() if start else 0
    tail = fp[split:]
    if not tail:
        return None
    pivot = tail[0]
    if pivot == "&":
        clause = _LOGIC_CLAUSE.match(tail)
        if clause is not None:
            return _clause(tokens, tail[clause.end() :], split + clause.end(), context)
        return _logic(tokens, tail, context, names=context != "" or fp[:1] != "n")
    if pivot == "U" and split and _UNION_PROBE.match(tail) and _union_operand(fp[:split], tail):
        return "union"
    if pivot == ";" and context and tail in (";", ";c"):
        return "statement-end"
    if pivot == "k":
        return _clause(tokens, tail, split, context)
    return None


def _union_operand(operand: str, tail: str) -> bool:
    """`1 UNION`, `' UNION--`: a value ending on UNION probes the column count only after a
    literal or a closed expression. After plain words it is a name: "European Union"."""
    return tail[1:2] not in ("", "c") or any(kind in operand for kind in "1sv)")


def _logic(tokens: list[Token], tail: str, context: str, *, names: bool) -> str | None:
    """After AND/OR: a comparison, a call or subquery, or a bare literal the query ends on.

    A comparison of two names (`b > c`) counts only after a break-out or a number: after a
    plain word it is as likely to be prose or arithmetic ("a < b and b > c")."""
    if _LITERAL_COMPARE.search(tail) or (names and _NAME_COMPARE.search(tail)):
        return "logic-compare"
    if _LOGIC_CALL.search(tail):
        return "logic-call"
    literal = _LOGIC_LITERAL.search(tail)
    if literal is None:
        return None
    closing = tokens[len(tokens) - len(tail) + literal.start() :]
    operand = next((t for t in closing if t[0] in "1vs"), None)
    if operand is not None and operand[0] == "s" and not _truthy(operand[1]):
        return None
    if context and _closed(tokens[-1], context):
        return "logic-literal"
    return "logic-literal" if tail.endswith("c") else None


def _truthy(text: str) -> bool:
    """'1 or "7: a string MySQL reads as a non-zero number, making `OR '1` a tautology."""
    body = text[1:].lstrip()
    return body[:1].isdigit() and body[:1] != "0"


def _clause(tokens: list[Token], tail: str, split: int, context: str) -> str | None:
    """`1 ORDER BY 5--`, `' GROUP BY x HAVING 1=1#`, `1 INTO OUTFILE '/x'`."""
    words = tokens[split][1].lower().split()
    if words[0] not in _CLAUSES or len(tail) < 2 or tail[1] not in "1vnfs(":
        return None
    if words[0] == "into" and words[1:2] not in (["outfile"], ["dumpfile"]):
        return None
    if words[0] == "into" or "f" in tail or tail.endswith("c"):
        return "clause"
    if words[0] == "having" and _TAUTOLOGY.search(tail):
        return "clause"  # `HAVING (1 OR 1)`: a filter on literals is a tautology probe
    return "clause" if context and _closed(tokens[-1], context) else None


def _comment(tokens: list[Token], fp: str, context: str) -> str | None:
    """`admin'--` in a quote context; `1--` or `(1) /*` as-is."""
    if context:
        first = tokens[0][1]
        return "comment-truncation" if fp == "sc" and _plain_word(first) else None
    if tokens[-1][1].startswith(("--", "/*")) and _LITERAL_COMMENT.match(fp):
        return "literal-comment"
    return None


def _quoted_expression(tokens: list[Token], fp: str, context: str) -> str | None:
    """`x'='x`, `a'|col!='`: an operator right after the break-out, ending in the open string."""
    if not context or len(fp) < 3 or fp[1] not in "oal&(":
        return None
    if _QUOTED_COMMENT.match(fp, 1):
        return "quoted-expression-comment"
    if not _closed(tokens[-1], context):
        return None
    if fp[1] in "oa&" and fp[2:] == "s" and context == "'" and not tokens[1][1].isalpha():
        return None if _quoted_symbol(tokens) else "quoted-operator"
    if fp[1] == "o" and tokens[1][1] not in ("=", "!=", "<>", "<=>"):
        return None
    return "quoted-expression" if _QUOTED_COMPARE.match(fp, 1) else None


def _quoted_symbol(tokens: list[Token]) -> bool:
    """`use '*' as a wildcard`: a symbol quoted in a sentence, not `x' = 'x` breaking out. The
    quote opens after a blank and a sentence, not a single operand, follows the symbol."""
    return tokens[0][1][-2:-1].isspace() and len(tokens[-1][1].split()) > 2


def _plain_word(text: str) -> bool:
    """A break-out string like `admin'`: a login name, not the tail of a sentence."""
    return 1 < len(text) <= 64 and not any(char.isspace() for char in text)


def _closed(last: Token, context: str) -> bool:
    """Would the query still parse once the application appends its closing quote?"""
    if last[0] in "c;":
        return True
    text = last[1]
    if last[0] != "s" or not text.startswith(context):
        return False
    return len(text) == 1 or not text.endswith(context) or text.endswith("\\" + context)
