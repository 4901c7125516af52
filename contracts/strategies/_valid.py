"""``tasks()`` and ``requests()``: valid Runware requests, drawn from the loaded document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import openapi
from contracts._engine import engine_for
from openapi import Catalog, Spec

from ._from_schema import SchemaStrategies

__all__ = ["requests", "schema_strategies", "tasks"]

_MEMO = "contracts.strategies"


def schema_strategies(spec: Spec) -> SchemaStrategies:
    """The strategy compiler for one document, built once and kept on the spec."""
    built: SchemaStrategies | None = spec.memo.get(_MEMO)
    if built is None:
        compiler = engine_for(spec).compiler
        built = SchemaStrategies(
            spec.registry.resolver(base_uri=spec.document_uri), compiler.predicate_in
        )
        spec.memo[_MEMO] = built
    return built


def _spec(spec: Spec | Catalog | None, argument: str = "spec") -> Spec:
    """The one document to draw from (a catalogue's first)."""
    return _documents(spec, argument)[0]


def _documents(spec: Spec | Catalog | None, argument: str = "spec") -> tuple[Spec, ...]:
    """The documents to draw from: one, or every document of a catalogue."""
    if spec is None:
        return (openapi.load(),)
    if isinstance(spec, Catalog):
        return spec.specs
    if not isinstance(spec, Spec):
        raise InvalidArgument(
            f"{argument}={spec!r} must be an openapi.Spec "
            "(from openapi.load(...)), an openapi.Catalog (from "
            "openapi.load_catalog(...)) or None for the bundled document"
        )
    return (spec,)


def _any_task(
    specs: tuple[Spec, ...], task_type: str | None, overrides: Mapping[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """A task of any of the documents (each document's own, for a task type that names a
    model; the first's for one that does not, as ``getResponse``)."""
    first = specs[0]
    if len(specs) == 1 or (
        task_type is not None
        and task_type in first.task_schemas
        and task_type not in first.inference_task_types
    ):
        return _task_strategy(first, task_type, overrides)
    key = (
        "any-task",
        tuple(map(id, specs)),
        task_type,
        tuple(sorted((k, id(v)) for k, v in overrides.items())),
    )
    cached = first.memo.get(key)
    if cached is None or cached[0] != specs:  # the specs kept with it: no id is reused
        cached = first.memo[key] = (
            specs,
            st.one_of([_task_strategy(spec, task_type, overrides) for spec in specs]),
        )
    strategy: st.SearchStrategy[dict[str, Any]] = cached[1]
    return strategy


def _task_strategy(
    spec: Spec, task_type: str | None, overrides: Mapping[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    chosen = task_type if task_type is not None else spec.inference_task_type
    if chosen not in spec.task_schemas:
        known = ", ".join(sorted(spec.task_schemas))
        raise InvalidArgument(
            f"task_type={chosen!r} is not a task type of {spec.source}; known: {known}"
        )
    schema = spec.task_schemas[chosen]
    properties = schema.get("properties") or {}
    for name, value in overrides.items():
        if name not in properties:
            raise InvalidArgument(
                f"{name}= is not a parameter of {chosen} tasks in "
                f"{spec.source}; parameters: {', '.join(properties)}"
            )
        if not isinstance(value, st.SearchStrategy):
            raise InvalidArgument(
                f"{name}={value!r} must be a strategy; to pin a value, pass "
                f"{name}=st.just({value!r})"
            )
    key = ("task", chosen, tuple(sorted((k, id(v)) for k, v in overrides.items())))
    cached: st.SearchStrategy[dict[str, Any]] | None = spec.memo.get(key)
    if cached is None:
        builder = schema_strategies(spec)
        cached = builder.for_schema(
            schema, spec.registry.resolver(base_uri=spec.task_base_uri(chosen)), overrides=overrides
        )
        spec.memo[key] = cached
    return cached


@st.composite
def tasks(
    draw: st.DrawFn,
    /,
    *,
    spec: Spec | Catalog | None = None,
    task_type: str | None = None,
    **overrides: st.SearchStrategy[Any],
) -> dict[str, Any]:
    """One valid task object, compiled at runtime from the document's task schema.

    Args:
        spec: the document (``openapi.load(...)``); the bundled one by default. With a
            catalogue (``openapi.load_catalog(...)``), a task of any of its models.
        task_type: which task schema; the document's inference task by default
            (``"textInference"``). ``"authentication"`` and ``"getResponse"`` work too.
        **overrides: strategies that replace a parameter's, e.g.
            ``tasks(messages=st.just([{"role": "user", "content": "Hi"}]))``. An unknown
            name or a non-strategy raises ``InvalidArgument`` when drawn.

    Example:
        >>> from hypothesis import given
        >>> @given(tasks())
        ... def test_client_accepts(task): ...
    """
    return draw(_any_task(_documents(spec), task_type, overrides))


@st.composite
def requests(
    draw: st.DrawFn,
    /,
    *,
    spec: Spec | Catalog | None = None,
    min_tasks: int = 1,
    max_tasks: int = 4,
    auth: bool = False,
) -> list[dict[str, Any]]:
    """A valid request body: ``min_tasks`` to ``max_tasks`` tasks with distinct taskUUIDs,
    preceded by an ``authentication`` task when ``auth`` is true. With a catalogue, each
    task is of any of its models, so batches mix models."""
    for name, value in (("min_tasks", min_tasks), ("max_tasks", max_tasks)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidArgument(f"{name}={value!r} must be a non-negative integer")
    if min_tasks > max_tasks:
        raise InvalidArgument(f"min_tasks={min_tasks} is greater than max_tasks={max_tasks}")
    if not isinstance(auth, bool):
        raise InvalidArgument(f"auth={auth!r} must be True or False")
    documents = _documents(spec)
    body: list[dict[str, Any]] = draw(
        st.lists(
            _any_task(documents, None, {}),
            min_size=min_tasks,
            max_size=max_tasks,
            unique_by=lambda task: str(task.get("taskUUID")),
        )
    )
    # A document's own batch limit (maxItems on the body) holds for batches using it.
    limits = [
        spec.request_schema["maxItems"]
        for spec in documents
        if isinstance(spec.request_schema.get("maxItems"), int)
        and any(task.get("model") in spec.model_ids for task in body)
    ]
    room = min(limits, default=len(body) + auth) - auth
    if len(body) > room:
        body = body[: max(room, 0)]
        assume(len(body) >= min_tasks)
    if auth:
        first = documents[0]
        body.insert(0, draw(_task_strategy(first, first.authentication_task_type, {})))
    return body
