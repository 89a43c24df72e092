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

"""Several parents on one backend (Cinder pools), on real ZFS.

The driver is set up as cinder-volume does it (do_setup over real SSH to
the test bed's wrapper, check_for_setup_error) with zol_parent_dataset =
tank/cinder, tank/cinder2; volumes name their pool in their host as the
scheduler sets it. Checks are made with the admin key.
"""

import uuid

from cinder import context
from cinder import exception
from cinder.tests.unit import fake_snapshot
from cinder.tests.unit import fake_volume
from cinder.volume import configuration
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from tests.functional import test_export
from tests.functional import testbed
from zol_driver import driver
from zol_driver import migration
from zol_driver import zfs

GROUP = 'zol_pools'
GiB = zfs.GiB
P1 = 'tank/cinder'
P2 = 'tank/cinder2'


class PoolsTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.host = self.useFixture(testbed.ZFSHostFixture()).host
        lock = test_export._tgtd_lock(False)
        lock.__enter__()
        self.addCleanup(lock.__exit__, None, None, None)
        self.cfg = self.useFixture(config_fixture.Config(cfg.CONF))
        conf = configuration.Configuration(driver.driver.volume_opts,
                                           config_group=GROUP)
        self.drv = driver.ZFSonLinuxISCSIDriver(configuration=conf)
        settings = dict(
            san_ip=self.host.host, san_ssh_port=self.host.port,
            san_login=self.host.user, san_private_key=self.host.driver_key,
            zol_ssh_known_hosts_file=self.host.known_hosts,
            zol_parent_dataset='%s, %s' % (P1, P2),
            volume_backend_name='zolpools',
            target_ip_address=self.host.iscsi_ip,
            target_port=self.host.iscsi_port,
            zol_export_timeout=120, zol_ssh_command_timeout=120,
            ssh_min_pool_conn=1)
        for key, value in settings.items():
            self.cfg.config(group=GROUP, **{key: value})
        self.ctx = context.get_admin_context()
        self.drv.do_setup(self.ctx)
        self.drv.db = None      # no Cinder database here: no orphan check
        self.addCleanup(self.drv.executor.close)
        self.drv.check_for_setup_error()
        self.made = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for vol in reversed(self.made):
            try:
                self.drv.remove_export(self.ctx, vol)
            except Exception:
                pass
            parent = self.drv.pools.of_volume(vol).parent
            self.host.admin('zfs destroy -R %s/%s 2>/dev/null; '
                            'zfs destroy -R %s/zol-deleted-%s 2>/dev/null; '
                            'true' % (parent, vol.name, parent, vol.name))

    def volume(self, pool, size=1, **kw):
        vol = fake_volume.fake_volume_obj(
            self.ctx, id=str(uuid.uuid4()), size=size,
            host='cv@zolpools#%s' % pool, **kw)
        self.made.append(vol)
        return vol

    def names(self, parent):
        return self.host.admin_ok('zfs list -H -o name -r -t all %s'
                                  % parent).split()

    def pools(self):
        stats = self.drv.get_volume_stats(refresh=True)
        return {p['pool_name']: p for p in stats['pools']}

    def test_two_pools_each_with_its_own_volumes(self):
        """One test: each set-up costs SSH logins on the emulated host."""
        before = self.pools()
        self.assertEqual([P1, P2], sorted(before))
        for name in (P1, P2):
            self.assertEqual('up', before[name]['backend_state'])
            where = migration.parse_location(before[name]['location_info'])
            self.assertEqual((name, self.host.host),
                             (where['parent'], where['host']))
        # a thick 1 GiB volume in pool 2: its capacities move, pool 1's not
        vol = self.volume(P2, size=1)
        vol.volume_type = fake_volume.fake_volume_type_obj(
            self.ctx, extra_specs={'zol:sparse': 'False'})
        self.drv.create_volume(vol)
        self.assertIn('%s/%s' % (P2, vol.name), self.names(P2))
        self.assertNotIn('%s/%s' % (P1, vol.name), self.names(P1))
        after = self.pools()
        self.assertEqual(before[P2]['total_volumes'] + 1,
                         after[P2]['total_volumes'])
        self.assertEqual(before[P1]['total_volumes'],
                         after[P1]['total_volumes'])
        self.assertAlmostEqual(before[P2]['provisioned_capacity_gb'] + 1,
                               after[P2]['provisioned_capacity_gb'], 2)
        self.assertEqual(before[P1]['provisioned_capacity_gb'],
                         after[P1]['provisioned_capacity_gb'])
        # refreservation of the thick zvol: used of tank/cinder2 grows ~1 GiB
        self.assertGreater(after[P2]['total_capacity_gb'] -
                           after[P2]['free_capacity_gb'],
                           before[P2]['total_capacity_gb'] -
                           before[P2]['free_capacity_gb'] + 0.9)

        # snapshot, clones, extend in the volume's parent
        snap = fake_snapshot.fake_snapshot_obj(
            self.ctx, id=str(uuid.uuid4()), volume=vol, volume_id=vol.id,
            volume_size=vol.size)
        self.drv.create_snapshot(snap)
        self.assertIn('%s/%s@%s' % (P2, vol.name, snap.name), self.names(P2))
        clone = self.volume(P2, snapshot_id=snap.id)
        self.drv.create_volume_from_snapshot(clone, snap)
        copy = self.volume(P2, source_volid=vol.id)
        self.drv.create_cloned_volume(copy, vol)
        # (zfs get lists in name order, not argument order)
        out = self.host.admin_ok('zfs get -H -o name,value origin %s/%s '
                                 '%s/%s' % (P2, clone.name, P2, copy.name))
        origins = dict(line.split('\t') for line in out.splitlines())
        self.assertEqual(
            {'%s/%s' % (P2, clone.name): '%s/%s@%s' % (P2, vol.name,
                                                       snap.name),
             '%s/%s' % (P2, copy.name): '%s/%s@zol-clone-%s' % (
                 P2, vol.name, copy.name)}, origins)
        self.drv.extend_volume(clone, 2)
        self.assertEqual(str(2 * GiB), self.host.admin_ok(
            'zfs get -H -p -o value volsize %s/%s'
            % (P2, clone.name)).strip())

        # a clone into the other pool is refused; nothing is made
        other = self.volume(P1)
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                self.drv.create_volume_from_snapshot,
                                other, snap)
        self.assertIn('cannot change its parent dataset', str(exc))
        self.assertNotIn('%s/%s' % (P1, other.name), self.names(P1))

        # export: the LUN is the zvol under tank/cinder2
        update = self.drv.create_export(self.ctx, clone, {})
        clone.provider_location = update['provider_location']
        clone.provider_auth = update['provider_auth']
        iqn = update['provider_location'].split()[1]
        self.assertIn('/dev/zvol/%s/%s' % (P2, clone.name),
                      self.host.targets())
        chap = None
        if clone.provider_auth:
            _m, user, secret = clone.provider_auth.split()
            chap = (user, secret)
        self.assertEqual(2 * GiB, self.host.iscsi_capacity(iqn, chap=chap))
        self.drv.remove_export(self.ctx, clone)
        self.assertNotIn(iqn, self.host.targets())

        # delete: the source with clones is hidden in its parent, then
        # collected there once its clones are gone
        self.drv.delete_volume(vol)
        self.assertIn('%s/zol-deleted-%s' % (P2, vol.name), self.names(P2))
        self.drv.delete_volume(clone)
        self.drv.delete_volume(copy)
        self.pools()            # the stats period collects
        left = [n for n in self.names(P2) if vol.name in n or
                clone.name in n or copy.name in n]
        self.assertEqual([], left)

        # pool 1's volumes are in tank/cinder, and so are those of the
        # backend's former single pool (host ...#<backend name>)
        vol = self.volume(P1)
        self.drv.create_volume(vol)
        self.assertIn('%s/%s' % (P1, vol.name), self.names(P1))
        self.assertNotIn('%s/%s' % (P2, vol.name), self.names(P2))
        legacy = fake_volume.fake_volume_obj(
            self.ctx, id=vol.id, size=1, host='cv@zolpools#zolpools')
        self.drv.extend_volume(legacy, 2)
        self.assertEqual(str(2 * GiB), self.host.admin_ok(
            'zfs get -H -p -o value volsize %s/%s' % (P1, vol.name)).strip())
        self.drv.delete_volume(legacy)
        self.assertNotIn('%s/%s' % (P1, vol.name), self.names(P1))
