"""Pre-request checks: is this payload one the document allows?"""

from __future__ import annotations

from typing import Any

import openapi
from openapi import Catalog, Spec

from ._engine import ENGINE_KEY, engine_for
from ._json import JSONProblem, parse_json
from ._messages import to_violation
from ._routes import ROUTES_KEY, Routes, model_violation, routes_for
from ._schema._compile import RawError, Validate
from ._violation import ContractViolation, Violation

__all__ = ["check_request", "validate_request"]

_AUTHENTICATION = "authentication"
RAW_TYPES = (bytes, bytearray, memoryview, str)


def check_request(
    payload: Any, *, spec: Spec | Catalog | None = None, parsed: bool = False
) -> list[Violation]:
    """Every way ``payload`` breaks the document's request contract (empty: it is valid).

    Args:
        payload: the request body — a list of task dicts, or raw JSON ``bytes``/``str``.
            Raw JSON is parsed strictly: NaN/Infinity, invalid UTF-8, lone surrogates and
            syntax errors are violations, not exceptions. Numbers are judged as the decimals
            the JSON text wrote.
        spec: the document to check against; the bundled one by default. A
            :class:`~openapi.Catalog` of several documents judges each task by the document
            of its ``model`` (a task for a model none describes gets one violation naming
            the nearest known ids; the rules: docs/catalog.md); a catalogue of one is that
            document.
        parsed: ``payload`` is a JSON value already parsed, whatever its type, so a ``str``
            is a JSON string and not JSON text (as a server that parsed the body itself
            needs). By default ``bytes``, ``bytearray``, ``memoryview`` and ``str`` are JSON
            text and anything else a parsed value.

    Returns:
        Every :class:`Violation`, in body order. An ``authentication`` task may come first;
        ``getResponse`` tasks are checked against the protocol supplement.

    Example:
        >>> check_request([{"taskType": "textInference"}])[0].code
        'missingParameter'
    """
    routes = None
    if spec is None:
        spec = openapi.load()
    elif spec.__class__ is Catalog:
        # .specs, not len() and .first: two Python-level calls fewer on every request.
        catalog: Catalog = spec
        if len(catalog.specs) > 1:
            routes = catalog.memo.get(ROUTES_KEY) or routes_for(catalog)
        spec = catalog.specs[0]
    elif not isinstance(spec, Spec):
        raise TypeError(f"spec={spec!r} must be an openapi.Spec, an openapi.Catalog or None")
    if routes is None:
        engine = spec.memo.get(ENGINE_KEY) or engine_for(spec)
    if payload.__class__ is not list and not parsed and isinstance(payload, RAW_TYPES):
        try:
            payload = parse_json(payload, unique_keys=True)  # as the mock parses
        except JSONProblem as problem:
            return [_unparsable(problem)]
    if routes is not None:
        # Routed once per request, not per task: a list of tasks that all name one loaded
        # model is that document's alone, and the loop below judges it as that document
        # would on its own; a body that is no array is the first document's. Anything else
        # (an empty list, a tuple, a task that is no dict or names no loaded model, two
        # models) is judged task by task. Inline: a method call cost a quarter again.
        judge = None
        if payload.__class__ is list:
            by_model = routes.by_model
            for task in payload:
                model = task.get("model") if task.__class__ is dict else None
                found = by_model.get(model) if model.__class__ is str else None
                if found is None or (judge is not None and found is not judge):
                    judge = None
                    break
                judge = found
        elif not isinstance(payload, list | tuple):
            judge = routes.first
        if judge is None:
            return _check_routed(payload, routes)
        engine = judge
    violations: list[Violation] = []
    if engine.body is not None or payload.__class__ is not list:
        errs: list[RawError] = []
        (engine.body or engine.body_full)(payload, (), errs)
        violations = [_body_violation(raw) for raw in errs]
        if not isinstance(payload, list | tuple):
            return violations
    predicates, items_predicate = engine.task_predicates, engine.items_predicate
    for index, task in enumerate(payload):
        # The hot path: one dict lookup picks the task's predicate; most tasks end there.
        valid = items_predicate
        task_type = None
        if task.__class__ is dict or isinstance(task, dict):
            task_type = task.get("taskType")
            if task_type.__class__ is str:
                valid = predicates.get(task_type, items_predicate)
        if index and task_type == _AUTHENTICATION:
            violations.append(_late_authentication(index, task))
        if valid(task):
            continue
        errs = []
        collect = (
            engine.tasks.get(task_type, engine.items)
            if task_type.__class__ is str
            else engine.items
        )
        collect(task, (index,), errs)
        if errs:
            uuid = task.get("taskUUID") if isinstance(task, dict) else None
            kind = task_type if isinstance(task_type, str) else None
            violations.extend(
                to_violation(
                    raw,
                    root=(index,),
                    task_index=index,
                    task_uuid=uuid if isinstance(uuid, str) else None,
                    task_type=kind,
                )
                for raw in errs
            )
    return violations


