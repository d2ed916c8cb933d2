"""Injection into data languages: NoSQL operators, XML external entities and SSTI expressions."""

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
        rf"\[\s*\${_MONGO_OPS}\s*\]|^\s*\${_MONGO_OPS}\s*$|[{{,]\s*['\"]\${_MONGO_OPS}['\"]\s*:",
    ),
    high(
        "js-where",
        "nosqli",
        "Server-side JavaScript in a NoSQL query",
        r"\$where\b|\bthis\.\w+\s*(?:==|!=|\.match\s*\()|"
        r"\bdb\.[a-z_]+\.(?:find|insert|remove|drop|update|aggregate)\s*\(|"
        r"['\"]\s*(?:\|\||&&)\s*['\"]?\w*['\"]?\s*==\s*['\"]|;\s*return\s+(?:true|1)\s*;?",
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
    medium(
        "template-expression",
        "ssti",
        "Template expression with a call or attribute chain",
        r"\{\{[^\n}]*[\w\]]\s*\([^\n}]*\)[^\n}]*\}\}|\$\{[^\n}]*\.[a-z]+\s*\([^\n}]*\}",
    ),
)
