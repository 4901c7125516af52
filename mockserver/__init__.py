"""The local, offline mock Runware server: app factory, delivery modes, journal, config.

>>> from mockserver import create_app
>>> app = create_app()              # the bundled document, default config
>>> app.state.mock.spec.model_id
'alibaba:qwen@3.5-397b'
"""

from ._app import create_app
from ._cli import main
from ._config import ConfigError, MockConfig, ReplyRule, load_config
from ._faults import FaultError
from ._mock import MockServer
from ._proxy import create_proxy_app
from ._replay import install_replay
from ._store import StoreUnavailable

__all__ = [
    "ConfigError",
    "FaultError",
    "MockConfig",
    "MockServer",
    "ReplyRule",
    "StoreUnavailable",
    "create_app",
    "create_proxy_app",
    "install_replay",
    "load_config",
    "main",
]
