"""The character rule AWS applies to tag keys and values, shared by the services that tag."""

from __future__ import annotations

import unicodedata


def is_valid_tag_text(text: str, punctuation: str) -> bool:
    """True when *text* holds only Unicode letters, digits and space separators (categories
    L*, N*, Z*: not tabs or newlines) plus the service's own *punctuation*: each service
    allows a slightly different set (Kinesis ``_ . / = + - % @``, DynamoDB ``_ . : / = + - @``)."""
    return all(c in punctuation or unicodedata.category(c)[0] in "LNZ" for c in text)
