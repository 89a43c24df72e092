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
themselves), not in Cinder's database: one listing per host
(``zfs list -r -d 1`` of the zvol and its snapshots, with guid, creation,
readonly and receive_resume_token) tells every step where it stands.

A common snapshot is one of the same name and the same guid on both
sides. Sequence numbers: ``n`` = 1 + the highest ``zol-repl-<n>`` on
either side, so a name comes back only once it is gone from both (after a
failed sync), and the guid tells the new snapshot from the old. What it
guarantees (doc/replication.rst): the replica is always a whole
``zol-repl`` snapshot of the source (a cut stream is resumed once from
the token, else the partial receive is aborted and the replica stays at
the old common snapshot); ``zvol-recv-incr`` never passes ``-F``, so no
stream can overwrite a replica that was changed or promoted.
"""

import re
import time

from oslo_log import log as logging

from zol_driver import errors
from zol_driver import transfer
from zol_driver import version
from zol_driver import zfs

LOG = logging.getLogger(__name__)

SNAP_PREFIX = zfs.REPL_SNAP_PREFIX
_SEQ_RE = re.compile(r'^%s([0-9]{1,18})$' % re.escape(SNAP_PREFIX))
_FIELDS = ('name', 'type', 'guid', 'creation', 'readonly',
           'receive_resume_token')
# Native properties a replica never copies: the stream sets the size and
# block size; readonly is the replica's own state.
_NOT_COPIED = frozenset(('volsize', 'volblocksize', 'readonly'))


class ReplicationError(errors.ZolError):
    """A replica could not be made, brought up to date or promoted."""


class NoCommonSnapshot(ReplicationError):
    """The two sides share no zol-repl snapshot: only a new seed helps."""


def supports_replication(executor):
    """True if the host's wrapper has zvol-recv-incr (1.6.0 and later)."""
    out, _err = executor('version')
    return version.replication_problem(
        version.parse_wrapper_version(out)) is None


