"""Generated model documents: variants of the two real ones, for catalogue tests.

Nothing in the kit may be model-specific, so the catalogue is tested with documents that
differ from the two in ``tests/data`` the way Runware's documents differ from each other:
another model id, other limits, other enums and defaults, settings added.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import openapi
from tests.conftest import SECOND_DOCUMENT

BUNDLED_PATH = Path(openapi.__file__).parent / "data" / openapi.BUNDLED_DOCUMENT


def document(which: str = "bundled") -> dict[str, Any]:
    """A fresh copy of one of the two real documents (``"bundled"`` or ``"second"``)."""
    path = BUNDLED_PATH if which == "bundled" else SECOND_DOCUMENT
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def task_schema(doc: dict[str, Any]) -> dict[str, Any]:
    """The task (item) schema of a document, to change in place."""
    items: dict[str, Any] = doc["components"]["schemas"]["RequestBody"]["items"]
    return items


def variant(
    model_id: str,
    *,
    base: str = "bundled",
    temperature_max: float | None = None,
    delivery_methods: list[str] | None = None,
    delivery_default: str | None = None,
    extra_setting: str | None = None,
    max_tasks: int | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """A document for ``model_id``: one of the two real ones with some limits changed.

    Args:
        temperature_max: ``settings.temperature.maximum``.
        delivery_methods: the ``deliveryMethod`` enum (its oneOf/enum replaced).
        delivery_default: the documented default ``deliveryMethod``.
        extra_setting: an integer setting (0 to 10) the base document does not have.
        max_tasks: ``maxItems`` on the body (a batch limit).
    """
    doc = copy.deepcopy(document(base))
    items = task_schema(doc)
    items["properties"]["model"]["const"] = model_id
    doc["info"]["x-air-id"] = model_id
    doc["info"]["title"] = title or f"Runware API - {model_id}"
    settings = items["properties"]["settings"]["properties"]
    if temperature_max is not None:
        settings["temperature"]["maximum"] = temperature_max
        settings["temperature"]["default"] = min(
            settings["temperature"].get("default", 0), temperature_max
        )
    delivery = items["properties"]["deliveryMethod"]
    if delivery_methods is not None:
        delivery.pop("oneOf", None)
        delivery["enum"] = delivery_methods
        if delivery.get("default") not in delivery_methods:
            delivery["default"] = delivery_methods[0]
    if delivery_default is not None:
        delivery["default"] = delivery_default
    if extra_setting is not None:
        settings[extra_setting] = {
            "title": extra_setting,
            "type": "integer",
            "minimum": 0,
            "maximum": 10,
        }
    if max_tasks is not None:
        doc["components"]["schemas"]["RequestBody"]["maxItems"] = max_tasks
    return doc


def write(folder: Path, name: str, doc: dict[str, Any]) -> Path:
    """Write ``doc`` as ``folder/name`` (the folder made if need be); returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
