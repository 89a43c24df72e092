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

"""The driver's set-up and volume half, on a recording executor."""

import logging
from unittest import mock

from cinder import exception
import fixtures

from tests.unit import fakes
from tests.unit.fakes import DriverTestCase
from tests.unit.fakes import getout
from tests.unit.fakes import listing
from tests.unit.fakes import space_row
from tests.unit.fakes import verbs
from zol_driver import driver
from zol_driver import ssh
from zol_driver import tgt
from zol_driver import zfs

P = fakes.P
GROUP = fakes.GROUP
GiB = zfs.GiB


class SetupTestCase(DriverTestCase):

    def _setup(self):
        with mock.patch.object(ssh.SSHExecutor,
                               'from_configuration') as from_conf, \
                mock.patch.object(tgt, 'TgtTargets') as targets:
            from_conf.return_value = self.ex
            self.drv.do_setup(self.ctx)
        return targets

    def test_do_setup_builds_host_objects(self):
        targets = self._setup()
        self.assertIs(self.ex, self.drv.executor)
        self.assertEqual(P, self.drv.zfs.parent)
        targets.assert_called_once_with(self.ex, self.drv.configuration)
        self.assertEqual([], self.ex.calls, 'do_setup sends nothing')

    def test_bad_options_are_named(self):
        cases = [({'zol_parent_dataset': '/tank/c'}, 'zol_parent_dataset'),
                 ({'zol_parent_dataset': 'tank'}, 'pool root'),
                 ({'zol_parent_dataset': 'tank/a b'}, 'zol_parent_dataset'),
                 ({'san_ip': ''}, 'san_ip'),
                 ({'zol_volblocksize': '3K'}, 'zol_volblocksize'),
                 ({'zol_volblocksize': '1M'}, 'zol_volblocksize'),
                 ({'zol_compression': 'lz4;reboot'}, 'zol_compression'),
                 ({'zol_zvol_properties': {'mountpoint': '/'}},
                  'zol_zvol_properties'),
                 ({'max_over_subscription_ratio': '0.5'},
                  'max_over_subscription_ratio'),
                 ({'target_prefix': 'volumes:'}, 'target_prefix'),
                 ({'target_prefix': 'iqn.x:' + 'a' * 90}, 'target_prefix'),
                 ({'san_private_key': '', 'san_password': ''},
                  'san_private_key')]
        for override, word in cases:
            self.cfg.config(group=GROUP, zol_parent_dataset=P,
                            san_ip='192.0.2.10', zol_volblocksize=None,
                            zol_compression=None, zol_zvol_properties={},
                            max_over_subscription_ratio='20.0',
                            target_prefix='iqn.2010-10.org.openstack:',
                            san_private_key='/k')
            self.set(**override)
            exc = self.assertRaises(exception.InvalidConfigurationValue,
                                    self._setup)
            self.assertIn(word, str(exc))

    def test_warnings_of_the_check_are_logged(self):
        log = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        self.set(san_password='hunter2', zol_ssh_strict_host_key=False)
        self._setup()
        self.assertIn('san_password is set', log.output)
        self.assertIn('zol_ssh_strict_host_key = False', log.output)
        self.assertNotIn('hunter2', log.output)

    def test_good_options(self):
        self.set(zol_volblocksize='16K', zol_compression='zstd-3',
                 zol_zvol_properties={'sync': 'always'},
                 max_over_subscription_ratio='auto')
        self._setup()

    def test_check_for_setup_error_ok(self):
        self.ex.on('zfs list', out='%s\tfilesystem\t10\t%d\n' % (P, GiB))
        self.ex.on('^version$', out='zfswrapper 1.2.0\nzfs-2.1.11-1\n')
        self.drv.check_for_setup_error()
        self.assertEqual(['zfs list -H -p -o name,type,used,avail ' + P,
                          'version', '<warm_up>'], self.ex.calls,
                         'ssh_min_pool_conn connections opened at start')

    def test_check_for_setup_error_wrapper_version(self):
        self.ex.on('zfs list', out='%s\tfilesystem\t10\t%d\n' % (P, GiB))
        cases = [('zfswrapper 1.1.0\nzfs-2.1.11-1\n', 0,
                  'upgrade the wrapper on the ZFS host'),
                 ('zfswrapper 2.0.0\n', 0, 'upgrade cinder-zol'),
                 ('', 0, 'did not print'),
                 ('', 127, 'did not print')]
        for out, code, words in cases:
            self.ex.rules = self.ex.rules[:1]
            self.ex.calls = []
            self.ex.on('^version$', out=out, exit_code=code,
                       err='refused' if code else '')
            exc = self.assertRaises(exception.VolumeDriverException,
                                    self.drv.check_for_setup_error)
            self.assertIn(words, str(exc))
            self.assertIn('192.0.2.10', str(exc))
            self.assertNotIn('<warm_up>', self.ex.calls)
        self.ex.rules = self.ex.rules[:1]
        self.ex.on('^version$', raises=driver.errors.TransportError('gone'))
        exc = self.assertRaises(exception.VolumeDriverException,
                                self.drv.check_for_setup_error)
        self.assertIn('cannot ask the wrapper its version: gone', str(exc))
        for newer in ('zfswrapper 1.2.7\n', 'zfswrapper 1.3.0\n'):
            self.ex.rules = self.ex.rules[:1]
            self.ex.on('^version$', out=newer)
            self.drv.check_for_setup_error()

    def test_wrapper_and_tgt_versions_choose_streams_and_discard(self):
        """Extent streams from wrapper 1.4.0; discard from tgt 1.0.90."""
        self.ex.on('zfs list', out='%s\tfilesystem\t10\t%d\n' % (P, GiB))
        vol = self.volume()
        vol.provider_location = None
        vol.provider_auth = None
        cases = [('zfswrapper 1.3.0\ntgtadm 1.0.85\n', False, False),
                 ('zfswrapper 1.4.0\ntgtadm 1.0.85\n', True, False),
                 ('zfswrapper 1.4.0\ntgtadm 1.0.89\n', True, False),
                 ('zfswrapper 1.4.0\ntgtadm unknown\n', True, False),
                 ('zfswrapper 1.4.0\n', True, False),
                 ('zfswrapper 1.4.0\ntgtadm 1.0.90\n', True, True),
                 ('zfswrapper 1.5.2\ntgtadm 1.1.0\n', True, True)]
        for out, extents, discard in cases:
            self.ex.rules = self.ex.rules[:1]
            self.ex.on('^version$', out=out)
            self.drv.check_for_setup_error()
            self.assertEqual(extents, self.drv.image_extents, out)
            data = self.drv.targets.iscsi_properties(vol, 'iqn.x:y')
            self.assertEqual(discard, data.get('discard', False), out)
            self.assertEqual(discard, 'discard' in data, out)

    @mock.patch.object(driver.image_transfer, 'image_to_zvol')
    @mock.patch.object(driver.image_transfer, 'zvol_to_image')
    def test_image_copies_pass_extents_and_disable_sparse(self, up, down):
        vol = self.volume()
        for extents in (False, True):
            self.drv.image_extents = extents
            self.drv.copy_image_to_volume(self.ctx, vol, 'svc', 'img',
                                          disable_sparse=True)
            self.assertEqual({'extents': extents, 'disable_sparse': True},
                             down.call_args.kwargs)
            self.drv.copy_volume_to_image(self.ctx, vol, 'svc', {'id': 'i'})
            self.assertEqual({'extents': extents}, up.call_args.kwargs)

    def test_missing_key_file_is_named(self):
        self.set(san_private_key='/nonexistent/zol_key')
        exc = self.assertRaises(exception.VolumeDriverException,
                                self.drv.do_setup, self.ctx)
        self.assertIn('/nonexistent/zol_key', str(exc))

    def test_check_for_setup_error_problems(self):
        cases = [
            ("cannot open '%s': dataset does not exist\n" % P, 1,
             'does not exist'),
            ('zfswrapper: refused: dataset outside parents\n', 126,
             'parents'),
            ('zfs: command not found\n', 127, 'cannot run zfs'),
        ]
        for err, code, word in cases:
            self.ex.rules = []
            self.ex.on('zfs list', err=err, exit_code=code)
            exc = self.assertRaises(exception.VolumeDriverException,
                                    self.drv.check_for_setup_error)
            self.assertIn(word, str(exc))

    def test_check_for_setup_error_not_a_filesystem(self):
        self.ex.on('zfs list', out='%s\tvolume\t10\t10\n' % P)
        exc = self.assertRaises(exception.InvalidConfigurationValue,
                                self.drv.check_for_setup_error)
        self.assertIn('must be a filesystem', str(exc))


