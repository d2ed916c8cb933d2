"""Cross-site scripting signatures: markup and URLs that make a browser run script."""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium, spread

_HANDLERS = (
    r"on(?:error|load|unload|mouse[a-z]+|click|dblclick|focus|focusin|blur|key[a-z]+|"
    r"change|input|submit|reset|select|toggle|begin|end|pageshow|hashchange|resize|scroll|"
    r"animation[a-z]+|transition[a-z]+|drag[a-z]*|drop|copy|cut|paste|wheel|touch[a-z]+|"
    r"pointer[a-z]+|message|popstate|readystatechange|beforeunload|afterprint|beforeprint|"
    r"play|playing|pause|canplay[a-z]*|ended|loadstart|loadeddata|progress|repeat|"
    r"contextmenu|search|invalid|show|start|finish|bounce|auxclick|formdata|beforescriptexecute|"
    r"afterscriptexecute|activate|beforeactivate"
)
_ANY_HANDLER = _HANDLERS + r"|[a-z]{3,20})"
_HANDLERS += ")"
_JUNK = r"(?:[\t\n\\\x00]|&(?:tab|newline|#0*(?:9|10|13)|#x0*[9ad]);?)"
"""What a browser drops inside a URI scheme: tab, newline and NUL, raw or as entities in any case
(URL parsing strips tab and newline anywhere), and the backslash old parsers ignored."""
_COLON = r"(?::|&colon;?|&#0*58;?|&#x0*3a;?)"
_ACTIVE_TAGS = (
    "script", "iframe", "frame", "object", "embed", "applet", "svg", "img", "image", "form",
    "dialog", "style", "link", "meta", "base", "body", "html", "math", "video", "audio",
    "input", "button", "textarea", "details", "marquee", "isindex", "frameset", "template",
)  # fmt: skip
"""Elements that run script or load content, for tag names broken up by blanks."""


