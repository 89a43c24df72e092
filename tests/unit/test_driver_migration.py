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

"""Issue 19: migrate_volume and its destination rules (migration.py)."""

import os
import tempfile
from unittest import mock

from cinder import exception

from tests.unit import fakes
from tests.unit.fakes import DriverTestCase
from zol_driver import migration
from zol_driver import transfer
from zol_driver import zfs

P = fakes.P
DRIVER = 'zol_driver.driver.ZFSonLinuxISCSIDriver'
SECTION2 = """
[zol2]
volume_driver = %(driver)s
volume_backend_name = zol2
san_ip = %(ip)s
san_ssh_port = 22
san_login = root
san_private_key = /k2
zol_parent_dataset = %(parent)s
"""


def caps(info):
    return {'host': 'aio@zol2#zol2', 'capabilities': {'location_info': info}}


INFO2 = 'ZFSonLinuxISCSIDriver:zol2:22:tank/cinder2:192.0.2.10'


class LocationTestCase(DriverTestCase):

    def test_stats_publish_section_port_parent_and_host(self):
        self.ex.on(r'zfs list', fakes.listing(fakes.space_row(P, 'filesystem',
                                                              volsize='-')))
        stats = self.drv.get_volume_stats(refresh=True)
        self.assertEqual(
            'ZFSonLinuxISCSIDriver:%s:22:%s:192.0.2.10' % (fakes.GROUP, P),
            stats['pools'][0]['location_info'])

    def test_parse(self):
        self.assertEqual({'section': 'zol2', 'port': 22,
                          'parent': 'tank/cinder2', 'host': '192.0.2.10'},
                         migration.parse_location(INFO2))
        self.assertEqual('fd00::1', migration.parse_location(
            'ZFSonLinuxISCSIDriver:zol2:22:tank/c:fd00::1')['host'])
        for bad in (None, '', 'LVMVolumeDriver:h:vg:default:0',
                    'ZFSonLinuxISCSIDriver:192.0.2.10:tank/cinder',
                    'ZFSonLinuxISCSIDriver::22:tank/c:h',
                    'ZFSonLinuxISCSIDriver:z:port:tank/c:h',
                    'ZFSonLinuxISCSIDriver:z:22:/etc:h',
                    'ZFSonLinuxISCSIDriver:z:22:tank/c:'):
            self.assertIsNone(migration.parse_location(bad), bad)


class DestinationTestCase(DriverTestCase):
    """Only a section of this cinder.conf that says the same thing."""

    def conf_file(self, ip='192.0.2.10', parent='tank/cinder2',
                  driver=DRIVER, extra=''):
        fd, path = tempfile.mkstemp(suffix='.conf')
        with os.fdopen(fd, 'w') as f:
            f.write(SECTION2 % {'driver': driver, 'ip': ip,
                                'parent': parent} + extra)
        self.addCleanup(os.unlink, path)
        self.cfg.set_config_files([path])

    def destination(self, info=INFO2):
        return migration.destination(caps(info), self.drv.configuration, P)

    def test_a_section_of_this_conf_is_a_destination(self):
        self.conf_file()
        dest, why = self.destination()
        self.assertIsNone(why)
        self.assertEqual('tank/cinder2', dest.parent)
        self.assertEqual('/k2', dest.conf.san_private_key)
        self.assertEqual('root', dest.conf.san_login)

    def test_a_section_with_several_parents_is_a_destination(self):
        self.conf_file(parent='tank/cinder, tank/cinder2')
        dest, why = self.destination()
        self.assertIsNone(why)
        self.assertEqual('tank/cinder2', dest.parent)

    def test_no_section_here(self):
        dest, why = self.destination()
        self.assertIsNone(dest)
        self.assertIn('no section [zol2]', why)

    def test_the_section_must_say_what_the_destination_says(self):
        for kw in ({'ip': '192.0.2.99'}, {'parent': 'tank/other'}):
            self.conf_file(**kw)
            dest, why = self.destination()
            self.assertIsNone(dest)
            self.assertIn('another ZFS host or parent', why)

    def test_the_section_must_be_this_driver(self):
        self.conf_file(driver='cinder.volume.drivers.lvm.LVMVolumeDriver')
        self.assertIn('not this driver', self.destination()[1])

    def test_the_section_must_pass_the_set_up_rules(self):
        self.conf_file(extra='zol_volblocksize = 3K\n')
        dest, why = self.destination()
        self.assertIsNone(dest)
        self.assertIn('zol_volblocksize', why)

    def test_the_same_parent_is_no_destination(self):
        self.conf_file()
        info = 'ZFSonLinuxISCSIDriver:zol2:22:%s:192.0.2.10' % P
        self.assertIn('this very parent', self.destination(info)[1])

    def test_other_drivers(self):
        self.conf_file()
        dest, why = self.destination('LVMVolumeDriver:h:vg:thin:0')
        self.assertIsNone(dest)
        self.assertIn('not a backend of this driver', why)


