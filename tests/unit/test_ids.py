"""Identifiers: change records' event ids keep AWS's UUID v4 shape and never repeat."""

from __future__ import annotations

import os
import re

from tidestream.ids import event_id, uuid4_text

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_event_ids_are_uuid4_shaped_and_distinct():
    ids = [event_id() for _ in range(20_000)]
    assert all(UUID4.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert UUID4.fullmatch(uuid4_text())


def test_a_forked_child_does_not_repeat_its_parents_event_ids():
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the ids it would hand out next, then leave at once
        os.close(read_end)
        os.write(write_end, " ".join(event_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(write_end)
    parent = {event_id() for _ in range(100)}
    with os.fdopen(read_end, "rb") as pipe:
        child = set(pipe.read().decode().split())
    os.waitpid(pid, 0)
    assert len(child) == 100 and all(UUID4.fullmatch(i) for i in child)
    assert not parent & child
