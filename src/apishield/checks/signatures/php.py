"""PHP code injection: open tags, dangerous functions, superglobals, configuration directives and
serialised objects that reach `unserialize`."""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium

_DISTINCT = (
    r"(?:base64_decode|gzinflate|gzuncompress|gzdecode|bzdecompress|str_rot13|fsockopen|"
    r"pfsockopen|curl_init|curl_exec|shell_exec|proc_open|passthru|pcntl_exec|phpinfo|"
    r"file_get_contents|file_put_contents|file_exists|fputcsv|strip_tags|intval|strrev|"
    r"get_defined_functions|get_defined_vars|get_defined_constants|call_user_func(?:_array)?|"
    r"create_function|preg_replace|unserialize|var_dump|print_r|var_export|highlight_file|"
    r"show_source|move_uploaded_file|ini_set|ini_get|set_time_limit|error_reporting|"
    r"mysqli?_query|md5_file|escapeshellarg|escapeshellcmd|array_map|array_filter|"
    r"posix_[a-z_]+|fileperms|is_writable|readfile|symlink|opendir|readdir|scandir|getenv|"
    r"putenv|ob_start|register_shutdown_function|stream_get_contents|convert_uudecode|"
    r"hex2bin|htmlspecialchars_decode|mb_ereg_replace|assert_options|parse_str|"
    r"fwrite|fputs|fread|fgets|file_exists)"
)
"""PHP function names that are not English words: `name(` is enough."""
_CODE_WORDS = (
    r"(?:exec|eval|fopen|popen|unlink|filegroup|fileowner|readfile|printf|chr|ord|glob|unpack)"
)
"""Short PHP names that read as code: a call with a plain argument is enough."""
_PLAIN_WORDS = r"(?:system|file|include(?:_once)?|require(?:_once)?|assert|pack)"
"""PHP names that are also English ("operating system (OS)"): they need code-shaped arguments."""
_GAP = r"\s*(?:/\*[^\n]*?\*/\s*|#[^\r\n]*[\r\n]\s*)*"
"""Blanks and comments PHP allows between a function name and its argument list."""

SIGNATURES: tuple[Signature, ...] = (
    high("open-tag", "php", "PHP open tag", r"<\?(?:php\b|=|\s)|\[\?php\b|<\?php"),
    high(
        "function-call",
        "php",
        "Call of a PHP function that runs commands, evaluates code or reads files",
        rf"{_DISTINCT}{_GAP}\(|"
        rf"\b(?:{_CODE_WORDS}|{_PLAIN_WORDS}){_GAP}\(\s*(?:['\"$`]|[a-z_]+\s*\()|"
        rf"\b{_CODE_WORDS}{_GAP}\(\s*(?:[\w$]{{2,}}\s*)?\)|\b{_PLAIN_WORDS}(?:\(\s*[\w$]{{2,}}\s*\)|"
        rf"{_GAP}\(\s*\))|['\"](?:{_CODE_WORDS}|{_PLAIN_WORDS}|{_DISTINCT})['\"]\s*\(",
    ),
    high(
        "variable-function",
        "php",
        "Variable or string function call used to hide a PHP function name",
        r"\$+[a-z_][\w]*\s*(?:\[[^\]\n]+\]\s*|\{[^}\n]+\}\s*|/\*[^\n]*?\*/\s*|"
        r"#[^\r\n]*[\r\n]\s*|//[^\r\n]*[\r\n]\s*)*\(|\$\{[^}\n]+\}\s*\(|"
        r"\$_(?:GET|POST|REQUEST|COOKIE)\s*\[[^\n\]]*\]\s*\(|\$\s*\{\s*\$|"
        r"\(\s*['\"]?[a-z_.'\"()\s]{2,40}['\"]?\s*\)\s*(?:\[[^\]\n]*\]\s*)*\(\s*['\"\w]",
    ),
    high(
        "bbcode-tag",
        "php",
        "PHP code between [php] or {php} template tags",
        r"[\[{]\\?/?php[\]}]",
    ),
    high(
        "superglobal",
        "php",
        "PHP superglobal or dangerous variable",
        r"\$_(?:GET|POST|COOKIE|REQUEST|SERVER|FILES|ENV|SESSION)\b|\$GLOBALS\b|"
        r"\$HTTP_(?:GET|POST|COOKIE|SERVER|ENV|RAW_POST_DATA)_VARS\b|\$HTTP_RAW_POST_DATA\b|"
        r"\$php_errormsg\b",
    ),
    high(
        "config-directive",
        "php",
        "PHP configuration directive set from a request",
        r"\b(?:allow_url_include|allow_url_fopen|auto_prepend_file|auto_append_file|"
        r"disable_functions|open_basedir|safe_mode|register_globals|suhosin\.[a-z._]+|"
        r"enable_dl|magic_quotes_gpc|display_errors|error_log|sendmail_path|extension_dir|"
        r"mail\.force_extra_parameters|session\.save_path|upload_tmp_dir)\s*=",
    ),
    high(
        "serialized-object",
        "php",
        "PHP serialised object or array with objects",
        r"\b[OC]:[+-]?\d+:\"[^\"\n]+\":[+-]?\d+:\{|\ba:\d+:\{\s*(?:[is]:\d+[:;][^\n]*){1}O:\d+:",
    ),
    medium(
        "serialized-array",
        "php",
        "PHP serialised array",
        r"\ba:\d+:\{\s*[is]:\d+[:;]",
    ),
    high(
        "upload-script",
        "php",
        "Uploaded file name with a server-side script extension",
        r"\.(?:php\d?|phtml|phar|pht|phps)\.(?:jpe?g|png|gif|txt|pdf|docx?)\s*$|"
        r"^[^/\\\n]*\.(?:phtml|phar|pht|phps|php[3-8]|pgif)\.?\s*$|^\s*\.(?:htaccess|user\.ini)\s*$|"
        r"\.\s*(?:php\d*|phtml|pht|phar|phps)(?:\.+|\s+)$|\.\s+php\d*\s*$|\bsess_[a-z0-9]{20,}\b",
    ),
)
