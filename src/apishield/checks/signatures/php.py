"""PHP code injection: open tags, dangerous functions, superglobals, configuration directives and
serialised objects that reach `unserialize`."""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium, spread

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
_BUILTINS = (
    r"(?:serialize|symlink|lchown|lchgrp|chgrp|chroot|"
    r"gethostbyname|gethostbynamel|gethostbyaddr|getmypid|getmyuid|getmygid|getmyinode|"
    r"getlastmod|getcwd|getrusage|gettimeofday|getservbyname|getprotobyname|tempnam|tmpfile|"
    r"readlink|realpath|pathinfo|"
    r"fnmatch|fpassthru|fscanf|fseek|ftell|ftruncate|fflush|fclose|feof|fgetc|fgetcsv|fgetss|"
    r"fstat|lstat|umask|linkinfo|checkdate|mktime|gmmktime|strtotime|strftime|gmstrftime|"
    r"gmdate|microtime|hrtime|usleep|uniqid|crc32|urlencode|rawurlencode|urldecode|"
    r"rawurldecode|htmlentities|htmlspecialchars|addslashes|stripslashes|addcslashes|"
    r"stripcslashes|quotemeta|vsprintf|vprintf|fprintf|sscanf|sprintf|strtolower|strtoupper|"
    r"strlen|strpos|stripos|strrpos|strripos|strstr|stristr|strrchr|strcmp|strcasecmp|"
    r"strncmp|strncasecmp|strnatcmp|strnatcasecmp|strtr|strval|floatval|boolval|settype|"
    r"gettype|implode|explode|nl2br|ucfirst|lcfirst|ucwords|levenshtein|soundex|metaphone|"
    r"krsort|ksort|asort|arsort|usort|uasort|uksort|natsort|natcasesort|rsort|compact|"
    r"function_exists|method_exists|class_exists|headers_sent|setcookie|setrawcookie|"
    r"phpversion|php_uname|phpcredits|zend_version|dechex|hexdec|decbin|bindec|decoct|octdec|"
    r"base_convert|intdiv|deg2rad|rad2deg|mt_rand|mt_srand|srand|lcg_value|random_int|"
    r"random_bytes|openlog|syslog|closelog|dl|eregi?|spliti|sql_regcase|"
    r"apache_[a-z_]+|base64_encode|ezmlm_hash|iptcembed|iptcparse|imagecreatefrom[a-z]+)"
)
"""More PHP built-ins that are not English words, matched as whole names."""
_CODE_WORDS = (
    r"(?:exec|eval|fopen|popen|unlink|filegroup|fileowner|readfile|printf|chr|ord|glob|unpack)"
)
"""Short PHP names that read as code: a call with a plain argument is enough."""
_PLAIN_WORDS = r"(?:system|file|include(?:_once)?|require(?:_once)?|assert|pack|mail)"
"""PHP names that are also English ("operating system (OS)"): they need code-shaped arguments."""
_GAP = r"\s*(?:/\*[^\n]*?\*/\s*|(?:#|//)[^\r\n]*[\r\n]\s*)*"
"""Blanks and comments PHP allows between a function name and its argument list."""
_EXTENSIONS = (
    r"(?:array|str|mb|pg|mysqli?|odbc|sodium|zend|openssl|curl|ftp|ctype|posix|pcntl|proc|"
    r"stream|socket|ob|ini|libxml|simplexml|json|preg|iconv|imap|ldap|apcu?|opcache|gmp|"
    r"grapheme|mcrypt|mhash|spl|iterator|func|debug|date|timezone|gz|bz|sqlite|oci|mssql|"
    r"sybase|dba|finfo|exif|imagick|inotify|intl|shmop|snmp|xmlrpc|db2|eio|enchant|gnupg|"
    r"mysqlnd|runkit|ssh2|swoole|uopz|xdiff|xhprof|zlib|pcre|readline|pdo|ibase|ifx|msql|"
    r"php|lcg|mt|fsock|pfsock|highlight|call_user|create|escapeshell|get_defined|var)"
)
"""PHP extension prefixes: `array_diff(`, `pg_enter_pipeline_mode(`, `sodium_crypto_box(`."""
_DIRECTIVES = (
    r"(?:allow_url_fopen|allow_url_include|always_populate_raw_post_data|arg_separator|"
    r"asp_tags|auto_detect_line_endings|auto_globals_jit|auto_prepend_file|auto_append_file|"
    r"default_charset|default_mimetype|default_socket_timeout|disable_classes|"
    r"disable_functions|display_errors|display_startup_errors|doc_root|docref_ext|"
    r"docref_root|enable_dl|enable_post_data_reading|error_append_string|error_log|"
    r"error_prepend_string|error_reporting|expose_php|extension_dir|file_uploads|"
    r"hard_timeout|html_errors|ignore_repeated_errors|ignore_repeated_source|"
    r"ignore_user_abort|implicit_flush|include_path|input_encoding|internal_encoding|"
    r"log_errors|log_errors_max_len|max_execution_time|max_file_uploads|"
    r"max_input_nesting_level|max_input_time|max_input_vars|memory_limit|open_basedir|"
    r"output_buffering|output_encoding|output_handler|post_max_size|realpath_cache_size|"
    r"realpath_cache_ttl|register_argc_argv|register_globals|report_memleaks|"
    r"report_zend_debug|request_order|sendmail_from|sendmail_path|serialize_precision|"
    r"short_open_tag|smtp_port|sys_temp_dir|track_errors|unserialize_callback_func|"
    r"upload_max_filesize|upload_tmp_dir|user_dir|variables_order|xmlrpc_errors|"
    r"zend_extension|magic_quotes_[a-z]+|safe_mode[a-z_]*|"
    r"(?:assert|bcmath|date|pcre|session|mbstring|opcache|mysqli|mysqlnd|pdo_[a-z]+|phar|soap|"
    r"zlib|xdebug|curl|openssl|url_rewriter|filter|iconv|intl|exif|highlight|user_ini|zend|"
    r"mail|sql|suhosin|apc|apcu|odbc|pgsql|sqlite3|ldap|browscap|cgi|fastcgi|fpm|com|"
    r"gd|sendmail|tidy|uploadprogress|xsl|ffi|syslog)\.[a-z_.]+)"
)
"""php.ini directives: names with underscores or an extension's dotted namespace."""
_PLAIN_DIRECTIVES = r"(?:extension|engine|precision|smtp|browscap)"
"""php.ini directives that are plain words: only where a value (or an assignment) starts."""