class CreateDeleteTestCase(DriverTestCase):

    def test_create_volume_thin_default_one_command(self):
        vol = self.volume(size=2)
        self.assertIsNone(self.drv.create_volume(vol))
        self.assertEqual(
            ['zfs create -s -V %d -o zol:cinder_id=%s -o zol:managed=yes '
             '%s/%s' % (2 * GiB, vol.id, P, vol.name)], self.ex.calls)

    def test_create_volume_options_and_specs(self):
        self.set(san_thin_provision=False, zol_volblocksize='16K',
                 zol_compression='lz4',
                 zol_zvol_properties={'sync': 'always'})
        vol = self.volume(specs={'zol:compression': 'zstd',
                                 'zol:logbias': 'throughput',
                                 'zol:volblocksize': '64K'})
        self.drv.create_volume(vol)
        cmd = self.ex.calls[0]
        self.assertTrue(cmd.startswith('zfs create -V %d -b 65536 ' % GiB))
        for word in ('compression=zstd', 'logbias=throughput',
                     'sync=always'):
            self.assertIn(' -o %s ' % word, cmd)

    def test_thin_thick_precedence(self):
        self.set(zol_sparse=False)
        self.drv.create_volume(self.volume())
        self.assertNotIn(' -s ', self.ex.calls[-1])
        self.drv.create_volume(self.volume(specs={'provisioning:type':
                                                  'thin'}))
        self.assertIn(' -s ', self.ex.calls[-1])
        self.drv.create_volume(self.volume(specs={'provisioning:type':
                                                  'thin',
                                                  'zol:sparse':
                                                  '<is> False'}))
        self.assertNotIn(' -s ', self.ex.calls[-1])

    def test_bad_spec_is_invalid_input(self):
        for specs in ({'zol:volblocksize': '5K'},
                      {'zol:compression': 'a b'}):
            self.assertRaises(exception.InvalidInput, self.drv.create_volume,
                              self.volume(specs=specs))
        self.assertEqual([], self.ex.calls)

    def test_create_volume_resumes_own_interrupted_create(self):
        vol = self.volume()
        self.ex.on('zfs create', err=fakes.EXISTS % 'x', exit_code=1)
        self.ex.on('zfs get', out='zol:cinder_id\t%s\tlocal\n' % vol.id)
        self.drv.create_volume(vol)

    def test_create_volume_someone_elses_fails(self):
        self.ex.on('zfs create', err=fakes.EXISTS % 'x', exit_code=1)
        self.ex.on('zfs get', out='zol:cinder_id\tother\tlocal\n')
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.create_volume, self.volume())

    def test_delete_volume_one_command(self):
        vol = self.volume()
        self.drv.delete_volume(vol)
        self.assertEqual(['zfs destroy -r %s/%s' % (P, vol.name)],
                         self.ex.calls)

    def test_delete_gone_volume_succeeds(self):
        self.ex.on('destroy', err=fakes.NOT_FOUND % 'x', exit_code=1)
        self.drv.delete_volume(self.volume())

    def test_delete_gone_clone_drops_its_temporary_snapshot(self):
        vol = self.volume(source_volid='src-id')
        self.ex.on('destroy -r', err=fakes.NOT_FOUND % 'x', exit_code=1)
        self.drv.delete_volume(vol)
        self.assertEqual('zfs destroy -d %s/volume-src-id@zol-clone-%s'
                         % (P, vol.name), self.ex.calls[-1])

    def test_delete_volume_with_clones_hides(self):
        vol = self.volume()
        self.ex.on('destroy', err=fakes.CLONES % ('x', 'y'), exit_code=1)
        self.drv.delete_volume(vol)
        self.assertIn('zfs rename %s/%s %s/zol-deleted-%s'
                      % (P, vol.name, P, vol.name), self.ex.calls)

    def test_delete_busy_volume(self):
        self.ex.on('destroy', err=fakes.BUSY % 'x', exit_code=1)
        vol = self.volume()
        exc = self.assertRaises(exception.VolumeIsBusy,
                                self.drv.delete_volume, vol)
        self.assertEqual(['zfs destroy', 'target-delete', 'zfs destroy'],
                         verbs(self.ex.calls))
        self.assertIn('still busy after 2 attempts', str(exc))

    def test_delete_volume_with_a_leaked_target(self):
        """remove_export skipped or failed: tgtd holds the zvol open."""
        self.ex.on('destroy', err=fakes.BUSY % 'x', exit_code=1, times=1)
        vol = self.volume()
        vol.provider_location = '192.0.2.20:3260,3 %s 1' % (
            'iqn.2010-10.org.openstack:' + vol.name)
        self.drv.delete_volume(vol)
        self.assertEqual(
            ['zfs destroy -r %s/%s' % (P, vol.name),
             'target-delete iqn.2010-10.org.openstack:' + vol.name,
             'zfs destroy -r %s/%s' % (P, vol.name)], self.ex.calls)

    def test_hidden_volume_loses_its_target_first(self):
        self.ex.on('destroy', err=fakes.CLONES % ('x', 'y'), exit_code=1)
        vol = self.volume()
        self.drv.delete_volume(vol)
        self.assertEqual(['zfs destroy', 'target-delete', 'zfs rename'],
                         verbs(self.ex.calls[:3]))

    def test_delete_clone_drops_an_unmarked_temporary_snapshot(self):
        vol = self.volume(source_volid='src-id')
        self.drv.delete_volume(vol)
        self.assertEqual(['zfs destroy -r %s/%s' % (P, vol.name),
                          'zfs destroy -d %s/volume-src-id@zol-clone-%s'
                          % (P, vol.name)], self.ex.calls)

    def test_transport_error(self):
        def broken(*a, **k):
            raise driver.errors.TransportError('host', 'refused')
        self.drv.zfs.executor = broken
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.create_volume, self.volume())


