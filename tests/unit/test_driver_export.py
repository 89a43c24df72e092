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

"""The driver's export half on a recording executor: argvs, round trips,
model updates and connection info as Cinder and os-brick read them."""

from unittest import mock

from cinder import exception
from cinder import objects
from cinder.tests.unit import fake_volume

from tests.unit import fakes
from zol_driver import errors
from zol_driver import tgt
from zol_driver import zfs

GiB = zfs.GiB

P = 'tank/cinder'
PREFIX = 'iqn.2010-10.org.openstack:'
INI = 'iqn.1993-08.org.debian:01:abcdef'
INI2 = 'iqn.1993-08.org.debian:01:fedcba'
SECRET = fakes.SECRET


class ExportTestCase(fakes.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.ex = fakes.Recorder()
        self.drv.executor = self.drv.zfs.executor = self.ex
        self.set(target_ip_address='192.0.2.20', target_port=3260)
        self.drv.targets = tgt.TgtTargets(self.ex, self.drv.configuration,
                                          sleep=lambda _s: None)

    def vol(self, **kw):
        vol = self.volume(**kw)
        self.iqn = PREFIX + vol.name
        return vol

    def exported(self, **kw):
        vol = self.vol(**kw)
        vol.provider_location = '192.0.2.20:3260,3 %s 1' % self.iqn
        vol.provider_auth = 'CHAP zolu %s' % SECRET
        return vol

    def attachment(self, initiator):
        return objects.VolumeAttachment(
            context=self.ctx, connector={'initiator': initiator},
            attach_status='attached')

    def reserved(self):
        """Nova's shelve-offload/resize shape: no connector yet."""
        return objects.VolumeAttachment(context=self.ctx, connector=None,
                                        attach_status='reserved')

    def attached(self, *attachments, **kw):
        vol = self.exported(**kw)
        vol.volume_attachment = objects.VolumeAttachmentList(
            objects=list(attachments))
        return vol


class PortalDefaultTestCase(fakes.DriverTestCase):

    def test_portal_defaults_to_the_zfs_host_not_my_ip(self):
        self.ex.on('^target-create ', out='tid=3\n')
        update = self.drv.create_export(self.ctx, self.volume(), None)
        self.assertTrue(update['provider_location'].startswith(
            '192.0.2.10:3260,3 '), update['provider_location'])


class CreateExportTestCase(ExportTestCase):

    def test_create_export_one_round_trip_and_model_update(self):
        self.ex.on('^target-create ', out='tid=3\n')
        vol = self.vol()
        update = self.drv.create_export(self.ctx, vol, {'initiator': INI})
        self.assertEqual(1, len(self.ex.calls))
        serial = vol.id.replace('-', '')
        user = update['provider_auth'].split()[1]
        self.assertEqual('target-create %s %s/%s %s %s'
                         % (self.iqn, P, vol.name, serial, user),
                         self.ex.calls[0])
        self.assertEqual('192.0.2.20:3260,3 %s 1' % self.iqn,
                         update['provider_location'])
        method, user, secret = update['provider_auth'].split()
        self.assertEqual('CHAP', method)
        self.assertEqual([secret + '\n'], self.ex.inputs)
        self.assertNotIn(secret, self.ex.calls[0])

    def test_re_export_keeps_credentials(self):
        self.ex.on('^target-create ', out='tid=5\n')
        vol = self.exported()
        update = self.drv.create_export(self.ctx, vol, None)
        self.assertEqual('CHAP zolu %s' % SECRET, update['provider_auth'])
        self.assertEqual([SECRET + '\n'], self.ex.inputs)

    def test_without_chap(self):
        self.set(use_chap_auth=False)
        self.ex.on('^target-create ', out='tid=1\n')
        vol = self.vol()
        update = self.drv.create_export(self.ctx, vol, None)
        self.assertIsNone(update['provider_auth'])
        self.assertEqual([None], self.ex.inputs)
        self.assertEqual(4, len(self.ex.calls[0].split()))

    def test_secondary_portals_in_location(self):
        self.set(target_secondary_ip_addresses=['192.0.2.21'])
        self.ex.on('^target-create ', out='tid=2\n')
        update = self.drv.create_export(self.ctx, self.vol(), None)
        self.assertTrue(update['provider_location'].startswith(
            '192.0.2.20:3260;192.0.2.21:3260,2 '))

    def test_failed_create_export_removes_what_it_may_have_made(self):
        self.ex.on('^target-create ', raises=errors.CommandTimeout(
            'ZFS host', '"target-create" did not finish within 25s'))
        vol = self.vol()
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.create_export, self.ctx, vol, None)
        self.assertEqual(['target-create', 'target-delete'],
                         [c.split()[0] for c in self.ex.calls])

    def test_export_verbs_carry_the_whole_call_budget(self):
        self.ex.on('^target-create ', out='tid=3\n')
        vol = self.vol()
        vol.update(self.drv.create_export(self.ctx, vol, None))
        self.drv.initialize_connection(vol, {'initiator': INI})
        self.drv.terminate_connection(vol, {'initiator': INI})
        self.drv.remove_export(self.ctx, vol)
        self.assertEqual([25] * 4, self.ex.deadlines)

    def test_failure_becomes_backend_error(self):
        self.ex.on('^target-create ', err='zvol never appeared',
                   exit_code=1)
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                self.drv.create_export, self.ctx, self.vol(),
                                None)
        self.assertIn('zvol never appeared', str(exc))

    def test_old_prefix_kept_for_an_exported_volume(self):
        vol = self.vol()
        vol.provider_location = '192.0.2.20:3260,3 iqn.old:%s 1' % vol.name
        self.set(target_prefix='iqn.new:')
        self.ex.on('^target-create ', out='tid=3\n')
        self.drv.create_export(self.ctx, vol, None)
        self.drv.remove_export(self.ctx, vol)
        self.assertEqual(['iqn.old:' + vol.name] * 2,
                         [c.split()[1] for c in self.ex.calls])


