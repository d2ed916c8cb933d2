from __future__ import annotations

from importlib import resources
from types import SimpleNamespace
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from apishield.enforce.schema_settings import (
    EndpointRule,
    Override,
    SchemaSettings,
    endpoint_rules,
)
from apishield.inventory.spec import ApiSpec, spec_from_document


@pytest.fixture(scope="module")
def telco() -> ApiSpec:
    raw = resources.files("apishield.sim").joinpath("data/telco-openapi.yaml").read_bytes()
    return spec_from_document(yaml.safe_load(raw))


def rules_by_id(spec: ApiSpec, settings: SchemaSettings) -> dict[str | None, EndpointRule]:
    rules = endpoint_rules(spec.operations, settings)
    default = settings.default()
    return {op.operation_id: rules.get((op.method, op.path), default) for op in spec.operations}


def test_keys_name_an_operation_by_method_and_path_path_alone_or_operation_id(
    telco: ApiSpec,
) -> None:
    for key in ("POST /v2/auth/login", "post /v2/auth/login", "/v2/auth/login", "login"):
        rules = rules_by_id(telco, SchemaSettings(endpoints={key: Override(requests="block")}))
        assert rules["login"].requests == "block", key
        assert rules["requestPasswordReset"].requests == "log", key
    free_names = SchemaSettings(
        endpoints={"/v2/customers/{id}/lines/{n}": Override(requests="off")}
    )
    assert rules_by_id(telco, free_names)["getLine"].requests == "off"


def test_a_path_alone_applies_first_and_a_method_or_operation_id_refines_it(
    telco: ApiSpec,
) -> None:
    settings = SchemaSettings(
        strip_undocumented=True,
        endpoints={
            "getCustomer": Override(responses="off"),
            "/v2/customers/{customer_id}": Override(requests="block", strip_undocumented=False),
        },
    )
    rule = rules_by_id(telco, settings)["getCustomer"]
    assert rule == EndpointRule(requests="block", responses="off", strip_undocumented=False)
    assert rules_by_id(telco, settings)["listPlans"].strip_undocumented


def test_a_key_that_names_no_operation_is_an_error_with_the_nearest(telco: ApiSpec) -> None:
    for key, near in (("POST /v2/auth/logn", "'POST /v2/auth/login'"), ("logn", "'login'")):
        with pytest.raises(ValueError, match=f"Did you mean {near}") as caught:
            endpoint_rules(telco.operations, SchemaSettings(endpoints={key: Override()}))
        assert str(caught.value).startswith(f"enforce.openapi.endpoints: {key!r}")


Mode = Literal["block", "log", "off"]


class EndpointSchemaConfig(BaseModel):
    """The config section as the wiring adds it to `apishield.config`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    requests: Mode | None = None
    responses: Literal["log", "off"] | None = None
    strip_undocumented: bool | None = None


class OpenApiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    requests: Mode = "log"
    responses: Literal["log", "off"] = "log"
    strip_undocumented: bool = False
    endpoints: dict[str, EndpointSchemaConfig | Mode] = Field(default_factory=dict)


def test_settings_come_from_the_config_section(telco: ApiSpec) -> None:
    section = OpenApiConfig.model_validate(
        {
            "responses": "log",
            "endpoints": {
                "POST /v2/auth/login": "block",
                "getCustomer": {"responses": "off"},
                "GET /v2/customers/{id}": {"strip_undocumented": True},
            },
        }
    )
    rules = rules_by_id(telco, SchemaSettings.from_config(section))
    assert rules["login"].requests == "block"
    assert (rules["getCustomer"].responses, rules["getCustomer"].strip_undocumented) == (
        "off",
        True,
    )
    assert rules["listPlans"] == EndpointRule()


def test_a_bad_mode_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="not one of block, log, off"):
        SchemaSettings.from_config(SimpleNamespace(requests="deny"))
    with pytest.raises(ValueError, match="cannot be blocked"):
        SchemaSettings.from_config(SimpleNamespace(responses="block"))
    with pytest.raises(ValueError, match="not one of block, log, off"):
        SchemaSettings.from_config(SimpleNamespace(endpoints={"login": "deny"}))