class SnapshotCloneTestCase(DriverTestCase):

    def test_create_snapshot_one_command(self):
        vol = self.volume()
        snap = self.snapshot(vol)
        self.drv.create_snapshot(snap)
        self.assertEqual(['zfs snapshot -o zol:cinder_id=%s -o '
                          'zol:managed=yes %s/%s@%s'
                          % (snap.id, P, vol.name, snap.name)],
                         self.ex.calls)

    def test_delete_snapshot_deferred(self):
        vol = self.volume()
        snap = self.snapshot(vol)
        self.drv.delete_snapshot(snap)
        self.ex.on('destroy', err=fakes.NOT_FOUND % 'x', exit_code=1)
        self.drv.delete_snapshot(snap)
        self.assertEqual(['zfs destroy -d %s/%s@%s'
                          % (P, vol.name, snap.name)] * 2, self.ex.calls)

    def test_delete_busy_snapshot(self):
        self.ex.on('destroy', err=fakes.BUSY % 'x', exit_code=1)
        vol = self.volume()
        self.assertRaises(exception.SnapshotIsBusy,
                          self.drv.delete_snapshot, self.snapshot(vol))

    def test_volume_from_snapshot_same_size_one_command(self):
        src = self.volume(size=1)
        snap = self.snapshot(src)
        vol = self.volume(size=1)
        self.drv.create_volume_from_snapshot(vol, snap)
        self.assertEqual(['zfs clone -o zol:cinder_id=%s -o zol:managed=yes'
                          ' %s/%s@%s %s/%s' % (vol.id, P, src.name,
                                               snap.name, P, vol.name)],
                         self.ex.calls)

    def test_volume_from_snapshot_larger_thick_one_command(self):
        self.set(san_thin_provision=False)
        src = self.volume(size=1)
        snap = self.snapshot(src)
        vol = self.volume(size=3)
        self.drv.create_volume_from_snapshot(vol, snap)
        self.assertEqual(1, len(self.ex.calls))
        self.assertIn('-o volsize=%d' % (3 * GiB), self.ex.calls[0])
        self.assertIn('-o refreservation=auto', self.ex.calls[0])

    def test_clone_volume(self):
        src = self.volume(size=1)
        vol = self.volume(size=2)
        self.drv.create_cloned_volume(vol, src)
        tmp = '%s/%s@zol-clone-%s' % (P, src.name, vol.name)
        self.assertEqual(
            ['zfs snapshot ' + tmp,
             'zfs clone -o volsize=%d -o zol:cinder_id=%s -o '
             'zol:managed=yes %s %s/%s' % (2 * GiB, vol.id, tmp, P,
                                           vol.name),
             'zfs destroy -d ' + tmp], self.ex.calls)

    def test_extend(self):
        vol = self.volume(size=1)
        self.ex.on('zfs get', out=getout('volsize', GiB))
        self.drv.extend_volume(vol, 5)
        self.assertEqual(['zfs get -H -p -o property,value,source volsize '
                          '%s/%s' % (P, vol.name),
                          'zfs set volsize=%d %s/%s'
                          % (5 * GiB, P, vol.name)], self.ex.calls)

    def test_extend_again_after_a_cut_extend(self):
        # the operator's recovery of a volume an extend left 'extending'
        # or 'error_extending' after ZFS grew it: the same extend again
        vol = self.volume(size=1)
        self.ex.on('zfs get', out=getout('volsize', 2 * GiB))
        self.drv.targets.resize_export = mock.Mock()
        self.drv.extend_volume(vol, 2)
        self.assertFalse([c for c in self.ex.calls
                          if c.startswith('zfs set')])
        self.drv.targets.resize_export.assert_called_once_with(vol)

    def test_startup_names_volumes_left_extending(self):
        # Cinder's start-up clean-up does not cover extends: a volume
        # whose service died mid-extend stays 'extending'. The driver only
        # tells the operator (another service of a cluster may own it).
        left = self.volume(size=1, status='extending')
        fine = self.volume(size=1, status='available',
                           id='0b2c6f5e-3d4a-4f0e-9a8b-1c2d3e4f5a6b')
        log = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        self.assertEqual((None, None),
                         self.drv.update_provider_info([left, fine], []))
        self.assertIn(left.id, log.output)
        self.assertIn('reset-state', log.output)
        self.assertNotIn(fine.id, log.output)
        self.assertEqual([], self.ex.calls, 'nothing sent to the host')

    def test_startup_names_volumes_left_uploading(self):
        # Cinder 29 keeps no worker for copy_volume_to_image, so its
        # start-up clean-up never sees an upload cut by a kill -9: the
        # volume stays 'uploading' (test_faults step f). Named, not changed.
        left = self.volume(size=1, status='uploading')
        log = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        self.drv.update_provider_info([left], [])
        self.assertIn(left.id, log.output)
        self.assertIn('"uploading"', log.output)
        self.assertIn('reset-state --state available', log.output)
        self.assertEqual([], self.ex.calls, 'nothing sent to the host')

    def test_extend_below_the_zvols_size_refused(self):
        vol = self.volume(size=1)
        self.ex.on('zfs get', out=getout('volsize', 3 * GiB))
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                self.drv.extend_volume, vol, 2)
        self.assertIn('3 GiB', str(exc))
        self.assertIn('extend it to 3 GiB', str(exc))
        self.assertFalse([c for c in self.ex.calls
                          if c.startswith('zfs set')])

    def test_extend_tells_export_half(self):
        vol = self.volume(size=1)
        self.drv.targets.resize_export = mock.Mock()
        self.drv.extend_volume(vol, 2)
        self.drv.targets.resize_export.assert_called_once_with(vol)

    def test_revert(self):
        self.assertFalse(self.drv.snapshot_revert_use_temp_snapshot())
        vol = self.volume(size=1)
        snap = self.snapshot(vol)
        self.drv.revert_to_snapshot(self.ctx, vol, snap)
        self.assertEqual(['zfs rollback %s/%s@%s' % (P, vol.name, snap.name)],
                         self.ex.calls)

    def test_revert_after_extend_restores_size(self):
        vol = self.volume(size=1)
        snap = self.snapshot(vol)
        vol.size = 4
        self.drv.revert_to_snapshot(self.ctx, vol, snap)
        self.assertEqual('zfs set volsize=%d %s/%s'
                         % (4 * GiB, P, vol.name), self.ex.calls[-1])

    def test_revert_refused_when_newer_foreign_snapshots(self):
        vol = self.volume()
        snap = self.snapshot(vol)
        self.ex.on('rollback', err=fakes.NEWER % (
            'x@a', '%s/%s@zol-clone-volume-9\n%s/%s@manual' % (
                P, vol.name, P, vol.name)), exit_code=1)
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                self.drv.revert_to_snapshot, self.ctx, vol,
                                snap)
        self.assertIn('@manual', str(exc))
        self.assertNotIn('zol-clone-volume-9', str(exc))
        self.assertIn('create a volume from the snapshot', str(exc))
        self.assertEqual(1, len(self.ex.calls), 'nothing changed')

    def _blocked_revert(self, size=1):
        vol = self.volume(size=size)
        snap = self.snapshot(vol, volume_size=1)
        self.ex.on('rollback', err=fakes.NEWER % (
            'x@a', '%s/%s@zol-clone-volume-9\n%s/%s@snapshot-old' % (
                P, vol.name, P, vol.name)), exit_code=1)
        self.ex.on('zfs get', out=getout('compression', 'zstd',
                                         'refreservation', str(GiB)))
        return vol, snap

    def test_revert_past_temporary_and_deferred_snapshots(self):
        vol, snap = self._blocked_revert(size=2)
        self.drv.revert_to_snapshot(self.ctx, vol, snap)
        tmp = '%s/zol-revert-%s' % (P, vol.name)
        calls = self.ex.calls
        self.assertEqual('zfs clone -o compression=zstd -o '
                         'refreservation=auto -o zol:cinder_id=%s -o '
                         'zol:managed=yes %s/%s@%s %s'
                         % (vol.id, P, vol.name, snap.name, tmp), calls[2])
        self.assertEqual('zfs promote ' + tmp, calls[3])
        self.assertRegex(calls[4], r'^zfs rename %s/%s %s/zol-deleted-%s-\d+$'
                         % (P, vol.name, P, vol.name))
        self.assertEqual('zfs rename %s %s/%s' % (tmp, P, vol.name),
                         calls[5])
        self.assertEqual('zfs set volsize=%d %s/%s'
                         % (2 * GiB, P, vol.name), calls[-1])

    def test_revert_past_a_replication_snapshot_goes_around_it(self):
        vol = self.volume(size=1)
        snap = self.snapshot(vol, volume_size=1)
        self.ex.on('rollback', err=fakes.NEWER % (
            'x@a', '%s/%s@zol-repl-12' % (P, vol.name)), exit_code=1)
        self.ex.on('zfs get', out=getout('compression', 'zstd',
                                         'refreservation', 'none'))
        self.drv.revert_to_snapshot(self.ctx, vol, snap)
        tmp = '%s/zol-revert-%s' % (P, vol.name)
        self.assertIn('zfs promote ' + tmp, self.ex.calls)
        self.assertEqual('zfs rename %s %s/%s' % (tmp, P, vol.name),
                         self.ex.calls[-1])

    def test_revert_through_a_clone_undoes_a_failed_step(self):
        vol, snap = self._blocked_revert()
        self.ex.on('zfs rename %s/zol-revert' % P, err='pool is broken',
                   exit_code=1)
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.revert_to_snapshot, self.ctx, vol, snap)
        hidden = self.ex.calls[4].split()[-1]
        self.assertEqual(
            ['zfs rename %s %s/%s' % (hidden, P, vol.name),
             'zfs promote %s/%s' % (P, vol.name),
             'zfs destroy -r %s/zol-revert-%s' % (P, vol.name)],
            self.ex.calls[6:])