class MigrateTestCase(DriverTestCase):

    def setUp(self):
        super().setUp()
        self.dst_ex = fakes.FakeExecutor()
        self.dst_ex.close = mock.Mock()
        self.dst = zfs.ZFSHost(self.dst_ex, 'tank/cinder2', busy_retries=1)
        dest = mock.Mock()
        dest.parent = 'tank/cinder2'
        dest.connect.return_value = self.dst
        self.destination = self.useFixture_patch(
            migration, 'destination', return_value=(dest, None))
        for ex in (self.ex, self.dst_ex):
            ex.on(r'^version$', 'zfswrapper 1.4.0\nzfs-2.1.11\n')
        self.run = self.useFixture_patch(
            transfer.ZvolTransfer, 'run',
            return_value=transfer.Stats())
        self.vol = self.volume(status='available')

    def useFixture_patch(self, obj, attr, **kw):
        patcher = mock.patch.object(obj, attr, **kw)
        self.addCleanup(patcher.stop)
        return patcher.start()

    def test_moves_sets_owner_and_deletes_the_source(self):
        self.ex.on(r'zfs get .*property,value,source', fakes.getout(
            'compression', 'zstd', 'refreservation', '1090519040'))
        moved, update = self.drv.migrate_volume(self.ctx, self.vol,
                                                caps(INFO2))
        self.assertTrue(moved)
        self.assertEqual({'provider_location': None,
                          'provider_auth': None}, update)
        self.run.assert_called_once_with(self.vol.name)
        self.assertEqual(
            ['zfs set compression=zstd refreservation=auto '
             'zol:cinder_id=%s zol:managed=yes tank/cinder2/%s'
             % (self.vol.id, self.vol.name)],
            [c for c in self.dst_ex.calls if c.startswith('zfs set')])
        self.assertIn("zfs destroy -r %s/%s" % (P, self.vol.name),
                      self.ex.calls)
        self.dst_ex.close.assert_called_once_with()

    def test_thin_source_stays_thin(self):
        self.ex.on(r'zfs get .*property,value,source', fakes.getout(
            'refreservation', 'none'))
        self.drv.migrate_volume(self.ctx, self.vol, caps(INFO2))
        self.assertIn('refreservation=none', [
            c for c in self.dst_ex.calls if c.startswith('zfs set')][0])

    def test_in_use_or_attached_volume_is_left_to_cinder(self):
        attached = mock.Mock(id='v-1', status='available',
                             volume_attachment=[mock.Mock()])
        for vol in (self.volume(status='in-use'), attached):
            self.assertEqual((False, None), self.drv.migrate_volume(
                self.ctx, vol, caps(INFO2)))
        self.destination.assert_not_called()
        self.run.assert_not_called()

    def test_unknown_destination_is_left_to_cinder(self):
        self.destination.return_value = (None, 'not a backend')
        self.assertEqual((False, None), self.drv.migrate_volume(
            self.ctx, self.vol, caps('LVMVolumeDriver:h:vg:thin:0')))
        self.run.assert_not_called()
        self.assertEqual([], self.ex.calls)

    def test_an_old_wrapper_on_either_side_is_left_to_cinder(self):
        for ex in (self.ex, self.dst_ex):
            ex.rules.insert(0, fakes.FakeExecutor().on(
                r'^version$', 'zfswrapper 1.3.0\n').rules[0])
            self.assertEqual((False, None), self.drv.migrate_volume(
                self.ctx, self.vol, caps(INFO2)))
            ex.rules.pop(0)
        self.run.assert_not_called()
        self.assertEqual(2, self.dst_ex.close.call_count)

    def test_a_failed_transfer_fails_and_keeps_the_source(self):
        self.run.side_effect = transfer.TransferError('x', 'stream failed')
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.migrate_volume, self.ctx, self.vol,
                          caps(INFO2))
        self.assertEqual([], [c for c in self.ex.calls
                              if c.startswith('zfs destroy')])
        self.dst_ex.close.assert_called_once_with()

    def test_a_failed_set_destroys_the_copy_and_keeps_the_source(self):
        self.dst_ex.on(r'^zfs set', err='no', exit_code=1)
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.migrate_volume, self.ctx, self.vol,
                          caps(INFO2))
        self.assertIn('zfs destroy -r tank/cinder2/' + self.vol.name,
                      self.dst_ex.calls)
        self.assertEqual([], [c for c in self.ex.calls
                              if c.startswith('zfs destroy')])
