"""Injection into data and page languages: NoSQL operators, XML external entities, SSTI
expressions, server-side and edge-side includes, and LDAP filters."""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium

_MONGO_OPS = (
    r"(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|or|and|not|nor|expr|elemmatch|all|"
    r"size|type|mod|text|jsonschema|function|accumulator|lookup|options|comment|where)"
)

SIGNATURES: tuple[Signature, ...] = (
    high(
        "operator-key",
        "nosqli",
        "MongoDB query operator in a parameter name or JSON key",
        rf"\[\s*\${_MONGO_OPS}\s*\]|^\s*\${_MONGO_OPS}\s*$|[{{,]\s*['\"]?\${_MONGO_OPS}['\"]?\s*:",
    ),
    high(
        "js-where",
        "nosqli",
        "Server-side JavaScript in a NoSQL query",
        r"\$where\b|\bthis\.\w+\s*(?:==|!=|\.match\s*\()|"
        r"\bdb\.[a-z_]+\.(?:find|insert|remove|drop|update|aggregate)\s*\(|"
        r"['\"]\s*(?:\|\||&&)\s*['\"]?\w*['\"]?\s*==\s*['\"]|;\s*return\s*\(?\s*(?:true|1)\b|"
        # a busy-wait that stalls the query: the time-based probe of server-side JavaScript
        r"\bnew\s+date\s*\(\s*\)\s*;\s*do\s*\{|\bwhile\s*\(\s*\w+\s*-\s*\w+\s*<\s*\d{3,}\s*\)",
    ),
    high(
        "external-entity",
        "xxe",
        "XML entity that reads a file or URL",
        r"<?!ENTITY\s+(?:%\s*)?[\w.:-]+\s+(?:SYSTEM|PUBLIC)\b|<!ENTITY\s+%",
    ),
    high(
        "doctype-entities",
        "xxe",
        "DOCTYPE with an internal subset or external DTD",
        r"<!DOCTYPE\s+[\w.:-]+\s*(?:\[[^\n]*<!ENTITY|(?:SYSTEM|PUBLIC)\s+['\"])|"
        r"<xi:include\b|xmlns:xi\s*=\s*['\"]http://www\.w3\.org/2001/xinclude",
    ),
    medium("entity", "xxe", "XML entity declaration", r"<!ENTITY\b"),
    high(
        "template-probe",
        "ssti",
        "Template expression that evaluates arithmetic (the classic {{7*7}} probe)",
        r"(?:\{\{|\$\{|#\{|<%=?|\{%|\{#|\$\{\{|@\()\s*['\"]?\d+['\"]?\s*[*+/-]\s*['\"]?\d+['\"]?\s*"
        r"(?:\}\}|\}|%>|%\}|#\}|\))",
    ),
    high(
        "template-object-walk",
        "ssti",
        "Template expression that walks to Python, Java or JavaScript internals",
        r"(?:\{\{|\{%|\$\{|#\{)[^\n]*?(?:__class__|__mro__|__subclasses__|__globals__|"
        r"__builtins__|__init__|__import__|__base__|\bconfig\b|request\.application|lipsum|cycler|"
        r"joiner|self\._|_self\.env|getruntime|freemarker|constructor|\.class\b|"
        r"registerundefinedfiltercallback|getfilter|\bos\.popen|\bsubprocess)",
    ),
    high(
        "template-directive",
        "ssti",
        "Server template directive that runs code",
        r"<#assign\b|freemarker\.template\.utility\.execute|\?new\s*\(|#set\s*\(\s*\$|"
        r"\$class\.inspect|\{php\}|\{system\s*\(|\{\{\s*[\w.]*\|\s*(?:attr|safe)\b[^\n]*__|"
        r"\{%\s*(?:import|from|include|extends|debug)\b",
    ),
    high(
        "python-internals",
        "ssti",
        'Walk through Python object internals (`.__class__.__mro__`, `["__globals__"]`)',
        r"(?:\.|\[\s*['\"]|\|\s*attr\s*\(\s*['\"])__(?:class|mro|subclasses|globals|builtins|init|"
        r"base|bases|dict|import|getattribute|reduce|reduce_ex|code|func_globals)__\b",
    ),
    medium(
        "template-object",
        "ssti",
        "Template expression that prints a framework object (`{{config}}`, `{$smarty.version}`)",
        # bare, or walked into: `{{ request.user }}` in a Django template an API stores is not
        r"\{\{\s*(?:self|_self|config|request|this|dump\s*\(\s*\))\s*\}\}|"
        r"\{\{\s*(?:self|_self|config|settings)\s*[.\[|]|\{\$smarty\.|\{\s*\$smarty\b",
    ),
    medium(
        "template-set",
        "ssti",
        "Template statement that prints, tests a constant, or sets a variable from a call",
        # `{% if %}` and `{% for %}` are everyday markup in templates an API stores; a `set`
        # that calls or walks into objects is how SSTI payloads stage their code
        r"\{%-?\s*set\s+[\w.]+\s*=[^\n%]*(?:\(|__|\|\s*attr\b)[^\n]*%\}|"
        # templates print with {{ }}; a print statement is code, often a memory bomb
        r"\{%-?\s*print\b[^\n]*%\}|"
        # a condition on a constant tests whether the template engine runs: {% if True %}49
        r"(?:\{%|<%=?)-?\s*if\s+(?:true|1|\d+\s*(?:==|!=|<|>)\s*\d+)\s*-?(?:%\}|%>)",
    ),
    high(
        "ssi-directive",
        "ssi",
        "Server-side include directive (`<!--#exec cmd=`, `<!--#include virtual=`)",
        r"<!--\s*#\s*(?:exec|include|echo|printenv|config|fsize|flastmod|set|if|elif)\b",
    ),
    high(
        "esi-tag",
        "ssi",
        "Edge-side include tag that a cache or CDN in front of the API runs",
        r"<\s*esi:(?:include|debug|vars|inline|choose|when|otherwise|try|attempt|except|eval|"
        r"remove|comment|assign)\b",
    ),
    high(
        "filter-injection",
        "ldap",
        "LDAP filter composed inside a value (`*)(|(uid=*`, `admin*)((|userPassword=*)`)",
        # the value closes the application's filter before opening one of its own; a whole
        # filter sent as a value (a directory search API) starts with "(" and stays silent
        r"^[^()\n]*\)\s*(?:\(\s*)+[|&!]\s*\(?\s*[a-z][\w-]*\s*[~<>]?=|"
        r"\*\s*\(\s*[|&]\s*\(\s*[a-z][\w-]*\s*=|"
        # a filter that holds the constant (1=0) or (1=1), which no directory attribute is
        r"\(\s*[&|!]\s*\(\s*\d+\s*=\s*\d+\s*\)",
    ),
    medium(
        "template-expression",
        "ssti",
        "Template expression with a call or attribute chain",
        r"\{\{[^\n}]*[\w\]]\s*\([^\n}]*\)[^\n}]*\}\}|\$\{[^\n}]*\.[a-z]+\s*\([^\n}]*\}",
    ),
)