SIGNATURES: tuple[Signature, ...] = (
    high(
        "open-tag",
        "php",
        "PHP open tag",
        r"<\?(?:php\b|=|\s)|\[\?php\b|<\?php|<\?xml\s*[^\s\w\n?-]|<\?[$@]|"
        r"<\?(?:echo|print|system|exec|passthru|shell_exec|eval|assert|include|require|if|"
        r"foreach|for|while)\b",
    ),
    high(
        "function-call",
        "php",
        "Call of a PHP function that runs commands, evaluates code or reads files",
        rf"{_DISTINCT}{_GAP}\(|\b{_BUILTINS}{_GAP}\(|"
        rf"\b(?:{_CODE_WORDS}|{_PLAIN_WORDS}){_GAP}\(\s*(?:['\"$`]|[a-z_]+\s*\()|"
        rf"\b{_CODE_WORDS}{_GAP}\(\s*(?:[\w$]{{2,}}\s*)?\)|\b{_PLAIN_WORDS}(?:\(\s*[\w$]{{2,}}\s*\)|"
        rf"{_GAP}\(\s*\))|['\"](?:{_CODE_WORDS}|{_PLAIN_WORDS}|{_DISTINCT})['\"]\s*\(",
    ),
    high(
        "include-statement",
        "php",
        "include or require of a script, or PHP's reflection and compiler escape hatches",
        r"\b(?:include|require)(?:_once)?\s*\(?\s*['\"$][^'\"\n]*\.(?:php\d?|inc|phtml|txt)\b|"
        r"\b(?:include|require)_once\s*['\"$(]|\b__halt_compiler\s*\(|"
        r"\bnew\s+reflection(?:function|method|class)\s*\(|"
        r"\$\{\s*['\"]_(?:GET|POST|COOKIE|REQUEST|SERVER|FILES|ENV|SESSION)['\"]\s*\}",
    ),
    high(
        "variable-function",
        "php",
        "Variable or string function call used to hide a PHP function name",
        r"\$+[a-z_][\w]*\s*(?:\[[^\]\n]+\]\s*|\{[^}\n]+\}\s*|/\*[^\n]*?\*/\s*|"
        r"#[^\r\n]*[\r\n]\s*|//[^\r\n]*[\r\n]\s*)*\(|\$\{[^}\n]+\}\s*\(|"
        r"\$_(?:GET|POST|REQUEST|COOKIE)\s*\[[^\n\]]*\]\s*\(|\$\s*\{\s*\$|"
        # complex (curly) syntax that evaluates a call inside a string: "${@print(1)}"
        r"\$\{\s*@?\s*(?:print|print_r|var_dump|echo|system|exec|passthru|shell_exec|popen|"
        r"proc_open|eval|assert|phpinfo|file_get_contents|file_put_contents|die)\s*\(|"
        r"\(\s*['\"]?[a-z_.'\"()\s]{2,40}['\"]?\s*\)\s*(?:\[[^\]\n]*\]\s*)*\(\s*['\"\w@$]",
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
    medium(
        "extension-call",
        "php",
        "Call of a function from a PHP extension (array_, str_, pg_, sodium_...)",
        rf"\b{_EXTENSIONS}_[a-z0-9_]+{_GAP}\(",
    ),
    medium(
        "comment-call",
        "php",
        "Comment hidden between a name and its argument list",
        r"\w\s*(?:/\*[^\n]*?\*/\s*)+\(|\w(?:#|//)[^\s]*[\r\n]\s*\(",
    ),
    medium(
        "ini-directive",
        "php",
        "php.ini directive assigned in a value",
        rf"(?:^|[\s;&=]){_DIRECTIVES}\s*=|(?:^|=)\s*{_PLAIN_DIRECTIVES}\s*=",
    ),
    medium(
        "spaced-superglobal",
        "php",
        "PHP superglobal written with blanks inside its name",
        r"\$_\s*(?:"
        + "|".join(
            spread(name, r"\s")
            for name in ("GET", "POST", "COOKIE", "REQUEST", "SERVER", "FILES", "ENV", "SESSION")
        )
        + r")\b",
    ),
    medium(
        "data-wrapper",
        "php",
        "data: stream holding PHP source or plain text for include()",
        r"^\s*data:(?://)?(?:text/(?:plain|php|x-php)|application/(?:x-)?(?:httpd-)?php)\b",
    ),
)
