"""Access to another account's table: its resource-based policy decides.

AWS lets a caller use a table of another account (named by its ARN) only when that table's
resource-based policy allows the caller's account the action, and answers AccessDeniedException
otherwise (IAM's cross-account evaluation; DynamoDB Developer Guide, "Cross-account access with
resource-based policies"). tidestream has no IAM users: every key in the credentials file acts
for its account (docs/security.md), so a principal is matched by account only, and the caller is
named as that account's root in the message.

The evaluation is deliberately small: ``Effect``, ``Principal`` (``*``, an account id or any
ARN of the account), ``Action`` and ``Resource`` with ``*``/``?`` wildcards. A statement with a
``Condition``, ``NotAction``, ``NotPrincipal`` or ``NotResource`` is not understood and never
allows (an explicit ``Deny`` with one still denies), so nothing is allowed by mistake.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import orjson

from ..errors import AccessDeniedException
from .tables import Table

#: the IAM action each operation needs when it differs from the operation's name (the Service
#: Authorization Reference: a transaction's reads and writes are GetItem/PutItem/... actions)
_ACTIONS = {"TransactGetItems": "GetItem", "TransactWriteItems": "PutItem"}
_UNDERSTOOD = frozenset(("Sid", "Effect", "Principal", "Action", "Resource"))


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _principal_matches(principal: Any, account: str) -> bool:
    """``*``, the account id, or any ARN of the account (``arn:aws:iam::<account>:root``, ...)."""
    if principal == "*":
        return True
    names = _listed(principal.get("AWS")) if isinstance(principal, dict) else []
    return any(n == "*" or n == account or n.split(":")[4:5] == [account] for n in names)


def _statement_matches(statement: dict, account: str, action: str, resource: str) -> bool:
    if not _principal_matches(statement.get("Principal"), account):
        return False
    wanted = action.lower()
    if not any(fnmatchcase(wanted, a.lower()) for a in _listed(statement.get("Action"))):
        return False
    return any(fnmatchcase(resource, r) for r in _listed(statement.get("Resource")))


def _decision(policy: str, account: str, action: str, resource: str) -> str | None:
    """``"Allow"``, ``"Deny"`` (an explicit deny wins) or None when no statement applies."""
    try:
        doc = orjson.loads(policy)
    except orjson.JSONDecodeError:
        return None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    decision = None
    for st in statements if isinstance(statements, list) else []:
        if not isinstance(st, dict) or not _statement_matches(st, account, action, resource):
            continue
        if st.get("Effect") == "Deny":
            return "Deny"
        if st.get("Effect") == "Allow" and _UNDERSTOOD.issuperset(st):
            decision = "Allow"
    return decision


def authorize_cross_account(account: str, operation: str, arn: str, table: Table | None) -> None:
    """Raise AWS's AccessDeniedException unless *table*'s policy lets *account* do *operation*
    on it. A missing table has no policy, so it is denied too: its absence is not disclosed."""
    action = "dynamodb:" + _ACTIONS.get(operation, operation)
    policy = table.policies.get(table.arn) if table is not None else None
    decision = _decision(policy["Policy"], account, action, arn) if policy is not None else None
    if decision == "Allow":
        return
    why = (
        "with an explicit deny in a resource-based policy"
        if decision == "Deny"
        else (f"because no resource-based policy allows the {action} action")
    )
    raise AccessDeniedException(
        f"User: arn:aws:iam::{account}:root is not authorized to perform: {action} on resource: {arn} {why}"
    )