class ConnectionTestCase(ExportTestCase):

    def test_initialize_connection_one_round_trip(self):
        vol = self.exported()
        info = self.drv.initialize_connection(vol, {'initiator': INI})
        self.assertEqual(['target-allow %s %s' % (self.iqn, INI)],
                         self.ex.calls)
        self.assertEqual('iscsi', info['driver_volume_type'])
        self.assertEqual({'target_discovered': False,
                          'target_portal': '192.0.2.20:3260',
                          'target_iqn': self.iqn,
                          'target_lun': 1,
                          'volume_id': vol.id,
                          'encrypted': False,
                          'auth_method': 'CHAP',
                          'auth_username': 'zolu',
                          'auth_password': SECRET}, info['data'])

    def test_same_as_cinders_own_parser(self):
        """Our info matches ISCSIDriver._get_iscsi_properties on our model."""
        self.set(target_secondary_ip_addresses=['192.0.2.21'])
        self.ex.on('^target-create ', out='tid=2\n')
        vol = self.vol()
        vol.update(self.drv.create_export(self.ctx, vol, None))
        ours = self.drv.initialize_connection(
            vol, {'initiator': INI, 'multipath': True})['data']
        theirs = self.drv._get_iscsi_properties(vol, multipath=True)
        self.assertEqual(theirs, ours)
        self.assertEqual(['192.0.2.20:3260', '192.0.2.21:3260'],
                         ours['target_portals'])
        self.assertEqual([self.iqn] * 2, ours['target_iqns'])
        self.assertEqual([1, 1], ours['target_luns'])

    def test_multipath_single_portal_gives_lists(self):
        info = self.drv.initialize_connection(
            self.exported(), {'initiator': INI, 'multipath': True})['data']
        self.assertEqual(['192.0.2.20:3260'], info['target_portals'])

    def test_terminate_denies_and_says_not_shared(self):
        vol = self.exported()
        vol.volume_attachment = objects.VolumeAttachmentList(
            objects=[self.attachment(INI)])
        self.assertFalse(self.drv.terminate_connection(
            vol, {'initiator': INI}))
        self.assertEqual(['target-deny %s %s' % (self.iqn, INI)],
                         self.ex.calls)

    def test_terminate_force_detach_without_connector(self):
        vol = self.exported()
        self.assertFalse(self.drv.terminate_connection(vol, None,
                                                       force=True))
        self.assertEqual([], self.ex.calls)

    def test_force_detach_of_the_only_host_fences_it(self):
        vol = self.attached(self.attachment(INI), self.reserved())
        self.assertFalse(self.drv.terminate_connection(vol, None,
                                                       force=True))
        self.assertEqual(['target-deny %s %s' % (self.iqn, INI)],
                         self.ex.calls)

    def test_force_detach_without_connector_keeps_other_hosts(self):
        vol = self.attached(self.attachment(INI), self.attachment(INI2),
                            multiattach=True)
        self.assertTrue(self.drv.terminate_connection(vol, None,
                                                      force=True))
        self.drv.remove_export(self.ctx, vol)
        self.assertEqual([], self.ex.calls, 'nobody denied, target kept')

    def test_reserved_attachment_does_not_keep_the_target(self):
        """Nova shelve-offload: detach while a reserved attachment waits."""
        vol = self.attached(self.attachment(INI), self.reserved())
        self.assertFalse(self.drv.terminate_connection(
            vol, {'initiator': INI}))
        self.drv.remove_export(self.ctx, vol)
        self.assertEqual(['target-deny %s %s' % (self.iqn, INI),
                          'target-delete ' + self.iqn], self.ex.calls)

    def test_remove_export_keeps_the_target_for_another_host(self):
        """Cinder's detach_volume calls it even for multiattach."""
        vol = self.attached(self.attachment(INI), self.attachment(INI2),
                            multiattach=True)
        self.drv.remove_export(self.ctx, vol)
        self.assertEqual([], self.ex.calls)

    def test_failed_allow_is_undone(self):
        self.ex.on('^target-allow ', raises=errors.TransportError(
            'ZFS host', 'SSH session broke (it may have run)'))
        vol = self.exported()
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.initialize_connection, vol,
                          {'initiator': INI})
        self.assertEqual(['target-allow %s %s' % (self.iqn, INI)] * 2 +
                         ['target-deny %s %s' % (self.iqn, INI)],
                         self.ex.calls, 'the allow is sent once more, '
                         'then undone')

    def test_terminate_multiattach_other_host_keeps_the_export(self):
        vol = self.exported(multiattach=True)
        vol.volume_attachment = objects.VolumeAttachmentList(
            objects=[self.attachment(INI), self.attachment(INI2)])
        self.assertTrue(self.drv.terminate_connection(
            vol, {'initiator': INI}))
        self.assertEqual(['target-deny %s %s' % (self.iqn, INI)],
                         self.ex.calls)

    def test_terminate_multiattach_same_host_keeps_the_initiator(self):
        vol = self.exported(multiattach=True)
        vol.volume_attachment = objects.VolumeAttachmentList(
            objects=[self.attachment(INI), self.attachment(INI)])
        self.assertTrue(self.drv.terminate_connection(
            vol, {'initiator': INI}))
        self.assertEqual([], self.ex.calls)

    def test_terminate_twice_on_a_removed_target_succeeds(self):
        vol = self.exported()
        self.ex.on('^target-deny ', err='no such target', exit_code=22)
        self.ex.on('^target-list', out='')
        self.drv.terminate_connection(vol, {'initiator': INI})
        self.drv.terminate_connection(vol, {'initiator': INI})
        self.assertEqual(4, len(self.ex.calls))


