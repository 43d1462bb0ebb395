"""The checkpointer handed to a record processor (KCL RecordProcessorCheckpointer)."""

from __future__ import annotations

from .held import HeldLease
from .lease import SHARD_END, ExtendedSequenceNumber
from .lease_table import LeaseTable


class ShutdownException(Exception):
    """The lease is no longer ours: another worker owns the shard now (KCL's name)."""


class Checkpointer:
    """Writes a processor's progress to its lease, fenced by the lease counter and owner.

    ``checkpoint()`` records the last record delivered (or SHARD_END once the shard has ended);
    ``checkpoint(sequence_number, sub_sequence_number)`` any delivered position at or after the
    current checkpoint. Positions outside that range raise ValueError and write nothing.
    """

    def __init__(self, table: LeaseTable, held: HeldLease) -> None:
        self._table = table
        self._held = held
        self._largest_delivered: ExtendedSequenceNumber | None = None
        self._at_shard_end = False
        self.child_shard_ids: frozenset[str] = frozenset()

    @property
    def last_checkpoint(self) -> ExtendedSequenceNumber:
        return self._held.checkpoint

    def delivered(self, sequence_number: str, sub_sequence_number: int = 0) -> None:
        """The worker calls this before handing records over (the upper bound of checkpoints);
        a de-aggregated KPL batch ends at its last user record's sub-sequence number."""
        self._largest_delivered = ExtendedSequenceNumber(sequence_number, sub_sequence_number)

    def reached_shard_end(self, child_shard_ids: frozenset[str]) -> None:
        self._at_shard_end = True
        self.child_shard_ids = child_shard_ids

    def checkpoint(self, sequence_number: str | None = None, sub_sequence_number: int = 0) -> None:
        if sequence_number is None:
            position = self._default_position()
            if position is None:
                return  # nothing delivered since the last checkpoint: nothing to record
        else:
            position = self._validated(ExtendedSequenceNumber(sequence_number, sub_sequence_number))
        self._write(position)

    def _default_position(self) -> ExtendedSequenceNumber | None:
        if self._at_shard_end:
            return ExtendedSequenceNumber(SHARD_END)
        return self._largest_delivered

    def _validated(self, position: ExtendedSequenceNumber) -> ExtendedSequenceNumber:
        if position.sequence_number == SHARD_END and self._at_shard_end:
            return position
        if not position.sequence_number.isdigit():
            raise ValueError(f"not a sequence number: {position.sequence_number!r}")
        upper = self._largest_delivered
        if upper is None or position.key() > upper.key():
            raise ValueError(
                f"sequence number {position.sequence_number} was not delivered yet "
                f"(last delivered: {upper.sequence_number if upper else None})"
            )
        current = self._held.checkpoint
        if not current.is_sentinel and position.key() < current.key():
            raise ValueError(
                f"sequence number {position.sequence_number} is before the current "
                f"checkpoint {current.sequence_number}"
            )
        return position

    def _write(self, position: ExtendedSequenceNumber) -> None:
        held = self._held
        children = self.child_shard_ids if position.sequence_number == SHARD_END else frozenset()
        with held.lock:
            if held.lost.is_set():
                raise ShutdownException(f"lease {held.lease_key} was lost; checkpoint not written")
            if not self._table.checkpoint(held.lease_key, held.owner, held.counter, position, children):
                held.mark_lost()
                raise ShutdownException(
                    f"lease {held.lease_key} is held by another worker now; checkpoint not written"
                )
            held.renewed(held.counter + 1)  # a bumped counter is a heartbeat too
            held.checkpoint = position