class StatsTestCase(DriverTestCase):

    def test_stats_from_one_listing(self):
        self.drv.zfs.garbage_suspected = True
        self.ex.on('zfs list', out=listing(
            space_row(P, 'filesystem', used=10 * GiB, avail=90 * GiB),
            space_row(P + '/volume-a', volsize=30 * GiB, owner='a',
                      managed='yes'),
            space_row(P + '/volume-b', volsize=50 * GiB,
                      origin=P + '/zol-deleted-c@s'),
            space_row(P + '/zol-deleted-c', volsize=70 * GiB)))
        stats = self.drv.get_volume_stats(refresh=True)
        self.assertEqual(['zfs list', 'target-list'], verbs(self.ex.calls),
                         'one listing, one target listing, no garbage')
        pool = stats['pools'][0]
        self.assertEqual('zolbe', stats['volume_backend_name'])
        self.assertEqual(self.drv.VERSION, stats['driver_version'])
        self.assertEqual('iSCSI', stats['storage_protocol'])
        self.assertEqual(100.0, pool['total_capacity_gb'])
        self.assertEqual(90.0, pool['free_capacity_gb'])
        self.assertEqual(80.0, pool['provisioned_capacity_gb'])
        self.assertEqual(2, pool['total_volumes'])
        for key in ('thin_provisioning_support', 'thick_provisioning_support',
                    'multiattach', 'online_extend_support'):
            self.assertTrue(pool[key], key)
        self.assertEqual(20.0, pool['max_over_subscription_ratio'])
        self.assertEqual(0, pool['reserved_percentage'])
        self.assertEqual('lz4', pool['zol_compression'])
        self.assertEqual('up', pool['backend_state'])
        # cached
        self.drv.get_volume_stats()
        self.assertEqual(2, len(self.ex.calls))

    def test_stats_collect_garbage_from_same_listing(self):
        self.ex.on('zfs list', out=listing(
            space_row(P, 'filesystem'),
            space_row(P + '/zol-deleted-c', volsize=GiB)))
        self.drv.get_volume_stats(refresh=True)
        self.assertEqual(['zfs destroy -r %s/zol-deleted-c' % P],
                         self.ex.commands('zfs destroy'))
        self.assertEqual(1, len(self.ex.commands('zfs list')))

    def test_stats_destroy_zvols_of_volumes_cinder_deleted(self):
        """The stats period destroys the zvol of a deleted volume.

        A create cut off after ``zfs create`` ran (sshd killed) is
        rescheduled; Cinder's delete of the zvol could not reach the host,
        and the record, its host cleared, was deleted by the API alone
        (test_faults step b). Only a zvol the driver marked managed, named
        after its owner, whose record Cinder has deleted, goes.
        """
        gone, live, unknown, moved, kept = (
            '%08d-0000-4000-8000-000000000000' % n for n in range(5))
        self.drv.db = mock.Mock()
        self.drv.db.volume_get_all.return_value = [
            mock.Mock(id=gone, deleted=True),
            mock.Mock(id=live, deleted=False),
            mock.Mock(id=moved, deleted=True),
            mock.Mock(id=kept, deleted=True)]
        self.ex.on('zfs list', out=listing(
            space_row(P, 'filesystem'),
            space_row(P + '/volume-' + gone, owner=gone, managed='yes'),
            space_row(P + '/volume-' + live, owner=live, managed='yes'),
            space_row(P + '/volume-' + unknown, owner=unknown,
                      managed='yes'),
            # a migration's zvol renamed to the original volume's name
            space_row(P + '/volume-' + live, owner=moved, managed='yes'),
            # unmanaged: Cinder forgot it on purpose
            space_row(P + '/volume-' + kept, owner=kept, managed='no')))
        self.drv.get_volume_stats(refresh=True)
        self.assertEqual(['zfs destroy -r %s/volume-%s' % (P, gone)],
                         self.ex.commands('zfs destroy'))
        ctx, = self.drv.db.volume_get_all.call_args[0]
        self.assertEqual('yes', ctx.read_deleted)
        self.assertEqual(
            {'id': sorted([gone, live, unknown, moved])},
            {k: sorted(v) for k, v in
             self.drv.db.volume_get_all.call_args[1]['filters'].items()})

    def test_orphan_check_failure_is_warned_once(self):
        """A database the driver cannot query is named once, not each period.

        DB-less harnesses (and a database outage) made every stats period
        log the same warning; the same reason again is logged at debug.
        """
        vid = '%08d-0000-4000-8000-000000000000' % 1
        self.drv.db = mock.Mock()
        self.drv.db.volume_get_all.side_effect = RuntimeError('no database')
        self.ex.on('zfs list', out=listing(
            space_row(P, 'filesystem'),
            space_row(P + '/volume-' + vid, owner=vid, managed='yes')))
        with mock.patch.object(driver.LOG, 'warning') as warning:
            for _i in range(3):
                self.drv.get_volume_stats(refresh=True)
            skipped = [c for c in warning.call_args_list
                       if 'orphan check skipped' in c[0][0]]
            self.assertEqual(1, len(skipped), warning.call_args_list)
            self.assertEqual([], self.ex.commands('zfs destroy'))
            # once the database answers, a new failure is news again
            self.drv.db.volume_get_all.side_effect = None
            self.drv.db.volume_get_all.return_value = []
            self.drv.get_volume_stats(refresh=True)
            self.drv.db.volume_get_all.side_effect = RuntimeError('again')
            self.drv.get_volume_stats(refresh=True)
            skipped = [c for c in warning.call_args_list
                       if 'orphan check skipped' in c[0][0]]
            self.assertEqual(2, len(skipped), warning.call_args_list)

    def test_stats_host_down(self):
        self.ex.on('zfs list', err='boom', exit_code=1)
        pool = self.drv.get_volume_stats(refresh=True)['pools'][0]
        self.assertEqual('down', pool['backend_state'])
        self.assertEqual(0, pool['free_capacity_gb'])

    def test_thick_default_backend_is_not_over_subscribed(self):
        self.set(san_thin_provision=False, max_over_subscription_ratio='20')
        self.ex.on('zfs list', out=listing(
            space_row(P, 'filesystem', used=10 * GiB, avail=90 * GiB)))
        pool = self.drv.get_volume_stats(refresh=True)['pools'][0]
        self.assertFalse(pool['thin_provisioning_support'])
        self.assertTrue(pool['thick_provisioning_support'])
        self.assertEqual(1.0, pool['max_over_subscription_ratio'])
        # a type asking for thin still gets a sparse zvol
        vol = self.volume(specs={'provisioning:type': 'thin'})
        self.drv.create_volume(vol)
        self.assertIn('zfs create -s ', self.ex.calls[-1])


