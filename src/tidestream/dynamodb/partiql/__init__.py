"""PartiQL for DynamoDB: tokenizer, recursive-descent parser and an executor that translates
statements to the item store's reads and ``ItemStore.commit`` writes.

``parse(text, parameters) -> Statement`` (Select / Insert / Update / Delete / Exists);
:mod:`.execute` plans and runs them; ``operations/partiql.py`` serves ExecuteStatement,
BatchExecuteStatement and ExecuteTransaction on top.
"""

from .parser import Delete, Exists, Insert, Select, Statement, Update, is_read, parse

__all__ = ["parse", "is_read", "Statement", "Select", "Insert", "Update", "Delete", "Exists"]
