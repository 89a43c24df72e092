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

"""Issue 20, the Cinder glue: replication_device, seeding, the periodic
sync, fail-over and fail-back (secondary.py, replicated.py, driver.py).

The engine (replication.Replicator) is replaced by FakeReplicator, which
keeps its documented contract: the same signatures (checked below),
seed/sync return transfer.Stats, sync raises NoCommonSnapshot when told
the sides share nothing, promote returns the snapshot's name.
"""

import contextlib
import inspect
import re
import threading
import time
from unittest import mock
import uuid

from cinder import exception
import fixtures

from tests.unit import fakes
from tests.unit.fakes import DriverTestCase
from zol_driver import driver
from zol_driver import errors
from zol_driver import replicated
from zol_driver import replication
from zol_driver import secondary
from zol_driver import ssh
from zol_driver import transfer

P = fakes.P
P2 = 'tank/dr'
BID = 'dr'
IP2 = '192.0.2.20'
PORTAL2 = '198.51.100.20'
REPL = {'replication_enabled': '<is> True'}
DEVICE = {'backend_id': BID, 'san_ip': IP2, 'zol_parent_dataset': P2,
          'target_ip_address': PORTAL2}
WRAPPER_OK = 'zfswrapper 1.6.0\ntgtadm 1.0.90\n'


class FakeReplicator(object):
    """Replicator's contract, recorded in a log shared by all instances.

    log: (method, primary parent, secondary parent, name). fail: {(method,
    name or None): exception} raised instead of doing it.
    """

    log = None
    fail = None

    def __init__(self, primary, secondary, resumes=1):
        self.primary = primary
        self.secondary = secondary
        self.resumes = resumes

    def _do(self, method, name):
        self.log.append((method, self.primary.parent, self.secondary.parent,
                         name))
        exc = self.fail.get((method, name), self.fail.get((method, None)))
        if exc is not None:
            raise exc

    def seed(self, name):
        self._do('seed', name)
        return transfer.Stats()

    def sync(self, name):
        self._do('sync', name)
        return transfer.Stats()

    def status(self, name):
        self._do('status', name)
        return {'common': 'zol-repl-1', 'created': 1000.0}

    def remove(self, name):
        self._do('remove', name)

    def promote(self, name):
        self._do('promote', name)
        return 'zol-repl-7'

    def demote(self, name):
        self._do('demote', name)


def first(ex, regex, out='', raises=None):
    """A rule that answers before every other one of a FakeExecutor."""
    ex.rules.insert(0, [re.compile(regex), out, '', 0, None, raises])


class RecordingLock(object):
    """Per-name locks that note who held them while the log grew."""

    def __init__(self, log):
        self.log = log
        self.held = []

    @contextlib.contextmanager
    def __call__(self, name):
        self.log.append(('lock', name))
        self.held.append(name)
        try:
            yield
        finally:
            self.held.remove(name)
            self.log.append(('unlock', name))


class ContractTestCase(DriverTestCase):

    def test_fake_keeps_the_replicators_signatures(self):
        for name in ('__init__', 'seed', 'sync', 'status', 'remove',
                     'promote', 'demote'):
            self.assertEqual(
                inspect.signature(getattr(replication.Replicator, name)),
                inspect.signature(getattr(FakeReplicator, name)), name)


