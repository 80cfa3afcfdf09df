"""Generated request ids: UUID4 hex, unique within a process and across forked gunicorn workers."""

import os
import uuid

from dhakacart.observability import new_request_id


def test_request_ids_are_uuid4_hex():
    generated = new_request_id()
    assert len(generated) == 32
    assert uuid.UUID(hex=generated).version == 4
    assert uuid.UUID(hex=generated).hex == generated


def test_request_ids_do_not_repeat():
    assert len({new_request_id() for _ in range(10_000)}) == 10_000


def test_forked_workers_do_not_repeat_each_others_ids():
    # gunicorn forks its workers from the master after the app is imported: a child that inherited
    # the parent's random state would hand out the parent's (and its siblings') ids.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next ids and leave without running pytest's teardown
        try:
            os.write(write_end, "".join(new_request_id() for _ in range(5)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child_ids = pipe.read().decode()
    os.waitpid(pid, 0)
    parent_ids = "".join(new_request_id() for _ in range(5))
    assert len(child_ids) == 5 * 32
    assert {child_ids[i : i + 32] for i in range(0, 160, 32)}.isdisjoint(
        {parent_ids[i : i + 32] for i in range(0, 160, 32)})
