"""Compiled validators for one loaded ``Spec``, built once and cached beside it.

Documents of one catalogue share most of their schemas (the protocol supplement, the
authentication task, often the messages): a schema is compiled once per process, keyed by
a digest of its content and of everything its ``$ref``s reach (``schema_digest``), and
every document with the same schema gets the same function.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import referencing.exceptions
import referencing.jsonschema

from openapi import Catalog, Spec

from ._schema._compile import Predicate, RawError, SchemaCompiler, Validate
from ._schema._fallback import jsonschema_fallback

if TYPE_CHECKING:  # referencing exports no Resolver; annotations only
    from referencing._core import Resolver

__all__ = ["ENGINE_KEY", "Engine", "engine_for", "precompile", "schema_digest"]

_PROTOCOL_DEFS = (
    "TextInferenceResult",
    "AsyncAcknowledgement",
    "GetResponseItem",
    "StreamChunk",
    "AuthenticationReply",
    "PingReply",
    "ErrorEnvelope",
    "DataEnvelope",
    "PartialEnvelope",
    "SingularErrorEnvelope",
)


@dataclass(frozen=True, slots=True)
class Engine:
    """Every validator the checks need for one document."""

    body: Validate | None  # the body's own keywords beyond "an array"; None: none
    body_full: Validate  # the body's own keywords, items left out
    # Collectors are compiled on first call (_Deferred), predicates at once.
    tasks: Mapping[str, Validate]  # taskType → collector of that task's errors
    items: Validate  # the document's item schema, for unknown taskTypes
    task_predicates: Mapping[str, Predicate]  # taskType → is this task valid? (hot path)
    items_predicate: Predicate
    error_response: Validate  # the document's ErrorResponse
    protocol: Mapping[str, Validate]  # response-side supplement, by $defs name
    compiler: SchemaCompiler  # for subschemas compiled on demand (strategies)


_lock = threading.RLock()  # _build holds it while shared() takes it
ENGINE_KEY = "contracts.engine"
# Keywords that say nothing a list does not already satisfy.
_TRIVIAL_BODY = frozenset({"type", "title", "description", "$comment", "examples"})


def engine_for(spec: Spec) -> Engine:
    """The compiled validators for ``spec`` (compiled on first use, then shared)."""
    engine: Engine | None = spec.memo.get(ENGINE_KEY)
    if engine is None:
        with _lock:
            engine = spec.memo.get(ENGINE_KEY)
            if engine is None:
                engine = _build(spec)
                spec.memo[ENGINE_KEY] = engine
    return engine


def precompile(spec: Spec | Catalog) -> None:
    """Compile the validators of a document, or of every document of a catalogue, now.

    Checks compile what a document needs on first use; a server calls this at start-up so
    that its first request does not pay for it (the mock does).

    Example:
        >>> import openapi
        >>> precompile(openapi.load())
    """
    for loaded in spec if isinstance(spec, Catalog) else (spec,):
        engine_for(loaded)


def _build(spec: Spec) -> Engine:
    compiler = SchemaCompiler(spec.registry, fallback=jsonschema_fallback)
    doc = spec.document_uri

    # Each schema's digest, once per build (a predicate and a collector need the same one);
    # the schema is kept with it, so that its id cannot be another object's meanwhile.
    digests: dict[tuple[int, str], tuple[Any, bytes | None]] = {}

    def shared(schema: Any, base_uri: str, *, fast: bool) -> Any:
        """The compiled function for ``schema``: one another document compiled already when
        the schema and everything its ``$ref``s reach are the same, else compiled now."""
        with _lock:
            known = digests.get((id(schema), base_uri))
            if known is None or known[0] is not schema:
                known = digests[id(schema), base_uri] = (
                    schema,
                    schema_digest(schema, spec.registry.resolver(base_uri=base_uri)),
                )
            digest = known[1]
            function = _SHARED.get((digest, fast)) if digest is not None else None
            if function is None:
                function = (compiler.compile_predicate if fast else compiler.compile)(
                    schema, base_uri=base_uri
                )
                if digest is not None:
                    _SHARED[digest, fast] = function
            return function

    def collector(schema: Any, base_uri: str = doc) -> Validate:
        return _Deferred(lambda: shared(schema, base_uri, fast=False))

    shell = {k: v for k, v in spec.request_schema.items() if k not in ("items", "prefixItems")}

    tasks = {
        task_type: collector(schema, spec.task_base_uri(task_type))
        for task_type, schema in spec.task_schemas.items()
    }
    predicates = {
        task_type: shared(schema, spec.task_base_uri(task_type), fast=True)
        for task_type, schema in spec.task_schemas.items()
    }
    item_schema = spec.request_schema.get("items", True)
    protocol = {
        name: collector({"$ref": f"{spec.protocol_uri}#/$defs/{name}"}, spec.protocol_uri)
        for name in _PROTOCOL_DEFS
    }
    trivial = shell.keys() <= _TRIVIAL_BODY and shell.get("type") == "array"
    return Engine(
        body=None if trivial else shared(shell, doc, fast=False),
        body_full=collector(shell),
        tasks=tasks,
        items=collector(item_schema),
        task_predicates=predicates,
        items_predicate=shared(item_schema, doc, fast=True),
        error_response=collector(spec.error_schema),
        protocol=protocol,
        compiler=compiler,
    )


class _Deferred:
    """A collector compiled on its first call. Collectors run only on what their predicate
    refused, so a document costs its predicates at start-up and each collector when a
    payload first needs it (the shared ones, such as the supplement's, once per process)."""

    __slots__ = ("_function", "_make")

    def __init__(self, make: Callable[[], Validate]) -> None:
        self._make = make
        self._function: Validate | None = None

    def __call__(self, instance: Any, path: tuple[Any, ...], errs: list[RawError]) -> None:
        function = self._function
        if function is None:
            function = self._function = self._make()
        function(instance, path, errs)

    @property
    def function(self) -> Validate:
        """The compiled collector (compiled now if it was not yet)."""
        if self._function is None:
            self._function = self._make()
        return self._function


# Compiled functions by what they check (schema_digest) and kind: documents of one catalogue
# share most schemas, and each distinct one is compiled once. Weak: a function lives as long
# as an Engine uses it.
_SHARED: weakref.WeakValueDictionary[tuple[bytes, bool], Any] = weakref.WeakValueDictionary()


def schema_digest(schema: Any, resolver: Resolver[Any]) -> bytes | None:
    """A digest of ``schema`` and of every schema its ``$ref``s reach, transitively: two
    schemas with the same digest check the same things, whichever document they came from.
    ``None`` for a schema whose meaning depends on the dynamic scope (never shared)."""
    digest = hashlib.blake2b(digest_size=20)
    order: dict[int, int] = {}
    pending: list[tuple[Any, Resolver[Any]]] = [(schema, resolver)]
    while pending:
        node, scope = pending.pop()
        if id(node) in order:
            digest.update(b"@%d" % order[id(node)])
            continue
        order[id(node)] = len(order)
        text = json.dumps(node, sort_keys=True, default=_plain)
        if any(word in text for word in _UNSHAREABLE):
            return None
        digest.update(text.encode())
        if '"$id"' in text:  # rare: a ref then resolves against the nearest $id
            found: list[tuple[str, Resolver[Any]]] = []
            _refs(node, scope, found)
        else:
            found = [(json.loads(ref), scope) for ref in sorted(set(_REF.findall(text)))]
        for ref, ref_scope in reversed(found):
            try:
                resolved = ref_scope.lookup(ref)
            except referencing.exceptions.Unresolvable:
                return None  # a property named "$ref", say: compile it on its own
            pending.append((resolved.contents, resolved.resolver))
    return digest.digest()


# How json.dumps writes a "$ref" keyword (default separators); the keywords whose meaning
# depends on the dynamic scope.
_REF = re.compile(r'"\$ref": ("(?:[^"\\]|\\.)*")')
_UNSHAREABLE = ('"$dynamicRef"', '"$recursiveRef"', '"$dynamicAnchor"', '"$recursiveAnchor"')


def _refs(node: Any, scope: Resolver[Any], found: list[tuple[str, Resolver[Any]]]) -> None:
    """Append every ``$ref`` under ``node`` with the scope it resolves in (sorted keys: the
    digest does not depend on the order a document lists them in)."""
    if isinstance(node, Mapping):
        if isinstance(node.get("$id"), str):
            scope = scope.in_subresource(referencing.jsonschema.DRAFT202012.create_resource(node))
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.append((ref, scope))
        for key in sorted(node):
            _refs(node[key], scope, found)
    elif isinstance(node, list | tuple):
        for item in node:
            _refs(item, scope, found)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
