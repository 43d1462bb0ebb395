"""Test helpers: an embeddable server (:class:`Server`), ``mock`` for unittest, and the pytest
plugin (:mod:`.pytest_plugin`, registered as the ``tidestream`` pytest11 entry point)."""

from .embedded import Server
from .mock import mock

__all__ = ["Server", "mock"]
