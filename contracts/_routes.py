"""Which document judges a task of a catalogue: the one of its ``model``.

The rules (docs/catalog.md):

- a task whose ``model`` a document fixes is judged by that document, whole;
- a task that names no model by nature (``authentication``, ``getResponse``, ``ping``, or
  not an object at all) is judged by the catalogue's first document, as it would be alone;
- any other task — its ``model`` missing, not a string, or no loaded document's — gets one
  violation about ``model``, naming the nearest known ids: which document's other rules
  would apply is exactly what is not known;
- the body's own keywords (``maxItems``, say) are each document's for a batch that holds a
  task of that document: every such document's limits hold, identical ones count once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openapi import Catalog

from ._engine import Engine, engine_for
from ._messages import json_type, show
from ._violation import Violation

__all__ = ["ROUTES_KEY", "Routes", "model_violation", "routes_for"]

ROUTES_KEY = "contracts.routes"  # where routes_for keeps a catalogue's table (its memo)
_LISTED = 5  # model ids a message lists before "and N more"
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Routes:
    """A catalogue's documents, compiled, by model id (one dict lookup per task)."""

    catalog: Catalog
    by_model: Mapping[str, Engine]
    first: Engine
    # Task types that carry no model: judged by the first document.
    modelless: frozenset[str]


def routes_for(catalog: Catalog) -> Routes:
    """The routing table of ``catalog``, compiled on first use and kept on it."""
    routes: Routes | None = catalog.memo.get(ROUTES_KEY)
    if routes is None:
        with _lock:
            routes = catalog.memo.get(ROUTES_KEY)
            if routes is None:
                engines = {spec: engine_for(spec) for spec in catalog}
                inference = {t for spec in catalog for t in spec.inference_task_types}
                routes = catalog.memo[ROUTES_KEY] = Routes(
                    catalog=catalog,
                    by_model={model: engines[spec] for spec in catalog for model in spec.model_ids},
                    first=engines[catalog.first],
                    modelless=frozenset(
                        t for spec in catalog for t in spec.task_schemas if t not in inference
                    ),
                )
    return routes


def model_violation(catalog: Catalog, task: Mapping[str, Any], index: int) -> Violation:
    """The one violation of a task no loaded document describes.

    Its code is ``invalidParameter`` (``missingParameter`` when there is no model), not
    ``unknownModel``: Runware's SDKs use that one for an error of their own, never sent by
    the server (protocol reference, section 8), and read any code starting with
    ``invalid`` as a validation error, which this is."""
    uuid = task.get("taskUUID")
    task_type = task.get("taskType")
    fields: dict[str, Any] = {
        "pointer": f"/{index}/model",
        "parameter": "model",
        "task_index": index,
        "task_uuid": uuid if isinstance(uuid, str) else None,
        "task_type": task_type if isinstance(task_type, str) else None,
    }
    known = _listing(catalog.model_ids)
    if "model" not in task:
        return Violation(
            keyword="required",
            code="missingParameter",
            **fields,
            message=f"Missing required parameter model. It must name one of the "
            f"loaded models: {known}.",
        )
    model = task["model"]
    if not isinstance(model, str):
        return Violation(
            keyword="type",
            code="invalidParameter",
            value=model,
            **fields,
            message=f"model must be a string naming one of the loaded models "
            f"({known}), not {json_type(model)} ({show(model)}).",
        )

    def render() -> str:
        near = catalog.nearest(model)
        hint = f" Did you mean {' or '.join(show(n) for n in near)}?" if near else ""
        return (
            f"model is {show(model)}, which no loaded document describes.{hint} Loaded: "
            f"{known}. To test another model, load its OpenAPI document too (runware-kit "
            f"serve --spec PATH, once per document or a directory; openapi.load_catalog)."
        )

    return Violation(keyword="enum", code="invalidParameter", value=model, render=render, **fields)


def _listing(model_ids: tuple[str, ...]) -> str:
    shown = ", ".join(show(m) for m in model_ids[:_LISTED])
    rest = len(model_ids) - _LISTED
    return f"{shown} and {rest} more" if rest > 0 else shown