class _Side(object):
    """One host's view of one zvol: what a single listing says."""

    def __init__(self, host, name):
        self.host = host
        self.name = name
        self.exists = False
        self.readonly = None
        self.token = None
        self.snaps = []         # [(n, snapshot name, guid, creation)]
        self.others = []        # snapshots that are not zol-repl ones
        try:
            rows = host.list(name, fields=_FIELDS,
                             types=('volume', 'snapshot'), depth=1)
        except errors.DatasetNotFound:
            return
        prefix = host.full(name)
        for row in rows:
            if row.get('name') == prefix and row.get('type') == 'volume':
                self.exists = True
                self.readonly = row.get('readonly')
                self.token = row.get('receive_resume_token')
                continue
            vol, _at, snap = (row.get('name') or '').partition('@')
            if vol != prefix or not snap:
                continue
            match = _SEQ_RE.match(snap)
            if not match:
                self.others.append(snap)
                continue
            created = row.get('creation')
            try:
                created = int(created)
            except (TypeError, ValueError):
                created = None
            self.snaps.append((int(match.group(1)), snap, row.get('guid'),
                               created))
        self.snaps.sort()

    def top(self):
        return max([n for n, _s, _g, _c in self.snaps] or [0])

    def newest(self):
        return self.snaps[-1][1] if self.snaps else None

    def names(self):
        return [snap for _n, snap, _g, _c in self.snaps]


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
        self._fault = None      # tests only: transfer.ZvolTransfer's fault

    # ------------------------------------------------------------ helpers

    def _where(self, name):
        return '%s -> %s' % (self.primary.full(name),
                             self.secondary.full(name))

    @staticmethod
    def _common(src, dst):
        """The newest zol-repl snapshot on both sides (same guid), or None.

        Returns (n, name, guid, creation on ``src``).
        """
        theirs = {snap: guid for _n, snap, guid, _c in dst.snaps}
        for entry in reversed(src.snaps):
            if entry[1] in theirs and theirs[entry[1]] == entry[2]:
                return entry
        return None

    def _engine(self):
        return transfer.ZvolTransfer(self.primary, self.secondary,
                                     resumes=self.resumes, verify=False,
                                     fault=self._fault)

    @staticmethod
    def _drop(host, name, snaps, why):
        """Destroy snapshots ``snaps`` of ``name``; failures are logged."""
        for snap in snaps:
            full = host.snapshot_name(name, snap)
            try:
                host.delete_snapshot(full)
            except errors.ZolError as exc:
                LOG.warning('%(why)s: could not destroy %(s)s: %(e)s (the '
                            'next sync prunes it)',
                            {'why': why, 's': host.full(full), 'e': exc})

    def _abort_partial(self, side):
        """Discard an interrupted receive into ``side``'s zvol."""
        if not side.token:
            return
        full = side.host.full(side.name)
        LOG.warning('%s holds an interrupted receive: discarding it', full)
        try:
            side.host.executor('zvol-recv-abort', full)
        except Exception as exc:
            raise ReplicationError(full, 'cannot discard the interrupted '
                                   'receive: %s' % exc)

    def _source(self, name, where):
        """The primary's side of ``name``; it must exist."""
        src = _Side(self.primary, name)
        if not src.exists:
            raise ReplicationError(where, 'the source zvol %s does not '
                                   'exist' % self.primary.full(name))
        return src

    def _replica_props(self, name):
        """What the replica needs set: the source's local properties."""
        props = {}
        for prop, value in self.primary.local_settings(name).items():
            if prop in _NOT_COPIED or value is None:
                continue
            if prop == 'refreservation':
                if value in ('0', 'none'):
                    continue
                value = 'auto'      # a thick zvol stays thick
            props[prop] = value
        props['readonly'] = 'on'
        return props

    # ---------------------------------------------------------- the API

    def seed(self, name):
        """Full send of a new zol-repl snapshot; returns transfer.Stats.

        The replica gets the source's zol: user properties and its local
        native ones (a thick zvol stays thick) and is set readonly=on.
        If a replica with a common snapshot exists already, this is sync().
        """
        where = self._where(name)
        src = self._source(name, where)
        dst = _Side(self.secondary, name)
        if dst.exists:
            if self._common(src, dst):
                return self.sync(name)
            if dst.token and not dst.snaps:
                # an earlier seed cut off for good: start again
                self._abort_partial(dst)
                dst = _Side(self.secondary, name)
            if dst.exists:
                raise NoCommonSnapshot(where, '%s exists but shares no '
                                       'zol-repl snapshot with the source: '
                                       'remove() it first'
                                       % self.secondary.full(name))
        snap = '%s%d' % (SNAP_PREFIX, max(src.top(), dst.top()) + 1)
        full = self.primary.snapshot_name(name, snap)
        start = time.monotonic()
        self.primary.snapshot(full)
        engine = self._engine()
        try:
            engine.stream(['zvol-send', self.primary.full(full)], name,
                          where)
        except transfer.TransferError as exc:
            self._drop(self.primary, name, [snap], where)
            raise ReplicationError(where, 'seed failed, no replica: %s'
                                   % exc.detail)
        try:
            self.secondary.set(name, self._replica_props(name))
        except errors.ZolError as exc:
            # a replica without readonly=on could drift: none at all
            try:
                self.secondary.destroy(name, recursive=True)
            except errors.ZolError as exc2:
                LOG.error('%(w)s: could not destroy the unfinished replica: '
                          '%(e)s', {'w': where, 'e': exc2})
            self._drop(self.primary, name, [snap], where)
            raise ReplicationError(where, 'cannot set the replica\'s '
                                   'properties: %s' % exc)
        self._drop(self.primary, name, src.names(), where)
        engine.stats.seconds = time.monotonic() - start
        LOG.info('%(w)s: seeded at %(s)s: %(st)r',
                 {'w': where, 's': snap, 'st': engine.stats})
        return engine.stats

    def sync(self, name):
        """Incremental send of a new zol-repl snapshot; returns Stats.

        From the newest common snapshot, received by zvol-recv-incr (no
        -F); afterwards only the new snapshot is kept, on both sides.
        Raises NoCommonSnapshot if the sides share none.
        """
        where = self._where(name)
        src = self._source(name, where)
        dst = _Side(self.secondary, name)
        if not dst.exists:
            raise NoCommonSnapshot(where, 'no replica %s'
                                   % self.secondary.full(name))
        if dst.readonly == 'off':
            raise ReplicationError(where, '%s is live (readonly=off: '
                                   'promoted?): demote() it before a sync'
                                   % self.secondary.full(name))
        common = self._common(src, dst)
        if common is None:
            raise NoCommonSnapshot(where, 'the replica shares no zol-repl '
                                   'snapshot with the source: seed again')
        # an interrupted receive (this process died during a sync) would
        # make zfs refuse a new stream
        self._abort_partial(dst)
        newer = [snap for n, snap, _g, _c in dst.snaps if n > common[0]]
        if newer:
            # not on the source (never sent from it): in the way of -i
            self._drop(self.secondary, name, newer, where)
        snap = '%s%d' % (SNAP_PREFIX, max(src.top(), dst.top()) + 1)
        full = self.primary.snapshot_name(name, snap)
        base = self.primary.snapshot_name(name, common[1])
        start = time.monotonic()
        self.primary.snapshot(full)
        engine = self._engine()
        try:
            engine.stream(['zvol-send', '-i', self.primary.full(base),
                           self.primary.full(full)], name, where,
                          recv='zvol-recv-incr', keep_dst=True)
        except transfer.TransferError as exc:
            self._drop(self.primary, name, [snap], where)
            raise ReplicationError(where, 'sync failed, the replica stays '
                                   'at %s: %s' % (common[1], exc.detail))
        self._drop(self.primary, name, src.names(), where)
        self._drop(self.secondary, name,
                   [s for s in dst.names() if s not in newer], where)
        engine.stats.seconds = time.monotonic() - start
        LOG.info('%(w)s: synced %(a)s -> %(b)s: %(st)r',
                 {'w': where, 'a': common[1], 'b': snap, 'st': engine.stats})
        return engine.stats

    def status(self, name):
        """{'common': 'zol-repl-N' or None, 'created': epoch s or None}.

        ``created`` is the primary's creation time of the common snapshot:
        the replica holds the data of that moment (the lag is now minus
        that).
        """
        common = self._common(_Side(self.primary, name),
                              _Side(self.secondary, name))
        if common is None:
            return {'common': None, 'created': None}
        return {'common': common[1], 'created': common[3]}

    def remove(self, name):
        """Destroy the replica (and its snapshots); fine if absent."""
        try:
            self.secondary.destroy(name, recursive=True)
        except errors.DatasetNotFound:
            pass

    def promote(self, name):
        """Make the secondary's replica the live zvol (fail-over).

        Discards a partial receive, rolls back to the newest zol-repl
        snapshot, sets readonly=off. Returns that snapshot's name. Works
        while the primary is unreachable (touches the secondary only).
        """
        full = self.secondary.full(name)
        dst = _Side(self.secondary, name)
        if not dst.exists:
            raise ReplicationError(full, 'no replica to promote')
        if not dst.snaps:
            raise ReplicationError(full, 'the replica holds no zol-repl '
                                   'snapshot (never seeded completely)')
        newest = dst.newest()
        self._abort_partial(dst)
        if dst.readonly == 'off':
            # promoted already (a retried fail-over): never roll back what
            # was written since
            LOG.info('%s is live already (readonly=off)', full)
            return newest
        try:
            self.secondary.rollback(self.secondary.snapshot_name(name,
                                                                 newest))
        except errors.RollbackBlocked as exc:
            raise ReplicationError(full, 'newer snapshots than %s exist on '
                                   'the replica: %s' % (newest, exc.detail))
        self.secondary.set(name, {'readonly': 'off'})
        LOG.info('%(f)s promoted at %(s)s', {'f': full, 's': newest})
        return newest

    def demote(self, name):
        """Make the secondary's copy a replica again (before a fail-back).

        Discards a partial receive, rolls back to the newest snapshot it
        shares with the primary, sets readonly=on, so that sync() can send
        the primary's changes since then. Raises NoCommonSnapshot if none.
        """
        where = self._where(name)
        full = self.secondary.full(name)
        dst = _Side(self.secondary, name)
        if not dst.exists:
            raise NoCommonSnapshot(where, 'no copy %s to demote' % full)
        src = _Side(self.primary, name)
        common = self._common(src, dst)
        if common is None:
            raise NoCommonSnapshot(where, '%s shares no zol-repl snapshot '
                                   'with the source: seed again' % full)
        self._abort_partial(dst)
        newer = [snap for n, snap, _g, _c in dst.snaps if n > common[0]]
        self._drop(self.secondary, name, newer, where)
        try:
            self.secondary.rollback(self.secondary.snapshot_name(
                name, common[1]))
        except errors.RollbackBlocked as exc:
            raise ReplicationError(where, 'snapshots newer than %s on %s '
                                   'block the rollback (taken while it '
                                   'was live): %s'
                                   % (common[1], full, exc.detail))
        self.secondary.set(name, {'readonly': 'on'})
        LOG.info('%(f)s demoted to a replica at %(s)s',
                 {'f': full, 's': common[1]})
