from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import openapi
from tests._support import SECOND_DOCUMENT

BUNDLED = json.loads(
    (Path(openapi.__file__).parent / "data" / openapi.BUNDLED_DOCUMENT).read_text()
)


def test_bundled_document_is_the_qwen_one(spec: openapi.Spec) -> None:
    assert spec.model_id == "alibaba:qwen@3.5-397b"
    assert spec.title == "Runware API - Qwen3.5-397B"
    assert spec.metadata["x-air-id"] == spec.model_id
    assert spec.server_url == "https://api.runware.ai/v1"
    assert spec.status_codes == (200, 400, 401, 402, 403, 429, 500, 503)
    assert spec.security_scheme is not None
    assert (spec.security_scheme.type, spec.security_scheme.scheme) == ("http", "bearer")
    assert spec.inference_task_type == "textInference"
    assert set(spec.task_schemas) == {"textInference", "authentication", "getResponse", "ping"}


def test_settings_and_defaults_come_from_the_document(spec: openapi.Spec) -> None:
    temperature = spec.parameter("settings.temperature")
    assert (temperature.minimum, temperature.maximum, temperature.multiple_of) == (0, 2, 0.01)
    assert temperature.default == 0.6
    assert spec.defaults["deliveryMethod"] == "sync"
    assert spec.delivery_methods == ("sync", "async", "stream")
    assert {p.name for p in spec.settings} >= {"temperature", "topP", "maxTokens", "topK"}
    assert spec.parameter("messages").required
    assert not spec.parameter("seed").required


def test_second_document_drives_the_same_code(second_spec: openapi.Spec) -> None:
    assert second_spec.model_id == "minimax:m2.7@0"
    assert second_spec.delivery_methods == ("sync", "stream")
    assert 402 not in second_spec.status_codes
    assert second_spec.parameter("settings.temperature").maximum == 1.5
    assert "settings.reasoningEffort" in second_spec.defaults
    with pytest.raises(KeyError, match=r"settings\.topK"):
        second_spec.parameter("settings.topK")


def test_spec_is_immutable(spec: openapi.Spec) -> None:
    with pytest.raises(AttributeError):
        spec.title = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.document["openapi"] = "3.0.0"  # type: ignore[index]
    with pytest.raises(TypeError):
        spec.task_schemas["textInference"]["properties"]["model"]["const"] = "x"
    copy_ = spec.to_dict()
    copy_["info"]["title"] = "mine"
    assert spec.title == "Runware API - Qwen3.5-397B"


def test_bundled_load_is_shared_and_dict_load_copies() -> None:
    assert openapi.load() is openapi.load()
    raw = copy.deepcopy(BUNDLED)
    spec = openapi.load(raw)
    raw["info"]["title"] = "mutated after load"
    assert spec.title == "Runware API - Qwen3.5-397B"


def test_a_loaded_document_loads_again() -> None:
    # spec.document is frozen (read-only mappings, tuples): it is still a document to load.
    again = openapi.load(openapi.load().document)
    assert (again.model_id, again.defaults) == (openapi.load().model_id, openapi.load().defaults)


def test_a_mapping_that_is_not_json_is_a_spec_error() -> None:
    with pytest.raises(openapi.SpecError, match="not JSON data") as caught:
        openapi.load({**BUNDLED, "x-extra": {1, 2}})
    assert caught.value.kind == "json"


def test_load_from_path_and_bytes() -> None:
    assert openapi.load(SECOND_DOCUMENT).model_id == "minimax:m2.7@0"
    assert openapi.load(str(SECOND_DOCUMENT)).source == str(SECOND_DOCUMENT)
    assert openapi.load(SECOND_DOCUMENT.read_bytes()).model_id == "minimax:m2.7@0"


def _mutated(change: Any) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(BUNDLED)
    change(doc)
    return doc


def _items(doc: dict[str, Any]) -> dict[str, Any]:
    items: dict[str, Any] = doc["components"]["schemas"]["RequestBody"]["items"]
    return items


