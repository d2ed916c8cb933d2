"""A small SQL lexer that turns a request value into a fingerprint of token types.

An injected value only becomes SQL once the application pastes it into a query, and the attacker
does not know (nor do we) whether it lands bare, inside '...' or inside "...". So the value is lexed
once per plausible context: as-is, and as if a string were already open, in which case everything
up to the first matching quote is the tail of that string. Each token becomes one character, and a
few folds (drop inline comments, unary signs and NOT; merge keyword pairs such as UNION ALL and
WAITFOR DELAY) make the fingerprint short and stable against evasion. The judgement of what a
fingerprint means lives in `sqli.py`.

The lexer is linear: one anchored regex match per token (no nested quantifiers, so no
backtracking blow-up) and `str.find` for strings and comments, over at most `MAX_SCAN` characters.

Fingerprint alphabet:

    s string        1 number, NULL, TRUE   n name          v @variable
    a arithmetic, bitwise, :: cast
    E SELECT        U UNION/INTERSECT/EXCEPT                M INSERT UPDATE DELETE REPLACE
    D DROP CREATE ALTER TRUNCATE RENAME GRANT              X EXEC DECLARE SHUTDOWN CALL SET
    W WAITFOR DELAY k other keyword    & AND OR XOR && ||   o comparison sign
    l LIKE IS IN BETWEEN REGEXP (a comparison that is also an English word)
    f SQL function call                F dangerous function call (time, file, command, network,
                                       error-based)
    ( ) , ; .       c comment that runs to the end          ? anything else
"""

from __future__ import annotations

import re

MAX_SCAN = 4096
"""Characters of a value that are lexed; an injection has to break out well before this."""

