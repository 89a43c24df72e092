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

"""iSCSI export on the ZFS host: tgt targets through the wrapper's verbs.

One target per volume (IQN ``<target_prefix><volume name>``), LUN 1 backed
by ``/dev/zvol/<parent>/<volume>``, a SCSI serial derived from the volume,
optional per-volume CHAP. The wrapper (doc/wrapper-protocol.rst) does the
tgtadm work under a lock on the host, so target ids never race between
cinder-volume services, and persists every target so ``target-restore``
rebuilds tgtd after a restart or reboot.

No Cinder and no SSH here: the executor is any callable with the semantics
of ``processutils.execute``. Round trips: create, allow, deny, delete and
resize are one command each; start-up costs one ``target-restore`` for all
volumes plus one ``target-create`` per target that could not be restored.

CHAP secrets travel on stdin only and never appear in argv, logs or reprs.
"""

import collections
import contextlib
import re
import secrets
import string
import threading
import time

from oslo_concurrency import processutils
from oslo_log import log as logging
from oslo_utils import excutils
import tenacity

from zol_driver import errors
from zol_driver import ssh
from zol_driver import version
from zol_driver import zfs

LOG = logging.getLogger(__name__)

LUN = 1
CHAP_SECRET_LEN = 16
_ALNUM = string.ascii_letters + string.digits
_SECRET_RE = re.compile(r'^[A-Za-z0-9]{12,64}$')
_TID_RE = re.compile(r'\btid=(\d+)\b')
_SERIAL_LEN = 32  # tgt keeps at most 36 bytes of scsi_sn

# Restore results (doc/wrapper-protocol.rst, target-restore).
RESTORED_OK = frozenset(('ok', 'restored'))


def _transient(exc):
    """Worth asking again: not a refusal and not a host-key problem."""
    return (isinstance(exc, errors.ZolError) and
            not isinstance(exc, (errors.WrapperRefused,
                                 errors.HostKeyError)))


def generate_chap():
    """New per-volume CHAP credentials: ('zol' + 12 hex, 16 alnum)."""
    user = 'zol' + secrets.token_hex(6)
    secret = ''.join(secrets.choice(_ALNUM) for _ in range(CHAP_SECRET_LEN))
    return user, secret


def parse_auth(provider_auth):
    """'CHAP user secret' -> (user, secret); None for anything else."""
    words = (provider_auth or '').split()
    if len(words) == 3 and words[0] == 'CHAP':
        return words[1], words[2]
    return None


def serial_for(volume_id):
    """A SCSI serial unique per volume: its id without dashes."""
    serial = re.sub(r'[^A-Za-z0-9]', '', str(volume_id))
    if not serial:
        raise errors.TargetError(str(volume_id), 'no usable SCSI serial')
    return serial[:_SERIAL_LEN]


def _check_word(word, what):
    """Refuse here what the wrapper would refuse with exit 126."""
    if not ssh.is_safe_word(word):
        raise errors.TargetError(what, '%r has characters or a length the '
                                 'wrapper refuses' % (word,))
    return word


class Export(collections.namedtuple(
        'Export', 'name iqn dataset serial chap_user chap_secret')):
    """What one volume's target should look like (secret kept out of repr).

    ``target_create_argv`` renders the wrapper command, ``stdin`` what goes
    on its standard input, so tests can compare exports without tgtd.
    """

    __slots__ = ()

    def __repr__(self):
        return ('Export(name=%r, iqn=%r, dataset=%r, serial=%r, '
                'chap_user=%r, chap_secret=%s)'
                % (self.name, self.iqn, self.dataset, self.serial,
                   self.chap_user, '***' if self.chap_secret else None))

    __str__ = __repr__

    @property
    def chap(self):
        if self.chap_user:
            return self.chap_user, self.chap_secret
        return None

    @property
    def provider_auth(self):
        """Cinder's provider_auth ('CHAP user secret') or None."""
        if self.chap_user:
            return 'CHAP %s %s' % (self.chap_user, self.chap_secret)
        return None

    def target_create_argv(self):
        argv = ['target-create', self.iqn, self.dataset, self.serial]
        if self.chap_user:
            argv.append(self.chap_user)
        return tuple(argv)

    def stdin(self):
        return (self.chap_secret + '\n') if self.chap_user else None


