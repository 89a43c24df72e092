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

"""zvol-read-extents from a zfs send stream (wrapper 1.5.0).

The helper's perl program (SEND_PL) turns a plain ``zfs send`` stream into
the extent records; here it reads streams this file encodes itself (both
byte orders, hostile and unknown records) from a stand-in ``zfs``, and the
shell around it takes, and always destroys, the temporary snapshot. The
real stream of a real pool: tests/functional/test_image_transfer.py.
"""

import os
import re
import stat
import struct
import subprocess

import fixtures
import testtools

from tests.unit import test_wrapper

HELPER = os.path.join(os.path.dirname(test_wrapper.WRAPPER),
                      'zfswrapper-helper.sh')
MAGIC = 0x2F5bacbac
BEGIN, OBJECT, FREEOBJECTS, WRITE, FREE, END, BYREF, SPILL, EMBEDDED = \
    range(9)
SNAP = 'tank/cinder/v@zol-extents-1'


def send_pl():
    with open(HELPER) as f:
        text = f.read()
    return re.search(r"^SEND_PL='\n(.*?)^'$", text, re.S | re.M).group(1)


class Stream(object):
    """A send stream's records in byte order ``e`` ('<' or '>')."""

    def __init__(self, e='<', hdrtype=1, features=0, magic=MAGIC):
        self.e = e
        self.out = b''
        self.rec(BEGIN, struct.pack(e + 'QQQII', magic,
                                    (features << 2) | hdrtype, 0, 3, 0))

    def rec(self, kind, union, payload=b'', payloadlen=0):
        assert len(union) <= 304 - 32
        self.out += struct.pack(self.e + 'II', kind, payloadlen)
        self.out += union.ljust(304, b'\0') + payload
        return self

    def obj(self, number, bonus=b''):
        pad = bonus.ljust((len(bonus) + 7) // 8 * 8, b'\0')
        return self.rec(OBJECT, struct.pack(
            self.e + 'QIIIIBBBBI', number, 23, 0, 8192, len(bonus),
            0, 0, 1, 0, 0), pad)

    def write(self, number, off, data, compression=0, csize=0):
        union = struct.pack(self.e + 'QIIQQQBBB5x', number, 23, 0, off,
                            len(data), 0, 0, 0, compression)
        union += bytes(40) + struct.pack(self.e + 'Q', csize)
        return self.rec(WRITE, union, data)

    def free(self, number, off, length):
        return self.rec(FREE, struct.pack(self.e + 'QQQQ', number, off,
                                          length, 0))

    def end(self):
        return self.rec(END, b'')


def records(out):
    """[(header, data)] of an extent stream."""
    got = []
    while out:
        line, out = out.split(b'\n', 1)
        kind, *nums = line.split(b' ')
        if kind == b'E':
            got.append((line, b''))
            break
        length = int(nums[1])
        got.append((line, out[:length]))
        out = out[length:]
    return got


class SendParserTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.zfs = os.path.join(self.dir, 'zfs')
        self.stream = os.path.join(self.dir, 'stream')
        with open(self.zfs, 'w') as f:
            f.write('#!/bin/sh\n[ "$1 $2" = "send %s" ] || exit 9\n'
                    'cat %s\nexit "${FAKE_RC:-0}"\n' % (SNAP, self.stream))
        os.chmod(self.zfs, 0o755)

    def parse(self, stream, rc=0):
        with open(self.stream, 'wb') as f:
            f.write(stream)
        p = subprocess.run(['perl', '-e', send_pl(), '--', self.zfs, SNAP],
                           capture_output=True, timeout=60,
                           env={'PATH': '/usr/bin:/bin',
                                'FAKE_RC': str(rc)})
        return p.returncode, p.stdout, p.stderr.decode()

    def test_data_blocks_of_object_1_in_both_byte_orders(self):
        a, b, c = (os.urandom(8192) for _ in range(3))
        for e in '<>':
            s = Stream(e).rec(FREEOBJECTS, struct.pack(e + 'QQQ', 0, 1, 0))
            s.obj(1).obj(2, b'zap bonus')
            s.write(1, 0, a).write(1, 8192, bytes(8192))
            s.write(1, 16384, b).write(1, 24576, c).free(1, 32768, 1 << 20)
            s.write(2, 0, os.urandom(512)).end()
            rc, out, err = self.parse(s.out)
            self.assertEqual(0, rc, err)
            self.assertEqual('', err)
            self.assertEqual([(b'D 0 8192', a), (b'D 16384 16384', b + c),
                              (b'E 2', b'')], records(out), e)

    def test_runs_are_cut_at_4_mib_and_at_gaps(self):
        block = os.urandom(131072)
        s = Stream()
        for i in range(40):
            s.write(1, i * 131072, block)
        s.write(1, 100 * 131072, block).end()
        rc, out, err = self.parse(s.out)
        self.assertEqual(0, rc, err)
        self.assertEqual([b'D 0 4194304', b'D 4194304 1048576',
                          b'D 13107200 131072', b'E 3'],
                         [h for h, _ in records(out)])

    def test_empty_volume(self):
        rc, out, err = self.parse(Stream().obj(1).end().out)
        self.assertEqual((0, b'E 0\n'), (rc, out), err)

    def assertFails(self, stream, why, rc=0):
        code, out, err = self.parse(stream, rc)
        self.assertNotEqual(0, code, why)
        self.assertIn(why, err)
        # never an end record: the driver cannot take it for a whole image
        self.assertNotIn(b'\nE ', b'\n' + out)

    def test_what_it_does_not_know_fails_before_the_end_record(self):
        data = os.urandom(4096)
        self.assertFails(Stream().write(1, 0, data, compression=15,
                                        csize=4096).end().out,
                         'a compressed block')
        self.assertFails(Stream().rec(EMBEDDED, struct.pack(
            'QQQQBBxxxxxxII', 1, 0, 4096, 0, 1, 0, 4096, 64),
            bytes(64)).end().out, 'a 8 record for the data')
        self.assertFails(Stream().rec(BYREF, struct.pack(
            'QQQ', 1, 0, 4096)).end().out, 'a 6 record for the data')
        self.assertFails(Stream().rec(42, struct.pack('Q', 7)).end().out,
                         'unknown record type 42')
        self.assertFails(Stream(hdrtype=2).end().out, 'compound')
        self.assertFails(Stream(features=1 << 24).end().out, 'raw send')
        self.assertFails(Stream(magic=12345).end().out, 'not a send stream')
        self.assertFails(b'', 'ended early')

    def test_a_cut_stream_or_a_failed_send_fails(self):
        s = Stream().write(1, 0, os.urandom(8192))
        self.assertFails(s.out, 'ended early')
        self.assertFails(s.out[:-100], 'ended early')
        self.assertFails(s.end().out, 'zfs send %s failed' % SNAP, rc=1)


def _block_device():
    for name in sorted(os.listdir('/dev')):
        path = os.path.join('/dev', name)
        try:
            if stat.S_ISBLK(os.stat(path).st_mode):
                return path
        except OSError:
            pass
    return None


FAKE_ZFS = """#!/bin/sh
d=%(dir)s
printf '%%s\\n' "$*" >>"$d/zfs.calls"
case $1 in
    snapshot) [ -f "$d/no-snapshot" ] && exit 1
              touch "$d/snapshot-exists" ;;
    send) cat "$d/stream"; exit "$(cat "$d/send-rc" 2>/dev/null || echo 0)" ;;
    destroy) rm -f "$d/snapshot-exists" ;;
esac
exit 0
"""


class ReadExtentsSnapshotTest(test_wrapper.WrapperTestCase):
    """The shell around SEND_PL: the snapshot is made, used, destroyed."""

    def setUp(self):
        super().setUp()
        dev = _block_device()
        if not dev:
            self.skipTest('no block device under /dev to stand for a zvol')
        os.symlink(dev, os.path.join(self.w.dir, 'zvol', 'tank', 'cinder',
                                     'v'))
        test_wrapper._write(os.path.join(self.w.bin, 'zfs'),
                            FAKE_ZFS % {'dir': self.w.dir})

    def calls(self):
        with open(os.path.join(self.w.dir, 'zfs.calls')) as f:
            return f.read().splitlines()

    def read(self, stream):
        with open(os.path.join(self.w.dir, 'stream'), 'wb') as f:
            f.write(stream)
        p = subprocess.run(
            [test_wrapper.DASH, test_wrapper.WRAPPER, '-c', self.w.conf],
            capture_output=True, timeout=60,
            env={'SSH_ORIGINAL_COMMAND': 'zvol-read-extents tank/cinder/v'})
        return p.returncode, p.stdout, p.stderr.decode()

    def test_snapshot_sent_and_destroyed(self):
        data = os.urandom(8192)
        rc, out, err = self.read(Stream().write(1, 65536, data).end().out)
        self.assertEqual(0, rc, err)
        self.assertEqual([(b'D 65536 8192', data), (b'E 1', b'')],
                         records(out))
        calls = self.calls()
        self.assertEqual(3, len(calls), calls)
        snap = calls[0].split()[1]
        # the host names it: PARENT/VOL@zol-extents-PID
        self.assertRegex(snap, r'^tank/cinder/v@zol-extents-[0-9]+$')
        self.assertEqual(['snapshot ' + snap, 'send ' + snap,
                          'destroy ' + snap], calls)

    def test_snapshot_destroyed_when_the_stream_fails(self):
        for stream in (Stream().write(1, 0, bytes(1)).out,      # cut
                       Stream().rec(42, b'').end().out):         # unknown
            rc, out, err = self.read(stream)
            self.assertEqual(1, rc)
            self.assertIn('cannot stream the data of tank/cinder/v', err)
            self.assertNotIn(b'E ', out)
            self.assertEqual('destroy', self.calls()[-1].split()[0])
            self.assertFalse(os.path.exists(
                os.path.join(self.w.dir, 'snapshot-exists')))

    def test_no_snapshot_falls_back_to_reading_the_device(self):
        open(os.path.join(self.w.dir, 'no-snapshot'), 'w').close()
        # a perl stand-in that tells which program it got, and its device
        perl = os.path.join(self.w.bin, 'perl')
        test_wrapper._write(perl, '#!/bin/sh\ncase $2 in *\"send\"*) '
                            'echo send ;; *) echo scan ;; esac\n'
                            'printf "%s\\n" "$4"\n')
        self.w.configure(perl=perl)
        rc, out, err = self.read(Stream().end().out)
        self.assertEqual(0, rc, err)
        self.assertEqual(b'scan\n%s\n' % os.path.join(
            self.w.dir, 'zvol', 'tank', 'cinder', 'v').encode(), out)
        calls = self.calls()
        self.assertEqual(1, len(calls), calls)
        self.assertTrue(calls[0].startswith('snapshot '), calls)

    def test_refused_commands_take_no_snapshot(self):
        """Only a judged PARENT/VOL gets a snapshot; nothing else runs."""
        for command in ('zvol-read-extents tank/x/v',
                        'zvol-read-extents tank/cinder/v@s',
                        'zvol-read-extents tank/cinder/v@zol-extents-1',
                        'zvol-read-extents tank/cinder',
                        'zvol-read-extents tank/cinder/v tank/cinder/v',
                        'zvol-read-extents tank/cinder/../x/v',
                        'zvol-read-extents tank/cinder/zol-deleted-v',
                        'zvol-read-extents -i tank/cinder/v@s tank/cinder/v',
                        'zvol-read-extents tank/cinder/v;zfs destroy -r tank'):
            rc, out, err = self.w.run(command)
            self.assertEqual(126, rc, (command, out, err))
            self.assertIn('refused', err)
            self.assertFalse(os.path.exists(
                os.path.join(self.w.dir, 'zfs.calls')), command)