class MigrationTestCase(DriverTestCase):

    def migrated(self):
        vol = self.volume()
        new = self.volume(id='22222222-2222-2222-2222-222222222222')
        new.provider_location = 'loc-of-new'
        return vol, new

    def test_available_volume_gets_its_name_back(self):
        vol, new = self.migrated()
        update = self.drv.update_migrated_volume(self.ctx, vol, new,
                                                 'available')
        self.assertEqual({'_name_id': None, 'provider_location': None},
                         update)
        self.assertEqual(
            ['zfs rename %s/%s %s/volume-%s' % (P, new.name, P, vol.id),
             'zfs set zol:cinder_id=%s zol:managed=yes %s/volume-%s'
             % (vol.id, P, vol.id)], self.ex.calls)

    def test_in_use_volume_keeps_the_new_name(self):
        vol, new = self.migrated()
        update = self.drv.update_migrated_volume(self.ctx, vol, new,
                                                 'in-use')
        self.assertEqual({'_name_id': new.id,
                          'provider_location': 'loc-of-new'}, update)
        self.assertEqual(['zfs set zol:cinder_id=%s zol:managed=yes %s/%s'
                          % (vol.id, P, new.name)], self.ex.calls)

    def test_failed_rename_keeps_the_new_name(self):
        vol, new = self.migrated()
        self.ex.on('zfs rename', err="cannot rename: dataset already "
                   "exists\n", exit_code=1)
        update = self.drv.update_migrated_volume(self.ctx, vol, new,
                                                 'available')
        self.assertEqual(new.id, update['_name_id'])
        self.assertIn('zfs set zol:cinder_id=%s zol:managed=yes %s/%s'
                      % (vol.id, P, new.name), self.ex.calls)


