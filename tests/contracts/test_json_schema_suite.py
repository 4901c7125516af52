"""The official JSON-Schema-Test-Suite (draft 2020-12) through the kit's schema compiler.

Formats are asserted (the kit's choice), so the format files under optional/ are included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import referencing
import referencing.jsonschema
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

from contracts._schema._compile import SchemaCompiler
from contracts._schema._fallback import jsonschema_fallback

SUITE = Path(__file__).parent.parent / "data" / "json-schema-test-suite"
REMOTE = "http://localhost:1234/"

# Cases left out, each with the reason.
SKIP = {
    # The kit asserts formats (its purpose is to catch bad uuids and URIs before sending), so
    # the core file's "format is only an annotation by default" cases do not apply; the
    # optional/format files test the assertions.
    *(
        ("format.json", f"{name} format")
        for name in (
            "email",
            "regex",
            "ipv4",
            "ipv6",
            "hostname",
            "date",
            "date-time",
            "time",
            "uri",
            "uri-reference",
            "uuid",
            "duration",
        )
    ),
    # The draft's meta-schema vocabulary switch-off: the kit asserts every vocabulary.
    ("vocabulary.json", "schema that uses custom metaschema with with no validation vocabulary"),
}


def _remotes() -> referencing.Registry[Any]:
    resources = []
    for path in (SUITE / "remotes").rglob("*.json"):
        uri = REMOTE + path.relative_to(SUITE / "remotes").as_posix()
        contents = json.loads(path.read_text())
        resources.append(
            (
                uri,
                referencing.jsonschema.specification_with(
                    contents.get("$schema", "https://json-schema.org/draft/2020-12/schema")
                    if isinstance(contents, dict)
                    else "https://json-schema.org/draft/2020-12/schema",
                    default=referencing.jsonschema.DRAFT202012,
                ).create_resource(contents),
            )
        )
    registry: referencing.Registry[Any] = SPECIFICATIONS.with_resources(resources)
    return registry


REMOTES = _remotes()


def _cases() -> list[Any]:
    params = []
    files = sorted(SUITE.glob("*.json")) + sorted((SUITE / "optional").rglob("*.json"))
    for path in files:
        name = path.relative_to(SUITE).as_posix()
        for group in json.loads(path.read_text()):
            for test in group["tests"]:
                skip = (name, group["description"]) in SKIP and (
                    name != "format.json" or "only an annotation" in test["description"]
                )
                marks = [pytest.mark.skip(reason="see SKIP")] if skip else []
                params.append(
                    pytest.param(
                        group["schema"],
                        test["data"],
                        test["valid"],
                        id=f"{name}::{group['description']}::{test['description']}",
                        marks=marks,
                    )
                )
    return params


@pytest.mark.parametrize(("schema", "instance", "valid"), _cases())
def test_suite_case(schema: Any, instance: Any, valid: bool) -> None:
    base = schema.get("$id", "") if isinstance(schema, dict) else ""
    resource = referencing.jsonschema.DRAFT202012.create_resource(schema)
    registry = (
        (resource @ REMOTES).crawl()
        if base
        else REMOTES.with_resource("urn:suite-root", resource).crawl()
    )
    compiler = SchemaCompiler(registry, fallback=jsonschema_fallback)
    collect = compiler.compile(schema, base_uri=base or "urn:suite-root")
    errors: list[Any] = []
    collect(instance, (), errors)
    assert (not errors) is valid, errors
    # The hot-path predicate and the collector come from one emitter: they must agree.
    assert compiler.compile_predicate(schema, base_uri=base or "urn:suite-root")(instance) is valid