class RemoveExportTestCase(ExportTestCase):

    def test_one_round_trip_and_idempotent(self):
        vol = self.exported()
        self.drv.remove_export(self.ctx, vol)
        self.drv.remove_export(self.ctx, vol)
        self.assertEqual(['target-delete ' + self.iqn] * 2, self.ex.calls)

    def test_never_exported_volume(self):
        vol = self.vol()
        self.drv.remove_export(self.ctx, vol)
        self.assertEqual(['target-delete ' + self.iqn], self.ex.calls)

    def test_failure_is_reported(self):
        self.ex.on('^target-delete ', err='still connected after force',
                   exit_code=1)
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.remove_export, self.ctx, self.exported())


class EnsureExportTestCase(ExportTestCase):

    def volumes(self, n):
        vols = []
        for i in range(n):
            vol = fake_volume.fake_volume_obj(
                self.ctx, id='00000000-0000-0000-0000-%012d' % i)
            vol.provider_location = '192.0.2.20:3260,%d %s%s 1' % (
                i + 1, PREFIX, vol.name)
            vol.provider_auth = 'CHAP zolu%d %s' % (i, SECRET)
            vols.append(vol)
        return vols

    def test_startup_with_n_volumes_is_one_round_trip(self):
        vols = self.volumes(30)
        self.ex.on('^target-restore', out=''.join(
            '%s%s ok\n' % (PREFIX, v.name) for v in vols))
        for vol in vols:
            self.drv.ensure_export(self.ctx, vol)
        self.assertEqual(['target-restore'], self.ex.calls)

    def test_missing_target_recreated_with_its_credentials(self):
        vols = self.volumes(3)
        self.ex.on('^target-restore', out='%s%s ok\n%s%s failed\n' % (
            PREFIX, vols[0].name, PREFIX, vols[1].name))
        self.ex.on('^target-create ', out='tid=4\n')
        for vol in vols:
            self.drv.ensure_export(self.ctx, vol)
        creates = self.ex.commands('target-create')
        self.assertEqual([' zolu1', ' zolu2'],
                         [c[c.rindex(' '):] for c in creates])
        self.assertEqual(3, len(self.ex.calls))

    def test_set_initialized_ends_the_window(self):
        vols = self.volumes(1)
        self.ex.on('^target-restore', out='%s%s ok\n' % (PREFIX,
                                                         vols[0].name))
        self.drv.ensure_export(self.ctx, vols[0])
        self.drv.set_initialized()
        self.assertTrue(self.drv.initialized)
        self.drv.ensure_export(self.ctx, vols[0])
        self.assertEqual(['target-restore'] * 2, self.ex.calls)

    def test_ensure_exports_bulk(self):
        vols = self.volumes(4)
        self.ex.on('^target-restore', out='%s%s ok\n' % (PREFIX,
                                                         vols[0].name))
        self.ex.on('^target-create ', out='tid=4\n')
        recreated = self.drv.ensure_exports(self.ctx, vols)
        self.assertEqual([PREFIX + v.name for v in vols[1:]], recreated)
        self.assertEqual(4, len(self.ex.calls))

    def test_restore_failure_keeps_volumes_in_use_and_backend_down(self):
        self.set(zol_restore_timeout=0)
        self.ex.on('^target-restore', err='tgtd down', exit_code=1)
        vols = self.volumes(2)
        for vol in vols:
            self.drv.ensure_export(self.ctx, vol)   # no exception
        self.assertEqual(['target-restore'], self.ex.calls)
        self.ex.on('zfs list', out=fakes.listing(fakes.space_row(
            P, 'filesystem', used=1, avail=GiB)))
        self.ex.on('^target-list', raises=errors.TransportError(
            'ZFS host', 'refused'), times=2)
        pool = self.drv.get_volume_stats(refresh=True)['pools'][0]
        self.assertEqual('down', pool['backend_state'])
        self.assertIn('refused', pool['zol_down_reason'])
        # the host is back: the next stats period makes both targets
        self.ex.on('^target-list', out='')
        self.ex.on('^target-create ', out='tid=1\n')
        pool = self.drv.get_volume_stats(refresh=True)['pools'][0]
        self.assertEqual('up', pool['backend_state'])
        self.assertNotIn('zol_down_reason', pool)
        self.assertEqual(2, len(self.ex.commands('target-create')))

    def test_stats_restore_what_a_host_reboot_took(self):
        vols = self.volumes(2)
        self.ex.on('zfs list', out=fakes.listing(fakes.space_row(
            P, 'filesystem', used=1, avail=GiB)))
        self.ex.on('^target-list', out=''.join(
            '%s%s tid=- lun=- persisted=yes sessions=0\n' % (PREFIX, v.name)
            for v in vols) + 'iqn.x:other tid=4 lun=1 persisted=no '
            'sessions=0\n', times=1)
        self.ex.on('^target-restore', out='')
        self.drv.get_volume_stats(refresh=True)
        self.assertEqual(['zfs', 'target-list', 'target-restore'],
                         [c.split()[0] for c in self.ex.calls])
        # nothing lost: one listing, no restore
        self.ex.on('^target-list', out='')
        self.drv.get_volume_stats(refresh=True)
        self.assertEqual(1, self.ex.calls.count('target-restore'))


