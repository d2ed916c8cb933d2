"""Guards for the middleware tests: real engines, analysed exchanges observed through a queue."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apishield.config import Config
from apishield.exchange import Exchange
from apishield.inline.guard import Guard
from apishield.inventory.spec import ApiSpec, spec_from_document
from apishield.privacy import Hasher

MakeGuard = Callable[..., tuple[Guard, "queue.Queue[Exchange]"]]


@pytest.fixture
def make_guard() -> Iterator[MakeGuard]:
    """make_guard(enforce={...}, ingest={...}, spec=..., **guard_options) -> (guard, analysed
    exchanges); with `spec` (an ApiSpec), requests and answers are validated against it."""
    guards: list[Guard] = []

    def make(**sections: Any) -> tuple[Guard, queue.Queue[Exchange]]:
        options = {
            k: sections.pop(k) for k in ("queue_size", "batch_size", "spec") if k in sections
        }
        analysed: queue.Queue[Exchange] = queue.Queue()
        config = Config.model_validate({"data_dir": "/nonexistent", **sections})
        guard = Guard.from_config(config, Hasher(b"i" * 32), on_processed=analysed.put, **options)
        guards.append(guard)
        return guard, analysed

    yield make
    for guard in guards:
        guard.close()


CUSTOMER_SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "customers", "version": "1"},
    "paths": {
        "/customers/{customer}": {
            "get": {
                "parameters": [
                    {
                        "name": "customer",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "one customer",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "id": {"type": "integer"},
                                        "name": {"type": "string"},
                                        "plan": {
                                            "type": "object",
                                            "properties": {"code": {"type": "string"}},
                                        },
                                    },
                                }
                            }
                        },
                    }
                },
            }
        }
    },
}
"""GET /customers/{customer} documents id, name and plan.code and nothing else."""


def customer_spec() -> ApiSpec:
    return spec_from_document(CUSTOMER_SPEC)