class DeviceTestCase(DriverTestCase):
    """replication_device: read, judged, refused with the reason."""

    def load(self, *devices):
        self.set(replication_device=list(devices))
        return secondary.load(self.drv.configuration)

    def details(self, *devices):
        site, problems = self.load(*devices)
        self.assertIsNone(site)
        return ' | '.join(p.detail + ' ' + p.fix for p in problems
                          if p.failed)

    def test_no_device_no_replication(self):
        self.assertEqual((None, []), secondary.load(self.drv.configuration))

    def test_a_good_device(self):
        site, problems = self.load(dict(DEVICE, san_ssh_port='2222'))
        self.assertEqual([], [p for p in problems if p.failed])
        self.assertEqual((BID, IP2, P2, 2222, PORTAL2),
                         (site.backend_id, site.san_ip,
                          site.zol_parent_dataset, site.san_ssh_port,
                          site.safe_get('target_ip_address')))
        # the rest is the backend's own
        self.assertEqual('/k', site.san_private_key)
        self.assertEqual(self.drv.configuration.target_prefix,
                         site.target_prefix)

    def test_the_portal_defaults_to_the_devices_address(self):
        self.set(target_ip_address='192.0.2.99')
        device = dict(DEVICE)
        del device['target_ip_address']
        site, _p = self.load(device)
        self.assertEqual([IP2 + ':3260'],
                         replicated.tgt.TgtTargets(None, site).portals())

    def test_the_devices_own_iscsi_port(self):
        self.set(target_port=3260)
        site, problems = self.load(dict(DEVICE, target_port='13260'))
        self.assertEqual([], [p for p in problems if p.failed])
        self.assertEqual([PORTAL2 + ':13260'],
                         replicated.tgt.TgtTargets(None, site).portals())

    def test_two_devices_are_refused(self):
        self.assertIn('2 replication_device entries',
                      self.details(DEVICE, dict(DEVICE, backend_id='dr2')))

    def test_missing_and_unknown_keys_are_named(self):
        device = {'backend_id': BID, 'san_ip': IP2, 'colour': 'red'}
        text = self.details(device)
        self.assertIn('lacks zol_parent_dataset', text)
        self.assertIn('unknown key(s) colour', text)

    def test_bad_values_are_named(self):
        for change, words in (
                ({'zol_parent_dataset': 'tank'}, 'pool root'),
                ({'zol_parent_dataset': '/etc'}, 'not a valid dataset'),
                ({'zol_parent_dataset': 'tank/a tank/b'}, '2 parent(s)'),
                ({'backend_id': 'default'}, 'Cinder\'s word'),
                ({'san_ssh_port': 'x'}, 'not a port'),
                ({'target_port': '70000'}, 'target_port \'70000\' is not'),
                ({'san_ip': '192.0.2.10', 'zol_parent_dataset': P},
                 'own parent')):
            self.assertIn(words, self.details(dict(DEVICE, **change)),
                          change)

    def test_do_setup_refuses_a_bad_device(self):
        self.set(replication_device=[{'backend_id': BID}])
        exc = self.assertRaises(exception.InvalidConfigurationValue,
                                self.drv.do_setup, self.ctx)
        self.assertIn('replication_device lacks san_ip, '
                      'zol_parent_dataset', str(exc))


class ReplicationTestCase(DriverTestCase):
    """A backend with a replication_device, set up with fake executors."""

    active_backend_id = None

    def setUp(self):
        super().setUp()
        FakeReplicator.log = self.log = []
        FakeReplicator.fail = self.fail = {}
        self.useFixture(fixtures.MonkeyPatch(
            'zol_driver.replication.Replicator', FakeReplicator))
        self.set(replication_device=[DEVICE], zol_replication_interval=10)
        self.ex2 = fakes.FakeExecutor()
        for ex, parent in ((self.ex, P), (self.ex2, P2)):
            ex.on('^version', WRAPPER_OK)
            ex.on('zfs list -H -p -o name,type,used,avail ',
                  fakes.listing((parent, 'filesystem', 1, 100)))
        self.drv._active_backend_id = self.active_backend_id
        self.setup_driver()
        self.lock = RecordingLock(self.log)
        self.repl._lock = self.lock
        self.now = 5000.0
        self.repl._clock = lambda: self.now

    def setup_driver(self):
        def executor(conf):
            return self.ex2 if conf.san_ip == IP2 else self.ex
        with mock.patch.object(ssh.SSHExecutor, 'from_configuration',
                               side_effect=executor):
            self.drv.do_setup(self.ctx)

    @property
    def repl(self):
        return self.drv.replication

    def volume(self, size=1, specs=None, **kw):
        kw.setdefault('id', str(uuid.uuid4()))
        return super().volume(size, specs, **kw)

    def rvol(self, **kw):
        return self.volume(specs=dict(REPL), **kw)

    def engine(self):
        return [e for e in self.log if e[0] not in ('lock', 'unlock')]


