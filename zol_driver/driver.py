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

"""Cinder volume driver: ZFS zvols on a remote ZFS-on-Linux host, exported
with tgt over iSCSI.

Thin glue: volume management lives in ``zfs.ZFSHost``, export in
``tgt.TgtTargets``, transport in ``ssh.SSHExecutor``. This module maps
Cinder's driver interface onto them and maps their errors onto Cinder's.
"""

import contextlib

from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import excutils

from cinder.common import constants
from cinder import context
from cinder import exception
from cinder.i18n import _
from cinder import interface
from cinder.objects import fields
from cinder.volume import driver
from cinder.volume.drivers.san import san
from cinder.volume import volume_utils

from zol_driver import errors
from zol_driver import extra_specs
from zol_driver import image_transfer
from zol_driver import migration
from zol_driver import options
from zol_driver import replicated
from zol_driver import secondary
from zol_driver import transfer
from zol_driver import validation
from zol_driver import version
from zol_driver import zfs

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def _gib(size):
    return round(size / float(zfs.GiB), 2)


@interface.volumedriver
class ZFSonLinuxISCSIDriver(driver.ISCSIDriver):
    """One zvol per Cinder volume on a ZFS host reached over SSH.

    Version history:
        1.0.0 - first release
        1.2.0 - one version for driver, wrapper and check tool; set-up
                refuses a wrapper older than 1.2.0 (or of another major
                version); delete, export and image-copy edges of issue 14
        1.3.0 - the wrapper's grammar is one table; its own verbs run in
                zfswrapper-helper.sh (same protocol)
        1.4.0 - extent streams for image copies (zvol-read-extents,
                zvol-write-extents; a 1.2/1.3 wrapper gets the plain
                streams); discard/thin provisioning on LUNs when the
                host's tgt is 1.0.90 or later; driver-assisted
                migration between backends of this driver by ZFS
                send/receive (the stream verbs; an older wrapper leaves
                the move to Cinder)
        1.5.0 - the same driver protocol; wrapper 1.5.0's
                zvol-read-extents reads only a zvol's allocated blocks
                (zfs send of a temporary snapshot)
        1.6.0 - asynchronous replication to a second ZFS host
                (replication_device), fail-over and fail-back, on
                wrapper 1.6.0's zvol-recv-incr (incremental receive onto
                an existing zvol); older wrappers work without replication
    """

    VERSION = version.RELEASE
    CI_WIKI_NAME = 'cinder-zol'

    # Several cinder-volume services of one cluster may drive one ZFS host.
    # Nothing here needs a lock across them: Cinder's manager already holds
    # its coordination locks for clone/delete of a source and for snapshot
    # deletes; every zfs change is one atomic command, named after its own
    # Cinder object (temporary clone snapshots after their destination);
    # collecting hidden zvols tolerates a concurrent collector (gone is
    # done); and the wrapper's host lock serialises target ids, state files
    # and target-restore, whichever service sends them. Replication locks
    # each replicated volume with Cinder's coordination lock (replicated.py)
    # and implements failover/failover_completed.
    SUPPORTS_ACTIVE_ACTIVE = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(options.zol_opts)
        self.configuration.append_config_values(san.san_opts)
        self.executor = None
        self.pools = None           # pools.Pools: a ZFSHost per parent
        self.targets = None
        self._pending = {}          # {iqn: Export} start-up could not make
        self._down_reason = None    # why stats report the backend down
        self._orphan_skip = None    # why the last orphan check was skipped
        self.image_extents = False  # the wrapper streams extents (1.4.0)
        # replicated.Replication when a replication_device is set
        self.replication = None
        self._active_backend_id = kwargs.get('active_backend_id')
        self.active_conf = self.configuration   # the active site's options

    @staticmethod
    def get_driver_options():
        return options.zol_opts + options.cinder_consumed_opts()

    # ------------------------------------------------------------------
    # Set-up
    # ------------------------------------------------------------------

    def do_setup(self, context):
        """Check the options, then build the executor and host objects."""
        parents = self._checked_options()
        conf = self.configuration
        device = self._checked_device()
        if device is None and self._active_backend_id not in (
                None, '', secondary.FAILBACK_ID):
            raise exception.InvalidConfigurationValue(
                message=_('This backend was failed over to %s, but it has '
                          'no replication_device: restore it (or fail back '
                          'first).') % self._active_backend_id)
        names = parents if len(parents) > 1 else None
        primary = self._site(conf, names)
        site = primary
        if device is not None:
            site_2 = self._site(device, names)
            failed_over = self._starts_failed_over(device.backend_id)
            self.replication = replicated.Replication(
                device.backend_id, primary, site_2,
                conf.zol_replication_interval, failed_over=failed_over)
            site = self.replication.active
        LOG.info('do_setup: ZFS host %(host)s, parent %(parent)s%(r)s',
                 {'host': site.conf.san_ip,
                  'parent': site.conf.zol_parent_dataset,
                  'r': '' if device is None else
                  ' (replication target %s)' % device.backend_id})
        self._use(site)

    def _site(self, conf, names):
        try:
            return replicated.Site(conf, self._backend_name(), names,
                                   self.configuration.zol_busy_retries)
        except errors.ZolError as exc:
            raise exception.VolumeDriverException(
                message=_('Cannot set up SSH to the ZFS host %(h)s: %(e)s')
                % {'h': conf.san_ip, 'e': exc})

    def _use(self, site):
        """Run every operation, exports included, on this site."""
        self.active_conf = site.conf
        self.executor = site.executor
        self.pools = site.pools
        self.targets = site.targets

    def _checked_device(self):
        """The replication_device's SiteConf, None, or a set-up error."""
        device, problems = secondary.load(self.configuration)
        self._enforce(problems)
        return device

    @staticmethod
    def _enforce(problems):
        """A failed rule stops the set-up; a warning is logged."""
        for problem in problems:
            if problem.failed:
                raise exception.InvalidConfigurationValue(
                    message=_('%(detail)s. Fix: %(fix)s')
                    % {'detail': problem.detail, 'fix': problem.fix})
            LOG.warning('%(detail)s. Fix: %(fix)s',
                        {'detail': problem.detail, 'fix': problem.fix})

    def _starts_failed_over(self, backend_id):
        """Cinder's active_backend_id at start: which site is active."""
        active = self._active_backend_id
        if active in (None, '', secondary.FAILBACK_ID):
            return False
        if active != backend_id:
            raise exception.InvalidConfigurationValue(
                message=_('This backend was failed over to %(a)s, but its '
                          'replication_device is %(b)s: restore that '
                          'replication_device (or fail back first).')
                % {'a': active, 'b': backend_id})
        LOG.warning('Starting failed over: every operation runs on the '
                    'replication target %s', backend_id)
        return True

    def check_for_setup_error(self):
        """Each parent must exist, be a filesystem and answer via the wrapper.

        Two round trips: ``zfs list`` of the parent (one per parent), then
        the wrapper's ``version`` (refused if this release does not support
        it).
        """
        for host in self.pools.by_name.values():
            self._check_parent(host)
        found = self._check_wrapper_version()
        if self.replication is not None:
            self._check_replication(found)
        # ssh_min_pool_conn: open the warm connections now, not on demand
        self.executor.warm_up()

    def _check_replication(self, found):
        """Both wrappers must replicate; a target that is down only warns.

        Then the periodic sync starts (not while failed over: the primary
        is then the one that is down, or about to be failed back to).
        """
        repl = self.replication
        problem = version.replication_problem(found)
        if problem:
            raise exception.VolumeDriverException(
                message=_('ZFS host %(h)s: %(p)s.')
                % {'h': self.active_conf.san_ip, 'p': problem})
        if repl.failed_over:
            return
        try:
            out, _err = repl.secondary.executor('version')
        except Exception as exc:
            LOG.warning('replication target %(b)s (%(h)s) does not answer: '
                        '%(e)s; replicas lag until it does',
                        {'b': repl.backend_id, 'h': repl.secondary.address,
                         'e': exc})
        else:
            problem = version.replication_problem(
                version.parse_wrapper_version(out))
            if problem:
                raise exception.VolumeDriverException(
                    message=_('replication target %(b)s (%(h)s): %(p)s.')
                    % {'b': repl.backend_id, 'h': repl.secondary.address,
                       'p': problem})
        repl.start()

    def _check_parent(self, zfs_host):
        parent = zfs_host.parent
        host = self.active_conf.san_ip
        try:
            info = zfs_host.parent_info()
        except errors.DatasetNotFound:
            msg = (_('zol_parent_dataset %(p)s does not exist on the ZFS '
                     'host %(h)s: create it (zfs create %(p)s).')
                   % {'p': parent, 'h': host})
            raise exception.VolumeDriverException(message=msg)
        except errors.WrapperRefused as exc:
            msg = (_('The wrapper on %(h)s refused to list %(p)s (is it in '
                     'the wrapper\'s "parents"?): %(e)s')
                   % {'h': host, 'p': parent, 'e': exc.detail})
            raise exception.VolumeDriverException(message=msg)
        except errors.ZolError as exc:
            msg = (_('ZFS host %(h)s: cannot run zfs through the wrapper: '
                     '%(e)s') % {'h': host, 'e': exc})
            raise exception.VolumeDriverException(message=msg)
        if info.get('type') != 'filesystem':
            raise exception.InvalidConfigurationValue(
                option='zol_parent_dataset',
                value='%s (a %s, must be a filesystem)'
                % (parent, info.get('type')))
        LOG.info('check_for_setup_error: %(p)s on %(h)s is ready '
                 '(%(free).1f GiB free)',
                 {'p': parent, 'h': host,
                  'free': (info.get('avail') or 0) / float(zfs.GiB)})

    def _check_wrapper_version(self):
        """Refuse a wrapper this release does not support (one command).

        Returns its version, (x, y, z).
        """
        host = self.active_conf.san_ip
        try:
            out, _err = self.executor('version')
        except processutils.ProcessExecutionError as exc:
            out = exc.stdout or ''      # ran, but failed: judged below
        except errors.ZolError as exc:
            msg = (_('ZFS host %(h)s: cannot ask the wrapper its version: '
                     '%(e)s') % {'h': host, 'e': exc})
            raise exception.VolumeDriverException(message=msg)
        found = version.parse_wrapper_version(out)
        problem = version.wrapper_problem(found)
        if problem:
            msg = (_('The wrapper on the ZFS host %(h)s: %(p)s.')
                   % {'h': host, 'p': problem})
            raise exception.VolumeDriverException(message=msg)
        self.image_extents = version.has_extents(found)
        self.targets.set_tgt_version(version.parse_tgt_version(out))
        LOG.info('check_for_setup_error: %(v)s on %(h)s (extent streams: '
                 '%(x)s; %(t)s)',
                 {'v': out.splitlines()[0], 'h': host,
                  'x': self.image_extents, 't': self.targets.unmap_reason()})
        return found

    def _checked_options(self):
        """Refuse what the wrapper, ZFS or Cinder would refuse later.

        The rules are validation's, shared with cinder-zol-check: a failure
        stops the set-up, a warning is logged. Returns the parents.
        """
        self._enforce(validation.problems(self.configuration))
        return zfs.parse_parents(self.configuration.zol_parent_dataset)

    def _init_vendor_properties(self):
        """The zol:* extra specs, for ``cinder get-capabilities``."""
        return extra_specs.vendor_properties(self._set_property)

    # ------------------------------------------------------------------
    # Volume half (zfs.ZFSHost)
    # ------------------------------------------------------------------

    def _backend_name(self):
        return self.configuration.safe_get('volume_backend_name') or 'zol'

    @property
    def zfs(self):
        """The first (or only) parent's ZFSHost."""
        return self.pools.first

    def _zfs(self, volume):
        """The ZFSHost of the volume's pool (pools.Pools.of_volume)."""
        return self.pools.of_volume(volume)

    def get_pool(self, volume):
        """Pool of a volume whose host names none (several parents only)."""
        if not self.pools.several:
            return super().get_pool(volume)
        return self._zfs(volume).parent

    def _dataset(self, volume):
        """Full dataset name of a Cinder volume's zvol."""
        return self._zfs(volume).full(volume.name)

    @staticmethod
    def _snap(snapshot):
        """Snapshot name relative to the parent: <volume>@<snapshot>."""
        return '%s@%s' % (snapshot.volume_name, snapshot.name)

    def _snapshot_dataset(self, snapshot):
        return self.pools.of_snapshot(snapshot).full(self._snap(snapshot))

    @staticmethod
    def _owner_props(obj):
        """User properties that say which Cinder object owns a dataset."""
        return {zfs.PROP_OWNER: obj.id, zfs.PROP_MANAGED: 'yes'}

    @staticmethod
    def _type_specs(volume):
        vtype = volume.volume_type
        return dict(vtype.extra_specs or {}) if vtype else {}

    def _zvol_spec(self, specs):
        """(sparse, volblocksize or None, props) from options + type specs.

        Keys (doc/volume-types.rst): zol:sparse, provisioning:type,
        zol:volblocksize and zol:<property> for each mutable property.
        """
        conf = self.configuration
        sparse = (conf.zol_sparse if conf.zol_sparse is not None
                  else conf.san_thin_provision)
        if specs.get('provisioning:type') in ('thin', 'thick'):
            sparse = specs['provisioning:type'] == 'thin'
        if extra_specs.SPARSE in specs:
            sparse = extra_specs.spec_bool(specs[extra_specs.SPARSE])
        blocksize = (specs.get(extra_specs.VOLBLOCKSIZE) or
                     conf.zol_volblocksize)
        if blocksize:
            blocksize = self._spec_blocksize(blocksize)
        props = dict(conf.zol_zvol_properties or {})
        if conf.zol_compression:
            props['compression'] = conf.zol_compression
        for key in sorted(zfs.MUTABLE_PROPS):
            value = specs.get('zol:' + key)
            if value:
                if not zfs.valid_value(value):
                    raise exception.InvalidInput(
                        reason=_('volume type extra spec zol:%(k)s=%(v)s '
                                 'has characters ZFS names may not use')
                        % {'k': key, 'v': value})
                props[key] = value
        return bool(sparse), blocksize, props

    @staticmethod
    def _spec_blocksize(value):
        try:
            return validation.parse_blocksize(value)
        except ValueError as exc:
            raise exception.InvalidInput(reason=str(exc))

    def _new_props(self, volume, src_size=None):
        """-o properties of a new zvol or clone, owner included."""
        sparse, blocksize, props = self._zvol_spec(self._type_specs(volume))
        props.update(self._owner_props(volume))
        if self.replication is not None:
            props.update(self.replication.props(volume))
        if src_size is not None:
            # A clone inherits volblocksize from its origin and is sparse
            # unless told otherwise; it grows with -o volsize in the same
            # command when Cinder asks for a larger volume.
            if volume.size > src_size:
                props['volsize'] = volume.size * zfs.GiB
            if not sparse:
                props['refreservation'] = 'auto'
        return sparse, blocksize, props

    @contextlib.contextmanager
    def _host_errors(self, volume=None, snapshot=None):
        """Map zol_driver.errors onto Cinder exceptions, host words kept."""
        try:
            yield
        except errors.DatasetBusy as exc:
            LOG.error('ZFS reports busy: %s', exc)
            if volume is None and snapshot is None:
                raise exception.VolumeBackendAPIException(data=str(exc))
            if snapshot is not None:
                raise exception.SnapshotIsBusy(
                    message=str(exc), snapshot_name=snapshot.name)
            raise exception.VolumeIsBusy(message=str(exc),
                                         volume_name=volume.name)
        except errors.ZolError as exc:
            LOG.error('ZFS host error: %s', exc)
            raise exception.VolumeBackendAPIException(data=str(exc))
        except processutils.ProcessExecutionError as exc:
            msg = (_('%(cmd)s on the ZFS host exited %(code)s: %(err)s')
                   % {'cmd': exc.cmd, 'code': exc.exit_code,
                      'err': (exc.stderr or '').strip()})
            LOG.error(msg)
            raise exception.VolumeBackendAPIException(data=msg)

    def create_volume(self, volume):
        """One ``zfs create`` with every property, owner included."""
        LOG.info('create_volume %(id)s size=%(size)sG',
                 {'id': volume.id, 'size': volume.size})
        sparse, blocksize, props = self._new_props(volume)
        with self._host_errors(volume=volume):
            self._zfs(volume).create_or_resume(
                volume.name, volume.size * zfs.GiB, sparse, blocksize, props)
        return self._seed(volume)

    def _seed(self, volume):
        """Model update of a new volume: its replica (replicated.py)."""
        if self.replication is None:
            return None
        return self.replication.seed(volume)

    def _replica_lock(self, volume):
        """Held around delete and extend: no sync runs meanwhile."""
        if self.replication is None:
            return contextlib.nullcontext()
        return self.replication.guard(volume)

    def delete_volume(self, volume):
        """Destroy, or hide until dependent clones are gone; gone is fine.

        A target left behind (a detach whose remove_export failed or was
        skipped) keeps the zvol open: it is removed when ZFS says busy.
        """
        with self._host_errors(volume=volume), self._replica_lock(volume):
            host = self._zfs(volume)
            result = host.delete_volume(
                volume.name, release=lambda: self._release(volume))
            if result != 'hidden' and volume.source_volid:
                # the temporary snapshot of clone_volume goes with its
                # clone (always in its source's parent), unless a failure
                # left it unmarked
                host.delete_snapshot(host.snapshot_name(
                    CONF.volume_name_template % volume.source_volid,
                    zfs.CLONE_SNAP_PREFIX + volume.name))
            if self.replication is not None:
                self.replication.remove(volume)
        LOG.info('delete_volume %(id)s: %(result)s',
                 {'id': volume.id, 'result': result})

    def _release(self, volume):
        """Remove a leftover target of the volume before a destroy."""
        iqn = self.targets.volume_iqn(volume)
        LOG.info('delete_volume %(id)s: removing any target %(iqn)s that '
                 'holds the zvol', {'id': volume.id, 'iqn': iqn})
        self.targets.delete(iqn)

    def create_snapshot(self, snapshot):
        """One ``zfs snapshot`` carrying the owner properties."""
        LOG.info('create_snapshot %(id)s of volume %(vol)s',
                 {'id': snapshot.id, 'vol': snapshot.volume_id})
        with self._host_errors(snapshot=snapshot):
            self.pools.of_snapshot(snapshot).snapshot_or_resume(
                self._snap(snapshot), self._owner_props(snapshot))

    def delete_snapshot(self, snapshot):
        """``zfs destroy -d``: now, or when its last clone is deleted."""
        with self._host_errors(snapshot=snapshot):
            result = self.pools.of_snapshot(snapshot).delete_snapshot(
                self._snap(snapshot))
        LOG.info('delete_snapshot %(id)s: %(result)s',
                 {'id': snapshot.id, 'result': result})

    def create_volume_from_snapshot(self, volume, snapshot):
        """Instant ``zfs clone``, grown in the same command if larger."""
        LOG.info('create_volume_from_snapshot %(id)s from snapshot %(snap)s '
                 'size=%(size)sG', {'id': volume.id, 'snap': snapshot.id,
                                    'size': volume.size})
        _sparse, blocksize, props = self._new_props(volume,
                                                    snapshot.volume_size)
        self._warn_blocksize(volume, blocksize)
        with self._host_errors(volume=volume):
            host = self.pools.same_parent(
                volume, self.pools.of_snapshot(snapshot),
                'snapshot %s' % snapshot.id)
            host.clone_from(self._snap(snapshot), volume.name, props)
        return self._seed(volume)

    def create_cloned_volume(self, volume, src_vref):
        """Temporary snapshot + ``zfs clone``; the snapshot goes with it."""
        LOG.info('create_cloned_volume %(id)s from volume %(src)s '
                 'size=%(size)sG', {'id': volume.id, 'src': src_vref.id,
                                    'size': volume.size})
        _sparse, blocksize, props = self._new_props(volume, src_vref.size)
        self._warn_blocksize(volume, blocksize)
        with self._host_errors(volume=volume):
            host = self.pools.same_parent(volume, self._zfs(src_vref),
                                          'volume %s' % src_vref.id)
            host.clone_volume(src_vref.name, volume.name, props)
        return self._seed(volume)

    @staticmethod
    def _warn_blocksize(volume, blocksize):
        if blocksize:
            LOG.warning('volume %(id)s is a clone: it keeps its origin\'s '
                        'volblocksize, not %(bs)s from its type',
                        {'id': volume.id, 'bs': blocksize})

    def extend_volume(self, volume, new_size):
        """Set volsize; the export half tells tgt about the new size."""
        LOG.info('extend_volume %(id)s to %(size)sG',
                 {'id': volume.id, 'size': new_size})
        with self._host_errors(volume=volume), self._replica_lock(volume):
            self._extend(volume, new_size)
            if self.replication is not None:
                # the replica takes the new size with the next snapshot
                self.replication.sync(volume)

    def _extend(self, volume, new_size):
        with self._host_errors(volume=volume):
            try:
                self._zfs(volume).extend(volume.name, new_size * zfs.GiB)
            except errors.WouldShrink as exc:
                have = -(-exc.have // zfs.GiB)
                msg = (_('Cannot extend volume %(id)s to %(new)s GiB: its '
                         'zvol already has %(have)s GiB (%(bytes)d bytes; '
                         'an earlier extend was cut after ZFS grew it). '
                         'Reset its state and extend it to %(have)s GiB.')
                       % {'id': volume.id, 'new': new_size, 'have': have,
                          'bytes': exc.have})
                LOG.error(msg)
                raise exception.VolumeBackendAPIException(data=msg)
            self.targets.resize_export(volume)

    def snapshot_revert_use_temp_snapshot(self):
        # zfs rollback is atomic; a backup snapshot made just before it
        # would be "more recent" and make ZFS refuse the rollback.
        return False

    def revert_to_snapshot(self, context, volume, snapshot):
        """``zfs rollback`` (never -r); through a clone if ZFS refuses.

        Cinder reverts only to a volume's latest snapshot, so what makes
        ZFS refuse are the driver's own newer snapshots (temporary ones of
        clones, deleted ones kept for their clones, the replication
        snapshot of a replicated volume): they must survive. A replicated
        volume's replica is then made again (a full send): it shares no
        snapshot with the reverted zvol.
        """
        LOG.info('revert_to_snapshot volume %(id)s to snapshot %(snap)s',
                 {'id': volume.id, 'snap': snapshot.id})
        with self._replica_lock(volume):
            self._revert(volume, snapshot)
            if self.replication is not None:
                self.replication.reseed(volume)

    def _revert(self, volume, snapshot):
        with self._host_errors(volume=volume):
            host = self._zfs(volume)
            try:
                host.rollback(self._snap(snapshot))
            except errors.RollbackBlocked as exc:
                self._revert_by_clone(host, volume, snapshot, exc)
        if volume.size > snapshot.volume_size:
            # rollback restored the snapshot's volsize; Cinder keeps its own.
            with self._host_errors(volume=volume):
                host.extend(volume.name, volume.size * zfs.GiB)

    def _revert_by_clone(self, host, volume, snapshot, exc):
        names = zfs.blocking_snapshots(exc.detail)
        foreign = [n for n in names if not self._driver_snapshot(n)]
        if foreign or not names:
            msg = (_('Cannot revert volume %(id)s to snapshot %(snap)s: '
                     'newer snapshots that Cinder does not know exist on '
                     'the ZFS host: %(names)s. Destroy or rename them, or '
                     'create a volume from the snapshot instead.')
                   % {'id': volume.id, 'snap': snapshot.id,
                      'names': ', '.join(foreign or [exc.detail])})
            LOG.error(msg)
            raise exception.VolumeBackendAPIException(data=msg)
        LOG.info('revert_to_snapshot %(id)s: newer snapshots %(names)s '
                 'are kept for clones; reverting through a clone',
                 {'id': volume.id, 'names': ', '.join(names)})
        props = host.local_props(
            volume.name, zfs.MUTABLE_PROPS | {'refreservation'})
        if props.pop('refreservation', '0') not in ('0', 'none'):
            props['refreservation'] = 'auto'     # thick stays thick
        props.update(self._owner_props(volume))
        if self.replication is not None:
            props.update(self.replication.props(volume))
        hidden = host.revert_by_clone(self._snap(snapshot), props)
        LOG.info('revert_to_snapshot %(id)s: the old zvol is %(hidden)s '
                 'until its clones are gone', {'id': volume.id,
                                               'hidden': hidden})

    @staticmethod
    def _driver_snapshot(name):
        """A snapshot the driver made: temporary, or a Cinder one."""
        snap = name.rpartition('@')[2]
        return (zfs.is_temporary_snapshot(snap) or
                snap.startswith(zfs.REPL_SNAP_PREFIX) or
                snap.startswith(CONF.snapshot_name_template % ''))

    # ---- stats -------------------------------------------------------

    def get_volume_stats(self, refresh=False):
        """Stats from ONE listing per parent (cached unless refresh)."""
        if refresh or not self._stats:
            self._update_volume_stats()
        return self._stats

    def _update_volume_stats(self):
        backend = self._backend_name()
        data = {'volume_backend_name': backend,
                'vendor_name': 'Open Source',
                'driver_version': self.VERSION,
                'storage_protocol': constants.ISCSI,
                'shared_targets': False,
                'sparse_copy_volume': True,
                'pools': []}
        if self.replication is not None:
            data.update(self.replication.stats())
        listed = []             # (pool name, ZFSHost, rows or None)
        for name, host in self.pools.by_name.items():
            try:
                listed.append((name, host, self._listing(host)))
            except errors.ZolError as exc:
                LOG.error('get_volume_stats: cannot list %(p)s: %(e)s',
                          {'p': host.parent, 'e': exc})
                listed.append((name, host, None))
        if any(rows is not None for _n, _h, rows in listed):
            self._recover_targets()
        found = []
        for name, host, rows in listed:
            if rows is None:
                data['pools'].append(self._pool_stats(name, host, None, []))
                continue
            parent = next((r for r in rows if r['name'] == host.parent), {})
            zvols = [r for r in rows if r.get('type') == 'volume' and
                     not zfs.is_internal(host.relative(r['name']) or '')]
            data['pools'].append(self._pool_stats(name, host, parent, zvols))
            found.append((host, rows, zvols))
        self._stats = data
        for host, rows, zvols in found:
            self._collect_orphans(host, zvols)
            try:
                host.collect_garbage(rows)
            except errors.ZolError as exc:
                LOG.warning('collecting hidden zvols failed: %s', exc)

    def _listing(self, host):
        """The one listing per parent; with the replica column if needed."""
        if self.replication is None:
            return host.space_listing()
        return replicated.listing(host)

    def _collect_orphans(self, host, zvols):
        """Destroy zvols of volumes Cinder deleted without reaching us.

        A create cut off after ``zfs create`` ran is rescheduled; Cinder's
        clean-up delete fails while the host is unreachable, and the
        record, its host cleared, is later deleted by the API alone. Only a
        zvol the driver marks managed, named after its owner, whose record
        Cinder has deleted, is destroyed: one database query per period.
        """
        owned = {r[zfs.PROP_OWNER]: host.relative(r['name'])
                 for r in zvols if r.get(zfs.PROP_MANAGED) == 'yes' and
                 r.get(zfs.PROP_OWNER)}
        if not owned or getattr(self, 'db', None) is None:
            return
        ctx = context.get_admin_context(read_deleted='yes')
        try:
            records = self.db.volume_get_all(ctx, filters={'id': list(owned)})
        except Exception as exc:     # stats must not fail for this
            # named once; the same reason each period is only debug
            log = LOG.debug if str(exc) == self._orphan_skip else LOG.warning
            self._orphan_skip = str(exc)
            log('orphan check skipped: %s', exc)
            return
        self._orphan_skip = None
        for rec in records:
            name = owned.get(rec.id)
            if not rec.deleted or name != CONF.volume_name_template % rec.id:
                continue
            LOG.warning('destroying %(name)s: Cinder deleted volume %(id)s '
                        'without deleting it (a create cut off, then '
                        'rescheduled)', {'name': name, 'id': rec.id})
            try:
                host.delete_volume(name)
            except errors.ZolError as exc:
                LOG.warning('destroying orphan %(name)s failed: %(e)s',
                            {'name': name, 'e': exc})

    def _recover_targets(self):
        """Bring back targets tgtd lost while cinder-volume kept running.

        A ZFS-host reboot or a tgtd restart empties tgtd; the wrapper's
        persisted targets survive. One listing per stats period tells
        whether any are missing; then one ``target-restore`` brings them
        back, and targets start-up could not make are made again.
        """
        try:
            listing = self.targets.listing()
            lost = self.targets.lost(listing)
            if lost:
                LOG.warning('ZFS host %(h)s no longer serves %(n)d '
                            'persisted target(s) (rebooted, or tgtd '
                            'restarted): restoring %(iqns)s',
                            {'h': self.active_conf.san_ip, 'n': len(lost),
                             'iqns': ', '.join(lost)})
                self.targets.restore()
            for iqn, export in list(self._pending.items()):
                self.targets.create(export)
                self._pending.pop(iqn, None)
                LOG.info('re-created target %s that start-up could not '
                         'restore', iqn)
            self._drop_orphans(self.targets.idle(listing))
        except errors.ZolError as exc:
            self._down_reason = _('targets cannot be restored: %s') % exc
            LOG.error('ZFS host %(h)s: %(r)s; the backend reports down',
                      {'h': self.active_conf.san_ip,
                       'r': self._down_reason})
            return
        self._down_reason = None

    def _drop_orphans(self, idle):
        """Remove targets of available volumes: what a dead attach left.

        A cinder-volume killed between create_export and the end of the
        attach leaves a target that no detach will ever remove (Cinder
        deletes the reserved attachment without asking the volume
        service). A volume that is ``available`` and not migrating has no
        business being exported; an attach in flight has already moved it
        to ``reserved``/``attaching``. Volumes Cinder does not know by
        that name (renamed through _name_id, other tools) are left alone.
        One database query per stats period, whatever the number of idle
        targets.
        """
        prefix = CONF.volume_name_template % ''
        iqns = {name[len(prefix):]: iqn for iqn, name in idle.items()
                if name.startswith(prefix)}
        if not iqns:
            return
        try:        # one query for them all, not one per target
            records = self.db.volume_get_all(context.get_admin_context(),
                                             filters={'id': list(iqns)})
        except Exception as exc:   # no database here: stats go on
            LOG.debug('idle targets: volumes not looked up: %s', exc)
            return
        for vol in sorted(records, key=lambda r: r.id):
            if vol.status != 'available' or vol.migration_status not in (
                    None, 'success', 'error'):
                continue
            LOG.warning('removing target %(iqn)s of available volume '
                        '%(id)s: left by an attach that did not finish',
                        {'iqn': iqns[vol.id], 'id': vol.id})
            self.targets.delete(iqns[vol.id])

    def _pool_stats(self, pool_name, host, parent, zvols):
        """One pool's stats; thin support follows the default.

        The scheduler counts untyped volumes as thin whenever thin is
        supported; a type's provisioning:type still picks per volume.
        """
        conf = self.configuration
        sparse, blocksize, props = self._zvol_spec({})
        pool = {
            'pool_name': pool_name,
            'total_capacity_gb': 0,
            'free_capacity_gb': 0,
            'provisioned_capacity_gb': 0,
            'reserved_percentage': conf.reserved_percentage,
            'max_over_subscription_ratio':
                volume_utils.get_max_over_subscription_ratio(
                    conf.max_over_subscription_ratio, supports_auto=True)
                if sparse else 1.0,
            'thin_provisioning_support': sparse,
            'thick_provisioning_support': True,
            'total_volumes': len(zvols),
            'multiattach': True,
            'online_extend_support': True,
            'consistent_group_snapshot_enabled': True,
            'QoS_support': False,
            'location_info': migration.location_info(self.active_conf,
                                                     host.parent),
            'backend_state': 'up' if parent and not self._down_reason
            else 'down',
            'compression_support': True,
            'zol_compression': props.get('compression') or
            (parent or {}).get('compression'),
            'zol_volblocksize': blocksize,
            'filter_function': self.get_filter_function(),
            'goodness_function': self.get_goodness_function(),
        }
        if self._down_reason:
            pool['zol_down_reason'] = self._down_reason
        if self.replication is not None:
            pool.update(self.replication.stats())
        if parent:
            used = parent.get('used') or 0
            avail = parent.get('avail') or 0
            provisioned = sum(z.get('volsize') or 0 for z in zvols)
            # The parent's used + avail, never the pool's raw size (which
            # counts parity and space ZFS reserves for itself).
            pool['total_capacity_gb'] = _gib(used + avail)
            pool['free_capacity_gb'] = _gib(avail)
            pool['provisioned_capacity_gb'] = _gib(provisioned)
        return pool

    # ---- manage / unmanage ---------------------------------------------

    def _ref_name(self, host, existing_ref, volume_name=None):
        """The relative name in {'source-name': ...}, validated.

        host: the ZFSHost of the volume's pool; a full name must be under
        its parent.
        """
        name = (existing_ref or {}).get('source-name')
        if not name:
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason=_('reference must contain source-name'))
        name = host.relative(name) or name
        if volume_name is not None:
            # a snapshot: "snap", "vol@snap" or "PARENT/vol@snap"
            vol, _at, snap = name.rpartition('@')
            if vol and vol != volume_name:
                raise exception.ManageExistingInvalidReference(
                    existing_ref=existing_ref,
                    reason=_('snapshot is not of volume %s') % volume_name)
            name = snap
        if not zfs.valid_child(name) or zfs.is_internal(name) or (
                volume_name is not None and zfs.is_temporary_snapshot(name)):
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason=_('not a manageable name under %s') % host.parent)
        return name

    def _ref_props(self, host, name, existing_ref, props):
        """Properties of a reference, or ManageExistingInvalidReference.

        A lookup that fails is the user's reference, not a backend error:
        logged at INFO, not ERROR.
        """
        try:
            return host.get(name, props)
        except errors.ZolError as exc:
            LOG.info('manage: %(ref)s cannot be used: %(e)s',
                     {'ref': existing_ref, 'e': exc})
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref, reason=str(exc))

    def _check_manageable(self, host, obj, name, existing_ref, kind):
        props = ('type', 'volsize', zfs.PROP_OWNER, zfs.PROP_MANAGED)
        if kind == 'snapshot':
            props += ('defer_destroy',)
        info = self._ref_props(host, name, existing_ref, props)
        if info.get('type') != kind:
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason=_('%(n)s is a %(t)s, not a %(k)s')
                % {'n': name, 't': info.get('type'), 'k': kind})
        if info.get('defer_destroy') == 'on':
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason=_('%s was deleted and is kept only for its clones '
                         '(deferred destroy)') % name)
        owner = info.get(zfs.PROP_OWNER)
        if info.get(zfs.PROP_MANAGED) == 'yes' and owner != obj.id:
            raise exception.ManageExistingAlreadyManaged(volume_ref=name)
        return info

    def manage_existing(self, volume, existing_ref):
        """Adopt a zvol: rename it to the volume's name, mark it owned.

        A volsize that is not whole GiB grows to the size Cinder records
        (manage_existing_get_size rounds up), in the same ``zfs set``.
        """
        host = self._zfs(volume)
        name = self._ref_name(host, existing_ref)
        LOG.info('manage_existing %(id)s from zvol %(name)s',
                 {'id': volume.id, 'name': host.full(name)})
        info = self._check_manageable(host, volume, name, existing_ref,
                                      'volume')
        _sparse, _blocksize, props = self._zvol_spec(
            self._type_specs(volume))
        props.update(self._owner_props(volume))
        size = info.get('volsize') or 0
        if size % zfs.GiB:
            props['volsize'] = zfs.gib_ceil(size) * zfs.GiB
            LOG.info('manage_existing %(id)s: volsize %(old)d grows to '
                     '%(new)d GiB', {'id': volume.id, 'old': size,
                                     'new': zfs.gib_ceil(size)})
        with self._host_errors(volume=volume):
            if name != volume.name:
                host.rename(name, volume.name)
            host.set(volume.name, props)

    def manage_existing_get_size(self, volume, existing_ref):
        """volsize rounded up to whole GiB."""
        host = self._zfs(volume)
        name = self._ref_name(host, existing_ref)
        info = self._check_manageable(host, volume, name, existing_ref,
                                      'volume')
        return zfs.gib_ceil(info.get('volsize') or 0)

    def unmanage(self, volume):
        """Keep the zvol; mark it no longer managed (zol:managed=no)."""
        LOG.info('unmanage %s', volume.id)
        self._unmark(self._zfs(volume), volume.name, volume=volume)

    def _unmark(self, host, name, volume=None, snapshot=None):
        try:
            host.set(name, {zfs.PROP_MANAGED: 'no'})
        except errors.DatasetNotFound:
            LOG.warning('unmanage: %s is already gone', name)
            return
        except errors.ZolError:
            with self._host_errors(volume=volume, snapshot=snapshot):
                raise

    def manage_existing_snapshot(self, snapshot, existing_ref):
        """Adopt a snapshot of the volume: rename it, mark it owned."""
        host = self.pools.of_snapshot(snapshot)
        name = self._ref_name(host, existing_ref, snapshot.volume_name)
        full = host.snapshot_name(snapshot.volume_name, name)
        LOG.info('manage_existing_snapshot %(id)s from %(name)s',
                 {'id': snapshot.id, 'name': full})
        self._check_manageable(host, snapshot, full, existing_ref,
                               'snapshot')
        with self._host_errors(snapshot=snapshot):
            if name != snapshot.name:
                host.rename(full, self._snap(snapshot))
            host.set(self._snap(snapshot), self._owner_props(snapshot))

    def manage_existing_snapshot_get_size(self, snapshot, existing_ref):
        host = self.pools.of_snapshot(snapshot)
        name = self._ref_name(host, existing_ref, snapshot.volume_name)
        full = host.snapshot_name(snapshot.volume_name, name)
        info = self._check_manageable(host, snapshot, full, existing_ref,
                                      'snapshot')
        return zfs.gib_ceil(info.get('volsize') or 0)

    def unmanage_snapshot(self, snapshot):
        LOG.info('unmanage_snapshot %s', snapshot.id)
        self._unmark(self.pools.of_snapshot(snapshot), self._snap(snapshot),
                     snapshot=snapshot)

    def get_manageable_volumes(self, cinder_volumes, marker, limit, offset,
                               sort_keys, sort_dirs):
        """zvols under the parents (one listing each), hidden ones skipped.

        With several parents the references are full dataset names: each
        says which pool to manage it into.
        """
        LOG.info('get_manageable_volumes')
        ids = {v['id'] for v in cinder_volumes}
        entries = []
        for host in self.pools.by_name.values():
            with self._host_errors():
                rows = host.space_listing()
            for row in rows:
                name = host.relative(row['name'])
                if row.get('type') != 'volume' or not name or \
                        zfs.is_internal(name):
                    continue
                entry = self._manageable_entry(name, row, ids,
                                               'volume-', 'volume')
                if self.pools.several:
                    entry['reference'] = {'source-name': row['name']}
                origin = host.relative(row.get('origin') or '')
                entry['extra_info'] = (('clone of %s' % origin) if origin
                                       else None)
                entries.append(entry)
        return volume_utils.paginate_entries_list(
            entries, marker, limit, offset, sort_keys, sort_dirs)

    def get_manageable_snapshots(self, cinder_snapshots, marker, limit,
                                 offset, sort_keys, sort_dirs):
        """Snapshots (one listing); temporary and deferred ones skipped."""
        LOG.info('get_manageable_snapshots')
        ids = {s['id'] for s in cinder_snapshots}
        entries = []
        for host in self.pools.by_name.values():
            with self._host_errors():
                rows = host.snapshot_listing()
            for row in rows:
                name = host.relative(row['name']) or ''
                vol, _at, snap = name.partition('@')
                if (not snap or zfs.is_internal(vol) or
                        zfs.is_temporary_snapshot(snap) or
                        row.get('defer_destroy') == 'on'):
                    continue
                entry = self._manageable_entry(snap, row, ids,
                                               'snapshot-', 'snapshot')
                entry['source_reference'] = {'source-name': host.full(vol)
                                             if self.pools.several else vol}
                entry['extra_info'] = ('clones: %s' % row['clones']
                                       if row.get('clones') else None)
                entries.append(entry)
        return volume_utils.paginate_entries_list(
            entries, marker, limit, offset, sort_keys, sort_dirs)

    @staticmethod
    def _manageable_entry(name, row, ids, prefix, kind):
        owner = row.get(zfs.PROP_OWNER)
        by_name = name[len(prefix):] if name.startswith(prefix) else None
        entry = {'reference': {'source-name': name},
                 'size': zfs.gib_ceil(row.get('volsize') or 0),
                 'cinder_id': None, 'safe_to_manage': True,
                 'reason_not_safe': None}
        cinder_id = next((i for i in (owner, by_name) if i in ids), None)
        if cinder_id:
            entry.update(safe_to_manage=False, cinder_id=cinder_id,
                         reason_not_safe='already managed')
        elif owner and row.get(zfs.PROP_MANAGED) == 'yes':
            entry.update(safe_to_manage=False,
                         reason_not_safe='%s owned by Cinder %s %s' % (
                             kind, kind, owner))
        return entry

    # ---- groups ----------------------------------------------------------
    # Only consistent-snapshot group types are ours; for every other group
    # NotImplementedError makes Cinder use its generic per-volume code.

    @staticmethod
    def _consistent(group):
        if not volume_utils.is_group_a_cg_snapshot_type(group):
            raise NotImplementedError()

    def create_group(self, context, group):
        """Nothing on the host: a group is Cinder's list of volumes."""
        self._consistent(group)
        LOG.info('create_group %s (consistent snapshots)', group.id)
        return {'status': fields.GroupStatus.AVAILABLE}

    def update_group(self, context, group, add_volumes=None,
                     remove_volumes=None):
        """Membership is Cinder's alone: nothing changes on the host."""
        self._consistent(group)
        return None, None, None

    def delete_group(self, context, group, volumes):
        """Delete each member; a failure is that member's, not all."""
        self._consistent(group)
        return self._delete_members(group, volumes, self.delete_volume)

    @staticmethod
    def _delete_members(owner, members, delete):
        """(model update, member updates) of a group or group snapshot.

        Groups, group snapshots and their members share the strings
        'deleted' and 'error_deleting'.
        """
        updates = []
        for member in members:
            status = fields.GroupStatus.DELETED
            try:
                delete(member)
            except exception.CinderException as exc:
                LOG.error('deleting %(m)s of %(o)s: %(e)s',
                          {'m': member.id, 'o': owner.id, 'e': exc})
                status = fields.GroupStatus.ERROR_DELETING
            updates.append({'id': member.id, 'status': status})
        failed = any(u['status'] != fields.GroupStatus.DELETED
                     for u in updates)
        return ({'status': fields.GroupStatus.ERROR_DELETING if failed
                 else fields.GroupStatus.DELETED}, updates)

    def create_group_snapshot(self, context, group_snapshot, snapshots):
        """One ``zfs snapshot`` of every member: all at the same instant."""
        self._consistent(group_snapshot)
        LOG.info('create_group_snapshot %(id)s of %(n)d volumes',
                 {'id': group_snapshot.id, 'n': len(snapshots)})
        host = self.pools.one_parent(snapshots, self.pools.of_snapshot,
                                     'group snapshot %s' % group_snapshot.id)
        with self._host_errors():
            host.snapshot_many([self._snap(s) for s in snapshots],
                               self._owner_props(group_snapshot))
        return ({'status': fields.GroupSnapshotStatus.AVAILABLE},
                [{'id': s.id, 'status': fields.SnapshotStatus.AVAILABLE}
                 for s in snapshots])

    def delete_group_snapshot(self, context, group_snapshot, snapshots):
        """Each member as delete_snapshot (deferred while it has clones)."""
        self._consistent(group_snapshot)
        return self._delete_members(group_snapshot, snapshots,
                                    self.delete_snapshot)

    def create_group_from_src(self, context, group, volumes,
                              group_snapshot=None, snapshots=None,
                              source_group=None, source_vols=None):
        """Instant clones of a group snapshot or of a group's volumes.

        From a group: one atomic snapshot of all source volumes first, so
        the new group is as consistent as a group snapshot would be. A
        failure destroys the clones already made, so nothing is half-made.
        """
        self._consistent(group)
        host = self.pools.one_parent(volumes, self._zfs, 'group %s' % group.id)
        if group_snapshot is not None:
            src = self.pools.one_parent(
                snapshots, self.pools.of_snapshot,
                'group snapshot %s' % group_snapshot.id)
        else:
            src = self.pools.one_parent(
                source_vols, self._zfs,
                'source group %s' % getattr(source_group, 'id', '?'))
        if volumes:
            self.pools.same_parent(volumes[0], src, 'the group\'s sources')
        if group_snapshot is not None:
            by_id = {s.id: s for s in snapshots}
            pairs = [(v, self._snap(by_id[v.snapshot_id]), by_id[
                v.snapshot_id].volume_size) for v in volumes]
            temporary = []
        else:
            by_id = {v.id: v for v in source_vols}
            pairs = [(v, host.snapshot_name(
                by_id[v.source_volid].name, zfs.CLONE_SNAP_PREFIX + v.name),
                by_id[v.source_volid].size) for v in volumes]
            temporary = [snap for _v, snap, _size in pairs]
        LOG.info('create_group_from_src %(id)s: %(n)d clones',
                 {'id': group.id, 'n': len(pairs)})
        made = []
        with self._host_errors():
            if temporary:
                host.snapshot_many(temporary)
            try:
                for volume, snap, size in pairs:
                    _sparse, _bs, props = self._new_props(volume, size)
                    host.clone_from(snap, volume.name, props)
                    made.append(volume)
            except errors.ZolError:
                for volume in made:
                    host.destroy(volume.name, recursive=True)
                raise
            finally:
                for snap in temporary:
                    host.delete_snapshot(snap)
        return None, [{'id': v.id, 'status': 'available'} for v in volumes]

    # ---- replication (replicated.py) -----------------------------------

    def failover_host(self, context, volumes, secondary_id=None,
                      groups=None):
        """Fail over to the replication target, or back ('default').

        Returns (backend id, [{'volume_id', 'updates'}], []); from then on
        every operation, exports included, runs on the site failed to.
        """
        active, updates, group_updates = self.failover(
            context, volumes, secondary_id, groups)
        self.failover_completed(context, active)
        return active, updates, group_updates

    def failover(self, context, volumes, secondary_id=None, groups=None):
        """The volumes' half (a cluster: failover_completed switches)."""
        if self.replication is None:
            raise exception.UnableToFailOver(
                reason=_('no replication_device is configured'))
        active, updates = self.replication.failover(volumes, secondary_id)
        return active, updates, []

    def failover_completed(self, context, active_backend_id=None):
        """Every service of the backend: run on the site now active."""
        if self.replication is None:
            raise exception.UnableToFailOver(
                reason=_('no replication_device is configured'))
        self._use(self.replication.complete(active_backend_id))
        self._active_backend_id = active_backend_id
        try:
            self._check_wrapper_version()
        except exception.VolumeDriverException as exc:
            LOG.warning('after fail-over: %s', exc)
        LOG.info('failover_completed: active ZFS host %(h)s (%(b)s)',
                 {'h': self.active_conf.san_ip,
                  'b': active_backend_id or secondary.FAILBACK_ID})

    # ---- migration -----------------------------------------------------

    def migrate_volume(self, ctxt, volume, host):
        """Move the zvol to another backend of this driver by send/receive.

        (False, None) lets Cinder copy it its generic way: a destination
        that is not a backend of this driver reachable from this
        cinder.conf, a wrapper older than 1.4.0 on either side, or an
        attached volume (Cinder itself calls this only for detached ones;
        an attached volume's data must move with Nova's help).
        """
        if volume.status not in ('available', 'retyping') or \
                volume.volume_attachment:
            LOG.info('migrate_volume %(id)s: %(s)s with %(n)d attachment(s): '
                     'left to Cinder', {'id': volume.id, 's': volume.status,
                                        'n': len(volume.volume_attachment or
                                                 [])})
            return False, None
        dest, why = migration.destination(host, self.configuration,
                                          self._zfs(volume).parent)
        if dest is None:
            LOG.info('migrate_volume %(id)s to %(host)s: %(why)s; left to '
                     'Cinder', {'id': volume.id, 'host': host.get('host'),
                                'why': why})
            return False, None
        dst = dest.connect(self.configuration.zol_busy_retries)
        try:
            with self._host_errors(volume=volume):
                if not (migration.supports_streams(self.executor) and
                        migration.supports_streams(dst.executor)):
                    LOG.info('migrate_volume %s: a wrapper older than 1.4.0 '
                             'has no stream verbs; left to Cinder', volume.id)
                    return False, None
                self._move(volume, dst)
        finally:
            dst.executor.close()
        return True, {'provider_location': None, 'provider_auth': None}

    def _move(self, volume, dst):
        """Send, verify, give the copy the source's properties, drop it."""
        src = self._zfs(volume)
        props = src.local_props(volume.name, zfs.MUTABLE_PROPS |
                                {'refreservation'})
        if props.get('refreservation') not in (None, 'none'):
            props['refreservation'] = 'auto'
        props.update(self._owner_props(volume))
        stats = transfer.ZvolTransfer(
            src, dst,
            verify=self.configuration.zol_migration_verify).run(volume.name)
        try:
            dst.set(volume.name, props)
        except Exception:
            with excutils.save_and_reraise_exception():
                dst.destroy(volume.name, recursive=True)
        self.delete_volume(volume)
        LOG.info('migrate_volume %(id)s: %(src)s -> %(dst)s, %(b)d bytes in '
                 '%(s).1f s, %(r)d resume(s)',
                 {'id': volume.id, 'src': self._dataset(volume),
                  'dst': dst.full(volume.name), 'b': stats.bytes,
                  's': stats.seconds, 'r': stats.resumed})

    def update_migrated_volume(self, ctxt, volume, new_volume,
                               original_volume_status):
        """Give the migrated zvol the original volume's name and owner.

        As Cinder's LVM driver: an available volume's zvol is renamed (so
        no _name_id is needed); an in-use one keeps its name, since it is
        exported under it, and Cinder records that name through _name_id.
        """
        original = CONF.volume_name_template % volume.id
        current = new_volume.name
        owner = self._owner_props(volume)
        keep = {'_name_id': new_volume._name_id or new_volume.id,
                'provider_location': new_volume.provider_location}
        host = self._zfs(new_volume)
        with self._host_errors(volume=new_volume):
            if original_volume_status != 'available':
                host.set(current, owner)
                return keep
            try:
                host.rename(current, original)
            except errors.ZolError as exc:
                LOG.warning('update_migrated_volume %(id)s: cannot rename '
                            '%(cur)s to %(orig)s (%(e)s): keeping its name',
                            {'id': volume.id, 'cur': current,
                             'orig': original, 'e': exc})
                host.set(current, owner)
                return keep
            host.set(original, owner)
        LOG.info('update_migrated_volume %(id)s: %(cur)s renamed to '
                 '%(orig)s', {'id': volume.id, 'cur': current,
                              'orig': original})
        return {'_name_id': None, 'provider_location': None}

    # ---- retype --------------------------------------------------------

    def retype(self, context, volume, new_type, diff, host):
        """Change mutable properties in place; refuse a new volblocksize."""
        LOG.info('retype %(id)s to type %(type)s',
                 {'id': volume.id, 'type': new_type.get('id')})
        specs = dict(new_type.get('extra_specs') or {})
        if volume_utils.is_replicated_spec(specs) != \
                replicated.is_replicated(volume):
            LOG.info('retype %(id)s: replication changes, not in place',
                     {'id': volume.id})
            return False, None
        sparse, blocksize, props = self._zvol_spec(specs)
        host_zfs = self._zfs(volume)
        if self.pools.several and host:
            pool = volume_utils.extract_host(host.get('host'), 'pool')
            if self.pools.named(pool) is not host_zfs:
                LOG.info('retype %(id)s: to pool %(pool)s, not in place',
                         {'id': volume.id, 'pool': pool})
                return False, None
        with self._host_errors(volume=volume):
            current = host_zfs.get(volume.name, ('volblocksize',))
            if blocksize and blocksize != current.get('volblocksize'):
                LOG.info('retype %(id)s: volblocksize %(old)s -> %(new)s '
                         'cannot change in place',
                         {'id': volume.id, 'new': blocksize,
                          'old': current.get('volblocksize')})
                return False, None
            dropped = [k for k in zfs.MUTABLE_PROPS if k not in props and
                       ('zol:' + k) in (diff or {}).get('extra_specs', {})]
            if dropped:
                props.update(host_zfs.get(None, dropped))
            props['refreservation'] = 'none' if sparse else 'auto'
            host_zfs.set(volume.name, props)
        return True, None

    # ------------------------------------------------------------------
    # Image transfer (image_transfer, through the SSH channel)
    # ------------------------------------------------------------------

    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False):
        """Write an image into the zvol through the SSH channel."""
        LOG.info('Copy image %(image)s to volume %(vol)s.',
                 {'image': image_id, 'vol': volume.id})
        with self._host_errors(volume=volume):
            image_transfer.image_to_zvol(
                self.executor, self._dataset(volume), context,
                image_service, image_id, volume.size,
                self.configuration.volume_dd_blocksize,
                extents=self.image_extents, disable_sparse=disable_sparse)

    def copy_volume_to_image(self, context, volume, image_service,
                             image_meta):
        """Upload the zvol's bytes as an image through the SSH channel."""
        LOG.info('Copy volume %(vol)s to image %(image)s.',
                 {'vol': volume.id, 'image': image_meta.get('id')})
        with self._host_errors(volume=volume):
            image_transfer.zvol_to_image(
                self.executor, self._dataset(volume), context,
                image_service, image_meta, volume,
                extents=self.image_extents)

    # ------------------------------------------------------------------
    # Export half (tgt.TgtTargets)
    # ------------------------------------------------------------------

    def create_export(self, context, volume, connector):
        """One ``target-create``: target, LUN 1, serial, CHAP (idempotent)."""
        with self._host_errors(volume=volume):
            return self.targets.create_export(volume)

    def update_provider_info(self, volumes, snapshots):
        """Name the volumes left 'extending' or 'uploading'; change nothing.

        Cinder's start-up clean-up covers neither an extend nor an upload
        to an image (no worker is kept for them), so a volume whose service
        died in one stays so. Whether it is dead only the operator knows
        (another service of a cluster may be running it), so the driver
        says what to do and writes nothing.
        """
        for volume in volumes:
            if volume.status == 'extending':
                LOG.warning('volume %(id)s is "extending" at start-up. If no '
                            'other service is extending it, its extend was '
                            'cut: "cinder reset-state --state available '
                            '%(id)s" (in-use if attached), then extend it '
                            'again; a size the zvol already has is '
                            'accepted.', {'id': volume.id})
            elif volume.status == 'uploading':
                LOG.warning('volume %(id)s is "uploading" at start-up. If no '
                            'other service is copying it to an image, the '
                            'copy was cut: "cinder reset-state --state '
                            'available %(id)s" (in-use if attached), delete '
                            'the image it left queued in Glance, and upload '
                            'again; the zvol was only read.',
                            {'id': volume.id})
        return None, None

    def ensure_export(self, context, volume):
        """Free if the start-up ``target-restore`` found it; else re-create.

        Credentials come from provider_auth only: initiators that were
        connected before the restart log in again with them. A host that
        cannot restore never fails the volume (Cinder would set it to
        error): the backend reports down and stats retry.
        """
        self._ensure(volume)

    def ensure_exports(self, context, volumes):
        """Bulk form: one restore, one create per target still missing."""
        self.targets.end_startup()
        recreated = [iqn for iqn in map(self._ensure, volumes) if iqn]
        LOG.info('ensure_exports: %(n)d volumes, %(r)d re-created',
                 {'n': len(volumes), 'r': len(recreated)})
        return recreated

    def _ensure(self, volume):
        """The IQN if its target had to be re-created, else None."""
        with self._host_errors(volume=volume):
            export = self.targets.volume_export(volume, renew=False)
        try:
            if self.targets.ensure(export):
                LOG.info('ensure_export %(id)s: re-created %(iqn)s',
                         {'id': volume.id, 'iqn': export.iqn})
                return export.iqn
        except errors.ZolError as exc:
            self._pending[export.iqn] = export
            self._down_reason = (_('target of in-use volume %(id)s not '
                                   'restored: %(e)s')
                                 % {'id': volume.id, 'e': exc})
            LOG.error('ensure_export %(id)s: %(e)s. The volume stays '
                      'in-use, the backend reports down, and every stats '
                      'period tries again.', {'id': volume.id, 'e': exc})
        return None

    def set_initialized(self):
        """Start-up is over: ensure_export asks the host again next time."""
        super().set_initialized()
        if self.targets is not None:
            self.targets.end_startup()

    def remove_export(self, context, volume):
        """One ``target-delete``, unless another host is still attached."""
        with self._host_errors(volume=volume):
            self.targets.remove_export(volume)

    def initialize_connection(self, volume, connector):
        """Allow the connector's initiator; return Cinder's iSCSI info."""
        with self._host_errors(volume=volume):
            return self.targets.initialize_connection(volume, connector)

    def terminate_connection(self, volume, connector, **kwargs):
        """Deny the initiator; True while other attached hosts share it."""
        with self._host_errors(volume=volume):
            return self.targets.terminate_connection(volume, connector)
