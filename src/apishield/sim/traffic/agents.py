"""User-Agent strings, by who sends them."""

from __future__ import annotations

IOS_APP = tuple(
    f"TelcoApp/{version} (iPhone; iOS {ios}; Scale/3.00)"
    for version in ("5.4.1", "5.4.0", "5.3.2")
    for ios in ("18.2", "18.1", "17.6")
)
ANDROID_APP = tuple(
    f"TelcoApp/{version} (Android {android}; {model}) okhttp/4.12.0"
    for version in ("5.4.1", "5.4.0", "5.3.2")
    for android, model in (("15", "Pixel 9"), ("14", "SM-S921U"), ("13", "moto g power"))
)
OLD_APP = (
    "TelcoApp/3.9.2 (Android 9; SM-G960U) okhttp/3.12.1",
    "TelcoApp/3.8.0 (iPhone; iOS 12.5.7)",
)
"""Versions from before v2; they still call the deprecated /v1 profile."""
BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S921U) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
)
PARTNERS = {
    "mvno-connect": "MvnoConnect-Sync/2.3 (+https://mvno-connect.example/bot)",
    "insureco": "InsureCo-Connector/1.8 Java/17.0.9",
    "finverify": "FinVerify-KYC/4.2 python-requests/2.31.0",
}
FLEET_SYNC = "FleetSync/3.2 python-requests/2.31.0"
BILLING_BATCH = "billing-export/1.4 (internal)"
KUBE_PROBE = "kube-probe/1.31"
QA_SMOKE = "qa-smoke/2.3 pytest/8.3"
