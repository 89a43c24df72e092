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

"""The driver's volume half on real ZFS (the tools/testbed VM).

Commands go through the driver key and the wrapper when the wrapper is
installed in the test bed (tools/zfswrapper.sh exists); until then through
the admin key, which runs the same argvs without the wrapper. Data checks
use the admin key: dd patterns into /dev/zvol/... and sha256sum them.
"""

import itertools
import os
from unittest import mock
import uuid

from cinder import context
from cinder import exception
from cinder.tests.unit import fake_snapshot
from cinder.tests.unit import fake_volume
from cinder.volume import configuration
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import paramiko
import testtools
from testtools import content

from tests.functional import testbed
from zol_driver import driver
from zol_driver import pools
from zol_driver import ssh
from zol_driver import tgt
from zol_driver import zfs

GROUP = 'zol_functional'
GiB = zfs.GiB
_executors = {}
_admins = {}


class AdminShell(object):
    """One warm admin SSH connection for the many small data checks.

    Spawning ssh per check costs a full handshake (seconds on an emulated
    guest); the driver's own commands still go through its executor.
    """

    def __init__(self, host):
        self.client = paramiko.SSHClient()
        self.client.load_host_keys(host.known_hosts)
        self.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self.client.connect(host.host, port=host.port, username=host.user,
                            key_filename=host.admin_key, timeout=20,
                            allow_agent=False, look_for_keys=False)

    def run(self, script, timeout=120):
        _in, out, err = self.client.exec_command(script, timeout=timeout)
        text = out.read().decode()
        rc = out.channel.recv_exit_status()
        if rc:
            raise AssertionError('guest script failed rc=%d: %s %s'
                                 % (rc, text, err.read().decode()))
        return text


def _admin(host):
    key = (host.statedir, host.port)
    if key not in _admins:
        _admins[key] = AdminShell(host)
    return _admins[key]


def _executor(host):
    """A warm SSHExecutor for the test bed: (executor, how it reaches zfs)."""
    key = (host.statedir, host.port)
    if key not in _executors:
        rc, out, _err = host.driver('version')
        wrapped = rc == 0 and 'zfswrapper' in out
        ex = ssh.SSHExecutor(
            host.host, port=host.port, login=host.user,
            private_key=host.driver_key if wrapped else host.admin_key,
            known_hosts_file=host.known_hosts, strict_host_key=True,
            conn_timeout=20, command_timeout=120)
        _executors[key] = (ex, 'wrapper' if wrapped else
                           'admin key (no wrapper in the test bed yet)')
    return _executors[key]


class ZFSVolumesTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.host = self.useFixture(testbed.ZFSHostFixture()).host
        self.ex, via = _executor(self.host)
        self.addDetail('zfs-via', content.text_content(via))
        self.parent = self.host.parent
        self.cfg = self.useFixture(config_fixture.Config(cfg.CONF))
        conf = configuration.Configuration(driver.driver.volume_opts,
                                           config_group=GROUP)
        self.drv = driver.ZFSonLinuxISCSIDriver(configuration=conf)
        self.cfg.config(group=GROUP, san_ip=self.host.host,
                        zol_parent_dataset=self.parent,
                        volume_backend_name='zolfunc',
                        zol_export_timeout=120)   # emulated host's waits
        self.drv.executor = self.ex
        self.drv.pools = pools.Pools(
            [zfs.ZFSHost(self.ex, self.parent, busy_retries=3,
                         busy_interval=0.2)], self.drv._backend_name())
        self.drv.targets = tgt.TgtTargets(self.ex, self.drv.configuration)
        self.ctx = context.get_admin_context()
        self.shell = _admin(self.host)
        self._wipe()
        self.addCleanup(self._wipe)

    # ---- helpers ----

    def _wipe(self):
        self.shell.run(
            'for d in $(zfs list -H -o name -d 1 -t volume %s); do '
            'zfs destroy -R "$d" 2>/dev/null || true; done' % self.parent)

    def left(self):
        """Everything under the parent (all types), parent excluded."""
        out = self.shell.run('zfs list -H -o name -r -t all ' + self.parent)
        return [n for n in out.split() if n != self.parent]

    def volume(self, size=1, specs=None):
        vol = fake_volume.fake_volume_obj(self.ctx, id=str(uuid.uuid4()),
                                          size=size)
        if specs is not None:
            vol.volume_type = fake_volume.fake_volume_type_obj(
                self.ctx, extra_specs=specs)
        return vol

    def snapshot(self, vol):
        return fake_snapshot.fake_snapshot_obj(
            self.ctx, id=str(uuid.uuid4()), volume=vol, volume_id=vol.id,
            volume_size=vol.size)

    def get(self, name, props):
        out = self.shell.run('zfs get -H -p -o property,value %s %s/%s'
                             % (props, self.parent, name))
        return dict(line.split('\t') for line in out.splitlines())

    def _wait_dev(self, vol):
        dev = '/dev/zvol/%s/%s' % (self.parent, vol.name)
        return dev, ('for i in $(seq 100); do [ -e %s ] && break; sleep 0.1;'
                     ' done' % dev)

    def write(self, vol, byte, offset_mib=0):
        """Fill 1 MiB at offset with one byte value, through the zvol."""
        self.write_many([(vol, byte, offset_mib)])

    def write_many(self, writes):
        script = ['udevadm settle']
        for vol, byte, offset_mib in writes:
            dev, wait = self._wait_dev(vol)
            script.append('%s; head -c 1048576 /dev/zero | tr "\\000" '
                          '"\\%03o" | dd of=%s bs=1M seek=%d '
                          'conv=fsync,notrunc status=none'
                          % (wait, byte, dev, offset_mib))
        self.shell.run('\n'.join(script))

    def sums(self, vols):
        """sha256 of the first 4 MiB of each volume, by name."""
        script = ['udevadm settle']
        for v in vols:
            dev, wait = self._wait_dev(v)
            script.append('%s; echo %s $(head -c 4194304 %s | sha256sum)'
                          % (wait, v.name, dev))
        out = self.shell.run('\n'.join(script))
        return {line.split()[0]: line.split()[1]
                for line in out.splitlines() if line.strip()}

    def trips(self, func, *args):
        before = self.ex.round_trips
        result = func(*args)
        return result, self.ex.round_trips - before

    # ---- tests ----

    def test_setup_checks(self):
        self.drv.check_for_setup_error()
        self.drv.pools = pools.Pools([zfs.ZFSHost(self.ex, 'tank/nope')],
                                     self.drv._backend_name())
        self.assertRaises(exception.VolumeDriverException,
                          self.drv.check_for_setup_error)

    def test_create_thin_and_thick_with_type_properties(self):
        thin = self.volume(specs={'zol:compression': 'lz4',
                                  'zol:volblocksize': '16K',
                                  'zol:sync': 'always'})
        _r, n = self.trips(self.drv.create_volume, thin)
        self.assertEqual(1, n, 'create volume round trips')
        got = self.get(thin.name, 'volsize,volblocksize,compression,sync,'
                       'refreservation,zol:cinder_id,zol:managed')
        self.assertEqual({'volsize': str(GiB), 'volblocksize': '16384',
                          'compression': 'lz4', 'sync': 'always',
                          'refreservation': '0', 'zol:cinder_id': thin.id,
                          'zol:managed': 'yes'}, got)
        thick = self.volume(specs={'provisioning:type': 'thick'})
        self.drv.create_volume(thick)
        got = self.get(thick.name, 'refreservation')
        self.assertGreaterEqual(int(got['refreservation']), GiB)
        # an interrupted create retried by Cinder is resumed, not failed
        self.drv.create_volume(thick)
        _r, n = self.trips(self.drv.delete_volume, thin)
        self.assertEqual(1, n, 'delete volume round trips')
        self.drv.delete_volume(thin)  # already gone: fine
        self.drv.delete_volume(thick)
        self.assertEqual([], self.left())

    def test_snapshot_clone_extend_revert(self):
        vol = self.volume(size=1)
        self.drv.create_volume(vol)
        self.write(vol, 0xa1)
        snap = self.snapshot(vol)
        _r, n = self.trips(self.drv.create_snapshot, snap)
        self.assertEqual(1, n, 'create snapshot round trips')
        original = self.sums([vol])[vol.name]
        self.write(vol, 0xb2)
        self.assertNotEqual(original, self.sums([vol])[vol.name])

        self.drv.revert_to_snapshot(self.ctx, vol, snap)
        self.assertEqual(original, self.sums([vol])[vol.name])

        self.drv.extend_volume(vol, 2)
        self.assertEqual(str(2 * GiB), self.get(vol.name,
                                                'volsize')['volsize'])
        # an extend cut after ZFS grew the zvol, asked again (the
        # operator's recovery) is done; a smaller size never shrinks it
        self.drv.extend_volume(vol, 2)
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.extend_volume, vol, 1)
        self.assertEqual(str(2 * GiB), self.get(vol.name,
                                                'volsize')['volsize'])
        vol.size = 2        # as Cinder records it after the extend

        big = self.volume(size=3)
        _r, n = self.trips(self.drv.create_volume_from_snapshot, big, snap)
        self.assertLessEqual(n, 2, 'volume from snapshot with resize')
        self.assertEqual(str(3 * GiB), self.get(big.name,
                                                'volsize')['volsize'])
        self.assertEqual(original, self.sums([big])[big.name])

        copy = self.volume(size=2)
        self.drv.create_cloned_volume(copy, vol)
        self.assertEqual(self.sums([vol])[vol.name],
                         self.sums([copy])[copy.name])
        # newer snapshots of the driver's own block a rollback: the
        # clone's temporary one, and a deleted one kept for its clone
        snap2 = self.snapshot(vol)
        self.drv.create_snapshot(snap2)
        from_snap2 = self.volume(size=2)
        self.drv.create_volume_from_snapshot(from_snap2, snap2)
        self.drv.delete_snapshot(snap2)
        self.write(vol, 0xc3)
        kept = self.sums([copy, from_snap2])
        self.drv.revert_to_snapshot(self.ctx, vol, snap)
        self.assertEqual(original, self.sums([vol])[vol.name])
        self.assertEqual(kept, self.sums([copy, from_snap2]))
        self.assertEqual(str(2 * GiB), self.get(vol.name,
                                                'volsize')['volsize'])
        self.assertEqual(vol.id, self.get(vol.name, 'zol:cinder_id')[
            'zol:cinder_id'])
        # the snapshot stays usable, and everything still deletes
        again = self.volume(size=1)
        self.drv.create_volume_from_snapshot(again, snap)
        self.assertEqual(original, self.sums([again])[again.name])
        for v in (vol, again, big):
            self.drv.delete_volume(v)
        self.drv.delete_snapshot(snap)
        for v in (copy, from_snap2):
            self.drv.delete_volume(v)
        self.assertEqual([], self.left())

    def test_group_snapshot_is_one_command_and_groups_clone_from_it(self):
        cg = mock.patch.object(driver.volume_utils,
                               'is_group_a_cg_snapshot_type',
                               return_value=True)
        cg.start()
        self.addCleanup(cg.stop)
        vols = [self.volume() for _ in range(3)]
        for i, v in enumerate(vols):
            self.drv.create_volume(v)
            self.write(v, 0x40 + i)
        sums = self.sums(vols)
        snaps = [self.snapshot(v) for v in vols]
        gs = fake_snapshot.fake_snapshot_obj(self.ctx, id=str(uuid.uuid4()))
        _r, n = self.trips(self.drv.create_group_snapshot, self.ctx, gs,
                           snaps)
        self.assertEqual(1, n, 'a group snapshot is one zfs snapshot')
        for v, s in zip(vols, snaps):
            self.assertEqual(gs.id, self.get('%s@%s' % (v.name, s.name),
                                             'zol:cinder_id')['zol:cinder_id'])
        # one transaction: the snapshots share their creation txg
        txgs = {self.get('%s@%s' % (v.name, s.name), 'createtxg')[
            'createtxg'] for v, s in zip(vols, snaps)}
        self.assertEqual(1, len(txgs), txgs)
        group = mock.Mock(id='g')
        from_gs = [self.volume() for _ in vols]
        for v, s in zip(from_gs, snaps):
            v.snapshot_id = s.id
        self.drv.create_group_from_src(self.ctx, group, from_gs,
                                       group_snapshot=gs, snapshots=snaps)
        from_group = [self.volume() for _ in vols]
        for v, src in zip(from_group, vols):
            v.source_volid = src.id
        self.drv.create_group_from_src(self.ctx, group, from_group,
                                       source_group=group, source_vols=vols)
        got = self.sums(from_gs + from_group)
        self.assertEqual([sums[v.name] for v in vols] * 2,
                         [got[v.name] for v in from_gs + from_group])
        self.drv.delete_group_snapshot(self.ctx, gs, snaps)
        self.drv.delete_group(self.ctx, group, vols + from_gs + from_group)
        self.assertEqual([], self.left())

    def test_failed_clone_leaves_no_temporary_snapshot(self):
        src = self.volume()
        self.drv.create_volume(src)
        dst = self.volume()
        # the clone's name is taken by a zvol of another owner
        self.shell.run('zfs create -s -V 64M -o zol:cinder_id=other %s/%s'
                       % (self.parent, dst.name))
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.create_cloned_volume, dst, src)
        self.assertEqual(sorted(['%s/%s' % (self.parent, src.name),
                                 '%s/%s' % (self.parent, dst.name)]),
                         sorted(self.left()))

    def test_migrated_volume_gets_its_name_and_owner_back(self):
        orig = self.volume()
        new = self.volume()
        self.drv.create_volume(new)
        self.write(new, 0x5a)
        want = self.sums([new])[new.name]
        update = self.drv.update_migrated_volume(self.ctx, orig, new,
                                                 'available')
        self.assertEqual({'_name_id': None, 'provider_location': None},
                         update)
        self.assertEqual(['%s/%s' % (self.parent, orig.name)], self.left())
        self.assertEqual(orig.id, self.get(orig.name, 'zol:cinder_id')[
            'zol:cinder_id'])
        self.assertEqual(want, self.sums([orig])[orig.name])

    def test_stats_one_listing(self):
        vols = [self.volume(size=s) for s in (1, 2)]
        for v in vols:
            self.drv.create_volume(v)
        stats, n = self.trips(self.drv.get_volume_stats, True)
        self.assertEqual(2, n, 'get_volume_stats round trips (the space '
                         'listing and the target listing)')
        pool = stats['pools'][0]
        self.assertEqual(3.0, pool['provisioned_capacity_gb'])
        self.assertEqual(2, pool['total_volumes'])
        out = self.host.admin_ok('zfs list -H -p -o used,avail %s'
                                 % self.parent).split()
        self.assertAlmostEqual((int(out[0]) + int(out[1])) / float(GiB),
                               pool['total_capacity_gb'], delta=0.05)
        self.assertEqual('up', pool['backend_state'])

    def test_busy_zvol_retried_then_clear_error(self):
        vol = self.volume()
        self.drv.create_volume(vol)
        dev = '/dev/zvol/%s/%s' % (self.parent, vol.name)
        self.host.admin_ok(
            'udevadm settle; for i in $(seq 100); do [ -e %s ] && break; '
            'sleep 0.1; done; nohup sh -c "exec 3<%s; sleep 15" '
            '>/dev/null 2>&1 &' % (dev, dev))
        exc = self.assertRaises(exception.VolumeIsBusy,
                                self.drv.delete_volume, vol)
        self.assertIn('still busy after 3 attempts', str(exc))
        self.host.admin('pkill -f "sleep 15"')
        self.drv.delete_volume(vol)
        self.assertEqual([], self.left())

    def test_manage_unmanage(self):
        self.shell.run('zfs create -s -V 1500M %s/legacy && '
                       'zfs snapshot %s/legacy@daily'
                       % (self.parent, self.parent))
        entries = self.drv.get_manageable_volumes([], None, 10, 0,
                                                  ['size'], ['asc'])
        self.assertEqual([({'source-name': 'legacy'}, 2, True)],
                         [(e['reference'], e['size'], e['safe_to_manage'])
                          for e in entries])
        vol = self.volume(size=2)
        ref = {'source-name': 'legacy'}
        self.assertEqual(2, self.drv.manage_existing_get_size(vol, ref))
        self.drv.manage_existing(vol, ref)
        self.assertEqual({'zol:cinder_id': vol.id, 'zol:managed': 'yes',
                          'volsize': str(2 * GiB)},
                         self.get(vol.name,
                                  'zol:cinder_id,zol:managed,volsize'),
                         'recorded 2 GiB, so the 1500M zvol grows to it')
        snaps = self.drv.get_manageable_snapshots([], None, 10, 0,
                                                  ['size'], ['asc'])
        self.assertEqual([{'source-name': 'daily'}],
                         [e['reference'] for e in snaps])
        self.assertEqual({'source-name': vol.name},
                         snaps[0]['source_reference'])
        snap = self.snapshot(vol)
        self.drv.manage_existing_snapshot(snap, {'source-name': 'daily'})
        self.assertEqual(snap.id, self.get('%s@%s' % (vol.name, snap.name),
                                           'zol:cinder_id')['zol:cinder_id'])
        self.drv.unmanage_snapshot(snap)
        self.drv.unmanage(vol)
        self.assertEqual('no', self.get(vol.name,
                                        'zol:managed')['zol:managed'])

    def test_retype_in_place(self):
        vol = self.volume(specs={'zol:compression': 'lz4'})
        self.drv.create_volume(vol)
        new_type = {'id': 'x', 'extra_specs': {'zol:compression': 'off',
                                               'zol:sparse': 'False'}}
        diff = {'extra_specs': {'zol:compression': ('lz4', 'off')}}
        self.assertEqual((True, None), self.drv.retype(
            self.ctx, vol, new_type, diff, {'host': 'h'}))
        got = self.get(vol.name, 'compression,refreservation')
        self.assertEqual('off', got['compression'])
        self.assertGreaterEqual(int(got['refreservation']), GiB)
        new_type = {'id': 'y', 'extra_specs': {'zol:volblocksize': '64K'}}
        self.assertEqual((False, None), self.drv.retype(
            self.ctx, vol, new_type, {}, {'host': 'h'}))

    def test_every_deletion_order_keeps_data_and_leaves_nothing(self):
        """V, its snapshot S, C made from S, D a clone (clone_volume) of C.

        That covers a volume whose snapshot has clones, a snapshot with
        clones, a clone whose origin is gone, a chain of hidden zvols, and
        the image-volume cache (its entry is cloned with clone_volume, then
        evicted while the clone lives). Cinder deletes a volume only after
        its own snapshots, so S comes before V; every other order is tried.
        ZOL_ALL_ORDERS_FULL=1 adds E, a clone_volume of V (60 orders).
        """
        items = 'VSCD'
        if os.environ.get('ZOL_ALL_ORDERS_FULL') == '1':
            items += 'E'
        orders = [o for o in itertools.permutations(items)
                  if o.index('S') < o.index('V')]
        self.assertEqual(12 if len(items) == 4 else 60, len(orders))
        for order in orders:
            self._one_order(''.join(order))

    def _one_order(self, order):
        v = self.volume(size=1)
        self.drv.create_volume(v)
        self.write(v, 0x11)
        s = self.snapshot(v)
        self.drv.create_snapshot(s)
        c = self.volume(size=2)
        self.drv.create_volume_from_snapshot(c, s)
        d = self.volume(size=2)
        self.drv.create_cloned_volume(d, c)
        vols = {'V': v, 'C': c, 'D': d}
        if 'E' in order:
            vols['E'] = self.volume(size=1)
            self.drv.create_cloned_volume(vols['E'], v)
        self.write_many([(vol, 0x21 + i, 1 + i)
                         for i, (_k, vol) in enumerate(sorted(vols.items()))])
        expected = self.sums(vols.values())
        self.assertEqual(len(vols), len(set(expected.values())), order)
        alive = dict(vols)
        for key in order:
            if key == 'S':
                self.drv.delete_snapshot(s)
                continue
            self.drv.delete_volume(alive.pop(key))
            if alive:
                now = self.sums(alive.values())
                self.assertEqual({x.name: expected[x.name]
                                  for x in alive.values()}, now,
                                 'order %s, after deleting %s' % (order,
                                                                  key))
        self.drv.get_volume_stats(refresh=True)
        self.assertEqual([], self.left(), 'left over after order %s'
                         % order)
