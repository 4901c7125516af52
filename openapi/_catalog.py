"""``Catalog``: every loaded document, one per model, as the one ``POST /v1`` serves them.

Runware publishes one OpenAPI document per model, all for the same endpoint; a task's
``model`` says which document judges it. A ``Catalog`` holds those documents, frozen, with a
dictionary from model id to document. A single ``Spec`` is a catalogue of one
(``Catalog.of(spec)``), so everything that takes a catalogue takes a ``Spec`` too.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._errors import SpecError
from ._load import load
from ._spec import Spec

__all__ = ["Catalog", "load_catalog"]

_OF_KEY = "openapi.catalog-of"


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Catalog:
    """Several loaded documents, at most one per model id. Immutable; compare by identity.

    Build one with :func:`load_catalog` (or ``Catalog.of(spec)`` for one document). The
    first document judges what no model picks: the body as a whole, and tasks that name no
    model (``getResponse``, ``ping``, ``authentication``).

    Raises:
        SpecError: no document (``kind="empty"``), or two documents fix the same model id
            (``kind="duplicate-model"``; the message names both sources).

    Example:
        >>> import openapi
        >>> catalog = openapi.Catalog.of(openapi.load())
        >>> catalog.for_model("alibaba:qwen@3.5-397b").title
        'Runware API - Qwen3.5-397B'
    """

    specs: tuple[Spec, ...]
    _by_model: Mapping[str, Spec] = field(init=False, repr=False)
    # The plain dict's own get under the read-only view: for_model runs once a task in the
    # mock, and a MappingProxyType's get costs a method lookup more.
    _get: Callable[[str], Spec | None] = field(init=False, repr=False)
    # Derived data other layers memoize per catalogue (routing tables, strategies).
    memo: dict[Any, Any] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        specs = tuple(self.specs)
        if not specs:
            raise SpecError(
                "a catalogue needs at least one document; pass a path, a "
                "directory of *.openapi.json files, or a Spec",
                kind="empty",
            )
        by_model: dict[str, Spec] = {}
        for spec in specs:
            if not isinstance(spec, Spec):
                raise TypeError(f"a catalogue holds openapi.Spec objects, not {spec!r}")
            for model_id in spec.model_ids:
                other = by_model.get(model_id)
                if other is not None and other is not spec:
                    raise SpecError(
                        f"model {model_id!r} is described by two documents, {other.source} "
                        f"and {spec.source}; load one document per model",
                        kind="duplicate-model",
                        source=spec.source,
                    )
                by_model[model_id] = spec
        object.__setattr__(self, "specs", specs)
        object.__setattr__(self, "_by_model", MappingProxyType(by_model))
        object.__setattr__(self, "_get", by_model.get)

    @classmethod
    def of(cls, source: Spec | Catalog) -> Catalog:
        """``source`` as a catalogue: a catalogue itself, or a ``Spec``'s catalogue of one
        (built once per ``Spec``, so the same object every time)."""
        if isinstance(source, Catalog):
            return source
        if not isinstance(source, Spec):
            raise TypeError(f"expected an openapi.Spec or openapi.Catalog, not {source!r}")
        found: Catalog | None = source.memo.get(_OF_KEY)
        if found is None:
            found = source.memo[_OF_KEY] = cls((source,))
        return found

    @property
    def first(self) -> Spec:
        """The first document: the bundled one, or the first one given."""
        return self.specs[0]

    @property
    def model_ids(self) -> tuple[str, ...]:
        """Every model id the documents fix, in the order the documents were given."""
        return tuple(self._by_model)

    def for_model(self, model_id: Any) -> Spec | None:
        """The document that describes ``model_id``, or ``None`` (also for a non-string)."""
        return self._get(model_id) if model_id.__class__ is str else None

    def nearest(self, model_id: str, *, n: int = 3) -> tuple[str, ...]:
        """Up to ``n`` known model ids that look like ``model_id``, closest first.

        An AIR id reads ``provider:model@version``: ids of the same ``provider:model``
        come first, then the rest by how alike the text is (``difflib``).

        Example:
            >>> import openapi
            >>> openapi.Catalog.of(openapi.load()).nearest("alibaba:qwen@3.5")
            ('alibaba:qwen@3.5-397b',)
        """
        wanted = str(model_id).lower()
        stem = wanted.partition("@")[0]
        scored = []
        for known in self._by_model:
            text = known.lower()
            ratio = difflib.SequenceMatcher(None, wanted, text).ratio()
            same_model = stem and text.partition("@")[0] == stem
            if same_model or ratio >= 0.6:
                scored.append((not same_model, -ratio, known))
        return tuple(known for *_, known in sorted(scored)[:n])

    def __iter__(self) -> Iterator[Spec]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def __repr__(self) -> str:
        return f"Catalog(model_ids={self.model_ids!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


Source = str | os.PathLike[str] | Spec | Catalog


def load_catalog(*sources: Source) -> Catalog:
    """Load several documents into one :class:`Catalog`.

    Args:
        *sources: paths to documents; directories (their ``*.openapi.json`` files, or every
            ``*.json`` file when none is named so, in name order); loaded ``Spec`` objects;
            or catalogues, whose documents are taken in order. None at all: the bundled
            document. A file given twice (also through a directory) is loaded once.

    Returns:
        A frozen catalogue, documents in the order given.

    Raises:
        SpecError: a document cannot be loaded (see :func:`openapi.load`), a directory holds
            no ``*.json`` file (``kind="io"``), or two documents fix the same model id
            (``kind="duplicate-model"``).

    Example:
        >>> import openapi
        >>> openapi.load_catalog().model_ids
        ('alibaba:qwen@3.5-397b',)
    """
    if not sources:
        return Catalog.of(load())
    specs: list[Spec] = []
    paths: set[str] = set()

    def add_file(path: str) -> None:
        real = os.path.realpath(path)
        if real not in paths:
            paths.add(real)
            specs.append(load(path))

    for source in sources:
        if isinstance(source, Catalog):
            specs.extend(s for s in source if all(s is not t for t in specs))
        elif isinstance(source, Spec):
            if all(source is not t for t in specs):
                specs.append(source)
        elif isinstance(source, str | os.PathLike):
            path = os.fspath(source)
            if os.path.isdir(path):
                for name in _documents_in(path):
                    add_file(os.path.join(path, name))
            else:
                add_file(path)
        else:
            raise TypeError(
                f"load_catalog() takes paths, directories, Specs or Catalogs, not {source!r}"
            )
    return Catalog(tuple(specs))


def _documents_in(folder: str) -> list[str]:
    try:
        names = sorted(
            n
            for n in os.listdir(folder)
            if n.endswith(".json") and os.path.isfile(os.path.join(folder, n))
        )
    except OSError as exc:
        raise SpecError(
            f"cannot list the directory: {exc.strerror}", kind="io", source=folder
        ) from exc
    named = [n for n in names if n.endswith(".openapi.json")]
    if not (named or names):
        raise SpecError(
            "the directory holds no *.json document; put Runware OpenAPI documents "
            "(*.openapi.json) in it, or pass the files themselves",
            kind="io",
            source=folder,
        )
    return named or names