MAX_TOKENS = 128
"""Tokens kept per context, which bounds the work on long prose with many apostrophes."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_COMMENT_BODY = r"/\*(?!!)(?:[^*]++|\*(?!/))*+(?:\*/)?"
_SCAN = re.compile(
    r"""
    [\s\x00]*+
    (?:
      (?P<word>[^\W\d][\w$]*+(?:\.++[^\W\d][\w$]*+)*+)
      (?P<call>(?:[\s\x00]|"""
    + _COMMENT_BODY
    + r""")*+(?=\())?
    | (?P<num>0[xX][0-9a-fA-F]++|0[bB][01]++|\d++\.?\d*+(?:[eE][+-]?\d++)?|\.\d++(?:[eE][+-]?\d++)?)
    | (?P<str>'(?:[^'\\]++|\\.|'')*+'?|"(?:[^"\\]++|\\.|"")*+"?)
    | (?P<name>`[^`]*+`?)
    | (?P<line>(?:--|\#(?!>))[^\n]*+)
    | (?P<version>/\*!\d*+)
    | (?P<block>"""
    + _COMMENT_BODY
    + r""")
    | (?P<endc>\*/)
    | (?P<var>@@?[\w$]++(?:\.[\w$]++)*+)
    | (?P<op><=>|<>|!=|<=|>=|!<|!>|::|\|\||&&|->>?|\#>>?|@>|<@|@@|\?[|&]|<<|>>|:=
           |[-=<>!+*/%^&|~:?@])
    | (?P<punct>[(),;.])
    | (?P<other>.)
    )
    """,
    re.VERBOSE | re.DOTALL,
)
"""One token per match, blanks before it skipped. Every repeat is possessive, so a match never
backtracks and the scan is linear in the length of the value."""

_STATEMENTS = {
    "select": "E",
    "union": "U",
    "intersect": "U",
    "except": "U",
    "minus": "U",
    "insert": "M",
    "update": "M",
    "delete": "M",
    "replace": "M",
    "merge": "M",
    "upsert": "M",
    "drop": "D",
    "create": "D",
    "alter": "D",
    "truncate": "D",
    "rename": "D",
    "grant": "D",
    "revoke": "D",
    "exec": "X",
    "execute": "X",
    "declare": "X",
    "shutdown": "X",
    "call": "X",
    "load": "X",
    "set": "X",
    "handler": "X",
    "prepare": "X",
    "waitfor": "W",
    "and": "&",
    "or": "&",
    "xor": "&",
    "null": "1",
    "true": "1",
    "false": "1",
    "unknown": "1",
    "current_user": "1",
    "like": "l",
    "rlike": "l",
    "ilike": "l",
    "regexp": "l",
    "similar": "l",
    "glob": "l",
    "is": "l",
    "in": "l",
    "between": "l",
    "div": "a",
    "mod": "a",
    "sounds": "l",
    "escape": "o",
    "collate": "a",
    "not": "!",
}

_KEYWORDS = _words(
    """
    from where into values table limit offset order group by having as case when then else
    end all distinct distinctrow top procedure outfile dumpfile join inner outer left right
    cross natural on using asc desc with fetch first rows only database schema user
    column columns exists any some cast convert char varchar nvarchar int integer signed
    unsigned binary delay time begin load data infile lines fields terminated
    """
)

SQL_FUNCTIONS = _words(
    """
    abs ascii avg bin bit_and bit_length bit_or cast ceil ceiling char char_length chr coalesce
    compress concat concat_ws connection_id conv convert count crc32 current_database
    current_schema current_setting current_user database datalength date_format db_name decode
    elt encode exp field find_in_set floor format from_base64 group_concat hex host_name if
    ifnull iif inet_ntoa insert instr isnull json_extract json_keys json_object last_insert_id
    lcase left length like listagg ln lower lpad ltrim make_set max md5 mid min nullif oct
    octet_length ord password pg_client_encoding position pow power quote quotename rand
    regexp_like regexp_replace regexp_substr repeat replace reverse right round row_count rpad
    rtrim schema schema_name session_user sha sha1 sha2 sign sin soundex space sqrt str string_agg
    strcmp substr substring substring_index sum sys_context system_user table_name to_base64
    to_char trim trunc typeof ucase uncompress unhex unicode upper user user_name uuid version
    weight_string xmlagg xmlelement xmltype char_length count_big unistr jsonb_pretty
    starts_with array_to_string string_to_array div lo_get has_database_privilege binary cos
    tan atan pi charset collation current_date current_time localtime now sysdate nvl
    generate_series json_extract_path jsonb_extract_path row_to_json array_agg
    """
)

DANGEROUS_FUNCTIONS = _words(
    """
    sleep benchmark pg_sleep pg_sleep_for pg_sleep_until dbms_lock.sleep sys.dbms_lock.sleep
    dbms_pipe.receive_message randomblob load_file extractvalue updatexml exp xp_cmdshell
    master..xp_cmdshell master.dbo.xp_cmdshell xp_dirtree master..xp_dirtree xp_fileexist
    xp_regread sp_oacreate sp_executesql utl_http.request utl_inaddr.get_host_address
    utl_inaddr.get_host_name httpuritype dbms_ldap.init dbms_xmlgen.getxml lo_import lo_export
    pg_read_file pg_ls_dir pg_read_binary_file ctxsys.drithsx.sn geometrycollection multipoint
    polygon linestring multilinestring multipolygon name_const gtid_subset st_latfromgeohash
    sqlite_version sqlite_compileoption_get load_extension dblink dblink_exec
    dbms_utility.sqlid_to_sqlhash xmlquery lo_get
    """
)


Token = tuple[str, str]
"""(kind, text): kind is one character of the fingerprint alphabet. A plain tuple, because a
value is lexed on every request and tuples are the cheapest thing Python builds."""


def _string_end(value: str, start: int, quote: str) -> int:
    """Index just after the quote that closes a string whose body starts at `start`, or -1.

    A doubled quote or a backslash-escaped quote does not close the string."""
    pos = start
    while True:
        end = value.find(quote, pos)
        if end < 0:
            return -1
        if value.startswith(quote, end + 1):
            pos = end + 2
            continue
        slashes = 0
        while end - slashes > start and value[end - slashes - 1] == "\\":
            slashes += 1
        if slashes % 2:
            pos = end + 1
            continue
        return end + 1


def _call_kind(low: str) -> str | None:
    last = low.rpartition(".")[2]
    if low in DANGEROUS_FUNCTIONS or last in DANGEROUS_FUNCTIONS:
        return "F"
    if low in SQL_FUNCTIONS or last in SQL_FUNCTIONS:
        return "f"
    return None


def tokenize(value: str, context: str = "") -> list[Token]:
    """Lex `value` as it would read after `context` ("", "'" or '"'), raw and unfolded.

    In a quote context the first token is the string the value closes; if it never closes it,
    the value is one harmless string and the list holds just that. A function is a known name
    followed by "(" (blanks and comments allowed between); dangerous names that no language
    uses as a word (pg_sleep, dbms_lock.sleep) count as calls even without the parenthesis."""
    text = value[:MAX_SCAN]
    tokens: list[Token] = []
    pos = 0
    if context:
        pos = _string_end(text, 0, context)
        if pos < 0:
            return [("s", text)]
        tokens.append(("s", text[:pos]))
        glued = _GLUED_WORD.match(text, pos) if pos > 1 and text[pos - 2].isalnum() else None
        if glued is not None and glued.group().lower() not in _WORD_KINDS:
            tokens.append(("n", glued.group()))
            return tokens
    append = tokens.append
    for match in _SCAN.finditer(text, pos):
        group = match.lastgroup
        if group == "word":
            word = match.group(group)
            append((_WORD_KINDS.get(word.lower(), "n"), word))
        elif group == "call":
            word = match.group("word")
            low = word.lower()
            append((_call_kind(low) or _WORD_KINDS.get(low, "n"), word))
        elif group == "op":
            op = match.group(group)
            append((_OPERATORS.get(op, "a"), op))
        elif group == "punct":
            op = match.group(group)
            append((op, op))
        elif group in _SIMPLE:
            append((_SIMPLE[group], match.group(group)))
        elif group in ("line", "block") and not text[match.end() :].strip():
            append(("c", match.group(group)))
        if len(tokens) >= MAX_TOKENS:
            break
    return tokens


_GLUED_WORD = re.compile(r"[^\W\d][\w$]*+(?![\w$.(])")
"""A plain word right against a closing quote that itself follows a letter or digit: the quote
was an apostrophe (O'Brien, it's, 1950's), what follows is prose, and lexing stops there."""
_SIMPLE = {"num": "1", "str": "s", "name": "n", "var": "v", "other": "?"}
_WORD_KINDS = dict.fromkeys(_KEYWORDS, "k")
_WORD_KINDS.update(_STATEMENTS)
_WORD_KINDS.update((name, "F") for name in DANGEROUS_FUNCTIONS if "_" in name or "." in name)
_OPERATORS = dict.fromkeys(
    _words("= <=> <> != <= >= !< !> < > := -> ->> #> #>> @> <@ ?| ?& ? @@ @"), "o"
)
_OPERATORS.update({"||": "&", "&&": "&"})


_DROP_AFTER_UNION = frozenset(("all", "distinct", "distinctrow"))
_UNARY = frozenset(("-", "+", "~", "!"))
_UNARY_AFTER = frozenset("&oal(,;kEUMDXW")


def fold(tokens: list[Token]) -> list[Token]:
    """Fold a raw token list into the short form the rules read.

    NOT and unary signs go, UNION ALL becomes UNION, WAITFOR DELAY becomes WAITFOR, and runs of
    plain keywords become one token whose text keeps the words ("order by", "into outfile")."""
    out: list[Token] = []
    last = len(tokens) - 1
    prev = ""
    for index, token in enumerate(tokens):
        kind, text = token
        if kind == "!" or (text in _UNARY and index < last and (not out or prev in _UNARY_AFTER)):
            continue
        if prev == "U" and text.lower() in _DROP_AFTER_UNION:
            continue
        if prev == "W" and kind in "kn":
            continue
        if prev == "k" and kind == "k":
            out[-1] = ("k", f"{out[-1][1]} {text}")
            continue
        out.append(token)
        prev = kind
    return out


def fingerprint(tokens: list[Token]) -> str:
    return "".join([token[0] for token in tokens])