TargetInfo = collections.namedtuple(
    'TargetInfo', 'iqn tid lun persisted sessions')


def parse_target_list(text):
    """``target-list`` output -> {iqn: TargetInfo}."""
    result = {}
    for line in (text or '').splitlines():
        words = line.split()
        if not words:
            continue
        fields = dict(w.split('=', 1) for w in words[1:] if '=' in w)
        tid = fields.get('tid', '-')
        lun = fields.get('lun', '-')
        try:
            sessions = int(fields.get('sessions', '0'))
        except ValueError:
            sessions = 0
        result[words[0]] = TargetInfo(
            iqn=words[0], tid=int(tid) if tid.isdigit() else None,
            lun=None if lun == '-' else lun,
            persisted=fields.get('persisted') == 'yes', sessions=sessions)
    return result


def parse_restore(text):
    """``target-restore`` output -> {iqn: 'ok' | 'restored' | 'failed'}."""
    result = {}
    for line in (text or '').splitlines():
        words = line.split()
        if len(words) >= 2:
            result[words[0]] = words[1]
    return result


def parse_location(location):
    """provider_location -> (portals, tid or None, iqn, lun); None if bad."""
    words = (location or '').split()
    if len(words) < 2:
        return None
    portals, _comma, tid = words[0].partition(',')
    try:
        lun = int(words[2]) if len(words) > 2 else LUN
    except ValueError:
        lun = LUN
    return (portals.split(';'), int(tid) if tid.isdigit() else None,
            words[1], lun)


def _opt(conf, name, default=None):
    """An option from a Cinder Configuration or any object with attrs."""
    getter = getattr(conf, 'safe_get', None)
    value = getter(name) if getter else getattr(conf, name, None)
    return default if value is None else value


def _explicit(conf, name):
    """True unless name is left at its default in a Cinder Configuration.

    An object with an ``explicit`` set of option names (the check tool's
    settings) says so itself; other objects count as explicit.
    """
    explicit = vars(conf).get('explicit')
    if explicit is not None:
        return name in explicit
    if 'config_group' not in vars(conf):
        return True
    from oslo_config import cfg
    for group in (vars(conf)['config_group'], 'backend_defaults'):
        try:
            loc = cfg.CONF.get_location(name, group)
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            continue
        if loc and loc.location not in (cfg.Locations.opt_default,
                                        cfg.Locations.set_default):
            return True
    return False


def chap_wanted(conf):
    """CHAP unless the operator turned it off.

    Cinder's use_chap_auth defaults to False, which would leave every
    target open to whoever reaches the portal; we honour the option only
    when the operator set it (in the backend section or backend_defaults).
    """
    value = _opt(conf, 'use_chap_auth')
    if value is None or not _explicit(conf, 'use_chap_auth'):
        return True
    return bool(value)


def portal_ip(conf):
    """target_ip_address if set, else san_ip (the ZFS host itself).

    Cinder's default for target_ip_address is my_ip, the cinder-volume
    host, which here is never the machine that serves the targets.
    """
    if _explicit(conf, 'target_ip_address'):
        return _opt(conf, 'target_ip_address') or _opt(conf, 'san_ip')
    return _opt(conf, 'san_ip')


def portal_hosts(conf):
    """The portals' addresses: portal_ip, then the secondary ones."""
    ips = [portal_ip(conf)]
    ips += list(_opt(conf, 'target_secondary_ip_addresses', []))
    return [ip for ip in ips if ip]


def connected(volume):
    """Attachments that reached the host: those with a connector.

    Reserved attachments (Nova's shelve-offload, resize, a new attach not
    yet made) have none and hold no target or ACL entry.
    """
    return [a for a in volume.volume_attachment or [] if a.connector]


@contextlib.contextmanager
def _undo_on_failure(what, volume, undo, *args):
    """Run undo(*args) if the block fails; its own failure is logged."""
    try:
        yield
    except Exception:
        with excutils.save_and_reraise_exception():
            try:
                undo(*args)
            except errors.ZolError as exc:
                LOG.error('After a failed export call, could not %(w)s '
                          'volume %(id)s: %(e)s',
                          {'w': what, 'id': volume.id, 'e': exc})