class SetupTestCase(ReplicationTestCase):

    def test_two_sites_the_primary_active(self):
        self.assertIs(self.ex, self.drv.executor)
        self.assertEqual(P, self.drv.zfs.parent)
        self.assertIs(self.ex2, self.repl.secondary.executor)
        self.assertEqual(P2, self.repl.secondary.pools.first.parent)
        self.assertFalse(self.repl.failed_over)
        self.assertEqual(10, self.repl.interval)

    def test_check_starts_the_sync_loop(self):
        with mock.patch.object(self.repl, 'start') as start:
            self.drv.check_for_setup_error()
        start.assert_called_once_with()
        self.assertIn('version', self.ex2.calls)

    def test_a_wrapper_without_replication_is_refused(self):
        for ex, where in ((self.ex, '192.0.2.10'), (self.ex2, BID)):
            first(ex, '^version', 'zfswrapper 1.5.0\n')
            with mock.patch.object(self.repl, 'start') as start:
                exc = self.assertRaises(exception.VolumeDriverException,
                                        self.drv.check_for_setup_error)
            self.assertIn('replication needs zfswrapper 1.6.0', str(exc))
            self.assertIn(where, str(exc))
            start.assert_not_called()
            ex.rules.pop(0)

    def test_a_target_that_is_down_only_warns(self):
        first(self.ex2, '^version',
              raises=errors.TransportError(IP2, 'refused'))
        with mock.patch.object(self.repl, 'start') as start, \
                mock.patch.object(driver.LOG, 'warning') as warn:
            self.drv.check_for_setup_error()
        start.assert_called_once_with()
        self.assertIn('does not answer', warn.call_args[0][0])

    def test_stats_report_replication(self):
        self.ex.on('zfs list', fakes.listing(
            fakes.space_row(P, 'filesystem') + ('-',)))
        stats = self.drv.get_volume_stats(refresh=True)
        for where in (stats, stats['pools'][0]):
            self.assertTrue(where['replication_enabled'])
            self.assertEqual([BID], where['replication_targets'])
            self.assertEqual('async', where['replication_type'])
        self.assertIn('zol:replica', self.ex.commands()[0])

    def test_both_replication_features(self):
        cls = type(self.drv)
        self.assertTrue(cls.supports_replication_feature('v2.1'))
        self.assertTrue(cls.supports_replication_feature('a/a'))


class StartFailedOverTestCase(ReplicationTestCase):
    """Cinder restarts the service with active_backend_id = 'dr'."""

    active_backend_id = BID

    def test_starts_on_the_secondary(self):
        self.assertTrue(self.repl.failed_over)
        self.assertIs(self.ex2, self.drv.executor)
        self.assertEqual(P2, self.drv.zfs.parent)
        self.assertEqual([PORTAL2 + ':3260'], self.drv.targets.portals())
        with mock.patch.object(self.repl, 'start') as start:
            self.drv.check_for_setup_error()
        start.assert_not_called()
        self.assertEqual([], self.ex.calls, 'the primary is left alone')
        vol = self.volume()
        self.drv.create_volume(vol)
        self.assertEqual([], self.ex.commands())
        self.assertIn('%s/%s' % (P2, vol.name), self.ex2.commands()[-1])

    def test_an_unknown_active_backend_is_refused(self):
        self.drv._active_backend_id = 'elsewhere'
        exc = self.assertRaises(exception.InvalidConfigurationValue,
                                self.setup_driver)
        self.assertIn('failed over to elsewhere', str(exc))

    def test_failed_over_without_a_device_is_refused(self):
        self.set(replication_device=[])
        exc = self.assertRaises(exception.InvalidConfigurationValue,
                                self.setup_driver)
        self.assertIn('failed over to dr, but it has no replication_device',
                      str(exc))


