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

"""Several parents on one backend: one Cinder pool per parent dataset."""

from unittest import mock
import uuid

from cinder import exception
from cinder.tests.unit import fake_group
from cinder.tests.unit import fake_group_snapshot

from tests.unit import fakes
from tests.unit.fakes import DriverTestCase
from tests.unit.fakes import listing
from tests.unit.fakes import space_row
from tests.unit.fakes import verbs
from zol_driver import driver
from zol_driver import migration
from zol_driver import ssh
from zol_driver import validation
from zol_driver import zfs

P = fakes.P                 # tank/cinder
P2 = 'tank/cinder2'
GiB = zfs.GiB


class ParentOptionTestCase(DriverTestCase):

    def test_parse_parents(self):
        self.assertEqual(['tank/cinder'], zfs.parse_parents('tank/cinder'))
        self.assertEqual(['a/b', 'c/d', 'e/f'],
                         zfs.parse_parents(' a/b, c/d ,e/f,'))
        self.assertEqual([], zfs.parse_parents(''))
        self.assertEqual([], zfs.parse_parents(None))

    def test_parent_problems(self):
        self.assertEqual([], validation.parent_problems('tank/a,ssd/b'))
        cases = [('', 'is empty'), (' , ', 'is empty'),
                 ('tank/a,tank', 'tank is a pool root'),
                 ('tank/a,tank/a', 'lists tank/a twice'),
                 ('tank/a,tank/a/b', 'tank/a and tank/a/b are nested'),
                 ('tank/a/b,tank/a', 'tank/a/b and tank/a are nested'),
                 ('tank/a,/x', "'/x' is not a valid")]
        for value, words in cases:
            found = validation.parent_problems(value)
            self.assertTrue(found, value)
            self.assertTrue(all(p.failed for p in found), value)
            self.assertIn(words, ' '.join(p.detail for p in found), value)
        # tank/ab is not inside tank/a
        self.assertEqual([], validation.parent_problems('tank/a,tank/ab'))

    def test_setup_refuses_a_bad_list(self):
        self.set(zol_parent_dataset='tank/cinder,tank/cinder')
        exc = self.assertRaises(exception.InvalidConfigurationValue,
                                self.drv.do_setup, self.ctx)
        self.assertIn('twice', str(exc))


