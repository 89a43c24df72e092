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

"""zol_driver/replication.py on two simulated ZFS hosts.

The fake hosts keep state (zvols, snapshots with guids, readonly, resume
tokens) and apply streams the way zfs receive does without -F: a full
stream never lands on an existing zvol, an incremental one only on a zvol
whose newest snapshot is its base and that was not changed since. The
real proof is tests/functional/test_replication.py.
"""

import itertools
import json

from oslo_concurrency import processutils
import testtools

from zol_driver import errors
from zol_driver import replication
from zol_driver import transfer
from zol_driver import zfs

PA = 'tank/a'
PB = 'tank/b'
VOL = 'volume-1'
_guid = itertools.count(1000)
_clock = itertools.count(1700000000, 60)


class Vol(object):

    def __init__(self, data=b''):
        self.data = data
        self.snaps = []             # [(name, guid, creation, data)]
        self.readonly = 'off'
        self.props = {}             # local: {prop: value}
        self.token = None
        self.partial = None         # bytes received of a cut stream
        self.new_partial = False    # a cut receive into a NEW zvol


class World(object):
    """Tokens (cut streams) are shared between the two hosts."""

    def __init__(self):
        self.tokens = {}
        self.cuts = []              # per stream_to: cut after N bytes


class FakeHost(object):
    """An executor of one ZFS host behind the wrapper."""

    def __init__(self, world, name):
        self.world = world
        self.name = name
        self.vols = {}
        self.calls = []
        self.down = False

    # ---- plain commands
    def fail(self, argv, stderr, code=1):
        raise processutils.ProcessExecutionError(
            exit_code=code, stderr=stderr, cmd=' '.join(argv))

    def __call__(self, *argv, **kwargs):
        argv = list(argv)
        self.calls.append(' '.join(argv))
        if self.down:
            raise errors.TransportError(self.name, 'no route to host')
        if argv == ['version']:
            return 'zfswrapper 1.6.0\nzfs-2.1.11\n', ''
        if argv[0] == 'zvol-recv-abort':
            vol = self.vols.get(argv[1])
            if vol is None or vol.token is None:
                self.fail(argv, "cannot resume send: '%s' does not have "
                          "any resumable receive state" % argv[1])
            if vol.new_partial:
                del self.vols[argv[1]]
            else:
                vol.token = vol.partial = None
            return '', ''
        verb = argv[1]
        target = argv[-1]
        vol_name, _at, snap = target.partition('@')
        vol = self.vols.get(vol_name)
        if vol is None or (snap and verb != 'snapshot' and
                           snap not in [s[0] for s in vol.snaps]):
            self.fail(argv, zfs_not_found(target))
        if verb == 'list':
            fields = argv[argv.index('-o') + 1].split(',')
            rows = [self.row(fields, vol_name, 'volume', vol)]
            for s in vol.snaps:
                rows.append(self.row(fields, vol_name + '@' + s[0],
                                     'snapshot', vol, s))
            return ''.join(r + '\n' for r in rows), ''
        if verb == 'snapshot':
            vol.snaps.append((snap, str(next(_guid)), next(_clock),
                              vol.data))
            return '', ''
        if verb == 'destroy':
            if snap:
                vol.snaps = [s for s in vol.snaps if s[0] != snap]
            else:
                del self.vols[vol_name]
            return '', ''
        if verb == 'rollback':
            names = [s[0] for s in vol.snaps]
            if names[-1] != snap:
                self.fail(argv, "cannot rollback to '%s': more recent "
                          "snapshots or bookmarks exist\nuse '-r' to "
                          "force deletion of the following snapshots and "
                          "bookmarks:\n%s" % (target, '\n'.join(
                              vol_name + '@' + n
                              for n in names[names.index(snap) + 1:])))
            vol.data = vol.snaps[-1][3]
            return '', ''
        if verb == 'set':
            for pv in argv[2:-1]:
                prop, value = pv.split('=', 1)
                if prop == 'readonly':
                    vol.readonly = value
                else:
                    vol.props[prop] = value
            return '', ''
        if verb == 'get' and argv[-2] == 'receive_resume_token':
            return 'receive_resume_token\t%s\t-\n' % (vol.token or '-'), ''
        if verb == 'get':
            assert argv[-2] == 'all', argv
            rows = ['%s\t%s\tlocal' % kv for kv in sorted(vol.props.items())]
            rows.append('readonly\t%s\t%s' % (
                vol.readonly, 'local' if vol.readonly == 'on' else
                'default'))
            rows.append('volsize\t%d\tlocal' % len(vol.data))
            rows.append('zol:inherited\tx\tinherited from tank')
            return '\n'.join(rows) + '\n', ''
        raise AssertionError('unexpected command %r' % argv)

    @staticmethod
    def row(fields, name, kind, vol, snap=None):
        values = {'name': name, 'type': kind, 'readonly': vol.readonly,
                  'receive_resume_token': vol.token or '-',
                  'guid': snap[1] if snap else '77',
                  'creation': str(snap[2]) if snap else '1600000000'}
        if snap:
            values['receive_resume_token'] = '-'
            values['readonly'] = '-'
        return '\t'.join(values[f] for f in fields)

    # ---- streams
    def make_stream(self, argv):
        if argv[1] == '-i':
            base, full = argv[2], argv[3]
        else:
            base, full = None, argv[1]
        vol_name, _at, snap = full.partition('@')
        vol = self.vols[vol_name]
        entry = [s for s in vol.snaps if s[0] == snap][0]
        header = {'snap': snap, 'guid': entry[1], 'data': entry[3].hex()}
        if base:
            b = base.partition('@')[2]
            header['from'] = [s for s in vol.snaps if s[0] == b][0][1]
        body = json.dumps(header).encode() + b'\n'
        return body + b'.' * (300000 - len(body) % 300000)

    def stream_from(self, argv, fileobj, check_exit_code=True,
                    process_input=None):
        argv = list(argv)
        self.calls.append(' '.join(argv))
        if self.down:
            raise errors.TransportError(self.name, 'no route to host')
        if argv == ['zvol-send-resume']:
            send, offset = self.world.tokens[process_input.strip()]
            data = self.make_stream(send)[offset:]
        else:
            data = self.make_stream(argv)
        for i in range(0, len(data), 65536):
            fileobj.write(data[i:i + 65536])
        return '', ''

    def stream_to(self, argv, fileobj, check_exit_code=True,
                  block_size=1048576):
        argv = list(argv)
        self.calls.append(' '.join(argv))
        verb, target = argv
        vol = self.vols.get(target)
        if verb == 'zvol-recv-incr' and vol is None:
            self.fail(argv, 'zfswrapper: %s does not exist' % target)
        if verb == 'zvol-recv' and vol is not None and vol.token is None:
            self.fail(argv, 'zfswrapper: %s exists' % target)
        cut = self.world.cuts.pop(0) if self.world.cuts else None
        got = vol.partial if vol is not None and vol.partial else b''
        start = len(got)
        while True:
            block = fileobj.read(block_size)
            if not block:
                break
            got += block
            if cut is not None and len(got) - start >= cut:
                self.cut_off(target, vol, got[:start + cut])
                raise errors.TransportError(self.name, 'SSH session broke')
        header = json.loads(got.split(b'\n', 1)[0])
        if vol is None or vol.new_partial:
            if 'from' in header:
                self.fail(argv, 'cannot receive incremental stream: '
                          'destination %s does not exist' % target)
            vol = self.vols[target] = Vol()
        elif vol.partial is None:
            if 'from' not in header:
                self.fail(argv, "cannot receive new filesystem stream: "
                          "destination '%s' exists\nmust specify -F to "
                          "overwrite it" % target)
            if vol.snaps[-1][1] != header['from']:
                self.fail(argv, 'cannot receive incremental stream: most '
                          'recent snapshot of %s does not match '
                          'incremental source' % target)
            if vol.data != vol.snaps[-1][3]:
                self.fail(argv, 'cannot receive incremental stream: '
                          'destination %s has been modified since most '
                          'recent snapshot' % target)
        data = bytes.fromhex(header['data'])
        vol.snaps.append((header['snap'], header['guid'], next(_clock),
                          data))
        vol.data = data
        vol.token = vol.partial = None
        vol.new_partial = False
        return '', ''

    def cut_off(self, target, vol, got):
        if vol is None:
            vol = self.vols[target] = Vol()
            vol.new_partial = True
        token = '1-%x-cut' % len(self.world.tokens)
        # the token names the stream it resumes: the sender's argv
        send = self.world.last_send
        self.world.tokens[token] = (send, len(got))
        vol.token = token
        vol.partial = got


