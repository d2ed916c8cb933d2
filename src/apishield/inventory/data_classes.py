"""The stage that finds personal data and secrets in response bodies."""

from __future__ import annotations

from apishield.exchange import Exchange
from apishield.inventory.sensitive import BodyScans


class DataClassStage:
    name = "data-classes"

    def __init__(self, max_bytes: int = 262_144) -> None:
        self._scans = BodyScans(max_bytes)

    def __call__(self, exchange: Exchange) -> None:
        response = exchange.response
        if response is None or not response.body:
            return
        scan = self._scans.scan(
            response.body, response.headers.get("content-type", ""), exchange.started
        )
        exchange.data_classes = scan.classes
        exchange.person_records = scan.person_records
        exchange.data_fields = scan.fields
