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

"""Cinder's replication (v2.1 and active/active) on top of the Replicator.

A backend with a ``replication_device`` has two Sites: the primary (its
own options) and the secondary (secondary.SiteConf). The driver runs every
operation, exports included, against the *active* one; fail-over and
fail-back switch it. Which zvols are replicated is written on the zvols
themselves (``zol:replica=<backend_id>``), so the periodic sync finds them
with one listing per parent and no database.

Locks: one per zvol name (Cinder's coordination lock when the coordinator
runs, as in cinder-volume; a process lock otherwise), held by a sync, a
seed, a promote and by the driver around delete and extend.
"""

import contextlib
import threading
import time

from oslo_concurrency import lockutils
from oslo_log import log as logging

from cinder import coordination
from cinder import exception
from cinder.i18n import _
from cinder.objects import fields
from cinder.volume import volume_utils

from zol_driver import errors
from zol_driver import migration
from zol_driver import pools
from zol_driver import replication
from zol_driver import secondary
from zol_driver import tgt
from zol_driver import zfs

LOG = logging.getLogger(__name__)

PROP_REPLICA = 'zol:replica'
LISTING_FIELDS = zfs.SPACE_FIELDS + (PROP_REPLICA,)
STATUS = fields.ReplicationStatus
FAILBACK_ID = secondary.FAILBACK_ID


def lock(name):
    """The per-zvol replication lock."""
    name = 'zol-replica-%s' % name
    if coordination.COORDINATOR.started:
        return coordination.COORDINATOR.get_lock(name)
    return lockutils.internal_lock(name)


def is_replicated(volume):
    """The volume's type says replication_enabled='<is> True'."""
    vtype = volume.volume_type
    return volume_utils.is_replicated_spec(
        dict(vtype.extra_specs or {}) if vtype else {})


def listing(host):
    """host.space_listing() with the replica column: still ONE listing."""
    return host.list(fields=LISTING_FIELDS, types=('filesystem', 'volume'),
                     depth=1)


class Site(object):
    """One ZFS host of a backend: its options, executor, pools, targets."""

    def __init__(self, conf, backend_name, names=None, busy_retries=5):
        hosts = migration.zfs_hosts(
            conf, zfs.parse_parents(conf.zol_parent_dataset), busy_retries)
        self.conf = conf
        self.executor = hosts[0].executor
        self.pools = pools.Pools(hosts, backend_name, names)
        self.targets = tgt.TgtTargets(self.executor, conf)
        self.targets.parent_for = self.pools.parent_of

    @property
    def address(self):
        return '%s:%s' % (self.conf.san_ip, self.conf.san_ssh_port)

    def reachable(self):
        """None if the wrapper answers "version", else why not."""
        try:
            self.executor('version')
        except Exception as exc:
            return str(exc)
        return None