class VolumeTestCase(ReplicationTestCase):

    def test_create_marks_and_seeds(self):
        vol = self.rvol()
        update = self.drv.create_volume(vol)
        self.assertEqual({'replication_status': 'enabled'}, update)
        create = self.ex.commands()[0]
        self.assertIn('-o zol:replica=%s' % BID, create)
        self.assertEqual([('lock', vol.name), ('seed', P, P2, vol.name),
                          ('unlock', vol.name)], self.log)
        self.assertEqual(self.now, self.repl.synced[vol.name])

    def test_a_failed_seed_keeps_the_volume(self):
        self.fail[('seed', None)] = replication.ReplicationError(
            'x', 'secondary unreachable')
        vol = self.rvol()
        with mock.patch.object(replicated.LOG, 'error') as error:
            update = self.drv.create_volume(vol)
        self.assertEqual({'replication_status': 'error'}, update)
        self.assertIn('secondary unreachable',
                      str(error.call_args[0][1]['e']))
        self.assertEqual(['zfs create'], fakes.verbs(self.ex.commands()))

    def test_a_plain_volume_is_not_replicated(self):
        vol = self.volume(specs={'replication_enabled': '<is> False'})
        self.assertIsNone(self.drv.create_volume(vol))
        self.assertNotIn('zol:replica', self.ex.commands()[0])
        self.assertEqual([], self.log)

    def test_clones_and_volumes_from_snapshots_are_seeded(self):
        src = self.rvol()
        snap = self.snapshot(src)
        a, b = self.rvol(), self.rvol()
        self.assertEqual({'replication_status': 'enabled'},
                         self.drv.create_volume_from_snapshot(a, snap))
        self.assertEqual({'replication_status': 'enabled'},
                         self.drv.create_cloned_volume(b, src))
        self.assertEqual([('seed', P, P2, a.name), ('seed', P, P2, b.name)],
                         self.engine())
        clones = [c for c in self.ex.commands() if c.startswith('zfs clone')]
        self.assertEqual(2, len(clones))
        for cmd in clones:
            self.assertIn('zol:replica=%s' % BID, cmd)

    def test_delete_removes_the_replica_under_the_lock(self):
        vol = self.rvol()
        seen = []

        def spy(*argv, **kw):
            if argv[:2] == ('zfs', 'destroy'):
                seen.append(list(self.lock.held))
            return self.ex(*argv, **kw)
        self.drv.zfs.executor = spy
        self.drv.delete_volume(vol)
        self.assertEqual([[vol.name]], seen, 'destroyed under the lock')
        self.assertEqual([('lock', vol.name), ('remove', P, P2, vol.name),
                          ('unlock', vol.name)], self.log)

    def test_a_failed_remove_does_not_fail_the_delete(self):
        self.fail[('remove', None)] = replication.ReplicationError(
            'x', 'down')
        vol = self.rvol()
        with mock.patch.object(replicated.LOG, 'error') as error:
            self.drv.delete_volume(vol)
        self.assertIn('zfs destroy -r %s/%s' % (P2, vol.name),
                      error.call_args[0][0] % error.call_args[0][1])

    def test_extend_syncs_after_the_extend(self):
        vol = self.rvol()
        self.ex.on('zfs get', fakes.getout('volsize', fakes.GiB))
        self.drv.extend_volume(vol, 2)
        self.assertIn('volsize=%d' % (2 * fakes.GiB),
                      self.ex.commands()[-1])
        self.assertEqual([('lock', vol.name), ('sync', P, P2, vol.name),
                          ('unlock', vol.name)], self.log)

    def test_extend_seeds_when_no_snapshot_is_common(self):
        self.fail[('sync', None)] = replication.NoCommonSnapshot('x', 'none')
        vol = self.rvol()
        self.ex.on('zfs get', fakes.getout('volsize', fakes.GiB))
        self.drv.extend_volume(vol, 2)
        self.assertEqual([('sync', P, P2, vol.name),
                          ('remove', P, P2, vol.name),
                          ('seed', P, P2, vol.name)], self.engine())

    def test_revert_through_the_replication_snapshot_then_reseed(self):
        vol = self.rvol()
        snap = self.snapshot(vol)
        blocked = fakes.NEWER % ('%s/%s@%s' % (P, vol.name, snap.name),
                                 '%s/%s@zol-repl-4' % (P, vol.name))
        self.ex.on('zfs rollback', err=blocked, exit_code=1)
        self.drv.revert_to_snapshot(self.ctx, vol, snap)
        clone = [c for c in self.ex.commands() if c.startswith('zfs clone')]
        self.assertEqual(1, len(clone), self.ex.commands())
        self.assertIn('zol:replica=%s' % BID, clone[0])
        self.assertEqual([('lock', vol.name), ('remove', P, P2, vol.name),
                          ('seed', P, P2, vol.name), ('unlock', vol.name)],
                         self.log)

    def test_retype_across_replication_is_not_in_place(self):
        vol = self.rvol()
        self.assertEqual((False, None), self.drv.retype(
            self.ctx, vol, {'id': 't', 'extra_specs': {}}, {}, None))
        self.assertEqual([], self.ex.calls)


