"""The local, offline mock Runware server: app factory, delivery modes, journal, config.

>>> from mockserver import create_app
>>> app = create_app()              # the bundled document, default config
>>> app.state.mock.spec.model_id
'alibaba:qwen@3.5-397b'
"""

from ._app import create_app
from ._cli import main
from ._config import ConfigError, MockConfig, ReplyRule, load_config
from ._server import MockServer

__all__ = ["ConfigError", "MockConfig", "MockServer", "ReplyRule", "create_app", "load_config",
           "main"]