class Replication(object):
    """The replicas of one backend's replicated volumes on its secondary.

    primary, secondary: Sites. replicator: the Replicator class (None:
    replication.Replicator; tests pass a fake with its contract). clock:
    epoch seconds.
    """

    def __init__(self, backend_id, primary, secondary_site, interval,
                 failed_over=False, replicator=None, lock=lock,
                 clock=time.time):
        self.backend_id = backend_id
        self.primary = primary
        self.secondary = secondary_site
        self.interval = interval
        self.failed_over = failed_over
        self._replicator = replicator or replication.Replicator
        self._lock = lock
        self._clock = clock
        self.synced = {}        # zvol name -> epoch s its replica holds
        self.listed = set()     # replicated zvols of the last round
        self._stop = threading.Event()
        self._thread = None

    @property
    def active(self):
        return self.secondary if self.failed_over else self.primary

    # ------------------------------------------------------------ helpers

    def _hosts(self, volume):
        """(primary ZFSHost, secondary ZFSHost) of the volume's pool."""
        mine = self.primary.pools.of_volume(volume)
        for name, host in self.primary.pools.by_name.items():
            if host is mine:
                return host, self.secondary.pools.by_name[name]
        raise errors.ZolError(volume.name, 'no pool')   # pragma: no cover

    def _pairs(self):
        for name, host in self.primary.pools.by_name.items():
            yield host, self.secondary.pools.by_name[name]

    def props(self, volume):
        """User property that marks a new zvol as replicated."""
        return {PROP_REPLICA: self.backend_id} if is_replicated(volume) \
            else {}

    def guard(self, volume):
        """The volume's lock if it is replicated (delete, extend)."""
        if not is_replicated(volume):
            return contextlib.nullcontext()
        return self._lock(volume.name)

    # ------------------------------------------------------ volume calls

    def seed(self, volume):
        """Model update of a new volume: its replica's status.

        A failed seed leaves the volume made, its replication_status
        'error' with the reason logged; the periodic sync seeds it again.
        """
        if not is_replicated(volume):
            return None
        if self.failed_over:
            LOG.error('volume %(id)s: failed over to %(b)s, so no replica '
                      'until fail-back', {'id': volume.id,
                                          'b': self.backend_id})
            return {'replication_status': STATUS.ERROR}
        pri, sec = self._hosts(volume)
        start = self._clock()
        try:
            with self._lock(volume.name):
                stats = self._replicator(pri, sec).seed(volume.name)
        except Exception as exc:
            LOG.error('volume %(id)s: its replica on %(b)s could not be '
                      'made: %(e)s; the next periodic sync tries again',
                      {'id': volume.id, 'b': self.backend_id, 'e': exc},
                      exc_info=not isinstance(exc, errors.ZolError))
            return {'replication_status': STATUS.ERROR}
        self.synced[volume.name] = start
        LOG.info('volume %(id)s: replica seeded on %(b)s (%(s)s)',
                 {'id': volume.id, 'b': self.backend_id, 's': stats})
        return {'replication_status': STATUS.ENABLED}

    def remove(self, volume):
        """Destroy the other side's copy (caller holds guard(volume)).

        A failure is logged with the dataset to destroy by hand: a delete
        does not fail because the other site is down.
        """
        if not is_replicated(volume):
            return
        pri, sec = self._hosts(volume)
        pair = (sec, pri) if self.failed_over else (pri, sec)
        try:
            self._replicator(*pair).remove(volume.name)
        except Exception as exc:
            LOG.error('volume %(id)s deleted, but its copy %(ds)s on '
                      '%(host)s was not: %(e)s. Destroy it there by hand '
                      '(zfs destroy -r %(ds)s).',
                      {'id': volume.id, 'ds': pair[1].full(volume.name),
                       'host': self._site_of(pair[1]).address, 'e': exc})
            return
        self.synced.pop(volume.name, None)

    def _site_of(self, host):
        return self.secondary if host.executor is \
            self.secondary.executor else self.primary

    def reseed(self, volume):
        """A new replica after a revert (caller holds guard(volume)).

        The reverted zvol shares no snapshot with its replica: the replica
        is destroyed and sent again in full. A failure is logged; the
        periodic sync tries again.
        """
        if not is_replicated(volume) or self.failed_over:
            return
        pri, sec = self._hosts(volume)
        rep = self._replicator(pri, sec)
        start = self._clock()
        try:
            rep.remove(volume.name)
            rep.seed(volume.name)
        except Exception as exc:
            LOG.error('volume %(id)s reverted, but its replica could not be '
                      'made again: %(e)s; the next periodic sync tries '
                      'again', {'id': volume.id, 'e': exc})
            self.synced.pop(volume.name, None)
            return
        self.synced[volume.name] = start

    def sync(self, volume):
        """Bring the replica up to date now (caller holds guard(volume))."""
        if not is_replicated(volume) or self.failed_over:
            return
        pri, sec = self._hosts(volume)
        self._sync_one(pri, sec, volume.name)

    # ------------------------------------------------- the periodic sync

    def start(self):
        """Sync every interval seconds in a thread (green under eventlet)."""
        if self._thread is not None or self.failed_over:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop,
                                        name='zol-replication', daemon=True)
        self._thread.start()
        LOG.info('replication to %(b)s: syncing every %(i)d s',
                 {'b': self.backend_id, 'i': self.interval})

    def stop(self, timeout=None):
        """Stop the loop; a round in progress ends after its volume."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout)

    def _loop(self):
        while not self._stop.wait(self.interval):
            try:
                self.sync_all()
            except Exception:       # the loop must survive anything
                LOG.exception('replication round failed')

    def sync_all(self):
        """One round: sync each zvol marked for this target. Never raises.

        Returns {'synced': n, 'failed': n}.
        """
        done = failed = 0
        seen, complete = set(), True
        if self.failed_over:
            return {'synced': 0, 'failed': 0}
        for pri, sec in self._pairs():
            try:
                rows = listing(pri)
            except Exception as exc:
                LOG.error('replication: cannot list %(p)s on %(h)s: %(e)s',
                          {'p': pri.parent, 'h': self.primary.address,
                           'e': exc})
                complete = False
                continue
            for row in rows:
                if self._stop.is_set():
                    complete = False
                    break
                name = pri.relative(row['name'])
                if (not name or row.get('type') != 'volume' or
                        zfs.is_internal(name) or
                        row.get(PROP_REPLICA) != self.backend_id):
                    continue
                seen.add(name)
                if self._sync_one(pri, sec, name, lock=True):
                    done += 1
                else:
                    failed += 1
        if complete:
            for gone in set(self.synced) - seen:
                self.synced.pop(gone, None)
            self.listed = seen
        else:
            self.listed |= seen
        (LOG.warning if failed else LOG.debug)(
            'replication round to %(b)s: %(d)d synced, %(f)d failed',
            {'b': self.backend_id, 'd': done, 'f': failed})
        return {'synced': done, 'failed': failed}

    def _sync_one(self, pri, sec, name, lock=False):
        """Sync (a new replica if the sides share no snapshot).

        False on failure (logged).
        """
        start = self._clock()
        rep = self._replicator(pri, sec)
        try:
            with (self._lock(name) if lock else contextlib.nullcontext()):
                if lock and self._stop.is_set():
                    return False    # stopped (a fail-over) meanwhile
                try:
                    rep.sync(name)
                except replication.NoCommonSnapshot as exc:
                    # (a revert whose re-seed failed, a replica of some
                    # other zvol of that name): replaced by a full send
                    LOG.warning('replica of %(n)s shares no snapshot with '
                                'it (%(e)s): replacing it (full send)',
                                {'n': name, 'e': exc})
                    rep.remove(name)
                    rep.seed(name)
        except Exception as exc:
            LOG.error('replication of %(n)s to %(b)s failed: %(e)s; '
                      'trying again in %(i)d s',
                      {'n': name, 'b': self.backend_id, 'e': exc,
                       'i': self.interval},
                      exc_info=not isinstance(exc, errors.ZolError))
            self._learn_age(rep, name)
            return False
        self.synced[name] = start
        return True

    def _learn_age(self, rep, name):
        """After a restart: how old the replica is, from the engine."""
        if name in self.synced:
            return
        try:
            created = rep.status(name).get('created')
        except Exception as exc:
            LOG.debug('status of %s: %s', name, exc)
            return
        if created is not None:
            self.synced[name] = created

    # ------------------------------------------------------------- stats

    def stats(self):
        """Replication capabilities and the lag of the oldest replica.

        zol_replication_lag: seconds between now and the data the oldest
        replica holds (None: none known); zol_replicas: replicated zvols
        seen by the last round; zol_replicas_unsynced: those of them whose
        replica's age is unknown (never synced since start-up).
        """
        now = self._clock()
        names = set(self.listed) | set(self.synced)
        ages = [now - self.synced[n] for n in names if n in self.synced]
        return {'replication_enabled': True,
                'replication_targets': [self.backend_id],
                'replication_type': 'async',
                'zol_replication_lag': (int(max(ages)) if ages and
                                        not self.failed_over else None),
                'zol_replicas': len(names),
                'zol_replicas_unsynced': len(names - set(self.synced))}

    # ------------------------------------------ fail-over and fail-back

    def target(self, secondary_id):
        """Check Cinder's secondary_id; True for a fail-back."""
        if secondary_id == FAILBACK_ID:
            if not self.failed_over:
                raise exception.InvalidReplicationTarget(
                    reason=_('not failed over: nothing to fail back'))
            return True
        if secondary_id not in (None, self.backend_id):
            raise exception.InvalidReplicationTarget(
                reason=_('unknown replication target %(t)s (this backend '
                         'replicates to %(b)s)')
                % {'t': secondary_id, 'b': self.backend_id})
        if self.failed_over:
            raise exception.InvalidReplicationTarget(
                reason=_('already failed over to %s') % self.backend_id)
        return False

    def failover(self, volumes, secondary_id):
        """(backend_id, volume updates): promote, or fail back.

        Changes no driver state: complete() switches the active site.
        """
        back = self.target(secondary_id)
        site = self.primary if back else self.secondary
        why = site.reachable()
        if why:
            raise exception.InvalidReplicationTarget(
                reason=_('%(what)s ZFS host %(h)s does not answer (%(e)s): '
                         'nothing was changed')
                % {'what': 'the primary' if back else 'the secondary',
                   'h': site.address, 'e': why})
        # no wait for a send in progress: its volume's lock is enough, and
        # the round stops before the next volume
        self.stop(timeout=0)
        one = self._failback_one if back else self._failover_one
        updates = [{'volume_id': v.id, 'updates': one(v)} for v in volumes]
        LOG.info('%(what)s %(b)s: %(ok)d of %(n)d volumes',
                 {'what': 'fail-back from' if back else 'fail-over to',
                  'b': self.backend_id, 'n': len(volumes),
                  'ok': sum(1 for u in updates
                            if u['updates'].get('status') != 'error')})
        return (FAILBACK_ID if back else self.backend_id), updates

    @staticmethod
    def _error(volume, what, exc):
        LOG.error('volume %(id)s: %(what)s failed: %(e)s',
                  {'id': volume.id, 'what': what, 'e': exc})
        return {'status': 'error', 'replication_status':
                STATUS.FAILOVER_ERROR}

    def _failover_one(self, volume):
        """The replica becomes the volume; attaches go to the secondary."""
        if not is_replicated(volume):
            LOG.error('volume %s is not replicated: error after fail-over',
                      volume.id)
            return {'status': 'error'}
        pri, sec = self._hosts(volume)
        try:
            with self._lock(volume.name):
                snap = self._replicator(pri, sec).promote(volume.name)
        except Exception as exc:
            return self._error(volume, 'promote', exc)
        LOG.info('volume %(id)s: promoted on %(b)s at %(s)s',
                 {'id': volume.id, 'b': self.backend_id, 's': snap})
        # the next attach exports it from the secondary (create_export)
        return {'replication_status': STATUS.FAILED_OVER,
                'provider_location': None}

    def _failback_one(self, volume):
        """Secondary -> primary, then replication primary -> secondary.

        A volume that is not replicated never left the primary: it is not
        touched (the engine would find no common snapshot and replace it
        by a copy of nothing) and gets back its status of before.
        """
        if not is_replicated(volume):
            return {'status': volume.previous_status or 'available',
                    'replication_status': STATUS.DISABLED}
        pri, sec = self._hosts(volume)
        back = self._replicator(sec, pri)
        ahead = self._replicator(pri, sec)
        try:
            with self._lock(volume.name):
                try:
                    back.demote(volume.name)
                except replication.NoCommonSnapshot as exc:
                    LOG.warning('volume %(id)s: the primary\'s copy shares '
                                'no snapshot with the secondary (%(e)s): '
                                'replacing it by a full copy',
                                {'id': volume.id, 'e': exc})
                    back.remove(volume.name)
                    back.seed(volume.name)
                back.sync(volume.name)
                back.promote(volume.name)
                ahead.demote(volume.name)
        except Exception as exc:
            return self._error(volume, 'fail-back', exc)
        self.synced[volume.name] = self._clock()
        return {'replication_status': STATUS.ENABLED,
                'provider_location': None}

    def complete(self, active_backend_id):
        """Make the site Cinder names active (failover_completed)."""
        self.failed_over = active_backend_id not in (None, '', FAILBACK_ID)
        if self.failed_over:
            self.stop()
        else:
            self.start()
        return self.active
