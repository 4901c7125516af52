"""``load()``: read, check and freeze a Runware OpenAPI 3.1 document."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any, NoReturn

import referencing
import referencing.exceptions
import referencing.jsonschema

from ._errors import SpecError
from ._freeze import freeze, thaw
from ._spec import SUPPLEMENT_TASKS, SecurityScheme, Spec, supplement_task_type

if TYPE_CHECKING:  # referencing exports no Resolver; annotations only
    from referencing._core import Resolver

__all__ = ["BUNDLED_DOCUMENT", "load", "protocol_schema"]

BUNDLED_DOCUMENT = "runware-qwen3.5-397b.openapi.json"
_PROTOCOL_FILE = "runware-protocol.schema.json"
_DOCUMENT_URI = "urn:runware-contract-kit:document"
_PROTOCOL_URI = "urn:runware-contract-kit:protocol"

Source = str | os.PathLike[str] | Mapping[str, Any] | bytes | None

_bundled_cache: Spec | None = None
# Digests of schema objects already found valid 2020-12 (see _check_schemas); bounded, since
# a long test session may load many generated documents.
_VALID_SCHEMAS: set[bytes] = set()
_VALID_LIMIT = 10_000
_VALID_LOCK = threading.Lock()


def load(source: Source = None) -> Spec:
    """Load a Runware OpenAPI document.

    Args:
        source: ``None`` for the bundled document; a path (``str``/``PathLike``) to a JSON
            file; raw JSON ``bytes``; or an already-parsed ``dict``.

    Returns:
        A frozen :class:`Spec`. The bundled one is loaded once and shared.

    Raises:
        SpecError: the document is not JSON, not OpenAPI 3.1, has no POST operation, holds a
            ``$ref`` that does not resolve or a schema that is not valid JSON Schema 2020-12,
            or lacks the shape of a Runware task document. ``.pointer`` says where.

    Example:
        >>> spec = load()
        >>> spec.model_id
        'alibaba:qwen@3.5-397b'
    """
    global _bundled_cache
    if source is None:
        if _bundled_cache is None:
            raw = resources.files("openapi").joinpath("data", BUNDLED_DOCUMENT).read_bytes()
            _bundled_cache = _build(
                _parse(raw, origin="<bundled>"), origin="<bundled>", check_schemas=False
            )
        return _bundled_cache
    if isinstance(source, Mapping):
        # thaw: a Spec's own frozen document (mappingproxy, tuples) loads like a dict.
        try:
            doc = json.loads(json.dumps(thaw(source)))
        except (TypeError, ValueError) as exc:
            raise SpecError(
                f"the document is not JSON data ({exc}); pass only dicts, lists, "
                "strings, numbers, booleans and None",
                kind="json",
                source="<dict>",
            ) from exc
        return _build(doc, origin="<dict>")
    if isinstance(source, bytes):
        return _build(_parse(source, origin="<bytes>"), origin="<bytes>")
    path = os.fspath(source)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise SpecError(
            f"cannot read the document: {exc.strerror}; pass an existing JSON file",
            kind="io",
            source=path,
        ) from exc
    return _build(_parse(raw, origin=path), origin=path)


def protocol_schema() -> Mapping[str, Any]:
    """The response-side supplement (derived from the protocol reference), frozen."""
    return _protocol()[1]


@functools.cache
def _protocol() -> tuple[dict[str, Any], Mapping[str, Any]]:
    """The supplement, parsed once per process: every document's registry shares it (no
    one writes to it), and every ``Spec`` the same frozen copy."""
    raw = resources.files("openapi").joinpath("data", _PROTOCOL_FILE).read_bytes()
    parsed: dict[str, Any] = json.loads(raw)
    return parsed, freeze(parsed)


def _parse(raw: bytes, *, origin: str) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = (
            f"line {exc.lineno} column {exc.colno}: {exc.msg}"
            if isinstance(exc, json.JSONDecodeError)
            else str(exc)
        )
        raise SpecError(
            f"the document is not JSON ({where}); fix the syntax", kind="json", source=origin
        ) from exc


def _build(doc: Any, *, origin: str, check_schemas: bool = True) -> Spec:
    if not isinstance(doc, dict):
        raise SpecError(
            f"the document must be a JSON object, not {type(doc).__name__}",
            kind="shape",
            source=origin,
        )
    version = doc.get("openapi")
    if not isinstance(version, str) or not version.startswith("3.1."):
        raise SpecError(
            f"openapi is {version!r}; this kit reads OpenAPI 3.1 documents "
            '(set "openapi": "3.1.0" if the schemas are JSON Schema 2020-12)',
            kind="openapi-version",
            pointer="/openapi",
            source=origin,
        )
    path, operation = _post_operation(doc, origin)
    protocol, frozen_protocol = _protocol()
    registry = _registry(doc, protocol)
    _check_refs(doc, registry, origin)
    if check_schemas:
        _check_schemas(doc, origin)
    resolver = registry.resolver(base_uri=_DOCUMENT_URI)
    op_pointer = f"/paths/{_escape(path)}/post"

    body_schema = _request_schema(operation, resolver, op_pointer, origin)
    items = body_schema.get("items")
    if isinstance(items, dict) and "$ref" in items and len(items) == 1:
        items = resolver.lookup(items["$ref"]).contents
    if not isinstance(items, dict):
        raise SpecError(
            "the request body schema must be an array whose items are the task schema",
            kind="shape",
            pointer=f"{op_pointer}/requestBody",
            source=origin,
        )
    task_schemas: dict[str, Any] = {}
    for branch in _branches(items, resolver):
        task_type = _const(branch, "taskType")
        if task_type is None:
            raise SpecError(
                "the task schema does not fix taskType (properties.taskType.const)",
                kind="shape",
                pointer=f"{op_pointer}/requestBody",
                source=origin,
            )
        task_schemas[task_type] = branch
    model_ids = _model_ids(items, resolver)
    if not model_ids:
        raise SpecError(
            "the task schema does not fix the model (properties.model.const or enum)",
            kind="shape",
            pointer=f"{op_pointer}/requestBody",
            source=origin,
        )
    schemas = doc.get("components", {}).get("schemas", {})
    authentication = supplement_task_type(protocol, "AuthenticationReply")
    for schema in schemas.values():
        if isinstance(schema, dict) and _const(schema, "taskType") == authentication:
            task_schemas[authentication] = schema
    for name in SUPPLEMENT_TASKS:
        task_schemas.setdefault(supplement_task_type(protocol, name), protocol["$defs"][name])

    responses = operation.get("responses", {})
    status_codes = tuple(sorted(int(code) for code in responses if str(code).isdigit()))
    error_schema = _error_schema(responses, schemas, resolver)
    info = doc.get("info", {})
    servers = doc.get("servers") or [{"url": "/"}]
    # One memo for the document and its parts: each schema is frozen once, and a task
    # schema is the very object the document holds at its place.
    frozen: dict[int, Any] = {}
    return Spec(
        source=origin,
        document=freeze(doc, frozen),
        protocol=frozen_protocol,
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        metadata=freeze({k: v for k, v in info.items() if k.startswith("x-")}),
        server_url=str(servers[0].get("url", "/")),
        operation_path=path,
        operation_id=operation.get("operationId"),
        model_ids=model_ids,
        request_schema=freeze(body_schema, frozen),
        task_schemas=freeze(task_schemas, frozen),
        error_schema=freeze(error_schema, frozen),
        status_codes=status_codes,
        security_scheme=_security(doc),
        registry=registry,
        document_uri=_DOCUMENT_URI,
        protocol_uri=_PROTOCOL_URI,
    )


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _post_operation(doc: dict[str, Any], origin: str) -> tuple[str, dict[str, Any]]:
    paths = doc.get("paths")
    if isinstance(paths, dict):
        for path, item in paths.items():
            if isinstance(item, dict) and isinstance(item.get("post"), dict):
                return path, item["post"]
    raise SpecError(
        "no POST operation under paths; a Runware document posts an array of tasks",
        kind="no-post-operation",
        pointer="/paths",
        source=origin,
    )


def _registry(doc: dict[str, Any], protocol: dict[str, Any]) -> referencing.Registry[Any]:
    spec_2020 = referencing.jsonschema.DRAFT202012
    resources_ = [
        (_DOCUMENT_URI, spec_2020.create_resource(doc)),
        (_PROTOCOL_URI, spec_2020.create_resource(protocol)),
    ]
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources_)
    return registry.crawl()


def _walk_refs(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield f"{pointer}/$ref", ref
        for key, value in node.items():
            yield from _walk_refs(value, f"{pointer}/{_escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_refs(value, f"{pointer}/{index}")


def _check_refs(doc: dict[str, Any], registry: referencing.Registry[Any], origin: str) -> None:
    resolver = registry.resolver(base_uri=_DOCUMENT_URI)
    for pointer, ref in _walk_refs(doc, ""):
        try:
            resolver.lookup(ref)
        except referencing.exceptions.Unresolvable as exc:
            raise SpecError(
                f"$ref {ref!r} does not resolve; point it at an existing schema "
                "(e.g. '#/components/schemas/Name')",
                kind="unresolvable-ref",
                pointer=pointer,
                source=origin,
            ) from exc


def _schema_locations(doc: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for name, schema in (doc.get("components", {}).get("schemas") or {}).items():
        yield f"/components/schemas/{_escape(name)}", schema
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            base = f"/paths/{_escape(path)}/{method}"
            body = op.get("requestBody", {})
            for media, content in (body.get("content") or {}).items():
                if isinstance(content, dict) and "schema" in content:
                    yield f"{base}/requestBody/content/{_escape(media)}/schema", content["schema"]
            for code, response in (op.get("responses") or {}).items():
                for media, content in ((response or {}).get("content") or {}).items():
                    if isinstance(content, dict) and "schema" in content:
                        yield (
                            f"{base}/responses/{code}/content/{_escape(media)}/schema",
                            content["schema"],
                        )


def _check_schemas(doc: dict[str, Any], origin: str) -> None:
    from jsonschema.exceptions import SchemaError

    meta = _meta_validator()

    def check(node: Any, pointer: str) -> None:
        """Check ``node`` against the 2020-12 meta-schema one schema object at a time.

        A schema is valid when its own keywords are and each of its subschemas is, so each
        subschema is checked on its own and stands as ``true`` in its parent. Each distinct
        object is checked once per process: a catalogue's documents share most of their
        schemas, and the meta-schema check is most of what loading a document costs."""
        if not isinstance(node, dict):
            if not isinstance(node, bool):
                _schema_error(f"{node!r} is not of type 'object', 'boolean'", pointer, origin)
            return
        shallow = dict(node)
        for key, value in node.items():
            if key in _SUBSCHEMA and isinstance(value, dict):
                check(value, f"{pointer}/{_escape(key)}")
                shallow[key] = True
            elif key in _SUBSCHEMA_LIST and isinstance(value, list):
                shallow[key] = [True if isinstance(item, dict) else item for item in value]
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        check(item, f"{pointer}/{_escape(key)}/{index}")
            elif key in _SUBSCHEMA_MAP and isinstance(value, dict):
                shallow[key] = {
                    name: True if isinstance(item, dict) else item for name, item in value.items()
                }
                for name, item in value.items():
                    if isinstance(item, dict):
                        check(item, f"{pointer}/{_escape(key)}/{_escape(str(name))}")
        digest = hashlib.blake2b(
            json.dumps(shallow, sort_keys=True).encode(), digest_size=16
        ).digest()
        if digest in _VALID_SCHEMAS:
            return
        # What Draft202012Validator.check_schema does, with one validator for every check
        # (building it, and resolving the meta-schema's vocabularies, is most of the cost
        # of checking a small schema).
        error = next(meta.iter_errors(shallow), None)
        if error is not None:
            exc = SchemaError.create_from(error)
            inner = "".join(f"/{_escape(str(part))}" for part in exc.path)
            _schema_error(exc.message, pointer + inner, origin, cause=exc)
        with _VALID_LOCK:
            if len(_VALID_SCHEMAS) >= _VALID_LIMIT:
                _VALID_SCHEMAS.clear()
            _VALID_SCHEMAS.add(digest)

    for pointer, schema in _schema_locations(doc):
        check(schema, pointer)


@functools.cache
def _meta_validator() -> Any:
    """A validator of the 2020-12 meta-schema, formats asserted (as ``check_schema``)."""
    # Imported here: jsonschema's format extras take most of a second to import, and the
    # bundled document, checked by the test suite, does not need it at start-up.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


# 2020-12 keywords whose value is a schema, a list of schemas, or a map of names to schemas
# (the applicator, unevaluated and content vocabularies, and the deprecated "definitions").
_SUBSCHEMA = frozenset(
    {
        "additionalProperties",
        "propertyNames",
        "items",
        "contains",
        "not",
        "if",
        "then",
        "else",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contentSchema",
    }
)
_SUBSCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SUBSCHEMA_MAP = frozenset(
    {"properties", "patternProperties", "dependentSchemas", "$defs", "definitions"}
)


def _schema_error(
    message: str, pointer: str, origin: str, *, cause: Exception | None = None
) -> NoReturn:
    raise SpecError(
        f"not a valid JSON Schema 2020-12 schema: {message}; fix the value to "
        "match the 2020-12 meta-schema",
        kind="invalid-schema",
        pointer=pointer,
        source=origin,
    ) from cause


def _request_schema(
    operation: dict[str, Any], resolver: Resolver[Any], op_pointer: str, origin: str
) -> dict[str, Any]:
    content = (operation.get("requestBody") or {}).get("content") or {}
    media = content.get("application/json")
    if not isinstance(media, dict) or not isinstance(media.get("schema"), dict):
        raise SpecError(
            "the POST operation has no application/json request body schema",
            kind="shape",
            pointer=f"{op_pointer}/requestBody",
            source=origin,
        )
    schema: dict[str, Any] = media["schema"]
    if "$ref" in schema:
        schema = resolver.lookup(schema["$ref"]).contents
    if schema.get("type") != "array":
        raise SpecError(
            "the request body schema must have type array (Runware takes an array of tasks)",
            kind="shape",
            pointer=f"{op_pointer}/requestBody",
            source=origin,
        )
    return schema


def _branches(items: dict[str, Any], resolver: Resolver[Any]) -> list[dict[str, Any]]:
    for key in ("oneOf", "anyOf"):
        if key in items and "properties" not in items:
            found = []
            for branch in items[key]:
                if "$ref" in branch:
                    branch = resolver.lookup(branch["$ref"]).contents
                found.append(branch)
            return found
    return [items]


def _const(schema: dict[str, Any], name: str) -> Any:
    prop = (schema.get("properties") or {}).get(name)
    if isinstance(prop, dict):
        if "const" in prop:
            return prop["const"]
        enum = prop.get("enum")
        if isinstance(enum, list) and len(enum) == 1:
            return enum[0]
    return None


def _model_ids(items: dict[str, Any], resolver: Resolver[Any]) -> tuple[str, ...]:
    ids: list[str] = []
    for branch in _branches(items, resolver):
        prop = (branch.get("properties") or {}).get("model")
        if not isinstance(prop, dict):
            continue
        if isinstance(prop.get("const"), str):
            ids.append(prop["const"])
        ids.extend(v for v in prop.get("enum") or () if isinstance(v, str))
    return tuple(dict.fromkeys(ids))


def _error_schema(
    responses: dict[str, Any], schemas: dict[str, Any], resolver: Resolver[Any]
) -> dict[str, Any]:
    for code in sorted(responses):
        if str(code).startswith("4"):
            schema = (
                ((responses[code] or {}).get("content") or {}).get("application/json") or {}
            ).get("schema")
            if isinstance(schema, dict):
                if "$ref" in schema:
                    schema = resolver.lookup(schema["$ref"]).contents
                return dict(schema)
    fallback = schemas.get("ErrorResponse")
    return dict(fallback) if isinstance(fallback, dict) else {"type": "object"}


def _security(doc: dict[str, Any]) -> SecurityScheme | None:
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in schemes.items():
        if isinstance(scheme, dict):
            return SecurityScheme(
                name=name,
                type=str(scheme.get("type", "")),
                scheme=scheme.get("scheme"),
                description=scheme.get("description"),
            )
    return None
