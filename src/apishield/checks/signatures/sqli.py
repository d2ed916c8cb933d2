"""SQL injection signatures: the classic shapes a tokeniser also sees, kept narrow against prose.

These complement the SQL tokeniser (`checks.sqli`): UNION-based extraction, stacked queries,
blind time delays, tautologies after a closing quote, comment truncation and the catalogue
tables and functions only an attacker asks an application for.
"""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium

_GAP = r"(?:\s|\+|/\*[^\n]*?\*/|\(|%20)"
"""What separates two SQL keywords in an evasive payload: blanks, `+`, inline comments, `(`."""

SIGNATURES: tuple[Signature, ...] = (
    high(
        "union-select",
        "sqli",
        "UNION SELECT",
        rf"\bunion{_GAP}+(?:all{_GAP}+|distinct{_GAP}+)?(?:/\*!\d*)?\(*select\b",
    ),
    high(
        "stacked-query",
        "sqli",
        "Stacked query after a statement terminator",
        r";\s*(?:drop\s+(?:table|database|schema)|insert\s+into|delete\s+from|"
        r"update\s+\S+\s+set\b|truncate\b|alter\s+(?:table|user)|"
        r"create\s+(?:table|user|database|function|procedure)|shutdown\b|"
        r"exec(?:ute)?\s*\(?\s*(?:xp_|sp_|master\.)|declare\s+@|"
        r"(?:grant|revoke)\s+(?:all|select|insert|update|delete|execute|usage|connect|resource|"
        r"dba|create|alter|drop|references|[\w\s,]*privileges)\b[^;\n]{0,80}?\s(?:to|from)\s+"
        r"[\w'\"`@]+)",
    ),
    high(
        "quote-concat",
        "sqli",
        "String closed, concatenated with a call or another string, and reopened (`' || f() || '`)",
        r"^\s*\w*['\"]\s*\|\|\s*(?:['\"]|[a-z_][\w.]*\s*\()[^\n]*\|\|\s*['\"]",
    ),
    high(
        "time-delay",
        "sqli",
        "Blind SQL injection by time delay",
        r"\b(?:sleep|pg_sleep|benchmark|dbms_lock\.sleep)\s*\(\s*(?:[\d'\"(@-]|/\*)|"
        r"\bselect\s*\(?\s*sleep\b|"
        r"\bwaitfor\s+(?:delay|time)\s+['\"\d]",
    ),
    high(
        "catalogue",
        "sqli",
        "Database catalogue or system object",
        r"\binformation_schema\b|\bmysql\.(?:user|db)\b|\bsys\.(?:objects|tables|columns)\b|"
        r"\bsysobjects\b|\bsyscolumns\b|\bpg_(?:catalog|shadow|user|tables)\b|"
        r"\bsqlite_(?:master|schema)\b|\ball_tables\b|\buser_tables\b|\bmsysobjects\b",
    ),
    high(
        "dangerous-function",
        "sqli",
        "SQL function used for file access, command execution or out-of-band data",
        r"\b(?:load_file|extractvalue|updatexml|xp_cmdshell|xp_dirtree|sp_oacreate|"
        r"sp_executesql|utl_http\.request|utl_inaddr\.|dbms_pipe\.|dbms_xmlgen|"
        r"pg_read_file|lo_import|lo_get|openrowset|opendatasource)\s*\(|"
        r"\bxp_(?:cmdshell|regread|regwrite|dirtree|fileexist)\b|\bexecute\s+immediate\b|"
        r"\bdeclare\s+@\w+|/\*!\d*\s*(?:select|union|from|and|or|insert|update|delete|where)\b|"
        r"\binto\s+(?:out|dump)file\b|@@(?:version|datadir|hostname|basedir)\b",
    ),
    high(
        "quote-tautology",
        "sqli",
        "Tautology after a closing quote",
        r"['\"]\s*\)*\s*(?:or|and|xor|\|\||&&)\b\s*\(*\s*['\"`]?[\w.]+['\"`]?\s*"
        r"(?:=|<|>|!=|<>|\blike\b|\bis\b|\bin\b|\bbetween\b|\bregexp\b|\brlike\b)|"
        # after a closing parenthesis, for a value placed in IN (...) or a bracketed condition:
        # `) or ('a'='a`, two quoted literals compared
        r"\)\s*(?:or|and|xor|\|\||&&)\s*\(+\s*['\"][\w.]*['\"]\s*(?:=|<>|!=|<|>)\s*['\"]",
    ),
    medium(
        "numeric-tautology",
        "sqli",
        "Tautology such as OR 1=1",
        r"\b(?:or|and|xor|\|\||&&)\s+\(*\s*(?:\d+|true|false|null)\s*\)*\s*"
        r"(?:=|<|>|!=|<>|\bis\b|\blike\b)\s*\(*\s*['\"]?\w*['\"]?\s*\)*\s*(?:--|#|/\*|;|$)",
    ),
    high(
        "quote-comment",
        "sqli",
        "Closing quote followed by a comment that drops the rest of the query",
        r"['\"`]\s*\)*\s*(?:;\s*)?(?:--(?:[\s-]|$)|/\*)|[\w)]['\"`]\s*\)*\s*#\s*$",
    ),
    high(
        "quote-keyword",
        "sqli",
        "Closing quote followed by a SQL clause",
        rf"['\"`]\s*\)*\s*(?:;\s*)?(?:union{_GAP}+(?:all{_GAP}+)?select\b|select\s+[\w*@(]|"
        r"order\s+by\s+\d|group\s+by\s+\w|having\s+\d|procedure\s+analyse|limit\s+\d|"
        r"(?:and|or)\s+\(?\s*select\b|into\s+@)",
    ),
    medium(
        "select-from",
        "sqli",
        "SELECT ... FROM statement",
        r"\bselect\s+(?:\*|[\w.`\"\[\]]+(?:\s*,\s*[\w.`\"\[\]()]+)*|"
        r"(?:count|concat|group_concat|char|version|user|database)\s*\([^\n)]*\))\s+from\s+\w",
    ),
    medium(
        "subquery",
        "sqli",
        "Subquery or function call in a boolean test",
        r"\b(?:and|or|xor|having|where)\s*\(?\s*(?:select\b|if\s*\(|case\s+when\b|"
        r"ascii\s*\(|substr(?:ing)?\s*\(|mid\s*\(|ord\s*\(|length\s*\(|char\s*\(|"
        r"exists\s*\(|updatexml|extractvalue)|[=<>]\s*\(\s*select\b|"
        r"\(\s*select\s+[^\n)]+\bfrom\b",
    ),
    medium(
        "sql-function",
        "sqli",
        "Call of a function that only SQL has",
        r"\b(?:db_name|schema_name|current_user|session_user|system_user|user_name|"
        r"group_concat|concat_ws|ifnull|isnull|nullif|xmltype|benchmark|sqlite_version|"
        r"sqlite_compileoption_get|pg_sleep|unhex|uncompress|rtrim|ltrim|substring|substr|"
        r"char_length|json_extract|jsonb?_[a-z_]+|to_char|to_number|sysdate|unistr|"
        r"starts_with|load_file|extractvalue|updatexml|name_const|make_set|soundex|row_count|"
        r"last_insert_id|found_rows|connection_id|@@\w+)\s*\(|"
        r"\b(?:user|version|now|database|schema|pi)\(\s*\)|"
        r"(?:\b(?:concat|coalesce|elt|hex|md5|sha1|ascii|instr)\s*|"
        r"\b(?:cast|convert|compress|rand|pow|sin|cos|exp|floor|bin|oct|ord|mid|locate|"
        r"position|replace|reverse|char|count|if))\(\s*(?:\d|['\"@(]|0x|select\b|[a-z_]+\s*\()",
    ),
    high(
        "postgres-cast",
        "sqli",
        "PostgreSQL cast or JSON operator after a quote or identifier",
        r"[\w'\")]::\s*(?:int|integer|bigint|smallint|text|varchar|char|numeric|"
        r"double\s+precision|real|bool|boolean|jsonb?|date|timestamp|regclass|oid|bytea)\b|"
        r"['\"]\s*(?:::\s*jsonb?\s*)?(?:<@|@>|\?\||\?&|#>>?|@\?|@@)\s*(?:['\"]|array\s*\[)",
    ),
    medium(
        "sql-clause",
        "sqli",
        "SQL clause shape: CASE WHEN, HAVING, quoted alias FROM, LIKE between brackets",
        r"\bcase\s+when\b[^\n]+\bthen\b|\bhaving\s+(?:count|sum|min|max|avg|\d)|"
        r"\bas\s*[\"`\[]\w+[\"`\]]\s+from\b|\)\s*like\s*\(|\bif\s*\(\s*\d+\s*[=<>]|"
        r"\bif\s*\(\s*now\s*\(|['\"]\w*['\"]\s*(?:!=|<>)\s*['\"]\w*|"
        r"\w'\s*\)*\s*;\s*(?:--|#|$)|\balter\s+table\b|\bcreate\s+table\b|"
        r"\bselect(?:\s+|\s*\(\s*)(?:char|concat|group_concat|version|user|database|sleep|benchmark|count|"
        r"ascii|substring|load_file)\s*\(|\bdrop\s+table\b|"
        r"\binsert\s+into\b[^\n]+\bvalues\b|\btruncate\s+table\b|"
        r"\bprocedure\s+analyse\s*\(|\bmerge\s+into\b[^\n]+\busing\b|"
        r"\balter\s+(?:user|login|role)\s+\w+|\bsoname\s+['\"]|"
        # MySQL reads 1.e( and 1.e.col as a number; not the hex digits of an escape (%28.e.g.)
        r"(?:^|[^%\w])\d+\.e(?:\s*\(|\.[a-z_])",
    ),
    medium(
        "overflow-number",
        "sqli",
        "Number one past an integer or float limit (overflow probe)",
        r"^\s*(?:[+-]?1e\+?309|2147483648|-2147483649|4294967296|9223372036854775808"
        r"|-9223372036854775809|18446744073709551616)\s*$",
    ),
    medium(
        "order-by-probe",
        "sqli",
        "ORDER BY column probe",
        r"\border\s+by\s+\d+\s*(?:--|#|/\*|$)",
    ),
    medium(
        "char-concat",
        "sqli",
        "String built from character codes",
        r"\b(?:char|chr|nchar)\s*\(\s*\d+\s*\)\s*(?:\+|\|\||,)\s*(?:char|chr|nchar)\s*\(|"
        r"\bconcat(?:_ws)?\s*\(\s*(?:0x[0-9a-f]+|char\s*\(|@@|\(select)",
    ),
    medium(
        "function-probe",
        "sqli",
        "SQL function name opening a call, the way injection probes test a filter",
        r"\b(?:md5|sha1|sha2|hex|unhex|ord|pow|concat|concat_ws|group_concat|substr|"
        r"substring_index|ascii|char_length|ifnull|nullif|isnull|crc32|rand|sin|cos|tan|cot|"
        r"atan2?|sqrt|ceil|ceiling|floor|lpad|rpad|ltrim|rtrim|instr|locate|mid|elt|"
        r"make_set|export_set|field|find_in_set|bit_length|octet_length|soundex|uuid|"
        r"database|schema|version|compress|uncompress|encode|decode|aes_encrypt|"
        r"aes_decrypt|des_encrypt|des_decrypt|from_base64|to_base64|benchmark|sleep|"
        r"current_user|session_user|system_user|connection_id|last_insert_id|row_count)\("
        r"|\b(?:md5|sha1|sha2|unhex|concat|concat_ws|group_concat|substring_index|"
        r"char_length|ifnull|nullif|crc32|lpad|rpad|make_set|export_set|find_in_set|"
        r"aes_encrypt|aes_decrypt|from_base64|to_base64|connection_id|last_insert_id)"
        r"\s+\(",
    ),
    medium(
        "catalogue-name",
        "sqli",
        "Name of a system database or catalogue view probed by injection",
        r"\b(?:msdb|northwind|tempdb|sysdatabases|syslogins|sysusers|pg_namespace|"
        r"dba_users|all_users|sqlite_temp_master|schema_name)\b|\bv\$version\b",
    ),
    medium(
        "json-operator",
        "sqli",
        "Quoted JSON document compared with a JSON operator (WAF bypass through JSON syntax)",
        r"['\"]\s*[{\[][^\n]*[}\]]\s*['\"]\s*(?:\?[|&]?|<@|@>|->>?|#>>?|<|>|=)\s*['\"$]",
    ),
    medium(
        "quote-negation",
        "sqli",
        "Quoted value negated with ! or keywords run together (UNIONSELECT...FROM)",
        r"['\"`]\s*!+\s*['\"`]|union\W*select\W*from|\bas\s*['\"`]\s*from\b",
    ),
    medium(
        "quote-operator",
        "sqli",
        "SQL operator after the value's first quote, joining the closed string to a new one",
        r"^[^'\n]*'\s*(?:or|and|xor|div|mod|(?:not\s+)?(?:like|rlike|regexp)|sounds\s+like)"
        r"[\s+]*'|'(?:or|and|xor|div|mod|(?:not\s+)?(?:like|rlike|regexp))'",
    ),
)