def replica_row(name, replica=BID):
    return fakes.space_row('%s/%s' % (P, name)) + (replica,)


class SyncTestCase(ReplicationTestCase):

    def listing(self, *rows):
        self.ex.on('zfs list', fakes.listing(
            fakes.space_row(P, 'filesystem') + ('-',), *rows))

    def test_a_round_syncs_each_marked_zvol_under_its_lock(self):
        self.listing(replica_row('volume-a'), replica_row('volume-b'),
                     replica_row('volume-plain', '-'),
                     replica_row('volume-other', 'other-target'),
                     replica_row('zol-deleted-volume-c'))
        self.assertEqual({'synced': 2, 'failed': 0}, self.repl.sync_all())
        self.assertEqual(
            [('lock', 'volume-a'), ('sync', P, P2, 'volume-a'),
             ('unlock', 'volume-a'), ('lock', 'volume-b'),
             ('sync', P, P2, 'volume-b'), ('unlock', 'volume-b')], self.log)
        self.assertEqual(['zfs list'], fakes.verbs(self.ex.calls))

    def test_one_failure_does_not_stop_the_round(self):
        self.listing(replica_row('volume-a'), replica_row('volume-b'))
        self.fail[('sync', 'volume-a')] = replication.ReplicationError(
            'volume-a', 'recv failed')
        with mock.patch.object(replicated.LOG, 'error') as error:
            self.assertEqual({'synced': 1, 'failed': 1},
                             self.repl.sync_all())
        self.assertIn('recv failed', str(error.call_args[0][1]['e']))
        # its age was learnt from the engine: the replica holds 1000.0
        self.assertEqual(1000.0, self.repl.synced['volume-a'])
        self.assertEqual(self.now, self.repl.synced['volume-b'])

    def test_lag_is_the_oldest_replicas(self):
        self.listing(replica_row('volume-a'), replica_row('volume-b'))
        self.repl.sync_all()
        self.now += 30
        self.fail[('sync', 'volume-b')] = replication.ReplicationError(
            'volume-b', 'down')
        self.repl.sync_all()
        self.now += 5
        stats = self.repl.stats()
        self.assertEqual(35, stats['zol_replication_lag'])
        self.assertEqual(2, stats['zol_replicas'])
        self.assertEqual(0, stats['zol_replicas_unsynced'])

    def test_a_stopped_round_syncs_no_further_volume(self):
        self.listing(replica_row('volume-a'), replica_row('volume-b'))
        real = FakeReplicator.sync

        def sync_then_failover(rep, name):
            self.repl.stop(timeout=0)       # what failover() does
            return real(rep, name)
        with mock.patch.object(FakeReplicator, 'sync', sync_then_failover):
            self.assertEqual({'synced': 1, 'failed': 0},
                             self.repl.sync_all())
        self.assertEqual([('sync', P, P2, 'volume-a')], self.engine())

    def test_a_listing_failure_is_logged_not_raised(self):
        self.ex.on('zfs list', err='boom', exit_code=1)
        with mock.patch.object(replicated.LOG, 'error') as error:
            self.assertEqual({'synced': 0, 'failed': 0},
                             self.repl.sync_all())
        self.assertIn('cannot list', error.call_args[0][0])

    def test_a_deleted_zvol_is_forgotten(self):
        self.listing(replica_row('volume-a'))
        self.repl.sync_all()
        self.ex.rules = []
        self.listing()
        self.repl.sync_all()
        self.assertEqual({}, self.repl.synced)
        self.assertEqual(0, self.repl.stats()['zol_replicas'])

    def test_the_loop_survives_a_failing_round(self):
        rounds = []
        done = threading.Event()

        def sync_all():
            rounds.append(1)
            if len(rounds) == 1:
                raise RuntimeError('bug')
            done.set()
        self.repl.interval = 0.01
        with mock.patch.object(self.repl, 'sync_all', sync_all), \
                mock.patch.object(replicated.LOG, 'exception') as exc_log:
            self.repl.start()
            self.addCleanup(self.repl.stop, 5)
            self.assertTrue(done.wait(5))
            self.repl.stop(5)
        self.assertGreaterEqual(len(rounds), 2)
        exc_log.assert_called_with('replication round failed')
        n = len(rounds)
        time.sleep(0.05)
        self.assertEqual(n, len(rounds), 'stopped')


