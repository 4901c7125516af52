"""The Runware OpenAPI document, loaded: the single source of truth of the kit.

>>> import openapi
>>> spec = openapi.load()          # the bundled Qwen3.5-397B document
>>> spec.parameter("settings.temperature").maximum
2
"""

from ._errors import KitError, SpecError
from ._load import BUNDLED_DOCUMENT, load, protocol_schema
from ._spec import Parameter, SecurityScheme, Spec

__all__ = [
    "BUNDLED_DOCUMENT",
    "KitError",
    "Parameter",
    "SecurityScheme",
    "Spec",
    "SpecError",
    "load",
    "protocol_schema",
]