class OrphanTargetTestCase(ExportTestCase):
    """A cinder-volume killed mid-attach leaves a target nobody removes."""

    def stats_with_targets(self, volumes, sessions=0):
        self.ex.on('zfs list', out=fakes.listing(fakes.space_row(
            P, 'filesystem', used=1, avail=GiB)))
        self.ex.on('^target-list', out=''.join(
            '%s%s tid=%d lun=/dev/zvol/%s/%s persisted=yes sessions=%d\n'
            % (PREFIX, v.name, i + 1, P, v.name, sessions)
            for i, v in enumerate(volumes)) +
            'iqn.other:x tid=9 lun=/dev/zvol/other/x persisted=no '
            'sessions=0\n')
        self.drv.db = mock.Mock()
        self.drv.db.volume_get_all.side_effect = (
            lambda ctx, filters: [v for v in volumes
                                  if v.id in filters['id']])
        self.drv.get_volume_stats(refresh=True)
        if not sessions:
            # one query for every idle target, not one per target
            self.drv.db.volume_get_all.assert_called_once()
            self.assertEqual(sorted(v.id for v in volumes), sorted(
                self.drv.db.volume_get_all.call_args[1]['filters']['id']))
        return self.ex.commands('target-delete')

    def volumes(self, **statuses):
        vols = []
        for i, (status, migration) in enumerate(statuses.values()):
            vol = fake_volume.fake_volume_obj(
                self.ctx, id='00000000-0000-0000-0000-%012d' % i,
                status=status, migration_status=migration)
            vols.append(vol)
        return vols

    def test_target_of_an_available_volume_is_removed(self):
        vols = self.volumes(a=('available', None), b=('in-use', None),
                            c=('reserved', None), d=('attaching', None),
                            e=('available', 'migrating'))
        self.assertEqual(['target-delete %s%s' % (PREFIX, vols[0].name)],
                         self.stats_with_targets(vols))

    def test_a_target_in_use_is_never_removed(self):
        vols = self.volumes(a=('available', None))
        self.assertEqual([], self.stats_with_targets(vols, sessions=1))

    def test_unknown_volumes_are_left_alone(self):
        self.ex.on('zfs list', out=fakes.listing(fakes.space_row(
            P, 'filesystem', used=1, avail=GiB)))
        self.ex.on('^target-list', out='%svolume-x tid=1 lun=/dev/zvol/%s/'
                   'volume-x persisted=yes sessions=0\n' % (PREFIX, P))
        self.drv.db = mock.Mock()
        self.drv.db.volume_get_all.return_value = []
        self.drv.get_volume_stats(refresh=True)
        self.assertEqual([], self.ex.commands('target-delete'))
        # no database at all (a harness): nothing removed, stats still run
        self.drv.db.volume_get_all.side_effect = RuntimeError('no db')
        self.assertEqual('up', self.drv.get_volume_stats(
            refresh=True)['pools'][0]['backend_state'])
        self.assertEqual([], self.ex.commands('target-delete'))


class ResizeTestCase(ExportTestCase):

    def test_extend_of_exported_volume_resizes_the_lun(self):
        vol = self.exported()
        self.drv.extend_volume(vol, 2)
        self.assertEqual('target-resize ' + self.iqn, self.ex.calls[-1])

    def test_extend_of_unexported_volume_sends_no_resize(self):
        vol = self.vol()
        self.drv.extend_volume(vol, 2)
        self.assertEqual([], self.ex.commands('target-'))
