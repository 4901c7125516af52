"""The kit's exception tree.

Every error the kit raises on purpose derives from one root, so callers can catch
``KitError`` and know they have all of ours and none of our dependencies' errors::

    KitError                      (openapi)    root of everything the kit raises
    ├── SpecError                 (openapi)    the OpenAPI document cannot drive the kit
    ├── ContractViolation         (contracts)  a payload breaks the contract
    ├── JSONProblem               (contracts)  a body is not strict JSON (also a ValueError)
    ├── ConfigError               (mockserver) the mock's configuration is unusable
    ├── FaultError                (mockserver) a fault's fields are wrong (also a ValueError)
    └── StoreUnavailable          (mockserver) the shared store cannot be reached

tests/test_public_api.py pins this drawing: each name is exported by its package and
derives from KitError, and every exception a package exports is drawn here.

Each subclass carries structured fields (a JSON pointer, a ``kind``) beside a message
that names the value, where it was and how to fix it.
"""

from __future__ import annotations

__all__ = ["KitError", "SpecError"]


class KitError(Exception):
    """Root of every error raised by runware-contract-kit."""


class SpecError(KitError):
    """The OpenAPI document is unusable.

    Attributes:
        kind: a short machine-readable category (``"json"``, ``"openapi-version"``,
            ``"no-post-operation"``, ``"unresolvable-ref"``, ``"invalid-schema"``,
            ``"shape"``, ``"io"``; for a catalogue ``"duplicate-model"`` and ``"empty"``).
        pointer: JSON pointer into the document where the problem is (``""`` for the
            whole document).
        source: where the document came from (a path, ``"<dict>"`` or ``"<bundled>"``).
    """

    def __init__(self, message: str, *, kind: str, pointer: str = "", source: str = "") -> None:
        self.kind = kind
        self.pointer = pointer
        self.source = source
        where = f" at {pointer!r}" if pointer else ""
        origin = f" in {source}" if source else ""
        super().__init__(f"{message} ({kind}{where}{origin})")
