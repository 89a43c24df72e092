# Copyright 2026 cinder-zol developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Asynchronous replicas of zvols on a second ZFS host (issue 20).

A state machine on top of the send/receive engine (transfer.py), which
knows nothing of Cinder: which ``zol-repl-<n>`` snapshot both sides have,
what to send next, what to prune. Its state lives in ZFS (the snapshots
themselves), not in Cinder's database.

INTERFACE ONLY: the bodies are being written on branch repl-wrap; the
Cinder glue (branch repl-drv) is written against these signatures.
"""

from zol_driver import errors
from zol_driver import zfs

SNAP_PREFIX = zfs.REPL_SNAP_PREFIX


class ReplicationError(errors.ZolError):
    """A replica could not be made, brought up to date or promoted."""


class NoCommonSnapshot(ReplicationError):
    """The two sides share no zol-repl snapshot: only a new seed helps."""


class Replicator(object):
    """Keeps replicas of ``primary``'s zvols under ``secondary``'s parent.

    ``primary`` and ``secondary`` are zfs.ZFSHost objects (their executors
    need stream_from/stream_to, as for transfer.ZvolTransfer). A replica
    has the same relative name as its source.
    """

    def __init__(self, primary, secondary, resumes=1):
        self.primary = primary
        self.secondary = secondary
        self.resumes = resumes

    def seed(self, name):
        """Full send of a new zol-repl snapshot; returns transfer.Stats.

        The replica gets the source's zol: user properties and its local
        native ones (a thick zvol stays thick) and is set readonly=on.
        If a replica with a common snapshot exists already, this is sync().
        """
        raise NotImplementedError

    def sync(self, name):
        """Incremental send of a new zol-repl snapshot; returns Stats.

        From the newest common snapshot, received by zvol-recv-incr (no
        -F); afterwards only the new snapshot is kept, on both sides.
        Raises NoCommonSnapshot if the sides share none.
        """
        raise NotImplementedError

    def status(self, name):
        """{'common': 'zol-repl-N' or None, 'created': epoch s or None}.

        ``created`` is the primary's creation time of the common snapshot:
        the replica holds the data of that moment (the lag is now minus
        that).
        """
        raise NotImplementedError

    def remove(self, name):
        """Destroy the replica (and its snapshots); fine if absent."""
        raise NotImplementedError

    def promote(self, name):
        """Make the secondary's replica the live zvol (fail-over).

        Discards a partial receive, rolls back to the newest zol-repl
        snapshot, sets readonly=off. Returns that snapshot's name. Works
        while the primary is unreachable (touches the secondary only).
        """
        raise NotImplementedError

    def demote(self, name):
        """Make the secondary's copy a replica again (before a fail-back).

        Discards a partial receive, rolls back to the newest snapshot it
        shares with the primary, sets readonly=on, so that sync() can send
        the primary's changes since then. Raises NoCommonSnapshot if none.
        """
        raise NotImplementedError
