"""ExecuteStatement, BatchExecuteStatement, ExecuteTransaction (PartiQL).

The PartiQL implementation (:mod:`tidestream.dynamodb.partiql`) is imported on first use: most
servers never see a PartiQL statement, and its parser and planner cost memory at idle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...context import RequestContext
from ..state import DynamoState
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import (
        BatchExecuteStatementInput,
        ExecuteStatementInput,
        ExecuteTransactionInput,
    )


@operation("ExecuteStatement")
def execute_statement(state: DynamoState, ctx: RequestContext, p: ExecuteStatementInput) -> dict:
    from ..partiql.service import execute_statement as run

    return run(state, ctx, p)


@operation("BatchExecuteStatement")
def batch_execute_statement(state: DynamoState, ctx: RequestContext, p: BatchExecuteStatementInput) -> dict:
    from ..partiql.service import batch_execute_statement as run

    return run(state, ctx, p)


@operation("ExecuteTransaction")
def execute_transaction(state: DynamoState, ctx: RequestContext, p: ExecuteTransactionInput) -> dict:
    from ..partiql.service import execute_transaction as run

    return run(state, ctx, p)
