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

"""zol_driver.zfs against a recording executor with canned ZFS output."""

import testtools

from tests.unit.fakes import BUSY
from tests.unit.fakes import CLONES
from tests.unit.fakes import EXISTS
from tests.unit.fakes import FakeExecutor
from tests.unit.fakes import getout
from tests.unit.fakes import listing
from tests.unit.fakes import NEWER
from tests.unit.fakes import NOT_FOUND
from tests.unit.fakes import space_dict
from tests.unit.fakes import space_row
from zol_driver import errors
from zol_driver import zfs

P = 'tank/cinder'


class NamesTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.host = zfs.ZFSHost(FakeExecutor(), P)

    def test_full_and_relative(self):
        self.assertEqual(P + '/volume-1', self.host.full('volume-1'))
        self.assertEqual(P + '/volume-1@snap-1',
                         self.host.full('volume-1@snap-1'))
        self.assertEqual('volume-1', self.host.relative(P + '/volume-1'))
        self.assertIsNone(self.host.relative('other/volume-1'))

    def test_bad_names_refused_before_sending(self):
        for bad in ('', 'a/b', '../x', '-r', '.hidden', 'a b', 'a@b@c',
                    'x;rm', 'a' * 200):
            self.assertRaises(errors.ZolError, self.host.full, bad)
        self.assertEqual([], self.host.executor.calls)

    def test_parent_validation(self):
        self.assertTrue(zfs.valid_parent('tank/cinder'))
        self.assertTrue(zfs.valid_parent('tank'))
        for bad in ('/tank', 'tank/', 'tank//c', 'tank/c d', '', 'a;b'):
            self.assertFalse(zfs.valid_parent(bad), bad)
            self.assertRaises(errors.ZolError, zfs.ZFSHost, None, bad)

    def test_sizes(self):
        self.assertEqual(16384, zfs.parse_size('16K'))
        self.assertEqual(16384, zfs.parse_size('16k'))
        self.assertEqual(8192, zfs.parse_size('8192'))
        self.assertEqual(zfs.GiB, zfs.parse_size('1G'))
        self.assertRaises(ValueError, zfs.parse_size, 'lots')
        self.assertEqual(16384, zfs.align_up(1, 16384))
        self.assertEqual(16384, zfs.align_up(16384, 16384))
        self.assertEqual(100, zfs.align_up(100, None))
        self.assertEqual(2, zfs.gib_ceil(zfs.GiB + 1))
        self.assertEqual(0, zfs.gib_ceil(0))


class CommandsTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.ex = FakeExecutor()
        self.host = zfs.ZFSHost(self.ex, P, busy_retries=3, busy_interval=0)

    def test_create_thin_one_command_with_all_properties(self):
        self.host.create_volume('volume-1', zfs.GiB, sparse=True,
                                blocksize=16384,
                                props={'compression': 'lz4',
                                       zfs.PROP_OWNER: 'id-1'})
        self.assertEqual(
            ['zfs create -s -V 1073741824 -b 16384 -o compression=lz4 '
             '-o zol:cinder_id=id-1 tank/cinder/volume-1'], self.ex.calls)

    def test_create_thick_aligns_size(self):
        self.host.create_volume('volume-1', 1000, sparse=False,
                                blocksize=4096)
        self.assertEqual(['zfs create -V 4096 -b 4096 tank/cinder/volume-1'],
                         self.ex.calls)

    def test_property_not_allowed(self):
        self.assertRaises(errors.ZolError, self.host.create_volume, 'v',
                          1, props={'mountpoint': '/x'})
        self.assertRaises(errors.ZolError, self.host.set, 'v',
                          {'compression': 'lz4 gzip'})
        self.assertEqual([], self.ex.calls)

    def test_error_mapping(self):
        cases = [
            (NOT_FOUND % 'x', 1, errors.DatasetNotFound),
            (EXISTS % 'x', 1, errors.DatasetExists),
            (BUSY % 'x', 1, errors.DatasetBusy),
            (CLONES % ('x', 'y'), 1, errors.DatasetHasDependents),
            (NEWER % ('x@a', 'x@b'), 1, errors.RollbackBlocked),
            ('zfswrapper: refused: bad word\n', 126, errors.WrapperRefused),
            ('something odd\n', 1, errors.ZolError),
        ]
        for err, code, cls in cases:
            ex = FakeExecutor().on('', err=err, exit_code=code)
            host = zfs.ZFSHost(ex, P)
            exc = self.assertRaises(cls, host.promote, 'v')
            self.assertEqual('v', exc.what)
            self.assertIn(err.strip().splitlines()[0], str(exc))

    def test_transport_errors_pass_through(self):
        def broken(*argv, **kw):
            raise errors.TransportError('host', 'connection refused')
        host = zfs.ZFSHost(broken, P)
        self.assertRaises(errors.TransportError, host.promote, 'v')

    def test_destroy_busy_is_retried_then_fails_clearly(self):
        self.ex.on('destroy', err=BUSY % 'v', exit_code=1)
        exc = self.assertRaises(errors.DatasetBusy, self.host.destroy, 'v')
        self.assertEqual(3, len(self.ex.calls))
        self.assertIn('still busy after 3 attempts', str(exc))

    def test_destroy_busy_then_free(self):
        self.ex.on('destroy', err=BUSY % 'v', exit_code=1, times=2)
        self.host.destroy('v', recursive=True)
        self.assertEqual(['zfs destroy -r tank/cinder/v'] * 3, self.ex.calls)

    def test_list_parses_numbers_and_dashes(self):
        self.ex.on('zfs list', out=listing(space_row(P, 'filesystem', 10,
                                                     90),
                                           space_row(P + '/v', volsize=5,
                                                     owner='id')))
        rows = self.host.space_listing()
        self.assertEqual(
            ['zfs list -H -p -r -d 1 -t filesystem,volume -o '
             + ','.join(zfs.SPACE_FIELDS) + ' tank/cinder'], self.ex.calls)
        self.assertEqual(90, rows[0]['avail'])
        self.assertIsNone(rows[0]['volsize'])
        self.assertEqual(5, rows[1]['volsize'])
        self.assertEqual('id', rows[1][zfs.PROP_OWNER])
        self.assertIsNone(rows[1]['origin'])

    def test_get(self):
        self.ex.on('zfs get', out=getout('volsize', 1024) +
                   getout(zfs.PROP_OWNER, 'vol-owner', source='inherited'))
        self.assertEqual({'volsize': 1024, zfs.PROP_OWNER: None},
                         self.host.get('v', ('volsize', zfs.PROP_OWNER)))
        self.assertEqual(['zfs get -H -p -o property,value,source '
                          'volsize,zol:cinder_id tank/cinder/v'],
                         self.ex.calls)

    def test_get_parent(self):
        self.ex.on('zfs get', out='compression\tlz4\tlocal\n')
        self.assertEqual({'compression': 'lz4'},
                         self.host.get(None, ('compression',)))
        self.assertTrue(self.ex.calls[0].endswith(' tank/cinder'))

    def test_set_one_command(self):
        self.host.set('v', {'volsize': 2048, 'zol:managed': 'no'})
        self.assertEqual(['zfs set volsize=2048 zol:managed=no '
                          'tank/cinder/v'], self.ex.calls)

    def test_extend_aligns(self):
        self.ex.on('zfs get', out=getout('volsize', 8192))
        self.host.extend('v', 10000, blocksize=8192)
        self.assertEqual(['zfs get -H -p -o property,value,source volsize '
                          'tank/cinder/v',
                          'zfs set volsize=16384 tank/cinder/v'],
                         self.ex.calls)

    def test_extend_to_the_size_it_has_sets_nothing(self):
        # an extend cut after ZFS grew the zvol, asked again: done
        self.ex.on('zfs get', out=getout('volsize', 2048))
        self.host.extend('v', 2048)
        self.assertEqual(['zfs get -H -p -o property,value,source volsize '
                          'tank/cinder/v'], self.ex.calls)

    def test_extend_never_shrinks(self):
        # zfs set volsize accepts a smaller size and cuts the data off
        self.ex.on('zfs get', out=getout('volsize', 3 * 1024 ** 3))
        exc = self.assertRaises(errors.WouldShrink, self.host.extend, 'v',
                                2 * 1024 ** 3)
        self.assertEqual(3 * 1024 ** 3, exc.have)
        self.assertIn('3221225472', str(exc))
        self.assertEqual(1, len(self.ex.calls))

    def test_rollback_blocked_names_snapshots(self):
        self.ex.on('rollback', err=NEWER % (P + '/v@a', P + '/v@b\n'
                                            + P + '/v@zol-clone-c'),
                   exit_code=1)
        exc = self.assertRaises(errors.RollbackBlocked, self.host.rollback,
                                'v@a')
        self.assertEqual([P + '/v@b', P + '/v@zol-clone-c'],
                         zfs.blocking_snapshots(exc.detail))

    def test_snapshot_and_clone_with_props(self):
        self.host.snapshot('v@s', {zfs.PROP_OWNER: 's1'})
        self.host.clone('v@s', 'w', {'volsize': 2 * zfs.GiB})
        self.assertEqual(
            ['zfs snapshot -o zol:cinder_id=s1 tank/cinder/v@s',
             'zfs clone -o volsize=2147483648 tank/cinder/v@s '
             'tank/cinder/w'], self.ex.calls)


class DeleteTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.ex = FakeExecutor()
        self.host = zfs.ZFSHost(self.ex, P, busy_interval=0)
        self.host.garbage_suspected = False

    def test_delete_volume_is_one_command(self):
        self.assertEqual('destroyed', self.host.delete_volume('v'))
        self.assertEqual(['zfs destroy -r tank/cinder/v'], self.ex.calls)

    def test_delete_missing_volume_succeeds(self):
        self.ex.on('destroy', err=NOT_FOUND % (P + '/v'), exit_code=1)
        self.assertEqual('absent', self.host.delete_volume('v'))

    def test_delete_volume_with_clones_hides_it(self):
        self.ex.on('destroy', err=CLONES % (P + '/v', P + '/w'), exit_code=1)
        self.ex.on('zfs list', out=listing(
            space_row(P, 'filesystem'),
            space_row(P + '/zol-deleted-v', volsize=1),
            space_row(P + '/w', volsize=1, origin=P + '/zol-deleted-v@s')))
        self.assertEqual('hidden', self.host.delete_volume('v'))
        self.assertEqual(['zfs destroy -r tank/cinder/v',
                          'zfs rename tank/cinder/v '
                          'tank/cinder/zol-deleted-v',
                          'zfs list -H -p -r -d 1 -t filesystem,volume -o '
                          + ','.join(zfs.SPACE_FIELDS) + ' tank/cinder'],
                         self.ex.calls)
        self.assertTrue(self.host.garbage_suspected)

    def test_hidden_volume_collected_at_once_if_clones_went_meanwhile(self):
        # Its clones were deleted in parallel between destroy and rename.
        self.ex.on('destroy -r tank/cinder/v', err=CLONES % (P + '/v',
                                                             P + '/w'),
                   exit_code=1)
        self.ex.on('zfs list', out=listing(
            space_row(P, 'filesystem'),
            space_row(P + '/zol-deleted-v', volsize=1)))
        self.assertEqual('hidden', self.host.delete_volume('v'))
        self.assertEqual('zfs destroy -r tank/cinder/zol-deleted-v',
                         self.ex.calls[-1])
        self.assertFalse(self.host.garbage_suspected)

    def test_delete_collects_when_garbage_suspected(self):
        self.host.garbage_suspected = True
        self.ex.on('zfs list', out=listing(
            space_row(P, 'filesystem'),
            space_row(P + '/zol-deleted-v', volsize=1)))
        self.assertEqual('destroyed', self.host.delete_volume('w'))
        self.assertEqual(['zfs destroy -r tank/cinder/w',
                          'zfs list -H -p -r -d 1 -t filesystem,volume -o '
                          + ','.join(zfs.SPACE_FIELDS) + ' tank/cinder',
                          'zfs destroy -r tank/cinder/zol-deleted-v'],
                         self.ex.calls)
        self.assertFalse(self.host.garbage_suspected)

    def test_delete_snapshot_is_deferred_destroy(self):
        self.assertEqual('destroyed', self.host.delete_snapshot('v@s'))
        self.ex.on('destroy', err='could not find any snapshots to destroy;'
                   ' check snapshot names.\n', exit_code=1)
        self.assertEqual('absent', self.host.delete_snapshot('v@s'))
        self.assertEqual(['zfs destroy -d tank/cinder/v@s'] * 2,
                         self.ex.calls)

    def test_gc_keeps_hidden_with_dependents_and_goes_leaf_first(self):
        # a <- b (hidden, clone of a) <- c (hidden, clone of b) ; d live
        # clone of e (hidden) keeps e.
        rows = [space_dict(P, 'filesystem'),
                space_dict(P + '/zol-deleted-a', volsize=1),
                space_dict(P + '/zol-deleted-b', volsize=1,
                           origin=P + '/zol-deleted-a@s'),
                space_dict(P + '/zol-deleted-c', volsize=1,
                           origin=P + '/zol-deleted-b@zol-clone-c'),
                space_dict(P + '/zol-deleted-e', volsize=1),
                space_dict(P + '/d', volsize=1,
                           origin=P + '/zol-deleted-e@s')]
        done = self.host.collect_garbage(rows)
        self.assertEqual(['zol-deleted-c', 'zol-deleted-b', 'zol-deleted-a'],
                         done)
        self.assertEqual(['zfs destroy -r tank/cinder/zol-deleted-c',
                          'zfs destroy -r tank/cinder/zol-deleted-b',
                          'zfs destroy -r tank/cinder/zol-deleted-a'],
                         self.ex.calls)
        self.assertTrue(self.host.garbage_suspected)

    def test_gc_failure_is_logged_not_raised(self):
        self.ex.on('destroy', err=CLONES % ('x', 'elsewhere/y'),
                   exit_code=1)
        rows = [space_dict(P + '/zol-deleted-a', volsize=1)]
        self.assertEqual([], self.host.collect_garbage(rows))
        self.assertTrue(self.host.garbage_suspected)


class CloneTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.ex = FakeExecutor()
        self.host = zfs.ZFSHost(self.ex, P, busy_interval=0)

    def test_clone_volume_temp_snapshot_deferred(self):
        self.host.clone_volume('v', 'w', {zfs.PROP_OWNER: 'id-w'})
        self.assertEqual(
            ['zfs snapshot tank/cinder/v@zol-clone-w',
             'zfs clone -o zol:cinder_id=id-w tank/cinder/v@zol-clone-w '
             'tank/cinder/w',
             'zfs destroy -d tank/cinder/v@zol-clone-w'], self.ex.calls)

    def test_clone_volume_resumes(self):
        self.ex.on('zfs snapshot', err=EXISTS % 'x', exit_code=1)
        self.ex.on('zfs clone', err=EXISTS % 'x', exit_code=1)
        self.ex.on('zfs get', out='zol:cinder_id\tid-w\tlocal\n')
        self.host.clone_volume('v', 'w', {zfs.PROP_OWNER: 'id-w'})
        self.assertEqual(4, len(self.ex.calls))
        self.assertTrue(self.ex.calls[-1].startswith('zfs destroy -d'))

    def test_create_over_someone_elses_dataset_fails(self):
        self.ex.on('zfs create', err=EXISTS % 'x', exit_code=1)
        self.ex.on('zfs get', out='zol:cinder_id\tother\tlocal\n')
        exc = self.assertRaises(errors.DatasetExists,
                                self.host.create_or_resume, 'w', zfs.GiB,
                                props={zfs.PROP_OWNER: 'mine'})
        self.assertIn('belongs to other', str(exc))

    def test_create_resumes_own(self):
        self.ex.on('zfs create', err=EXISTS % 'x', exit_code=1)
        self.ex.on('zfs get', out='zol:cinder_id\tmine\tlocal\n')
        self.host.create_or_resume('w', zfs.GiB,
                                   props={zfs.PROP_OWNER: 'mine'})
        self.assertEqual(2, len(self.ex.calls))

    def test_snapshot_resume(self):
        self.ex.on('zfs snapshot', err=EXISTS % 'x', exit_code=1)
        self.ex.on('zfs get', out='zol:cinder_id\ts\tlocal\n')
        self.host.snapshot_or_resume('v@s', {zfs.PROP_OWNER: 's'})
        self.assertEqual(2, len(self.ex.calls))