class PoolsTestCase(DriverTestCase):
    """A backend with zol_parent_dataset = tank/cinder,tank/cinder2."""

    def setUp(self):
        super().setUp()
        self.set(zol_parent_dataset='%s, %s' % (P, P2))
        with mock.patch.object(ssh.SSHExecutor,
                               'from_configuration') as from_conf:
            from_conf.return_value = self.ex
            self.drv.do_setup(self.ctx)
        for host in self.drv.pools.by_name.values():
            host.busy_interval = 0

    def vol2(self, **kw):
        """A volume in the second parent's pool."""
        kw.setdefault('host', 'cv@zolbe#' + P2)
        kw.setdefault('id', str(uuid.uuid4()))
        return self.volume(**kw)

    def vol1(self, **kw):
        kw.setdefault('host', 'cv@zolbe#' + P)
        kw.setdefault('id', str(uuid.uuid4()))
        return self.volume(**kw)

    def test_setup_one_host_per_parent(self):
        self.assertEqual([P, P2], list(self.drv.pools.by_name))
        self.assertIs(self.drv.zfs, self.drv.pools.by_name[P])
        self.assertEqual(P2, self.drv.pools.by_name[P2].parent)
        self.assertEqual([], self.ex.calls, 'do_setup sends nothing')

    def test_check_for_setup_error_checks_each_parent(self):
        self.ex.on('zfs list .* %s$' % P,
                   out='%s\tfilesystem\t10\t%d\n' % (P, GiB))
        self.ex.on('^version$', out='zfswrapper 1.3.0\n')
        self.ex.on('zfs list .* %s$' % P2,
                   err="cannot open '%s': dataset does not exist\n" % P2,
                   exit_code=1)
        exc = self.assertRaises(exception.VolumeDriverException,
                                self.drv.check_for_setup_error)
        self.assertIn('zol_parent_dataset %s does not exist' % P2, str(exc))
        self.ex.rules = []
        self.ex.calls = []
        self.ex.on('zfs list', out='x\tfilesystem\t10\t%d\n' % GiB)
        self.ex.on('^version$', out='zfswrapper 1.3.0\n')
        self.drv.check_for_setup_error()
        self.assertEqual(['zfs list -H -p -o name,type,used,avail ' + P,
                          'zfs list -H -p -o name,type,used,avail ' + P2,
                          'version', '<warm_up>'], self.ex.calls)

    def _listings(self):
        self.ex.on('zfs list .* %s$' % P, out=listing(
            space_row(P, 'filesystem', used=10 * GiB, avail=90 * GiB),
            space_row(P + '/volume-a', volsize=30 * GiB)))
        self.ex.on('zfs list .* %s$' % P2, out=listing(
            space_row(P2, 'filesystem', used=5 * GiB, avail=15 * GiB),
            space_row(P2 + '/volume-b', volsize=4 * GiB),
            space_row(P2 + '/volume-c', volsize=6 * GiB)))

    def test_stats_one_pool_per_parent(self):
        self._listings()
        stats = self.drv.get_volume_stats(refresh=True)
        self.assertEqual(['zfs list', 'zfs list', 'target-list'],
                         verbs(self.ex.calls))
        self.assertEqual('zolbe', stats['volume_backend_name'])
        pools = {p['pool_name']: p for p in stats['pools']}
        self.assertEqual([P, P2], [p['pool_name'] for p in stats['pools']])
        self.assertEqual((100.0, 90.0, 30.0, 1),
                         (pools[P]['total_capacity_gb'],
                          pools[P]['free_capacity_gb'],
                          pools[P]['provisioned_capacity_gb'],
                          pools[P]['total_volumes']))
        self.assertEqual((20.0, 15.0, 10.0, 2),
                         (pools[P2]['total_capacity_gb'],
                          pools[P2]['free_capacity_gb'],
                          pools[P2]['provisioned_capacity_gb'],
                          pools[P2]['total_volumes']))
        where = migration.parse_location(pools[P2]['location_info'])
        self.assertEqual((P2, '192.0.2.10'), (where['parent'], where['host']))
        self.assertEqual('up', pools[P2]['backend_state'])

    def test_stats_a_parent_that_fails_is_down_alone(self):
        self.ex.on('zfs list .* %s$' % P, err='boom', exit_code=1)
        self.ex.on('zfs list .* %s$' % P2, out=listing(
            space_row(P2, 'filesystem', used=5 * GiB, avail=15 * GiB)))
        pools = {p['pool_name']: p for p in
                 self.drv.get_volume_stats(refresh=True)['pools']}
        self.assertEqual('down', pools[P]['backend_state'])
        self.assertEqual(0, pools[P]['free_capacity_gb'])
        self.assertEqual('up', pools[P2]['backend_state'])
        self.assertEqual(15.0, pools[P2]['free_capacity_gb'])

    def test_stats_collect_garbage_and_orphans_in_each_parent(self):
        gone = '00000001-0000-4000-8000-000000000000'
        self.drv.db = mock.Mock()
        self.drv.db.volume_get_all.return_value = [
            mock.Mock(id=gone, deleted=True)]
        self.ex.on('zfs list .* %s$' % P, out=listing(
            space_row(P, 'filesystem')))
        self.ex.on('zfs list .* %s$' % P2, out=listing(
            space_row(P2, 'filesystem'),
            space_row(P2 + '/zol-deleted-x', volsize=GiB),
            space_row(P2 + '/volume-' + gone, owner=gone, managed='yes')))
        self.drv.get_volume_stats(refresh=True)
        self.assertEqual(['zfs destroy -r %s/volume-%s' % (P2, gone),
                          'zfs destroy -r %s/zol-deleted-x' % P2],
                         self.ex.commands('zfs destroy'))

    def test_create_and_delete_in_the_volumes_pool(self):
        vol = self.vol2(size=2)
        self.drv.create_volume(vol)
        self.assertTrue(self.ex.calls[-1].endswith(' %s/%s' % (P2, vol.name)),
                        self.ex.calls[-1])
        self.assertIn('-V %d' % (2 * GiB), self.ex.calls[-1])
        self.drv.delete_volume(vol)
        self.assertEqual('zfs destroy -r %s/%s' % (P2, vol.name),
                         self.ex.calls[-1])
        vol = self.vol1()
        self.drv.create_volume(vol)
        self.assertTrue(self.ex.calls[-1].endswith(' %s/%s' % (P, vol.name)))

    def test_legacy_and_unknown_pools(self):
        # made when the backend had one parent: its pool is the backend
        vol = self.volume(host='cv@zolbe#zolbe')
        self.drv.create_volume(vol)
        self.assertTrue(self.ex.calls[-1].endswith(' %s/%s' % (P, vol.name)))
        self.assertEqual(P, self.drv.get_pool(vol))
        self.assertEqual(P2, self.drv.get_pool(self.vol2()))
        vol = self.volume(host=None)
        self.assertEqual('%s/%s' % (P, vol.name), self.drv._dataset(vol))
        vol = self.volume(host='cv@zolbe#tank/gone')
        n = len(self.ex.calls)
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                self.drv.create_volume, vol)
        self.assertIn('pool tank/gone, which is none of this backend\'s '
                      'pools (%s, %s)' % (P, P2), str(exc))
        self.assertEqual(n, len(self.ex.calls), 'nothing sent')

    def test_snapshot_paths_use_the_volumes_parent(self):
        vol = self.vol2()
        snap = self.snapshot(vol)
        self.drv.create_snapshot(snap)
        self.assertIn(' %s/%s@%s' % (P2, vol.name, snap.name),
                      self.ex.calls[-1])
        self.drv.delete_snapshot(snap)
        self.assertEqual('zfs destroy -d %s/%s@%s' % (P2, vol.name,
                                                      snap.name),
                         self.ex.calls[-1])
        self.drv.revert_to_snapshot(self.ctx, vol, snap)
        self.assertEqual('zfs rollback %s/%s@%s' % (P2, vol.name, snap.name),
                         self.ex.calls[-1])

    def test_clones_within_a_parent(self):
        src = self.vol2()
        snap = self.snapshot(src)
        dst = self.vol2()
        self.drv.create_volume_from_snapshot(dst, snap)
        self.assertIn('zfs clone ', self.ex.calls[-1])
        self.assertTrue(self.ex.calls[-1].endswith(
            '%s/%s@%s %s/%s' % (P2, src.name, snap.name, P2, dst.name)))
        dst = self.vol2()
        self.drv.create_cloned_volume(dst, src)
        self.assertIn('%s/%s %s/%s' % (P2, src.name + '@zol-clone-' +
                                       dst.name, P2, dst.name),
                      ' '.join(self.ex.calls))

    def test_clones_across_parents_are_refused_clearly(self):
        src = self.vol2()
        snap = self.snapshot(src)
        n = len(self.ex.calls)
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                self.drv.create_volume_from_snapshot,
                                self.vol1(), snap)
        self.assertIn('a ZFS clone cannot change its parent dataset',
                      str(exc))
        self.assertIn('in %s' % P2, str(exc))
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                self.drv.create_cloned_volume,
                                self.vol1(), src)
        self.assertIn('snapshot_same_host', str(exc))
        self.assertEqual(n, len(self.ex.calls), 'nothing sent')

    def test_extend_export_and_image_use_the_volumes_parent(self):
        vol = self.vol2()
        self.ex.on('^target-create ', out='tid=3\n')
        self.drv.create_export(self.ctx, vol, {})
        self.assertIn(' %s/%s ' % (P2, vol.name), self.ex.calls[-1])
        self.drv.extend_volume(vol, 3)
        self.assertIn('zfs set volsize=%d %s/%s' % (3 * GiB, P2, vol.name),
                      self.ex.calls)
        self.assertEqual('%s/%s' % (P2, vol.name), self.drv._dataset(vol))

    def test_idle_targets_of_any_parent_are_ours(self):
        info = mock.Mock(tid=1, sessions=[], lun='/dev/zvol/%s/volume-x'
                         % P2)
        other = mock.Mock(tid=2, sessions=[], lun='/dev/zvol/tank/else/'
                          'volume-y')
        prefix = self.drv.targets.prefix
        self.assertEqual({prefix + 'volume-x': 'volume-x'},
                         self.drv.targets.idle({
                             prefix + 'volume-x': info,
                             prefix + 'volume-y': other}))

    def test_manage_in_the_volumes_parent(self):
        vol = self.vol2()
        self.ex.on('zfs get', out=fakes.getout('type', 'volume',
                                               'volsize', GiB))
        self.drv.manage_existing(vol, {'source-name': P2 + '/legacy'})
        self.assertIn('zfs rename %s/legacy %s/%s' % (P2, P2, vol.name),
                      self.ex.calls)
        # a name under the other parent is not manageable into this pool
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                self.drv.manage_existing_get_size,
                                vol, {'source-name': P + '/legacy'})
        self.assertIn('not a manageable name under %s' % P2, str(exc))
        self.drv.unmanage(vol)
        self.assertEqual('zfs set zol:managed=no %s/%s' % (P2, vol.name),
                         self.ex.calls[-1])

    def test_manageable_volumes_of_every_parent_with_full_names(self):
        self._listings()
        entries = self.drv.get_manageable_volumes([], None, 10, 0,
                                                  ['size'], ['asc'])
        self.assertEqual(sorted([P + '/volume-a', P2 + '/volume-b',
                                 P2 + '/volume-c']),
                         sorted(e['reference']['source-name']
                                for e in entries))

    def test_retype_to_another_pool_is_a_migration(self):
        vol = self.vol2()
        new_type = {'id': 'new', 'extra_specs': {}}
        self.assertEqual((False, None), self.drv.retype(
            self.ctx, vol, new_type, {}, {'host': 'cv@zolbe#' + P}))
        self.assertEqual([], self.ex.calls)
        self.ex.on('zfs get', out='volblocksize\t8192\tlocal\n')
        self.assertEqual((True, None), self.drv.retype(
            self.ctx, vol, new_type, {}, {'host': 'cv@zolbe#' + P2}))
        self.assertIn(' %s/%s' % (P2, vol.name), self.ex.calls[-1])

    def test_update_migrated_volume_renames_in_the_new_parent(self):
        vol = self.vol1()
        new = self.vol2()
        self.drv.update_migrated_volume(self.ctx, vol, new, 'available')
        self.assertEqual('zfs rename %s/%s %s/%s' % (P2, new.name, P2,
                                                     vol.name),
                         self.ex.calls[0])

    def test_group_snapshot_across_parents_is_refused(self):
        group = fake_group.fake_group_obj(self.ctx)
        gs = fake_group_snapshot.fake_group_snapshot_obj(self.ctx)
        snaps = [self.snapshot(self.vol1()), self.snapshot(self.vol2())]
        with mock.patch.object(driver.volume_utils,
                               'is_group_a_cg_snapshot_type',
                               return_value=True):
            exc = self.assertRaises(exception.VolumeBackendAPIException,
                                    self.drv.create_group_snapshot,
                                    self.ctx, gs, snaps)
            self.assertIn('spans several pools of this backend (%s, %s)'
                          % (P, P2), str(exc))
            self.assertEqual([], self.ex.calls)
            snaps = [self.snapshot(self.vol2()), self.snapshot(self.vol2())]
            self.drv.create_group_snapshot(self.ctx, gs, snaps)
            self.assertEqual(1, len(self.ex.calls))
            self.assertEqual(2, self.ex.calls[0].count(' %s/' % P2))
            # clones of a group in another parent: refused, nothing sent
            dst = [self.vol1(), self.vol1()]
            for v, s in zip(dst, snaps):
                v.snapshot_id = s.id
            exc = self.assertRaises(exception.VolumeBackendAPIException,
                                    self.drv.create_group_from_src,
                                    self.ctx, group, dst,
                                    group_snapshot=gs, snapshots=snaps)
            self.assertIn('cannot change its parent', str(exc))
            self.assertEqual(1, len(self.ex.calls))


class OneParentTestCase(DriverTestCase):
    """One parent: one pool named after the backend, as before."""

    def test_pool_keeps_the_backend_name(self):
        with mock.patch.object(ssh.SSHExecutor,
                               'from_configuration') as from_conf:
            from_conf.return_value = self.ex
            self.drv.do_setup(self.ctx)
        self.assertFalse(self.drv.pools.several)
        self.ex.on('zfs list', out=listing(space_row(P, 'filesystem')))
        pools = self.drv.get_volume_stats(refresh=True)['pools']
        self.assertEqual(['zolbe'], [p['pool_name'] for p in pools])
        # any pool name in the host (there is only one parent)
        vol = self.volume(host='cv@zolbe#whatever')
        self.drv.create_volume(vol)
        self.assertTrue(self.ex.calls[-1].endswith(' %s/%s' % (P, vol.name)))
        self.assertIsNone(self.drv.get_pool(vol))
