"""backend/process.py: the process id it gives is os.getpid(), in a forked child too."""

import os

from backend.process import current_pid


def test_the_process_id_is_the_system_s():
    assert current_pid() == os.getpid()


def test_a_forked_child_reads_its_own_id():
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: tell the parent what it reads, then leave at once
        os.close(read)
        os.write(write, f"{current_pid()} {os.getpid()}".encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        seen, actual = answer.read().split()
    os.waitpid(child, 0)
    assert int(seen) == int(actual) == child != current_pid()