def zfs_not_found(name):
    return "cannot open '%s': dataset does not exist" % name


class Executor(FakeHost):
    """Remembers the last send argv in the world (for the tokens)."""

    def stream_from(self, argv, fileobj, check_exit_code=True,
                    process_input=None):
        if list(argv) != ['zvol-send-resume']:
            self.world.last_send = list(argv)
        return super().stream_from(argv, fileobj, check_exit_code,
                                   process_input)


class ReplicationTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.world = World()
        self.a_ex = Executor(self.world, 'a')
        self.b_ex = Executor(self.world, 'b')
        self.a = zfs.ZFSHost(self.a_ex, PA, busy_retries=1)
        self.b = zfs.ZFSHost(self.b_ex, PB, busy_retries=1)
        vol = self.a_ex.vols[PA + '/' + VOL] = Vol(b'first data')
        vol.props = {'zol:cinder_id': 'c1d', 'zol:managed': 'yes',
                     'compression': 'lz4', 'refreservation': '1074790400'}
        self.rep = replication.Replicator(self.a, self.b)

    def src(self):
        return self.a_ex.vols[PA + '/' + VOL]

    def replica(self):
        return self.b_ex.vols[PB + '/' + VOL]

    @staticmethod
    def names(vol):
        return [s[0] for s in vol.snaps]

    def seeded(self):
        self.rep.seed(VOL)
        self.src().data = b'second data'
        self.a_ex.calls[:] = []
        self.b_ex.calls[:] = []

    def test_seed(self):
        stats = self.rep.seed(VOL)
        self.assertIsInstance(stats, transfer.Stats)
        self.assertGreater(stats.bytes, 0)
        self.assertGreater(stats.seconds, 0)
        replica = self.replica()
        self.assertEqual(b'first data', replica.data)
        self.assertEqual(['zol-repl-1'], self.names(replica))
        self.assertEqual(self.src().snaps[0][1], replica.snaps[0][1])
        self.assertEqual('on', replica.readonly)
        # zol: user properties and local native ones; thick stays thick;
        # nothing inherited, never volsize
        self.assertEqual({'zol:cinder_id': 'c1d', 'zol:managed': 'yes',
                          'compression': 'lz4', 'refreservation': 'auto'},
                         replica.props)
        self.assertIn('zvol-send %s/%s@zol-repl-1' % (PA, VOL),
                      self.a_ex.calls)
        self.assertIn('zvol-recv %s/%s' % (PB, VOL), self.b_ex.calls)

    def test_seed_of_a_missing_zvol(self):
        del self.a_ex.vols[PA + '/' + VOL]
        exc = self.assertRaises(replication.ReplicationError,
                                self.rep.seed, VOL)
        self.assertIn('does not exist', str(exc))
        self.assertEqual({}, self.b_ex.vols)

    def test_seed_again_is_a_sync(self):
        self.seeded()
        self.rep.seed(VOL)
        self.assertEqual(['zol-repl-2'], self.names(self.replica()))
        self.assertEqual(b'second data', self.replica().data)

    def test_seed_cut_twice_leaves_nothing(self):
        self.world.cuts = [100000, 100000]
        exc = self.assertRaises(replication.ReplicationError,
                                self.rep.seed, VOL)
        self.assertIn('seed failed', str(exc))
        self.assertEqual({}, self.b_ex.vols, 'no partial replica')
        self.assertEqual([], self.names(self.src()), 'snapshot dropped')
        self.assertIn('zvol-recv-abort %s/%s' % (PB, VOL), self.b_ex.calls)

    def test_seed_after_an_interrupted_seed_starts_again(self):
        self.world.cuts = [100000, 100000]
        self.assertRaises(replication.ReplicationError, self.rep.seed, VOL)
        # a partial receive that nobody aborted (the process died)
        self.b_ex.vols[PB + '/' + VOL] = part = Vol()
        part.new_partial, part.token, part.partial = True, '1-x', b'x'
        self.rep.seed(VOL)
        self.assertEqual(b'first data', self.replica().data)

    def test_seed_over_a_foreign_replica(self):
        self.b_ex.vols[PB + '/' + VOL] = Vol(b'other')
        self.assertRaises(replication.NoCommonSnapshot, self.rep.seed, VOL)
        self.assertEqual(b'other', self.replica().data)
        self.assertEqual([], self.names(self.src()))

    def test_sync_and_prune(self):
        self.seeded()
        stats = self.rep.sync(VOL)
        self.assertEqual(0, stats.resumed)
        self.assertEqual(b'second data', self.replica().data)
        self.assertEqual(['zol-repl-2'], self.names(self.replica()))
        self.assertEqual(['zol-repl-2'], self.names(self.src()))
        self.assertIn('zvol-send -i %s/%s@zol-repl-1 %s/%s@zol-repl-2'
                      % (PA, VOL, PA, VOL), self.a_ex.calls)
        self.assertIn('zvol-recv-incr %s/%s' % (PB, VOL), self.b_ex.calls)
        self.assertEqual(self.src().snaps[0][1], self.replica().snaps[0][1])
        self.src().data = b'third'
        self.rep.sync(VOL)
        self.assertEqual(['zol-repl-3'], self.names(self.replica()))
        self.assertEqual(['zol-repl-3'], self.names(self.src()))
        self.assertEqual(b'third', self.replica().data)

    def test_sync_keeps_cinder_snapshots_of_the_source(self):
        self.seeded()
        self.src().snaps.insert(0, ('snapshot-1', '5', 1, b'old'))
        self.rep.sync(VOL)
        self.assertEqual(['snapshot-1', 'zol-repl-2'],
                         self.names(self.src()))

    def test_cut_incremental_is_resumed(self):
        self.seeded()
        self.world.cuts = [100000]
        stats = self.rep.sync(VOL)
        self.assertEqual(1, stats.resumed)
        self.assertIn('zvol-send-resume', self.a_ex.calls)
        self.assertEqual(b'second data', self.replica().data)
        self.assertEqual(['zol-repl-2'], self.names(self.replica()))
        self.assertIsNone(self.replica().token)
        self.assertNotIn('zvol-recv-abort %s/%s' % (PB, VOL),
                         self.b_ex.calls)

    def test_cut_twice_stays_at_the_old_common_snapshot(self):
        self.seeded()
        self.world.cuts = [100000, 50000]
        exc = self.assertRaises(replication.ReplicationError,
                                self.rep.sync, VOL)
        self.assertIn('the replica stays at zol-repl-1', str(exc))
        replica = self.replica()
        self.assertEqual(b'first data', replica.data)
        self.assertEqual(['zol-repl-1'], self.names(replica))
        self.assertIsNone(replica.token, 'nothing partial left')
        self.assertIsNone(replica.partial)
        self.assertIn('zvol-recv-abort %s/%s' % (PB, VOL), self.b_ex.calls)
        self.assertNotIn('zfs destroy -r %s/%s' % (PB, VOL), self.b_ex.calls)
        self.assertEqual(['zol-repl-1'], self.names(self.src()))
        # and the next sync goes on from there
        # (zol-repl-2 is gone from both sides: the name comes back, with
        # another guid)
        self.rep.sync(VOL)
        self.assertEqual(['zol-repl-2'], self.names(self.replica()))
        self.assertEqual(self.src().snaps[0][1], self.replica().snaps[0][1])
        self.assertEqual(b'second data', self.replica().data)

    def test_sync_discards_a_receive_left_by_a_dead_process(self):
        self.seeded()
        self.replica().token = '1-left'
        self.replica().partial = b'junk'
        self.rep.sync(VOL)
        self.assertIn('zvol-recv-abort %s/%s' % (PB, VOL), self.b_ex.calls)
        self.assertEqual(b'second data', self.replica().data)

    def test_no_common_snapshot(self):
        exc = self.assertRaises(replication.NoCommonSnapshot,
                                self.rep.sync, VOL)
        self.assertIn('no replica', str(exc))
        self.seeded()
        # same name, other data: not common
        self.replica().snaps[0] = ('zol-repl-1', '1', 1, b'x')
        self.assertRaises(replication.NoCommonSnapshot, self.rep.sync, VOL)
        self.assertEqual(['zol-repl-1'], self.names(self.src()),
                         'no snapshot made')
        self.assertEqual({'common': None, 'created': None},
                         self.rep.status(VOL))

    def test_sequence_numbers_never_reuse_a_name(self):
        self.seeded()
        # a replica snapshot the source never had (left by a reverse
        # direction): in the way, and counted
        self.replica().snaps.append(('zol-repl-7', '9', 2, b'first data'))
        self.rep.sync(VOL)
        self.assertEqual(['zol-repl-8'], self.names(self.replica()))
        self.assertEqual(['zol-repl-8'], self.names(self.src()))

    def test_sync_refuses_a_live_replica(self):
        self.seeded()
        self.replica().readonly = 'off'
        exc = self.assertRaises(replication.ReplicationError,
                                self.rep.sync, VOL)
        self.assertIn('demote', str(exc))
        self.assertEqual(['zol-repl-1'], self.names(self.src()))

    def test_zfs_refusal_is_clear_and_changes_nothing(self):
        self.seeded()
        self.replica().data = b'changed on the replica'
        exc = self.assertRaises(replication.ReplicationError,
                                self.rep.sync, VOL)
        self.assertIn('modified since most recent snapshot', str(exc))
        self.assertEqual(b'changed on the replica', self.replica().data)
        self.assertEqual(['zol-repl-1'], self.names(self.replica()))
        self.assertEqual(['zol-repl-1'], self.names(self.src()))

    def test_status(self):
        self.seeded()
        created = self.src().snaps[0][2]
        self.assertEqual({'common': 'zol-repl-1', 'created': created},
                         self.rep.status(VOL))

    def test_remove(self):
        self.seeded()
        self.rep.remove(VOL)
        self.assertNotIn(PB + '/' + VOL, self.b_ex.vols)
        self.rep.remove(VOL)        # absent: fine
        self.assertEqual(['zol-repl-1'], self.names(self.src()))

    def test_promote_while_the_primary_is_unreachable(self):
        self.seeded()
        self.rep.sync(VOL)
        self.src().data = b'lost'
        self.world.cuts = [100000, 100000]
        self.assertRaises(replication.ReplicationError, self.rep.sync, VOL)
        # a partial receive left behind, and the primary is gone
        self.replica().token, self.replica().partial = '1-p', b'part'
        self.a_ex.down = True
        self.a_ex.calls[:] = []
        self.assertEqual('zol-repl-2', self.rep.promote(VOL))
        self.assertEqual([], self.a_ex.calls, 'the primary is not touched')
        replica = self.replica()
        self.assertEqual('off', replica.readonly)
        self.assertIsNone(replica.token)
        self.assertEqual(b'second data', replica.data)
        self.assertIn('zfs rollback %s/%s@zol-repl-2' % (PB, VOL),
                      self.b_ex.calls)
        # promoted already: a retry never rolls back what was written since
        replica.data = b'written after the fail-over'
        self.assertEqual('zol-repl-2', self.rep.promote(VOL))
        self.assertEqual(b'written after the fail-over', replica.data)
        # even with a partial receive into it (only discarded)
        replica.token, replica.partial = '1-q', b'part'
        self.assertEqual('zol-repl-2', self.rep.promote(VOL))
        self.assertEqual(b'written after the fail-over', replica.data)
        self.assertIsNone(replica.token)

    def test_promote_without_a_replica(self):
        self.assertRaises(replication.ReplicationError, self.rep.promote,
                          VOL)

    def test_demote_and_fail_back(self):
        self.seeded()
        self.rep.sync(VOL)                  # both at zol-repl-2
        self.src().data = b'never sent'     # lost with the primary
        self.a_ex.down = True
        self.rep.promote(VOL)
        self.replica().data = b'written on b'
        self.a_ex.down = False
        back = replication.Replicator(self.b, self.a)
        back.demote(VOL)
        self.assertEqual('on', self.src().readonly)
        self.assertEqual(b'second data', self.src().data)
        stats = back.sync(VOL)
        self.assertEqual(0, stats.resumed)
        self.assertEqual(b'written on b', self.src().data)
        self.assertEqual(['zol-repl-3'], self.names(self.src()))
        self.assertEqual(['zol-repl-3'], self.names(self.replica()))
        # and back to a as the primary
        back.promote(VOL)
        self.rep.demote(VOL)
        self.src().data = b'a again'
        self.rep.sync(VOL)
        self.assertEqual(b'a again', self.replica().data)
        self.assertEqual('on', self.replica().readonly)

    def test_demote_blocked_by_newer_snapshots(self):
        self.seeded()
        self.src().snaps.append(('snapshot-9', '3', 5, b'x'))
        back = replication.Replicator(self.b, self.a)
        exc = self.assertRaises(replication.ReplicationError, back.demote,
                                VOL)
        self.assertIn('snapshot-9', str(exc))

    def test_demote_without_common_snapshot(self):
        back = replication.Replicator(self.b, self.a)
        self.b_ex.vols[PB + '/' + VOL] = Vol(b'x')
        self.assertRaises(replication.NoCommonSnapshot, back.demote, VOL)

    def test_supports_replication(self):
        self.assertTrue(replication.supports_replication(self.a_ex))
        for text in ('zfswrapper 1.5.0\n', 'zfswrapper 2.6.0\n', 'nothing'):
            self.assertFalse(replication.supports_replication(
                lambda *a, t=text: (t, '')))
        self.assertTrue(replication.supports_replication(
            lambda *a: ('zfswrapper 1.7.2\n', '')))
