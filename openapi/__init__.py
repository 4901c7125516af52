"""The Runware OpenAPI document, loaded: the single source of truth of the kit.

>>> import openapi
>>> spec = openapi.load()          # the bundled Qwen3.5-397B document
>>> spec.parameter("settings.temperature").maximum
2
>>> openapi.load_catalog().model_ids   # several documents, one per model (docs/catalog.md)
('alibaba:qwen@3.5-397b',)
"""

from ._catalog import Catalog, load_catalog
from ._errors import KitError, SpecError
from ._freeze import thaw
from ._load import BUNDLED_DOCUMENT, load, protocol_schema
from ._spec import Parameter, SecurityScheme, Spec

__all__ = [
    "BUNDLED_DOCUMENT",
    "Catalog",
    "KitError",
    "Parameter",
    "SecurityScheme",
    "Spec",
    "SpecError",
    "load",
    "load_catalog",
    "protocol_schema",
    "thaw",
]