def _check_routed(payload: list[Any] | tuple[Any, ...], routes: Routes) -> list[Violation]:
    """``check_request`` for a catalogue of several documents: each task by its model's
    (the rules: ``_routes``). One pass, as the single-document loop; a dict lookup more.
    Only for what ``check_request`` cannot give one document: mixed, unknown or missing
    models, tasks that name none, bodies of no task."""
    by_model, first, modelless = routes.by_model, routes.first, routes.modelless
    violations: list[Violation] = []
    bodies: list[Validate] = [first.body] if first.body is not None and not payload else []
    for index, task in enumerate(payload):
        engine = first
        task_type = None
        if task.__class__ is dict or isinstance(task, dict):
            model = task.get("model")
            found = by_model.get(model) if model.__class__ is str else None
            task_type = task.get("taskType")
            if found is not None:
                engine = found
            elif task_type.__class__ is not str or task_type not in modelless:
                violations.append(model_violation(routes.catalog, task, index))
                continue
        if engine.body is not None and engine.body not in bodies:  # functions: by identity
            bodies.append(engine.body)
        if index and task_type == _AUTHENTICATION:
            violations.append(_late_authentication(index, task))
        if task_type.__class__ is str:
            if engine.task_predicates.get(task_type, engine.items_predicate)(task):
                continue
            collect = engine.tasks.get(task_type, engine.items)
        else:
            if engine.items_predicate(task):
                continue
            collect = engine.items
        violations.extend(_collected(collect, task, index, task_type))
    if not bodies:
        return violations
    limits: list[Violation] = []
    for body in bodies:  # every document's own limits on a batch that uses it, once each
        errs: list[RawError] = []
        body(payload, (), errs)
        limits.extend(_body_violation(raw) for raw in errs)
    return limits + violations


def _collected(collect: Validate, task: Any, index: int, task_type: Any) -> list[Violation]:
    """Every violation of one task the predicate refused."""
    errs: list[RawError] = []
    collect(task, (index,), errs)
    uuid = task.get("taskUUID") if isinstance(task, dict) else None
    kind = task_type if isinstance(task_type, str) else None
    return [
        to_violation(
            raw,
            root=(index,),
            task_index=index,
            task_uuid=uuid if isinstance(uuid, str) else None,
            task_type=kind,
        )
        for raw in errs
    ]


def validate_request(
    payload: Any, *, spec: Spec | Catalog | None = None, parsed: bool = False
) -> None:
    """Raise :class:`ContractViolation` listing every violation unless ``payload`` is valid
    (the arguments are :func:`check_request`'s).

    Example:
        >>> validate_request([])  # an empty array is valid by the document
    """
    violations = check_request(payload, spec=spec, parsed=parsed)
    if violations:
        raise ContractViolation(violations)


def _unparsable(problem: JSONProblem) -> Violation:
    return Violation(
        pointer="",
        parameter="",
        keyword="json",
        code="invalidRequestBody",
        message=problem.reason,
    )


def _body_violation(raw: RawError) -> Violation:
    violation = to_violation(raw)
    if raw[0] == "type":
        message = (
            f"{violation.message} Runware takes a JSON array of task objects: wrap the task in [ ]."
        )
        return Violation(
            pointer=violation.pointer,
            parameter="",
            keyword="type",
            code="invalidRequestBody",
            message=message,
            value=violation.value,
        )
    return violation


def _late_authentication(index: int, task: Any) -> Violation:
    return Violation(
        pointer=f"/{index}/taskType",
        parameter="taskType",
        keyword="taskOrder",
        code="invalidParameter",
        task_index=index,
        task_type=_AUTHENTICATION,
        value=_AUTHENTICATION,
        message=(
            f"An authentication task may only come first in the array; this one is at "
            f"index {index}. Move it to the front, or send the key as an "
            "'Authorization: Bearer' header instead."
        ),
    )