class ManageTestCase(DriverTestCase):

    def test_manage_existing_get_size_and_manage(self):
        vol = self.volume()
        self.ex.on('zfs get', out=getout('type', 'volume', 'volsize',
                                         GiB + 1, 'zol:cinder_id', '-',
                                         'zol:managed', '-'))
        ref = {'source-name': 'legacy-disk'}
        self.assertEqual(2, self.drv.manage_existing_get_size(vol, ref))
        self.drv.manage_existing(vol, ref)
        self.assertEqual(
            ['zfs rename %s/legacy-disk %s/%s' % (P, P, vol.name),
             'zfs set volsize=%d zol:cinder_id=%s zol:managed=yes %s/%s'
             % (2 * GiB, vol.id, P, vol.name)], self.ex.calls[-2:],
            'the zvol grows to the whole GiB Cinder records')

    def test_manage_whole_gib_zvol_keeps_its_size(self):
        vol = self.volume()
        self.ex.on('zfs get', out=getout('type', 'volume', 'volsize',
                                         3 * GiB))
        self.drv.manage_existing(vol, {'source-name': 'disk'})
        self.assertNotIn('volsize', self.ex.calls[-1])

    def test_failed_lookup_is_not_an_error_in_the_log(self):
        log = self.useFixture(fixtures.FakeLogger(level=logging.ERROR))
        self.ex.on('zfs get', err=fakes.NOT_FOUND % 'x', exit_code=1)
        self.assertRaises(exception.ManageExistingInvalidReference,
                          self.drv.manage_existing_get_size, self.volume(),
                          {'source-name': 'nothing'})
        self.ex.on('zfs set', err=fakes.NOT_FOUND % 'x', exit_code=1)
        self.drv.unmanage(self.volume())
        self.assertEqual('', log.output)

    def test_deferred_destroy_snapshot_cannot_be_managed(self):
        vol = self.volume()
        snap = self.snapshot(vol)
        self.ex.on('zfs get', out=getout('type', 'snapshot', 'volsize', GiB,
                                         'defer_destroy', 'on'))
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                self.drv.manage_existing_snapshot, snap,
                                {'source-name': 'snapshot-old'})
        self.assertIn('deferred destroy', str(exc))
        self.assertEqual([], self.ex.commands('zfs rename'))

    def test_manage_full_name_and_bad_refs(self):
        vol = self.volume()
        self.ex.on('zfs get', out=getout('type', 'volume', 'volsize', GiB))
        self.assertEqual(1, self.drv.manage_existing_get_size(
            vol, {'source-name': P + '/disk'}))
        for ref in ({}, {'source-name': 'other/pool/disk'},
                    {'source-name': 'zol-deleted-x'},
                    {'source-name': 'a@b'}):
            self.assertRaises(exception.ManageExistingInvalidReference,
                              self.drv.manage_existing_get_size, vol, ref)

    def test_manage_missing_or_filesystem(self):
        vol = self.volume()
        self.ex.on('zfs get', err=fakes.NOT_FOUND % 'x', exit_code=1,
                   times=1)
        self.ex.on('zfs get', out='type\tfilesystem\tlocal\n')
        for _i in range(2):
            self.assertRaises(exception.ManageExistingInvalidReference,
                              self.drv.manage_existing_get_size, vol,
                              {'source-name': 'x'})

    def test_manage_owned_by_another(self):
        self.ex.on('zfs get', out=getout('type', 'volume', 'volsize', 1,
                                         'zol:cinder_id', 'other',
                                         'zol:managed', 'yes'))
        self.assertRaises(exception.ManageExistingAlreadyManaged,
                          self.drv.manage_existing, self.volume(),
                          {'source-name': 'x'})

    def test_unmanage(self):
        vol = self.volume()
        self.drv.unmanage(vol)
        self.assertEqual(['zfs set zol:managed=no %s/%s' % (P, vol.name)],
                         self.ex.calls)

    def test_unmanage_gone(self):
        self.ex.on('zfs set', err=fakes.NOT_FOUND % 'x', exit_code=1)
        self.ex.on('zfs list', err=fakes.NOT_FOUND % 'x', exit_code=1)
        self.drv.unmanage(self.volume())

    def test_manage_snapshot(self):
        vol = self.volume()
        snap = self.snapshot(vol)
        self.ex.on('zfs get', out=getout('type', 'snapshot', 'volsize', GiB))
        ref = {'source-name': 'daily'}
        self.assertEqual(1, self.drv.manage_existing_snapshot_get_size(
            snap, ref))
        self.drv.manage_existing_snapshot(snap, ref)
        self.assertEqual(
            ['zfs rename %s/%s@daily %s/%s@%s' % (P, vol.name, P, vol.name,
                                                  snap.name),
             'zfs set zol:cinder_id=%s zol:managed=yes %s/%s@%s'
             % (snap.id, P, vol.name, snap.name)], self.ex.calls[-2:])
        self.assertRaises(exception.ManageExistingInvalidReference,
                          self.drv.manage_existing_snapshot, snap,
                          {'source-name': 'other-vol@daily'})
        self.assertRaises(exception.ManageExistingInvalidReference,
                          self.drv.manage_existing_snapshot, snap,
                          {'source-name': 'zol-clone-x'})
        self.assertRaises(exception.ManageExistingInvalidReference,
                          self.drv.manage_existing_snapshot, snap,
                          {'source-name': 'zol-repl-3'})

    def test_unmanage_snapshot(self):
        vol = self.volume()
        snap = self.snapshot(vol)
        self.drv.unmanage_snapshot(snap)
        self.assertEqual(['zfs set zol:managed=no %s/%s@%s'
                          % (P, vol.name, snap.name)], self.ex.calls)

    def test_get_manageable_volumes(self):
        managed = self.volume()
        self.ex.on('zfs list', out=listing(
            space_row(P, 'filesystem'),
            space_row(P + '/' + managed.name, volsize=GiB),
            space_row(P + '/legacy', volsize=3 * GiB - 5),
            space_row(P + '/orphan', volsize=GiB, owner='gone-id',
                      managed='yes'),
            space_row(P + '/zol-deleted-x', volsize=GiB)))
        entries = self.drv.get_manageable_volumes(
            [{'id': managed.id}], None, 1000, 0, ['size'], ['desc'])
        self.assertEqual(1, len(self.ex.calls))
        by_name = {e['reference']['source-name']: e for e in entries}
        self.assertEqual({managed.name, 'legacy', 'orphan'}, set(by_name))
        self.assertEqual('legacy', entries[0]['reference']['source-name'])
        self.assertEqual(3, by_name['legacy']['size'])
        self.assertTrue(by_name['legacy']['safe_to_manage'])
        self.assertFalse(by_name[managed.name]['safe_to_manage'])
        self.assertEqual(managed.id, by_name[managed.name]['cinder_id'])
        self.assertFalse(by_name['orphan']['safe_to_manage'])
        self.assertIn('gone-id', by_name['orphan']['reason_not_safe'])

    def test_get_manageable_snapshots_skips_temporary_and_deferred(self):
        snap = 'snapshot'
        rows = [(P + '/v', 'volume', GiB, 0, '-', '-', 'vid', 'yes'),
                # inherits zol: properties from v: not owned by anyone
                (P + '/v@daily', snap, GiB, 0, 'off', '-', 'vid', 'yes'),
                (P + '/v@mine', snap, GiB, 0, 'off', '-', 'sid', 'yes'),
                (P + '/v@zol-clone-w', snap, GiB, 0, 'off', P + '/w', '-',
                 '-'),
                # an image copy's, left by a host that died during the copy
                (P + '/v@zol-extents-4242', snap, GiB, 0, 'off', '-', '-',
                 '-'),
                # replication's own (issue 20): kept, never Cinder's
                (P + '/v@zol-repl-7', snap, GiB, 0, 'off', '-', '-', '-'),
                (P + '/v@gone', snap, GiB, 0, 'on', P + '/x', '-', '-'),
                (P + '/zol-deleted-y@s', snap, GiB, 0, 'off', '-', '-', '-'),
                (P + '@parentsnap', snap, '-', 0, 'off', '-', '-', '-')]
        self.ex.on('zfs list', out=listing(*rows))
        entries = self.drv.get_manageable_snapshots([{'id': 'sid'}], None,
                                                    10, 0, ['size'], ['asc'])
        self.assertEqual(['zfs list -H -p -r -d 2 -t volume,snapshot -o '
                          + ','.join(zfs.SNAPSHOT_FIELDS) + ' ' + P],
                         self.ex.calls)
        by_name = {e['reference']['source-name']: e for e in entries}
        self.assertEqual({'daily', 'mine'}, set(by_name))
        self.assertTrue(by_name['daily']['safe_to_manage'])
        self.assertEqual({'source-name': 'v'},
                         by_name['daily']['source_reference'])
        self.assertFalse(by_name['mine']['safe_to_manage'])
        self.assertEqual('sid', by_name['mine']['cinder_id'])


