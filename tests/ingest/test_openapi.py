from __future__ import annotations

import gc
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator.validation.validators import SpecValidator

from apishield.ingest.openapi import SpecError, load_spec
from apishield.inventory.spec import ApiSpec

CORPORA = Path(__file__).parents[3] / "shared" / "corpora" / "openapi"


def corpus(name: str) -> Path:
    path = CORPORA / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the OpenAPI corpora live in shared/ beside the repo")
    return path


def write(tmp_path: Path, name: str, content: str | dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return path


@pytest.fixture(scope="module")
def twilio() -> ApiSpec:
    return load_spec(corpus("twilio_api_v2010.json"))


def test_twilio_loads_clean_with_every_operation(twilio: ApiSpec) -> None:
    assert len(twilio.operations) == 197
    assert twilio.openapi_version == "3.0.1"
    assert twilio.warnings == []


def test_vonage_yaml_loads() -> None:
    spec = load_spec(corpus("vonage_sms.yml"))
    assert spec.paths == ["/sms/{format}"]
    assert spec.warnings == []


@pytest.mark.slow
def test_discord_3_1_loads_clean() -> None:
    spec = load_spec(corpus("discord_openapi.json"))
    assert len(spec.operations) == 242
    assert spec.warnings == []


YAML_SPEC = """\
openapi: 3.0.3
info: {title: Orders, version: '1'}
paths:
  /orders:
    get:
      parameters:
        - {name: since, in: query, schema: {type: string, format: date, example: 2021-01-01}}
      responses:
        200: {description: ok}
        404: {description: gone}
"""


def test_yaml_reads_as_json_would(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, "orders.yaml", YAML_SPEC))
    (op,) = spec.operations
    assert set(op.response_schemas) == {"200", "404"}, "unquoted status codes become strings"
    assert op.parameters[0].schema["example"] == "2021-01-01", "dates stay text"
    assert spec.warnings == []


def minimal(version: str = "3.0.3", **op: Any) -> dict[str, Any]:
    operation = {"responses": {"200": {"description": "ok"}}} | op
    return {
        "openapi": version,
        "info": {"title": "t", "version": "1"},
        "paths": {"/a": {"get": operation}},
    }


def test_strict_violations_load_as_warnings(tmp_path: Path) -> None:
    doc = minimal(operationId="a")
    del doc["info"]
    doc["paths"]["/b/{id}"] = {
        "get": {"operationId": "a", "responses": {"200": {"description": "ok"}}}
    }
    spec = load_spec(write(tmp_path, "loose.json", doc))
    assert spec.paths == ["/a", "/b/{id}"]
    assert "$: 'info' is a required property" in spec.warnings
    assert any("Operation ID 'a'" in w and "not unique" in w for w in spec.warnings)
    assert any("Path parameter 'id'" in w for w in spec.warnings)


def test_the_validator_matches_the_version(tmp_path: Path) -> None:
    nullable = {
        "parameters": [{"name": "q", "in": "query", "schema": {"type": ["string", "null"]}}]
    }
    assert load_spec(write(tmp_path, "v31.json", minimal("3.1.0", **nullable))).warnings == []
    as_30 = load_spec(write(tmp_path, "v30.json", minimal("3.0.3", **nullable)))
    assert any("parameters[0]" in w for w in as_30.warnings), as_30.warnings


def test_swagger_2_is_validated_as_swagger(tmp_path: Path) -> None:
    doc = {"swagger": "2.0", "info": {"title": "t"}, "paths": {"/a": {"get": {"responses": {}}}}}
    spec = load_spec(write(tmp_path, "swagger.json", doc))
    assert spec.openapi_version == "2.0" and spec.paths == ["/a"]
    assert "$.info: 'version' is a required property" in spec.warnings


def test_references_to_other_documents_are_never_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[Any] = []

    def record(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", record)
    monkeypatch.setattr(socket.socket, "connect", record)
    remote = {"$ref": "https://schemas.example.com/customer.json#/Customer"}
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": remote}}}}
    broken = {"name": "x", "in": "query", "schema": {"$ref": "#/components/schemas/Missing"}}
    doc = minimal(responses=ok, parameters=[broken])
    doc["paths"]["/b"] = {"get": {}}
    spec = load_spec(write(tmp_path, "remote.json", doc))
    assert attempts == []
    assert spec.operations[0].response_schemas == {"200": {}}
    text = "\n".join(spec.warnings)
    assert "schemas.example.com/customer.json#/Customer' points into another document" in text
    assert "'#/components/schemas/Missing' does not resolve" in text
    assert "'responses' is a required property" in text, "validation went on past the bad refs"


@pytest.mark.parametrize(
    ("name", "content", "where", "words"),
    [
        ("paths.json", {"openapi": "3.0.3", "paths": []}, "$.paths", "is a list"),
        (
            "op.json",
            {"openapi": "3.0.3", "paths": {"/a": {"get": "oops"}}},
            '$.paths["/a"].get',
            "no operation can be read (operation is not an object; skipped)",
        ),
        ("version.json", {"openapi": "2.5", "paths": {}}, "$.openapi", "unsupported version"),
        ("list.yaml", "- a\n- b\n", "$", "expected an object, got list"),
        ("syntax.yaml", "openapi: 3.0.3\ninfo: {title: t\n", "line 3, column 1", "not valid YAML"),
        ("syntax.json", '{"openapi": "3.0.3",, }', "line 1, column 21", "not valid JSON"),
    ],
)
def test_unusable_specs_raise_errors_naming_file_and_place(
    tmp_path: Path, name: str, content: str | dict[str, Any], where: str, words: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    error = caught.value
    assert error.file == path and error.where == where
    assert str(error).startswith(f"{path}: {where}: ")
    assert words in error.problem
    assert error.fix


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.yaml: \$: cannot be read \(No such file"):
        load_spec(tmp_path / "nope.yaml")


def test_the_validator_crashing_on_junk_is_a_warning(tmp_path: Path) -> None:
    doc = minimal(parameters=[{"in": "query"}])
    spec = load_spec(write(tmp_path, "junk.json", doc))
    assert spec.paths == ["/a"]
    assert any("parameter without a name" in w for w in spec.warnings)


def test_yaml_alias_bombs_are_refused_before_anything_walks_them(tmp_path: Path) -> None:
    lines = [YAML_SPEC, 'x-a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"x-a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    with pytest.raises(SpecError, match=r"\$: YAML anchors expand to 4\d\d,\d{3},\d{3} nodes"):
        load_spec(write(tmp_path, "laughs.yaml", "\n".join(lines)))


def test_self_referencing_yaml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="recursive node"):
        load_spec(write(tmp_path, "loop.yaml", YAML_SPEC + "x-loop: &a [*a]\n"))


def test_schemas_nested_past_the_recursion_limit_are_refused(tmp_path: Path) -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(900):
        schema = {"type": "array", "items": schema}
    content = {"application/json": {"schema": schema}}
    doc = minimal(responses={"200": {"description": "ok", "content": content}})
    with pytest.raises(SpecError, match=r"\$\.paths: schemas nest too deeply"):
        load_spec(write(tmp_path, "deep.json", doc))


def test_loading_does_not_keep_validators_alive(tmp_path: Path) -> None:
    load_spec(write(tmp_path, "a.json", minimal()))
    gc.collect()
    # type(), not isinstance(): a lazy object elsewhere in the process (an unconfigured Django
    # settings object, say) may raise when asked for its __class__
    assert not [o for o in gc.get_objects() if issubclass(type(o), SpecValidator)]