class TgtTargets(object):
    """The tgt targets of one backend's volumes on one ZFS host.

    Built from an executor and a configuration-like object (attributes or
    ``safe_get``): zol_parent_dataset, target_prefix, target_ip_address,
    target_port, target_secondary_ip_addresses, use_chap_auth.
    """

    # How long one start-up restore answers ensure() (seconds). The driver
    # ends the window earlier when Cinder says the driver is initialised.
    startup_window = 600

    # Pause between start-up restore attempts: 2, 4, 8, 15, 15... s.
    restore_wait = tenacity.wait_exponential(multiplier=1, min=2, max=15)

    def __init__(self, executor, conf, clock=time.monotonic,
                 sleep=time.sleep):
        self.executor = executor
        self.conf = conf
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._restored = None       # {iqn: status} of this start-up
        self._restored_at = None
        # volume -> its parent dataset, for a backend with several
        # parents (the driver sets it); None: the first parent
        self.parent_for = None
        self.tgt_version = None     # (x, y, z) of the host's tgtadm

    # ------------------------------------------------------------ UNMAP

    def set_tgt_version(self, found):
        """The host's tgt version (the wrapper's ``version``), or None."""
        self.tgt_version = found

    @property
    def discard(self):
        """Initiators may send UNMAP: tgtd frees the zvol's blocks.

        Only tgt 1.0.90 and later unmap a block device with BLKDISCARD;
        older tgtd (Debian 12 has 1.0.85) punches a hole with fallocate,
        which a zvol refuses, so a discard would free nothing. The wrapper
        sets ``thin_provisioning=1`` on the LUN under the same rule.
        """
        return version.tgt_unmaps(self.tgt_version)

    def unmap_reason(self):
        """Why discard is or is not advertised, for the log."""
        found = ('.'.join(map(str, self.tgt_version))
                 if self.tgt_version else 'unknown')
        need = '.'.join(map(str, version.UNMAP_TGT))
        if self.discard:
            return 'tgt %s: discard advertised' % found
        return ('tgt %s: discard not advertised (tgt before %s cannot free '
                'a zvol\'s blocks on UNMAP)' % (found, need))

    # ------------------------------------------------------------ options

    @property
    def parents(self):
        return zfs.parse_parents(
            _opt(self.conf, 'zol_parent_dataset', 'tank/cinder'))

    @property
    def parent(self):
        """The first (with one parent, the only) parent dataset."""
        return (self.parents or ['tank/cinder'])[0]

    @property
    def prefix(self):
        return _opt(self.conf, 'target_prefix', 'iqn.2010-10.org.openstack:')

    @property
    def use_chap(self):
        return chap_wanted(self.conf)

    def portals(self):
        """['ip:port', ...]: the main portal, then the secondary ones."""
        port = _opt(self.conf, 'target_port', 3260)
        return ['%s:%s' % ('[%s]' % ip if ':' in ip else ip, port)
                for ip in portal_hosts(self.conf)]

    # -------------------------------------------------------------- names

    def iqn(self, name):
        return _check_word(self.prefix + name, name)

    def dataset(self, name, parent=None):
        return _check_word('%s/%s' % (parent or self.parent, name), name)

    def export_for(self, name, volume_id, provider_auth=None, renew=True,
                   iqn=None, parent=None):
        """The Export of a volume: CHAP kept from provider_auth if any.

        renew=False never invents credentials (re-export after a restart
        must keep what connected initiators use). iqn overrides the one
        made from target_prefix (the IQN a volume was exported with).
        """
        chap = None
        if self.use_chap:
            chap = parse_auth(provider_auth)
            if chap is None and renew:
                chap = generate_chap()
        if chap:
            _check_word(chap[0], name)
            if not _SECRET_RE.match(chap[1]):
                raise errors.TargetError(name, 'CHAP secret in provider_auth '
                                         'is not 12-64 letters and digits')
        return Export(name=name, iqn=_check_word(iqn, name) if iqn
                      else self.iqn(name),
                      dataset=self.dataset(name, parent), serial=serial_for(
                          volume_id), chap_user=chap[0] if chap else None,
                      chap_secret=chap[1] if chap else None)

    def location(self, iqn, tid):
        """Cinder's provider_location: 'ip:port[;ip:port],tid iqn lun'."""
        return '%s,%s %s %d' % (';'.join(self.portals()), tid, iqn, LUN)

    # ------------------------------------------- Cinder's export calls
    #
    # As Cinder's target helpers (cinder/volume/targets/): the driver hands
    # over the volume (any object with name, id, provider_location,
    # provider_auth, encryption_key_id and volume_attachment) and returns
    # what these return; it only maps errors.

    def volume_iqn(self, volume):
        """The IQN the volume was exported with, else the configured one."""
        loc = parse_location(volume.provider_location)
        if loc and loc[2].endswith(':' + volume.name):
            return loc[2]
        return self.iqn(volume.name)

    def volume_export(self, volume, renew=True):
        """The volume's Export, under the IQN it was exported with."""
        parent = self.parent_for(volume) if self.parent_for else None
        return self.export_for(volume.name, volume.id, volume.provider_auth,
                               renew=renew, iqn=self.volume_iqn(volume),
                               parent=parent)

    def create_export(self, volume):
        """One ``target-create``: the model update (location, auth).

        If it fails, the target it may have left is removed again: Cinder
        reports the attach failed, so nobody may log in to it.
        """
        export = self.volume_export(volume)
        LOG.info('create_export %(id)s as %(iqn)s',
                 {'id': volume.id, 'iqn': export.iqn})
        with _undo_on_failure('remove the target of', volume, self.delete,
                              export.iqn):
            tid = self.create(export)
        return {'provider_location': self.location(export.iqn, tid),
                'provider_auth': export.provider_auth}

    def remove_export(self, volume):
        """One ``target-delete``, unless another host is still attached.

        Cinder's detach_volume (force detach, old-style detach) calls this
        even when other attachments of a multiattach volume remain; the
        target then stays for them.
        """
        iqn = self.volume_iqn(volume)
        others = len(connected(volume)) - 1
        if others > 0:
            LOG.info('remove_export %(id)s: kept %(iqn)s for %(n)d other '
                     'attachment(s)', {'id': volume.id, 'iqn': iqn,
                                       'n': others})
            return
        LOG.info('remove_export %(id)s (%(iqn)s)',
                 {'id': volume.id, 'iqn': iqn})
        self.delete(iqn)

    def initialize_connection(self, volume, connector):
        """Allow the connector's initiator; Cinder's iSCSI connection info.

        If the allow fails, the initiator is denied again, so a failed
        attach never leaves it allowed.
        """
        iqn = self.volume_iqn(volume)
        connector = connector or {}
        initiator = connector.get('initiator')
        LOG.info('initialize_connection %(id)s for %(ini)s',
                 {'id': volume.id, 'ini': initiator})
        if initiator:
            with _undo_on_failure('deny the initiator of', volume,
                                  self.deny, iqn, initiator):
                self.allow(iqn, initiator)
        return {'driver_volume_type': 'iscsi',
                'data': self.iscsi_properties(volume, iqn,
                                              connector.get('multipath'))}

    def iscsi_properties(self, volume, iqn, multipath=False):
        """target_portal(s)/iqn(s)/lun(s) and CHAP, as os-brick reads them."""
        loc = parse_location(volume.provider_location)
        portals, lun = (loc[0], loc[3]) if loc else (self.portals(), LUN)
        data = {'target_discovered': False,
                'target_portal': portals[0],
                'target_iqn': iqn,
                'target_lun': lun,
                'volume_id': volume.id,
                'encrypted': volume.encryption_key_id is not None}
        if self.discard:
            data['discard'] = True
        if len(portals) > 1 or multipath:
            data.update(target_portals=portals,
                        target_iqns=[iqn] * len(portals),
                        target_luns=[lun] * len(portals))
        chap = parse_auth(volume.provider_auth)
        if chap:
            data.update(auth_method='CHAP', auth_username=chap[0],
                        auth_password=chap[1])
        return data

    def terminate_connection(self, volume, connector):
        """Deny the initiator; True while other attached hosts share it.

        Only attachments with a connector count (reserved ones never
        reached the host). An initiator still used by another attachment
        of a multiattach volume stays allowed. connector=None (force
        detach) names no initiator: with one connected attachment its
        initiator is denied; with several, nothing is, since the detaching
        one cannot be told apart (pass the connector to fence it).
        """
        attached = connected(volume)
        initiator = (connector or {}).get('initiator')
        if connector is None and len(attached) == 1:
            initiator = attached[0].connector.get('initiator')
        elif connector is None and attached:
            LOG.warning('terminate_connection %(id)s without a connector '
                        'while %(n)d hosts are attached: no initiator '
                        'denied', {'id': volume.id, 'n': len(attached)})
        same = [a for a in attached
                if a.connector.get('initiator') == initiator]
        LOG.info('terminate_connection %(id)s for %(ini)s',
                 {'id': volume.id, 'ini': initiator})
        if initiator and len(same) <= 1:
            self.deny(self.volume_iqn(volume), initiator)
        return len(attached) > 1

    def resize_export(self, volume):
        """Online extend: tgt re-reads the zvol size (exported volumes)."""
        if volume.provider_location and self.resize(self.volume_iqn(volume)):
            LOG.info('extend_volume %s: target shows the new size',
                     volume.id)

    # ------------------------------------------------------------ running

    @property
    def budget(self):
        """Seconds one export verb may take in all (None: no bound)."""
        return _opt(self.conf, 'zol_export_timeout')

    def _send(self, argv, kwargs):
        """Every target verb is idempotent: re-send one lost with its link.

        After a reboot of the ZFS host a pooled connection dies with the
        command in flight ("it may have run"); sending it again is safe.
        Both sends share one budget, so an attach or detach returns well
        inside Cinder's RPC timeout.
        """
        budget = kwargs.pop('budget', self.budget)
        start = self._clock()
        if budget:
            kwargs['deadline'] = budget
        try:
            return self.executor(*argv, **kwargs)
        except errors.HostKeyError:
            raise
        except errors.TransportError as exc:
            if budget:
                kwargs['deadline'] = budget - (self._clock() - start)
                if kwargs['deadline'] < 1:
                    raise
            LOG.warning('%(verb)s: %(exc)s; sending it once more',
                        {'verb': argv[0], 'exc': exc})
            return self.executor(*argv, **kwargs)

    def _run(self, what, *argv, **kwargs):
        """Run a wrapper verb; failures become zol_driver.errors."""
        try:
            out, _err = self._send(argv, kwargs)
        except processutils.ProcessExecutionError as exc:
            stderr = (exc.stderr or '').strip()
            if exc.exit_code == errors.WRAPPER_REFUSED:
                raise errors.WrapperRefused(what, stderr)
            error = errors.TargetError(what, stderr or 'exit code %s'
                                       % exc.exit_code)
            error.stdout = exc.stdout
            raise error
        return out

    # ---------------------------------------------------------- operations

    def create(self, export):
        """Create or keep the target (idempotent on the host): its tid."""
        out = self._run(export.iqn, *export.target_create_argv(),
                        process_input=export.stdin())
        match = _TID_RE.search(out or '')
        if not match:
            raise errors.TargetError(export.iqn, 'target-create printed no '
                                     'tid: %r' % (out or '').strip()[:200])
        LOG.debug('target %(iqn)s has tid %(tid)s',
                  {'iqn': export.iqn, 'tid': match.group(1)})
        return int(match.group(1))

    def delete(self, iqn):
        """Remove the target, forced within bounds on the host; gone is ok."""
        self._run(iqn, 'target-delete', _check_word(iqn, iqn))

    def allow(self, iqn, initiator):
        """Let one more initiator in (the first replaces ALL)."""
        self._run(iqn, 'target-allow', _check_word(iqn, iqn),
                  _check_word(initiator, iqn))

    def deny(self, iqn, initiator):
        """Remove an initiator and close its sessions; gone counts as done."""
        try:
            self._run(iqn, 'target-deny', _check_word(iqn, iqn),
                      _check_word(initiator, iqn))
        except errors.TargetError:
            if self.exists(iqn):
                raise
            LOG.info('target %s is gone: nothing to deny', iqn)

    def resize(self, iqn):
        """Show a grown zvol to connected initiators; no target, no-op.

        Returns True if a target was updated.
        """
        try:
            self._run(iqn, 'target-resize', _check_word(iqn, iqn))
        except errors.TargetError:
            if self.exists(iqn):
                raise
            LOG.info('target %s is not exported: nothing to resize', iqn)
            return False
        return True

    def listing(self):
        """{iqn: TargetInfo} of every target tgtd or the host knows."""
        return parse_target_list(self._run('target-list', 'target-list'))

    @staticmethod
    def lost(listing):
        """IQNs the host persisted but tgtd does not serve.

        What a ZFS-host reboot or a tgtd restart took away.
        """
        return sorted(i for i, t in listing.items()
                      if t.persisted and t.tid is None)

    def idle(self, listing):
        """{iqn: volume name} of this backend's live targets no one uses.

        Targets under our prefix, backed by a zvol under our parent, with
        no session: the ones an attach that died halfway may have left.
        """
        result = {}
        parents = self.parents
        for iqn, info in listing.items():
            name = iqn[len(self.prefix):]
            if (iqn.startswith(self.prefix) and info.tid is not None and
                    not info.sessions and info.lun and
                    any(info.lun.endswith('/%s/%s' % (p, name))
                        for p in parents)):
                result[iqn] = name
        return result

    def exists(self, iqn):
        info = self.listing().get(iqn)
        return bool(info and info.tid is not None)

    def restore(self):
        """Rebuild persisted targets missing from tgtd: {iqn: status}.

        Not bounded by the export budget: it may restore many targets.
        """
        try:
            out = self._run('target-restore', 'target-restore', budget=None)
        except errors.TargetError as exc:
            # Exit 1 with a line per target: some failed, the rest is done.
            out = exc.stdout
            if not parse_restore(out):
                raise
        result = parse_restore(out)
        failed = sorted(i for i, s in result.items() if s not in RESTORED_OK)
        LOG.info('target-restore: %(n)d targets, %(r)d restored, '
                 '%(f)d failed%(names)s',
                 {'n': len(result),
                  'r': sum(1 for s in result.values() if s == 'restored'),
                  'f': len(failed),
                  'names': (': ' + ', '.join(failed)) if failed else ''})
        return result

    # ------------------------------------------------------------ start-up

    @property
    def restore_timeout(self):
        return _opt(self.conf, 'zol_restore_timeout', 120)

    def _startup_restore(self):
        """One target-restore per start-up window, shared by all volumes.

        A host that cannot restore (tgtd down, pool not imported yet) is
        asked again with a growing pause for up to restore_timeout; then
        the failure is kept for the window, so the next volumes fail fast.
        """
        with self._lock:
            now = self._clock()
            if (self._restored is None or
                    now - self._restored_at > self.startup_window):
                try:
                    self._restored = self._restore_retrying()
                except errors.ZolError as exc:
                    self._restored = exc
                self._restored_at = self._clock()
            if isinstance(self._restored, errors.ZolError):
                raise self._restored
            return self._restored

    def _restore_retrying(self):
        end = self._clock() + self.restore_timeout
        retryer = tenacity.Retrying(
            stop=lambda _state: self._clock() >= end,
            wait=self.restore_wait,
            retry=tenacity.retry_if_exception(_transient),
            before_sleep=lambda state: LOG.warning(
                'target-restore failed (%s); trying again',
                state.outcome.exception()),
            sleep=self._sleep, reraise=True)
        return retryer(self._restore_some)

    def _restore_some(self):
        """restore(), failing when targets exist but none came back."""
        result = self.restore()
        if result and not any(s in RESTORED_OK for s in result.values()):
            raise errors.TargetError(
                'target-restore', 'none of %d persisted targets could be '
                'restored (zvols missing: pool not imported?)' % len(result))
        return result

    def end_startup(self):
        """Forget the start-up restore: the next ensure() asks again."""
        with self._lock:
            self._restored = None
            self._restored_at = None

    def ensure(self, export):
        """Make sure the export exists; True if it had to be re-created.

        Costs nothing for a target the start-up restore reported fine, one
        ``target-create`` (idempotent: keeps what is right, adds what is
        missing) otherwise.
        """
        if self._startup_restore().get(export.iqn) in RESTORED_OK:
            return False
        LOG.warning('target %s was not restored on the host; creating it '
                    'again', export.iqn)
        self.create(export)
        return True
