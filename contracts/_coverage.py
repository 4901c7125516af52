"""What a test run sent to mocks, over all and per model: the ``--runware-coverage`` table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import openapi

__all__ = ["Coverage", "ModelCoverage"]


@dataclass
class ModelCoverage:
    """The tasks one model got: how they were delivered, which settings they sent."""

    tasks: int = 0
    delivery_methods: Counter[str] = field(default_factory=Counter)
    settings: Counter[str] = field(default_factory=Counter)
    # The settings the model's document has (None: no loaded document describes the model).
    documented: tuple[str, ...] | None = None


@dataclass
class Coverage:
    """What the test run sent to mocks, for ``--runware-coverage``."""

    task_types: Counter[str] = field(default_factory=Counter)
    delivery_methods: Counter[str] = field(default_factory=Counter)
    settings: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    models: dict[str, ModelCoverage] = field(default_factory=dict)

    def add(self, entries: Sequence[Mapping[str, Any]], *, catalog: Any = None) -> None:
        """Count journal entries; ``catalog`` (the mock's) says which settings each model's
        document has."""
        modelless = (catalog.first if catalog is not None else openapi.load()).utility_task_types
        for entry in entries:
            self.statuses[int(entry.get("status", 0))] += 1
            request = entry.get("request")
            for task in request if isinstance(request, list) else ():
                if not isinstance(task, dict):
                    continue
                self.task_types[str(task.get("taskType"))] += 1
                if task.get("taskType") in modelless:
                    continue
                delivery = str(task.get("deliveryMethod", "(default)"))
                names = (
                    [str(name) for name in task.get("settings") or {}]
                    if isinstance(task.get("settings"), dict)
                    else []
                )
                self.delivery_methods[delivery] += 1
                self.settings.update(names)
                model = self._model(task.get("model"), catalog)
                model.tasks += 1
                model.delivery_methods[delivery] += 1
                model.settings.update(names)

    def _model(self, model_id: Any, catalog: Any) -> ModelCoverage:
        name = model_id if isinstance(model_id, str) else "(no model)"
        found = self.models.get(name)
        if found is None:
            found = self.models[name] = ModelCoverage()
        spec = catalog.for_model(model_id) if catalog is not None else None
        if spec is not None and found.documented is None:
            found.documented = tuple(p.name for p in spec.settings)
        return found

    def lines(self) -> list[str]:
        """The table: the run as a whole, then each model."""
        lines = [
            _row(title, counter)
            for title, counter in (
                ("task types", self.task_types),
                ("delivery methods", self.delivery_methods),
                ("settings", self.settings),
                ("status codes", self.statuses),
            )
        ]
        if not any((self.task_types, self.statuses)):
            lines.append("no request reached a runware_mock in this run")
        for name in sorted(self.models):
            model = self.models[name]
            plural = "s" if model.tasks != 1 else ""
            known = (
                ""
                if model.documented is not None or name == "(no model)"
                else "; no loaded document describes it"
            )
            lines.append(f"-- model {name} ({model.tasks} task{plural}{known})")
            lines.append(_row("delivery methods", model.delivery_methods))
            lines.append(_row("settings", model.settings))
            if model.documented is not None:
                unsent = [s for s in model.documented if s not in model.settings]
                lines.append(f"{'settings not sent':<18}| {', '.join(unsent) or '(none)'}")
        return lines


def _row(title: str, counter: Counter[Any]) -> str:
    row = ", ".join(
        f"{name} x{n}" for name, n in sorted(counter.items(), key=lambda kv: str(kv[0]))
    )
    return f"{title:<18}| {row or '(none)'}"
