"""Typed shapes of the served services, generated from botocore's models (one module per service).

Written by ``python -m tidestream.protocol.gen_shapes``; ``tests/unit/test_shapes.py`` fails when
they no longer match the installed botocore. Handlers import them under ``TYPE_CHECKING`` only:
TypedDicts are plain dicts at run time, so the request path neither imports nor checks them.
"""
