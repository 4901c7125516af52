"""Hand a schema node to ``jsonschema`` when it uses annotation-dependent keywords.

Only ``unevaluatedProperties``, ``unevaluatedItems`` and ``$dynamicRef`` come here (see
``_compile``). The kit's own format checkers are plugged in, so ``format`` is still judged
to the RFCs.
"""

from __future__ import annotations

from typing import Any

import referencing
from jsonschema import Draft202012Validator, FormatChecker

from ._compile import RawError, Validate
from ._formats import FORMATS

__all__ = ["jsonschema_fallback"]

_CHECKER = FormatChecker(formats=())
for _name, _check in FORMATS.items():
    _CHECKER.checks(_name)(_check)


def jsonschema_fallback(schema: Any, resolver: referencing.Resolver[Any]) -> Validate:
    """A validator for ``schema`` backed by ``jsonschema``, yielding the kit's raw errors."""
    # jsonschema takes the resolver (base URI and registry) only through a private field;
    # without it, relative $refs would resolve against this node instead of its document.
    validator = Draft202012Validator(schema, format_checker=_CHECKER,
                                     _resolver=resolver)  # type: ignore[call-arg]

    def validate(instance: Any, path: tuple[Any, ...], errs: list[RawError]) -> None:
        for error in validator.iter_errors(instance):
            keyword = str(error.validator)
            errs.append((keyword, (*path, *error.absolute_path), error.instance, error.schema,
                         error.message))

    return validate