class RetypeTestCase(DriverTestCase):

    def test_retype_in_place(self):
        vol = self.volume(specs={'zol:compression': 'lz4'})
        self.ex.on('zfs get -H -p -o property,value,source volblocksize',
                   out='volblocksize\t8192\tlocal\n')
        self.ex.on('zfs get -H -p -o property,value,source compression',
                   out='compression\toff\tlocal\n')
        new_type = {'id': 'new', 'extra_specs': {'zol:sync': 'always',
                                                 'zol:sparse': 'False'}}
        diff = {'extra_specs': {'zol:compression': ('lz4', None),
                                'zol:sync': (None, 'always')}}
        self.assertEqual((True, None), self.drv.retype(
            self.ctx, vol, new_type, diff, {'host': 'h'}))
        self.assertEqual('zfs get -H -p -o property,value,source compression '
                         + P, self.ex.calls[1])
        self.assertEqual('zfs set compression=off refreservation=auto '
                         'sync=always %s/%s' % (P, vol.name),
                         self.ex.calls[2])

    def test_retype_refuses_new_volblocksize(self):
        vol = self.volume()
        self.ex.on('zfs get', out='volblocksize\t8192\tlocal\n')
        new_type = {'id': 'new', 'extra_specs': {'zol:volblocksize': '64K'}}
        self.assertEqual((False, None), self.drv.retype(
            self.ctx, vol, new_type, {}, {'host': 'h'}))
        self.assertEqual(1, len(self.ex.calls))