class FailoverTestCase(ReplicationTestCase):

    def vols(self):
        a, b = self.rvol(), self.rvol()
        plain = self.volume(specs={})
        return a, b, plain

    def test_failover_promotes_and_moves_everything(self):
        a, b, plain = self.vols()
        self.fail[('promote', b.name)] = replication.ReplicationError(
            b.name, 'no snapshot')
        active, updates, groups = self.drv.failover_host(
            self.ctx, [a, b, plain])
        self.assertEqual((BID, []), (active, groups))
        by_id = {u['volume_id']: u['updates'] for u in updates}
        self.assertEqual({'replication_status': 'failed-over',
                          'provider_location': None}, by_id[a.id])
        self.assertEqual({'status': 'error',
                          'replication_status': 'failover-error'},
                         by_id[b.id])
        self.assertEqual({'status': 'error'}, by_id[plain.id])
        self.assertEqual([('promote', P, P2, a.name),
                          ('promote', P, P2, b.name)], self.engine())
        # from now on: the secondary's host, parent and portal
        self.assertIs(self.ex2, self.drv.executor)
        self.assertTrue(self.repl.failed_over)
        self.ex.calls[:] = []
        self.ex2.on('target-create', 'tid=3\n')
        a.provider_location = None
        model = self.drv.create_export(self.ctx, a, {})
        self.assertTrue(model['provider_location'].startswith(
            PORTAL2 + ':3260,3 '), model)
        self.assertIn('%s/%s' % (P2, a.name), ' '.join(self.ex2.calls))
        self.assertEqual([], self.ex.calls)
        self.assertIsNone(self.drv.create_volume(self.volume()))
        self.assertIn('%s/' % P2, self.ex2.commands()[-1])

    def test_an_unreachable_secondary_changes_nothing(self):
        first(self.ex2, '^version', raises=errors.TransportError(IP2, 'down'))
        a, b, plain = self.vols()
        exc = self.assertRaises(exception.InvalidReplicationTarget,
                                self.drv.failover_host, self.ctx, [a])
        self.assertIn('does not answer', str(exc))
        self.assertEqual([], self.engine())
        self.assertIs(self.ex, self.drv.executor)
        self.assertFalse(self.repl.failed_over)

    def test_unknown_targets_are_refused(self):
        for sid, words in (('elsewhere', 'unknown replication target'),
                           ('default', 'not failed over')):
            exc = self.assertRaises(exception.InvalidReplicationTarget,
                                    self.drv.failover_host, self.ctx, [],
                                    secondary_id=sid)
            self.assertIn(words, str(exc))
        self.assertIs(self.ex, self.drv.executor)

    def test_active_active_switches_only_when_completed(self):
        a, _b, _p = self.vols()
        active, updates, _g = self.drv.failover(self.ctx, [a], BID)
        self.assertEqual(BID, active)
        self.assertIs(self.ex, self.drv.executor, 'not yet')
        self.drv.failover_completed(self.ctx, BID)
        self.assertIs(self.ex2, self.drv.executor)

    def failed_over(self, vols):
        self.drv.failover_host(self.ctx, vols)
        self.log[:] = []

    def test_a_second_failover_is_refused(self):
        a, _b, _p = self.vols()
        self.failed_over([a])
        exc = self.assertRaises(exception.InvalidReplicationTarget,
                                self.drv.failover_host, self.ctx, [a])
        self.assertIn('already failed over to dr', str(exc))
        self.assertEqual([], self.engine())
        self.assertIsNone(self.repl.stats()['zol_replication_lag'])

    def test_failback_reverses_and_resumes(self):
        a, b, _p = self.vols()
        self.failed_over([a, b])
        with mock.patch.object(self.repl, 'start') as start:
            active, updates, _g = self.drv.failover_host(
                self.ctx, [a, b], secondary_id='default')
        self.assertEqual('default', active)
        self.assertEqual([{'replication_status': 'enabled',
                           'provider_location': None}] * 2,
                         [u['updates'] for u in updates])
        for vol in (a, b):
            self.assertEqual(
                [('demote', P2, P, vol.name), ('sync', P2, P, vol.name),
                 ('promote', P2, P, vol.name), ('demote', P, P2, vol.name)],
                [e for e in self.engine() if e[3] == vol.name])
        self.assertIs(self.ex, self.drv.executor)
        self.assertFalse(self.repl.failed_over)
        start.assert_called_once_with()

    def test_failback_without_a_common_snapshot_copies_in_full(self):
        a, _b, _p = self.vols()
        self.failed_over([a])
        self.fail[('demote', a.name)] = replication.NoCommonSnapshot(
            a.name, 'none')
        with mock.patch.object(self.repl, 'start'):
            self.drv.failover_host(self.ctx, [a], secondary_id='default')
        self.assertEqual(
            ['demote', 'remove', 'seed', 'sync', 'promote', 'demote'],
            [e[0] for e in self.engine()])

    def test_failback_leaves_a_plain_volume_alone(self):
        """Cinder may pass it (its replication_status not 'disabled').

        It never left the primary: the engine must not touch it (a
        demote finds no common snapshot, and a full copy from the
        secondary would replace it by nothing). It gets its status back.
        """
        a, _b, plain = self.vols()
        self.failed_over([a, plain])
        plain.previous_status = 'in-use'
        with mock.patch.object(self.repl, 'start'):
            _active, updates, _g = self.drv.failover_host(
                self.ctx, [a, plain], secondary_id='default')
        self.assertEqual([], [e for e in self.engine()
                              if e[3] == plain.name])
        by_id = {u['volume_id']: u['updates'] for u in updates}
        self.assertEqual({'status': 'in-use',
                          'replication_status': 'disabled'}, by_id[plain.id])

    def test_failback_with_the_primary_down_changes_nothing(self):
        a, _b, _p = self.vols()
        self.failed_over([a])
        first(self.ex, '^version', raises=errors.TransportError('p', 'down'))
        exc = self.assertRaises(exception.InvalidReplicationTarget,
                                self.drv.failover_host, self.ctx, [a],
                                secondary_id='default')
        self.assertIn('the primary ZFS host 192.0.2.10:22 does not answer',
                      str(exc))
        self.assertEqual([], self.engine())
        self.assertIs(self.ex2, self.drv.executor)
        self.assertTrue(self.repl.failed_over)

    def test_a_failed_failback_of_one_volume_is_its_error(self):
        a, b, _p = self.vols()
        self.failed_over([a, b])
        self.fail[('sync', a.name)] = replication.ReplicationError(
            a.name, 'recv failed')
        with mock.patch.object(self.repl, 'start'):
            _active, updates, _g = self.drv.failover_host(
                self.ctx, [a, b], secondary_id='default')
        by_id = {u['volume_id']: u['updates'] for u in updates}
        self.assertEqual('error', by_id[a.id]['status'])
        self.assertEqual('enabled', by_id[b.id]['replication_status'])

    def test_no_replication_device_no_failover(self):
        self.drv.replication = None
        self.assertRaises(exception.UnableToFailOver,
                          self.drv.failover_host, self.ctx, [])


class LockTestCase(DriverTestCase):

    def test_process_lock_without_a_coordinator(self):
        with replicated.lock('volume-x'):
            got = []
            t = threading.Thread(target=lambda: got.append(
                replicated.lock('volume-x').acquire(blocking=False)))
            t.start()
            t.join()
        self.assertEqual([False], got)