BAD_DOCUMENTS = [
    pytest.param(b"{not json", "json", "", id="not-json"),
    pytest.param(b"[]", "shape", "", id="not-an-object"),
    pytest.param(
        _mutated(lambda d: d.update(openapi="3.0.3")),
        "openapi-version",
        "/openapi",
        id="openapi-3.0",
    ),
    pytest.param(
        _mutated(lambda d: d.pop("openapi")), "openapi-version", "/openapi", id="no-openapi-field"
    ),
    pytest.param(
        _mutated(lambda d: d["paths"]["/"].pop("post")), "no-post-operation", "/paths", id="no-post"
    ),
    pytest.param(
        _mutated(
            lambda d: d["paths"]["/"]["post"]["responses"]["400"]["content"]["application/json"][
                "schema"
            ].update({"$ref": "#/components/schemas/Nope"})
        ),
        "unresolvable-ref",
        "/paths/~1/post/responses/400/content/application~1json/schema/$ref",
        id="unresolvable-ref",
    ),
    pytest.param(
        _mutated(lambda d: _items(d)["properties"]["seed"].update(minimum="zero")),
        "invalid-schema",
        "/components/schemas/RequestBody/items/properties/seed/minimum",
        id="minimum-not-a-number",
    ),
    pytest.param(
        _mutated(lambda d: _items(d)["properties"]["seed"].update(type="int")),
        "invalid-schema",
        "/components/schemas/RequestBody/items/properties/seed/type",
        id="unknown-type-name",
    ),
    pytest.param(
        _mutated(
            lambda d: _items(d)["properties"]["messages"]["items"]["properties"]["content"].update(
                pattern="(unclosed"
            )
        ),
        "invalid-schema",
        "/components/schemas/RequestBody/items/properties/messages/items/properties/"
        "content/pattern",
        id="pattern-not-ecma-regex",
    ),
    pytest.param(
        _mutated(lambda d: _items(d)["properties"]["model"].pop("const")),
        "shape",
        "/paths/~1/post/requestBody",
        id="no-model-const",
    ),
    pytest.param(
        _mutated(lambda d: d["components"]["schemas"]["RequestBody"].update(type="object")),
        "shape",
        "/paths/~1/post/requestBody",
        id="body-not-array",
    ),
]


@pytest.mark.parametrize(("document", "kind", "pointer"), BAD_DOCUMENTS)
def test_bad_documents_raise_spec_error(document: Any, kind: str, pointer: str) -> None:
    with pytest.raises(openapi.SpecError) as caught:
        openapi.load(document)
    assert caught.value.kind == kind
    assert caught.value.pointer == pointer
    assert isinstance(caught.value, openapi.KitError)
    assert caught.value.__cause__ is None or not isinstance(
        caught.value.__cause__, openapi.SpecError
    )


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(openapi.SpecError, match="cannot read") as caught:
        openapi.load(tmp_path / "absent.json")
    assert caught.value.kind == "io"


def test_spec_error_message_names_the_fix() -> None:
    with pytest.raises(openapi.SpecError, match=r"3\.1") as caught:
        openapi.load(_mutated(lambda d: d.update(openapi="3.0.3")))
    assert "'/openapi'" in str(caught.value)


def test_protocol_supplement_is_marked_derived() -> None:
    protocol = openapi.protocol_schema()
    assert "DERIVED" in protocol["description"]
    assert protocol["x-derived-from"] == "reference/runware-protocol.md"
    assert {
        "TextInferenceResult",
        "AsyncAcknowledgement",
        "GetResponseItem",
        "StreamChunk",
        "AuthenticationReply",
        "PingReply",
        "ErrorItem",
    } <= set(protocol["$defs"])


def test_vendor_document_is_shipped_unchanged() -> None:
    shared = Path(__file__).parents[3] / "shared" / "openapi" / openapi.BUNDLED_DOCUMENT
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    assert json.loads(shared.read_text()) == BUNDLED
