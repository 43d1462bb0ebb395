"""The lease table: KCL's DynamoDB table of leases, and every conditional write on it.

Every mutation of an existing lease is fenced by ``leaseCounter`` (and by ``leaseOwner`` where
an owner is expected), so a worker acting on a stale view of a lease fails instead of
overwriting another worker's progress: a failed condition means the lease was lost.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from .lease import (
    CHECKPOINT,
    CHECKPOINT_OWNER,
    CHECKPOINT_SUB,
    CHILD_SHARD_IDS,
    LEASE_COUNTER,
    LEASE_KEY,
    LEASE_OWNER,
    OWNER_SWITCHES,
    PENDING_CHECKPOINT,
    PENDING_CHECKPOINT_STATE,
    PENDING_CHECKPOINT_SUB,
    ExtendedSequenceNumber,
    Lease,
    lease_from_item,
    new_lease_item,
)


class LeaseTableError(Exception):
    """The lease table is missing or unusable (KCL: InvalidStateException)."""


def is_conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class LeaseTable:
    """CRUD of KCL leases through a boto3 DynamoDB client (thread-safe: boto3 clients are)."""

    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name

    # --- table -----------------------------------------------------------------------------

    def create_if_missing(self, wait_seconds: float = 60.0) -> bool:
        """Create the table (PAY_PER_REQUEST, hash key leaseKey S) unless it exists; wait for ACTIVE.

        Returns True when this call created it. Several workers starting at once is fine: the
        losers of the CreateTable race see ResourceInUseException and wait like everyone else.
        """
        created = False
        if self._status() is None:
            try:
                self.dynamodb.create_table(
                    TableName=self.table_name,
                    BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": LEASE_KEY, "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": LEASE_KEY, "AttributeType": "S"}],
                )
                created = True
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceInUseException":
                    raise
        deadline = time.monotonic() + wait_seconds
        while self._status() != "ACTIVE":
            if time.monotonic() > deadline:
                raise LeaseTableError(f"lease table {self.table_name} did not become ACTIVE")
            time.sleep(0.2)
        return created

    def _status(self) -> str | None:
        try:
            return self.dynamodb.describe_table(TableName=self.table_name)["Table"]["TableStatus"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise

    # --- reads -----------------------------------------------------------------------------

    def list_leases(self) -> list[Lease]:
        """Every lease (a consistent, paginated Scan)."""
        leases: list[Lease] = []
        params: dict[str, Any] = {"TableName": self.table_name, "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**params)
            leases.extend(lease_from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return leases
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_lease(self, lease_key: str) -> Lease | None:
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key=self._key(lease_key), ConsistentRead=True
        ).get("Item")
        return lease_from_item(item) if item else None

    # --- writes ----------------------------------------------------------------------------

    def create_lease_if_absent(self, lease: Lease) -> bool:
        """PutItem only when no lease has that key (shard sync of several workers may race)."""
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item=new_lease_item(lease),
                ConditionExpression="attribute_not_exists(#key)",
                ExpressionAttributeNames={"#key": LEASE_KEY},
            )
            return True
        except ClientError as error:
            if is_conditional_failure(error):
                return False
            raise

    def take(self, lease: Lease, owner: str) -> int | None:
        """Become the owner of *lease* as last seen; the new counter, or None when it changed since."""
        names = {"#owner": LEASE_OWNER, "#counter": LEASE_COUNTER, "#handoff": CHECKPOINT_OWNER}
        values: dict[str, Any] = {
            ":owner": {"S": owner},
            ":old": self._n(lease.lease_counter),
            ":new": self._n(lease.lease_counter + 1),
        }
        update = "SET #owner = :owner, #counter = :new REMOVE #handoff"
        if lease.lease_owner is not None and lease.lease_owner != owner:
            update = "SET #owner = :owner, #counter = :new ADD #switches :one REMOVE #handoff"
            names["#switches"] = OWNER_SWITCHES
            values[":one"] = self._n(1)
        ok = self._update(lease.lease_key, update, "#counter = :old", names, values)
        return lease.lease_counter + 1 if ok else None

    def renew(self, lease_key: str, owner: str, counter: int) -> bool:
        """Bump the counter of a lease we hold: the heartbeat other workers watch."""
        names = {"#owner": LEASE_OWNER, "#counter": LEASE_COUNTER, "#handoff": CHECKPOINT_OWNER}
        values = {":owner": {"S": owner}, ":old": self._n(counter), ":new": self._n(counter + 1)}
        condition = "#counter = :old AND #owner = :owner AND attribute_not_exists(#handoff)"
        if self._update(lease_key, "SET #counter = :new", condition, names, values):
            return True
        return self._already_applied(lease_key, owner, counter + 1)

    def checkpoint(
        self,
        lease_key: str,
        owner: str,
        counter: int,
        position: ExtendedSequenceNumber,
        child_shard_ids: frozenset[str] = frozenset(),
    ) -> bool:
        """Record *position* (and the children at SHARD_END); fenced by counter and owner."""
        names = {
            "#owner": LEASE_OWNER,
            "#counter": LEASE_COUNTER,
            "#checkpoint": CHECKPOINT,
            "#sub": CHECKPOINT_SUB,
            "#switches": OWNER_SWITCHES,
            "#pending": PENDING_CHECKPOINT,
            "#pendingsub": PENDING_CHECKPOINT_SUB,
            "#pendingstate": PENDING_CHECKPOINT_STATE,
        }
        values: dict[str, Any] = {
            ":owner": {"S": owner},
            ":old": self._n(counter),
            ":new": self._n(counter + 1),
            ":checkpoint": {"S": position.sequence_number},
            ":sub": self._n(position.sub_sequence_number),
            ":zero": self._n(0),
        }
        sets = "#counter = :new, #checkpoint = :checkpoint, #sub = :sub, #switches = :zero"
        if child_shard_ids:
            names["#children"] = CHILD_SHARD_IDS
            values[":children"] = {"SS": sorted(child_shard_ids)}
            sets += ", #children = :children"
        update = f"SET {sets} REMOVE #pending, #pendingsub, #pendingstate"
        if self._update(lease_key, update, "#counter = :old AND #owner = :owner", names, values):
            return True
        return self._already_applied(lease_key, owner, counter + 1, position)

    def release(self, lease_key: str, owner: str, counter: int) -> bool:
        """Give the lease up (leaseOwner removed, counter bumped) so another worker takes it at once."""
        names = {"#owner": LEASE_OWNER, "#counter": LEASE_COUNTER}
        values = {":owner": {"S": owner}, ":old": self._n(counter), ":new": self._n(counter + 1)}
        return self._update(
            lease_key,
            "SET #counter = :new REMOVE #owner",
            "#counter = :old AND #owner = :owner",
            names,
            values,
        )

    # --- helpers ---------------------------------------------------------------------------

    def _update(self, lease_key: str, update: str, condition: str, names: dict, values: dict) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(lease_key),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as error:
            if is_conditional_failure(error):
                return False
            raise

    def _already_applied(
        self, lease_key: str, owner: str, counter: int, position: ExtendedSequenceNumber | None = None
    ) -> bool:
        """A retried write whose first attempt succeeded fails its own condition: tell it apart."""
        lease = self.get_lease(lease_key)
        if lease is None or lease.lease_owner != owner or lease.lease_counter != counter:
            return False
        return position is None or lease.checkpoint == position

    @staticmethod
    def _key(lease_key: str) -> dict:
        return {LEASE_KEY: {"S": lease_key}}

    @staticmethod
    def _n(number: int) -> dict:
        return {"N": str(number)}
