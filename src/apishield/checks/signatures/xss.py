"""Cross-site scripting signatures: markup and URLs that make a browser run script."""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium

_HANDLERS = (
    r"on(?:error|load|unload|mouse[a-z]+|click|dblclick|focus|focusin|blur|key[a-z]+|"
    r"change|input|submit|reset|select|toggle|begin|end|pageshow|hashchange|resize|scroll|"
    r"animation[a-z]+|transition[a-z]+|drag[a-z]*|drop|copy|cut|paste|wheel|touch[a-z]+|"
    r"pointer[a-z]+|message|popstate|readystatechange|beforeunload|afterprint|beforeprint|"
    r"play|playing|pause|canplay[a-z]*|ended|loadstart|loadeddata|progress|repeat|"
    r"contextmenu|search|invalid|show|start|finish|bounce|auxclick|formdata|beforescriptexecute|"
    r"afterscriptexecute|activate|beforeactivate"
)
_ANY_HANDLER = _HANDLERS + r"|[a-z]{4,20})"
_HANDLERS += ")"

SIGNATURES: tuple[Signature, ...] = (
    high("script-tag", "xss", "Script element", r"<\s*/?\s*script\b|<\s*[a-z]+:script\b"),
    high(
        "event-handler",
        "xss",
        "Markup with an event-handler attribute",
        rf"<[a-z!/?][^>\n]*[\s/\"'`](?:{_ANY_HANDLER})\s*=",
    ),
    high(
        "attribute-breakout",
        "xss",
        "Quote breakout into an event-handler attribute",
        rf"[\"'`][\s/]*(?:{_ANY_HANDLER})\s*=\s*(?:[\w\"'`(\[]|$)",
    ),
    medium(
        "handler-attribute",
        "xss",
        "Event-handler attribute written into a value",
        rf"(?:^|[\s/;,(])\s*{_HANDLERS}\s*=\s*(?:[^=\s]|$)",
    ),
    high(
        "script-uri",
        "xss",
        "javascript:, vbscript: or livescript: URI",
        r"(?:java|vb|live|ecma)[\s\\]*script[\s\\]*:[\s\\]*[^\s\n]"
        r"[^\n]*?(?:\(|`|=|\.|&#|\\x|\\u|%[0-9a-f]{2})",
    ),
    high(
        "data-uri",
        "xss",
        "data: URI carrying HTML or script",
        r"\bdata\s*:\s*(?:text/(?:html|xml|javascript)|image/svg\+xml|application/"
        r"(?:x-)?(?:javascript|ecmascript|xhtml\+xml|xml))|\bdata\s*:[^\n,]*;base64\s*,\s*"
        r"(?:PHNjcmlwd|PHN2Zy|PGh0bWw|PGlmcmFtZ|PGltZy|PCFET0NUWVBF)",
    ),
    high(
        "active-tag",
        "xss",
        "Markup that loads or runs content (iframe, object, embed, svg, meta refresh...)",
        r"<\s*[?!]?\s*(?:[a-z]+:)?(?:iframe|frame|frameset|object|embed|applet|base|meta|svg|"
        r"math|isindex|vmlframe|portal|bgsound|layer|ilayer|xss|handler|listener|animate|"
        r"import|link|style|form|template|noscript|marquee|body|html)\b",
    ),
    medium(
        "script-call",
        "xss",
        "Script sink or dialog call typical of XSS probes",
        r"\b(?:alert|prompt|confirm|eval|settimeout|setinterval|execscript)\s*(?:\(|`)|"
        r"\bstring\.fromcharcode\s*\(|[(=+,;:'\"`]\s*document\s*\.\s*(?:cookie|domain|location)|"
        r"\bdocument\s*\.\s*(?:cookie|domain)\s*[);+,]|\bdocument\s*\.\s*write(?:ln)?\s*\(|"
        r"\bwindow\s*\.\s*(?:location|open|name)|\.innerhtml\s*=|\blocation\s*\.\s*(?:hash|href)\s*=|"
        r"\b(?:atob|btoa)\s*\(|\bfetch\s*\(\s*['\"`]?(?:https?:)?//|\bnew\s+function\s*\(|"
        r"\bdocument\s*(?:/\*[^\n]*?\*/\s*)*\.\s*(?:/\*[^\n]*?\*/\s*)*[a-z]+\s*(?:\(|\.\s*[a-z]|=)|"
        r"\b(?:window|self|top|parent|globalthis|frames|document|this)\s*(?:/\*[^\n]*?\*/\s*)*"
        r"\[\s*(?:/\*[^\n]*?\*/\s*)*['\"`]|\.(?:call|apply|bind)\s*`|`[^`\n]*\$\{\s*"
        r"(?:alert|prompt|confirm|eval|navigation|location|document|window|name)\b|"
        r"!!\s*\[\s*\]|\(\s*!\s*\[\s*\]\s*\+?\s*\[\s*\]\s*\)|\[\s*\]\s*\[\s*\(",
    ),
    high(
        "css-expression",
        "xss",
        "Script through CSS (expression(), -moz-binding, behavior)",
        r"\bexpression\s*\(|-moz-binding\s*:|\bbehavior\s*:\s*url|"
        r"url\s*\(\s*['\"]?\s*(?:java|vb)script\b|@import\s*['\"]?\s*(?:url\s*\()?\s*['\"]?\s*"
        r"(?:(?:java|vb)script:|(?:https?:)?//)",
    ),
    medium(
        "style-injection",
        "xss",
        "Markup whose style loads a URL or hides code in CSS escapes",
        r"<[a-z][^>\n]*[\s/\"']style\s*=\s*[\"']?[^\"'>\n]*(?:url\s*\(|binding\s*:|"
        r"\\0*[0-9a-f]{2,4}|[{}]|\[[a-z]\])|<xml\b[^>\n]*\bsrc\s*=|"
        r"\bdata(?:src|fld|formatas)\s*=",
    ),
    medium(
        "html-comment-breakout",
        "xss",
        "Markup closing a comment, CDATA or element to inject after it",
        r"(?:-->|\]\]>|</(?:title|textarea|style|noscript|xmp|iframe|a|div|p)\s*>)\s*<[a-z!]",
    ),
)
