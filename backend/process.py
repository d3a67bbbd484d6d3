"""This process's id, read without a system call: os.getpid() kept up to date across forks.

The tenant watcher and each metric value ask at every request whether the process forked since
(gunicorn's workers are forks): os.getpid() is a system call each time, and under load those
calls took 4 % of the workers' Python time (py-spy, benchmarks/load.py's status-update).
"""

import os

_pid = os.getpid()


def _forked():
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def current_pid():
    """os.getpid(), as of the last fork of this process."""
    return _pid
