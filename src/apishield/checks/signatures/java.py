"""Java attacks: dangerous classes in expressions (OGNL, SpEL, EL), serialised object streams and
Spring class-loader manipulation."""

from __future__ import annotations

import base64

from apishield.checks.signatures.base import Signature, high, medium

_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def base64_spellings(data: bytes) -> str:
    """A pattern for `data` inside any base64 text, whatever its offset in the encoded stream.

    Base64 encodes 3 bytes as 4 characters, so the same bytes have three spellings depending on
    where they start. Characters that also depend on the unknown neighbouring bytes are left out
    at the start and matched as a class at the end.
    """
    spellings = []
    for offset, skip in ((0, 0), (1, 2), (2, 3)):
        encoded = base64.b64encode(bytes(offset) + data).rstrip(b"=")
        whole, rest = divmod(offset + len(data), 3)
        known = whole * 4 + rest
        spellings.append(encoded[skip:known].decode() + _last_class(data, rest))
    return "|".join(spellings)


def _last_class(data: bytes, rest: int) -> str:
    """The characters the next, unknown byte can make of the final partial group."""
    if not rest:
        return ""
    last = data[-1]
    if rest == 1:
        chars = {_B64[((last & 0x03) << 4) | (nxt >> 4)] for nxt in range(256)}
    else:
        chars = {_B64[((last & 0x0F) << 2) | (nxt >> 6)] for nxt in range(256)}
    return "[" + "".join(sorted(chr(c) for c in chars)) + "]"


_BASE64_WORDS = (
    b"\xac\xed\x00\x05",
    b"runtime",
    b"Runtime",
    b"processbuilder",
    b"ProcessBuilder",
    b"java.lang.",
    b"classloader",
    b"ClassLoader",
    b"invokertransformer",
    b"InvokerTransformer",
    b"clonetransformer",
    b"chainedtransformer",
    b"constanttransformer",
    b"instantiatetransformer",
    b"instantiatefactory",
    b"prototypeclonefactory",
    b"prototypeserializationfactory",
    b"forclosure",
    b"whileclosure",
)
"""Serialisation magic, process classes and commons-collections gadgets, as sent in base64."""

SIGNATURES: tuple[Signature, ...] = (
    high(
        "runtime-exec",
        "java",
        "Java class that runs commands or loads code",
        r"\bjava\.lang\.(?:runtime|processbuilder|processimpl|system|class|classloader|reflect|"
        r"thread|object)\b|\bruntime\s*\.\s*getruntime\s*\(|\bprocessbuilder\b|"
        r"\bjavax\.(?:script|naming|management)\b|\bjava\.(?:io\.(?:file|objectinputstream)|"
        r"net\.(?:url|socket)|beans\.xmldecoder|rmi\.)",
    ),
    high(
        "java-class",
        "java",
        "Fully qualified name of a JDK class from an I/O, process, network or reflection package",
        r"\bjava\.(?:io|lang|net|nio|rmi|beans|security|util\.(?:zip|jar|concurrent)|sql)\."
        r"[a-z_$]|\bjava\.(?:[a-z]+\.)?(?:runtime|processbuilder)\b|\bjavax\.[a-z]+\.[a-z]|"
        r"\b(?:sun|jdk|com\.sun)\.(?:misc|reflect|rmi|net|nio|management|jndi|internal)\b",
    ),
    high(
        "framework-class",
        "java",
        "Internal class of Struts, OGNL, Tomcat or Log4j named in a value",
        r"\bcom\.opensymphony\.xwork2?\b|\borg\.apache\.(?:struts2?|tomcat|catalina|"
        r"jasper|xalan|xerces|log4j|naming|coyote|velocity|shiro)\b|\bognl\.[a-z]|"
        r"\bfreemarker\.template\.|\borg\.jboss\.|\bweblogic\.|\bcom\.ibm\.ws\.",
    ),
    high(
        "gadget-class",
        "java",
        "Known deserialisation gadget or dangerous library class",
        r"\borg\.apache\.commons\b|\borg\.omg\.corba\b|"
        r"\borg\.springframework\.(?:beans|context|expression|core|transaction)|"
        r"\bcom\.sun\.(?:org\.apache|rowset|jndi|xml)|\bcom\.mchange\.v2|"
        r"\borg\.codehaus\.groovy|\bgroovy\.lang|\borg\.hibernate\.|\bbsh\.|"
        r"\bcom\.alibaba\.fastjson|\bcom\.fasterxml\.jackson|\borg\.mozilla\.javascript|"
        r"\bxalan\.xsltc|\bjavassist\b|\bysoserial\b|\bjdk\.(?:jfr|internal)|"
        r"\b(?:invoker|instantiate|clone|chained|constant)transformer\b|"
        r"\b(?:instantiate|prototypeclone|prototypeserialization)factory\b|\b(?:for|while)closure\b|"
        r"\b(?:templatesimpl|badattributevalueexpexception|annotationinvocationhandler|"
        r"jdbcrowsetimpl|tiedmapentry|lazymap|transformedmap|beancomparator|"
        r"mozillainterpreter|comparablecomparator)\b",
    ),
    high(
        "serialized-stream",
        "java",
        "Java serialised object stream (magic bytes, hex or base64)",
        r"\xac\xed\x00\x05|\baced0005|\brO0AB|\bH4sIAAAAAAAA[A-Z]",
    ),
    high(
        "serialized-base64",
        "java",
        "Java serialisation magic or Runtime/ProcessBuilder in base64, at any alignment",
        "|".join(base64_spellings(word) for word in _BASE64_WORDS),
        flags=0,
    ),
    high(
        "expression-language",
        "java",
        "OGNL, SpEL or EL expression reaching Java internals",
        r"#_memberaccess|@java\.lang|@ognl\.|#context\[|#application\[|"
        r"\bognlcontext\b|\bt\s*\(\s*java\.|\bnew\s+java\.|\.getclass\s*\(\s*\)|"
        r"\bclass\.forname\s*\(|\.getmethod\s*\(|\.invoke\s*\(|\.newinstance\s*\(|"
        r"\bgetdeclared(?:method|field|constructor)s?\s*\(|%\{[^\n}]*(?:#|@)[^\n}]*\}|"
        r"\$\{[^\n}]*(?:getclass|classloader|runtime|processbuilder)",
    ),
    high(
        "class-loader",
        "java",
        "Spring class-loader manipulation (Spring4Shell)",
        r"\bclass\.(?:module|classloader|protectiondomain)\b|"
        r"\bclassloader\.resources\.context|\.getclassloader\s*\(",
    ),
    high(
        "upload-jsp",
        "java",
        "Uploaded file name hiding a JSP page behind trailing dots or spaces",
        r"\.\s*jsp[xf]?(?:\.+|\s+)$|\.\s+jsp[xf]?$|\.jsp[xf]?\.(?:jpe?g|png|gif|txt)\s*$",
    ),
    medium(
        "exec-call",
        "java",
        "Runtime exec or reflection call",
        r"\.exec\s*\(\s*['\"]|\.start\s*\(\s*\)\s*[;)]|\bgetruntime\b",
    ),
)