class ImageCopyErrorsTestCase(DriverTestCase):
    """What breaks mid-copy reaches cinder-volume as a Cinder exception."""

    @mock.patch.object(driver.image_transfer.image_utils, 'fetch_to_raw')
    def test_transport_error_while_writing(self, fetch):
        fetch.side_effect = lambda ctx, svc, img, dest, bs, **kw: open(
            dest, 'wb').close()
        self.ex.stream_to = mock.Mock(side_effect=driver.errors.TransportError(
            'ZFS host 192.0.2.10', 'SSH session broke during "zvol-write"'))
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                self.drv.copy_image_to_volume, self.ctx,
                                self.volume(), mock.Mock(), 'image-1')
        self.assertIn('SSH session broke', str(exc))

    def test_wrapper_failure_while_reading(self):
        self.ex.stream_from = mock.Mock(
            side_effect=driver.processutils.ProcessExecutionError(
                stderr='zfswrapper: /dev/zvol/x is missing', exit_code=1,
                cmd='zvol-read tank/cinder/x'))
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                self.drv.copy_volume_to_image, self.ctx,
                                self.volume(), mock.Mock(), {'id': 'i'})
        self.assertIn('is missing', str(exc))
        self.assertIn('zvol-read', str(exc))


class GroupTestCase(DriverTestCase):
    """Consistent-snapshot groups; the others fall back to Cinder."""

    def setUp(self):
        super().setUp()
        self.cg = mock.patch.object(driver.volume_utils,
                                    'is_group_a_cg_snapshot_type',
                                    return_value=True)
        self.cg.start()
        self.addCleanup(self.cg.stop)
        self.group = mock.Mock(id='g1')

    def members(self, n=3):
        vols = [self.volume(id='00000000-0000-0000-0000-00000000000%d' % i)
                for i in range(n)]
        snaps = [self.snapshot(v, id='11111111-0000-0000-0000-00000000000%d'
                               % i) for i, v in enumerate(vols)]
        return vols, snaps

    def new(self, key, values):
        return [self.volume(id='22222222-0000-0000-0000-00000000000%d' % i,
                            **{key: value}) for i, value in enumerate(values)]

    def test_other_group_types_are_cinders(self):
        self.cg.stop()
        with mock.patch.object(driver.volume_utils,
                               'is_group_a_cg_snapshot_type',
                               return_value=False):
            for call in (lambda: self.drv.create_group(self.ctx, self.group),
                         lambda: self.drv.create_group_snapshot(
                             self.ctx, self.group, []),
                         lambda: self.drv.delete_group(self.ctx, self.group,
                                                       [])):
                self.assertRaises(NotImplementedError, call)
        self.cg.start()
        self.assertEqual([], self.ex.calls)

    def test_group_snapshot_is_one_command(self):
        vols, snaps = self.members()
        gs = mock.Mock(id='gs1')
        model, updates = self.drv.create_group_snapshot(self.ctx, gs, snaps)
        self.assertEqual(
            ['zfs snapshot -o zol:cinder_id=gs1 -o zol:managed=yes ' +
             ' '.join('%s/%s@%s' % (P, v.name, s.name)
                      for v, s in zip(vols, snaps))], self.ex.calls)
        self.assertEqual('available', model['status'])
        self.assertEqual([s.id for s in snaps], [u['id'] for u in updates])

    def test_group_snapshot_resumed_when_all_exist(self):
        _vols, snaps = self.members(2)
        self.ex.on('zfs snapshot', err="cannot create snapshots : dataset "
                   "already exists\n", exit_code=1)
        self.ex.on('zfs get', out=getout('zol:cinder_id', 'gs1'))
        self.drv.create_group_snapshot(self.ctx, mock.Mock(id='gs1'), snaps)
        self.ex.rules = []
        self.ex.on('zfs snapshot', err="cannot create snapshots : dataset "
                   "already exists\n", exit_code=1)
        self.ex.on('zfs get', out=getout('zol:cinder_id', 'other'))
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.create_group_snapshot, self.ctx,
                          mock.Mock(id='gs1'), snaps)

    def test_group_from_group_snapshot_is_clones(self):
        vols, snaps = self.members(2)
        new = self.new('snapshot_id', [s.id for s in snaps])
        model, updates = self.drv.create_group_from_src(
            self.ctx, self.group, new, group_snapshot=mock.Mock(),
            snapshots=snaps)
        self.assertEqual(['zfs clone'] * 2,
                         [' '.join(c.split()[:2]) for c in self.ex.calls])
        for call, v, s, n in zip(self.ex.calls, vols, snaps, new):
            self.assertTrue(call.endswith('%s/%s@%s %s/%s' % (
                P, v.name, s.name, P, n.name)), call)
        self.assertEqual(['available'] * 2, [u['status'] for u in updates])

    def test_group_from_group_snapshots_sources_at_one_instant(self):
        src, _snaps = self.members(2)
        new = self.new('source_volid', [v.id for v in src])
        self.drv.create_group_from_src(self.ctx, self.group, new,
                                       source_group=mock.Mock(),
                                       source_vols=src)
        temps = ['%s/%s@zol-clone-%s' % (P, v.name, n.name)
                 for v, n in zip(src, new)]
        self.assertEqual('zfs snapshot ' + ' '.join(temps),
                         self.ex.calls[0])
        self.assertEqual(['zfs destroy -d ' + t for t in temps],
                         self.ex.calls[-2:])

    def test_failed_clone_leaves_nothing_half_made(self):
        src, _snaps = self.members(3)
        new = self.new('source_volid', [v.id for v in src])
        self.ex.on('zfs clone .*%s$' % new[2].name, err='out of space',
                   exit_code=1)
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.drv.create_group_from_src, self.ctx,
                          self.group, new, source_group=mock.Mock(),
                          source_vols=src)
        destroyed = [c.split()[-1] for c in self.ex.commands('zfs destroy')]
        self.assertEqual(['%s/%s' % (P, n.name) for n in new[:2]] +
                         ['%s/%s@zol-clone-%s' % (P, v.name, n.name)
                          for v, n in zip(src, new)], destroyed)

    def test_delete_group_reports_each_member(self):
        vols, _snaps = self.members(2)
        self.ex.on('destroy -r %s/%s' % (P, vols[1].name),
                   err='pool I/O error', exit_code=1)
        model, updates = self.drv.delete_group(self.ctx, self.group, vols)
        self.assertEqual('error_deleting', model['status'])
        self.assertEqual(['deleted', 'error_deleting'],
                         [u['status'] for u in updates])

    def test_stats_offer_consistent_group_snapshots(self):
        self.ex.on('zfs list', out=listing(space_row(P, 'filesystem')))
        pool = self.drv.get_volume_stats(refresh=True)['pools'][0]
        self.assertTrue(pool['consistent_group_snapshot_enabled'])