SIGNATURES: tuple[Signature, ...] = (
    high("script-tag", "xss", "Script element", r"<\s*/?\s*script\b|<\s*[a-z]+\s*:\s*script\b"),
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
        r"[^\n]*?(?:[(`=.\[<\\]|&#|%[0-9a-f]{2}|\bname\b)",
    ),
    high(
        "data-uri",
        "xss",
        "data: URI carrying HTML or script",
        r"\bdata\s*:\s*(?:text/(?:html|xml|javascript)|image/svg\+xml|application/"
        r"(?:x-)?(?:javascript|ecmascript|xhtml\+xml|xml))|\bdata\s*:[^\n,]*;base64\s*,\s*"
        r"(?:PHNjcmlwd|PHN2Zy|PGh0bWw|PGlmcmFtZ|PGltZy|PCFET0NUWVBF)|"
        r"\bdata\s*:[^\n,]{0,60},\s*<\s*[a-z!?/]",
    ),
    high(
        "active-tag",
        "xss",
        "Markup that loads or runs content (iframe, object, embed, svg, meta refresh...)",
        r"<\s*[?!]?\s*(?:[a-z]+:)?(?:iframe|frame|frameset|object|embed|applet|base|meta|svg|"
        r"math|isindex|vmlframe|portal|bgsound|layer|ilayer|xss|handler|listener|animate|"
        r"import|link|style|form|template|noscript|marquee|body|html)\b|"
        r"<\s*\??\s*import\s*(?:implementation|namespace)",
    ),
    high(
        "utf7-markup",
        "xss",
        "Markup spelled in UTF-7 (`+ADw-script+AD4-`), for pages served without a charset",
        # the dashes are what base64 data never holds next to a `+`
        r"\+ADw-[^\n]*?\+AD4-",
    ),
    medium(
        "script-reference",
        "xss",
        "Dialog or eval passed as a function instead of called (`[1].find(alert)`)",
        r"\.\s*(?:find|map|filter|some|every|foreach|call|apply|then|reduce|sort)\s*\(\s*"
        r"(?:alert|prompt|confirm|eval)\s*\)|"
        r"=\s*(?:alert|prompt|confirm|eval)\s*[,;]\s*\w+\s*\(|"
        r"\bon[a-z]{3,20}\s*=\s*(?:alert|prompt|confirm|eval)\s*(?:$|[;,)])",
    ),
    high(
        "jsfuck",
        "xss",
        "JavaScript written in six characters (`(![]+[])[+[]]`), which no filter of words sees",
        r"(?:[!+]\s*\[\s*\]\s*){2,}|\(\s*!\s*\[\s*\]\s*\+\s*\[\s*\]\s*\)|"
        r"\[\s*\+\s*!?\s*\+?\s*\[\s*\]\s*\]",
    ),
    medium(
        "script-call",
        "xss",
        "Script sink or dialog call typical of XSS probes",
        r"\b(?:alert|prompt|confirm|eval|settimeout|setinterval|setimmediate|execscript)"
        r"\s*(?:\?\.\s*)?(?:\(|`)|\b(?:alert|prompt|confirm|eval)\s*\.\s*(?:call|apply)\s*\(|"
        r"\breflect\s*\.\s*(?:apply|construct)\s*\(|"
        r"\.\s*(?:map|sort|apply|filter)\s*\.\s*call\s*`|"
        r"\bstring\.fromcharcode\s*\(|[(=+,;:'\"`]\s*document\s*\.\s*(?:cookie|domain|location)|"
        r"\bdocument\s*\.\s*(?:cookie|domain)\s*[);+,=]|\bdocument\s*\.\s*write(?:ln)?\s*\(|"
        r"\bwindow\s*\.\s*(?:location|open|name)|\.innerhtml\s*=|\blocation\s*\.\s*(?:hash|href)\s*=|"
        r"\b(?:atob|btoa)\s*\(|\bfetch\s*\(\s*['\"`]?(?:https?:)?//|\bnew\s+function\s*\(|"
        r"\bdocument\s*(?:/\*[^\n]*?\*/\s*)*\.\s*(?:/\*[^\n]*?\*/\s*)*[a-z]+\s*(?:\(|\.\s*[a-z]|=)|"
        r"\b(?:window|self|top|parent|globalthis|frames|document|this)\s*(?:/\*[^\n]*?\*/\s*)*"
        r"\[\s*(?:/\*[^\n]*?\*/\s*)*['\"`]|"
        r"\b(?:window|self|top|parent|globalthis|frames|document)\s*(?:/\*[^\n]*?\*/\s*)*"
        r"\[[^\]\n]*[^\w\s\]][^\]\n]*\]|\.(?:call|apply|bind)\s*`|`[^`\n]*\$\{\s*"
        r"(?:alert|prompt|confirm|eval|navigation|location|document|window|name)\b|"
        r"!!\s*\[\s*\]|\(\s*!\s*\[\s*\]\s*\+?\s*\[\s*\]\s*\)|\[\s*\]\s*\[\s*\(|"
        r"\b(?:document|window|self|top|parent|globalthis|location)\s*(?:/\*[^\n]*?\*/\s*)+\.|"
        r"\.\s*(?:/\*[^\n]*?\*/\s*)+(?:cookie|domain|location|innerhtml|write)\b",
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
    high(
        "obfuscated-script-uri",
        "xss",
        "javascript: or vbscript: URI broken up by characters a browser drops",
        rf"(?:{spread('javascript', _JUNK)}|{spread('vbscript', _JUNK)}|"
        rf"{spread('livescript', _JUNK)}){_JUNK}*{_COLON}|"
        rf"(?:java|vb)script{_JUNK}*(?:&colon;?|&#0*58;?|&#x0*3a;?)",
    ),
    medium(
        "spaced-tag",
        "xss",
        "Active element whose name is broken up by blanks or symbols, for lenient parsers",
        r"<[^\w\n<>]*(?:[^\s\n<>\"']*:)?[^\w\n<>]*(?:"
        + "|".join(spread(tag, r"[^\w\n<>]") for tag in _ACTIVE_TAGS)
        + r")\b",
    ),
    high(
        "high-bit-markup",
        "xss",
        "Markup written with the high bit set (US-ASCII read as 7 bits)",
        r"(?:\\x|%)bc\s*/?\s*[a-z]+[^\n]*?(?:\\x|%)be|"
        "\u00bc"  # the same, after a server decoded the bytes as Latin-1
        r"\s*/?\s*[a-z]+[^\n]*?"
        "\u00be",
    ),
    medium(
        "generic-handler",
        "xss",
        "Attribute shaped like an event handler (on...=) after a delimiter",
        r"[\s\"'`;,(]on[a-z]{3,25}\s*=\s*(?:[^=\s]|$)",
    ),
    medium(
        "attribute-vector",
        "xss",
        "Attribute that loads a URL or a document into the page (xlink:href, formaction, srcdoc)",
        r"\bxlink\s*:\s*href\s*=|\bformaction\s*=|\bsrcdoc\s*=|@import\b",
    ),
    medium(
        "tag-breakout",
        "xss",
        "Value that opens by closing an attribute or tag and starting new markup",
        r"^\s*['\"`]?\s*/?>\s*<\s*[a-z!/?]|\.\s*parentnode\b|\.\s*(?:inner|outer)html\b",
    ),
    medium(
        "html-injection",
        "xss",
        "Markup with an attribute that makes the browser fetch content (src, background, ping)",
        r"<\s*[a-z][\w:-]*(?:[\s/][^<>\n]*)?[\s/\"'](?:src|lowsrc|dynsrc|background|poster|ping"
        r"|srcset|codebase|formaction|xml:base)\s*=\s*[\"'`]?[^\s\"'`>]",
    ),
    medium(
        "html-tag",
        "xss",
        "Obsolete or SVG element that filters forget and browsers still run",
        r"<\s*/?\s*(?:[a-z]+\s*:\s*)?(?:dialog|bgsound|blink|plaintext|keygen|xmp|animate|"
        r"set|discard|foreignobject|feimage)\b",
    ),
)
