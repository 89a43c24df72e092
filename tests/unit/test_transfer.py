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

"""zol_driver/transfer.py: the send/receive engine, on fake executors.

The functional proof is tests/functional/test_migration.py (real ZFS, real
Cinder); here every branch: resume, discard, verify failures, clean-up.
"""

import re
import threading

import testtools

from tests.unit import fakes
from zol_driver import errors
from zol_driver import transfer
from zol_driver import zfs

SUM_A = 'a' * 128
SUM_B = 'b' * 128
TOKEN = '1-abc-de-789c0011'


class StreamExecutor(fakes.FakeExecutor):
    """FakeExecutor with the two stream calls of ssh.SSHExecutor."""

    def __init__(self, name):
        super().__init__()
        self.name = name
        self.streams = []           # (argv, process_input)
        self.received = []          # bytes per stream_to
        self.send_plan = []         # per stream_from: bytes, or exception
        self.recv_plan = []         # per stream_to: None ok, or (n, exc)

    def __call__(self, *argv, timeout=None, **kw):
        return super().__call__(*argv, **kw)

    def stream_from(self, argv, fileobj, check_exit_code=True,
                    process_input=None):
        self.streams.append((list(argv), process_input))
        plan = self.send_plan.pop(0) if self.send_plan else b'S' * 3000000
        if isinstance(plan, Exception):
            raise plan
        for i in range(0, len(plan), 65536):
            fileobj.write(plan[i:i + 65536])
        return '', ''

    def stream_to(self, argv, fileobj, check_exit_code=True,
                  block_size=1048576):
        self.streams.append((list(argv), None))
        plan = self.recv_plan.pop(0) if self.recv_plan else None
        got = b''
        while True:
            if plan is not None and len(got) >= plan[0]:
                self.received.append(got)
                raise plan[1]
            block = fileobj.read(block_size)
            if not block:
                break
            got += block
        self.received.append(got)
        return '', ''


def cut():
    return errors.TransportError('host', 'SSH session broke')


class TransferTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.src_ex = StreamExecutor('src')
        self.dst_ex = StreamExecutor('dst')
        self.src = zfs.ZFSHost(self.src_ex, 'tank/cinder', busy_retries=1)
        self.dst = zfs.ZFSHost(self.dst_ex, 'tank/cinder2', busy_retries=1)
        # the destination does not exist before the move
        self.dst_ex.on(r'^zfs list .*tank/cinder2/volume-1$',
                       err=fakes.NOT_FOUND % 'tank/cinder2/volume-1',
                       exit_code=1, times=1)
        self.healthy()

    def healthy(self, src_sum=SUM_A, dst_sum=SUM_A, written=0):
        """Answers of a good move (ahead of any earlier ones)."""
        for ex, regex, out in (
                (self.src_ex, r'zfs get .* volsize,written ',
                 fakes.getout('volsize', 1 << 30, 'written', written,
                              source='-')),
                (self.dst_ex, r'zfs get .* volsize,type ',
                 fakes.getout('volsize', 1 << 30, 'type', 'volume',
                              source='-')),
                (self.src_ex, r'^zvol-sum ', src_sum + '\n'),
                (self.dst_ex, r'^zvol-sum ', dst_sum + '\n')):
            ex.rules.insert(0, [re.compile(regex), out, '', 0, None, None])

    def token(self, value=TOKEN, times=None):
        self.dst_ex.rules.insert(0, [
            re.compile(r'receive_resume_token'),
            fakes.getout('receive_resume_token', value, source='-'), '', 0,
            times, None])

    def run_transfer(self, **kw):
        return transfer.ZvolTransfer(self.src, self.dst, **kw).run(
            'volume-1')

    def snapshot_made(self):
        snaps = [c for c in self.src_ex.calls if c.startswith('zfs snapshot')]
        self.assertEqual(1, len(snaps))
        snap = snaps[0].split()[-1]
        self.assertTrue(snap.startswith('tank/cinder/volume-1@zol-migrate-'))
        return snap

    def assertSourceUntouched(self, snap):
        """Only the transfer snapshot was made on the source, and dropped."""
        changes = [c for c in self.src_ex.calls
                   if c.split()[:2] in (['zfs', 'destroy'], ['zfs', 'set'],
                                        ['zfs', 'rename'],
                                        ['zfs', 'rollback'])]
        self.assertEqual(['zfs destroy -d ' + snap], changes)

    def test_move_verifies_and_cleans_up(self):
        stats = self.run_transfer()
        snap = self.snapshot_made()
        self.assertEqual([(['zvol-send', snap], None)], self.src_ex.streams)
        self.assertEqual([(['zvol-recv', 'tank/cinder2/volume-1'], None)],
                         self.dst_ex.streams)
        self.assertEqual([b'S' * 3000000], self.dst_ex.received)
        self.assertEqual(3000000, stats.bytes)
        self.assertEqual(0, stats.resumed)
        self.assertIn('zvol-sum tank/cinder/volume-1', self.src_ex.calls)
        self.assertIn('zvol-sum tank/cinder2/volume-1', self.dst_ex.calls)
        # the received snapshot goes too; the source keeps nothing new
        self.assertEqual('zfs destroy -d tank/cinder2/volume-1@' +
                         snap.split('@')[1], self.dst_ex.calls[-1])
        self.assertSourceUntouched(snap)

    def test_an_existing_destination_is_refused_before_anything(self):
        self.dst_ex.rules = [r for r in self.dst_ex.rules
                             if 'zfs list' not in r[0].pattern]
        exc = self.assertRaises(transfer.TransferError, self.run_transfer)
        self.assertIn('exists already', str(exc))
        self.assertEqual([], self.src_ex.calls)

    def test_a_cut_stream_resumes_once_from_the_token(self):
        self.dst_ex.recv_plan = [(1048576, cut())]
        self.token(times=1)
        stats = self.run_transfer()
        self.assertEqual(1, stats.resumed)
        self.assertEqual(['zvol-send-resume'], self.src_ex.streams[1][0])
        self.assertEqual(TOKEN + '\n', self.src_ex.streams[1][1])
        self.assertEqual(2, len(self.dst_ex.streams))
        self.assertEqual(['zvol-recv', 'tank/cinder2/volume-1'],
                         self.dst_ex.streams[1][0])
        self.assertSourceUntouched(self.snapshot_made())

    def test_a_second_cut_discards_the_partial_receive(self):
        self.dst_ex.recv_plan = [(1048576, cut()), (65536, cut())]
        self.token()
        exc = self.assertRaises(transfer.TransferError, self.run_transfer)
        self.assertIn('stream failed', str(exc))
        self.assertIn('zvol-recv-abort tank/cinder2/volume-1',
                      self.dst_ex.calls)
        self.assertNotIn('zvol-sum tank/cinder/volume-1', self.src_ex.calls)
        self.assertSourceUntouched(self.snapshot_made())

    def test_no_resume_when_told_so(self):
        self.dst_ex.recv_plan = [(1048576, cut())]
        self.token()
        self.assertRaises(transfer.TransferError, self.run_transfer,
                          resumes=0)
        self.assertEqual(1, len(self.src_ex.streams))
        self.assertIn('zvol-recv-abort tank/cinder2/volume-1',
                      self.dst_ex.calls)

    def test_without_a_token_the_partial_zvol_is_destroyed(self):
        self.dst_ex.recv_plan = [(1048576, cut())]
        exc = self.assertRaises(transfer.TransferError, self.run_transfer)
        self.assertIn('SSH session broke', str(exc))
        self.assertIn('zfs destroy -r tank/cinder2/volume-1',
                      self.dst_ex.calls)
        self.assertSourceUntouched(self.snapshot_made())

    def test_a_failed_abort_falls_back_to_destroy(self):
        self.dst_ex.recv_plan = [(1048576, cut()), (1, cut())]
        self.token()
        self.dst_ex.on(r'^zvol-recv-abort', err='boom', exit_code=1)
        self.assertRaises(transfer.TransferError, self.run_transfer)
        self.assertIn('zfs destroy -r tank/cinder2/volume-1',
                      self.dst_ex.calls)

    def test_a_sender_failure_ends_the_receiver(self):
        self.src_ex.send_plan = [cut()]
        self.assertRaises(transfer.TransferError, self.run_transfer,
                          resumes=0)
        self.assertEqual([b''], self.dst_ex.received)

    def test_the_fault_hook_cuts_the_sender(self):
        calls = []

        def fault(sent):
            calls.append(sent)
            if len(calls) == 3:
                raise OSError('test cut')
        self.token(times=1)
        stats = self.run_transfer(fault=fault)
        self.assertEqual(1, stats.resumed)
        self.assertEqual(3 * 65536, len(self.dst_ex.received[0]))

    def test_checksum_mismatch_destroys_the_destination(self):
        self.healthy(dst_sum=SUM_B)
        exc = self.assertRaises(transfer.VerifyError, self.run_transfer)
        self.assertIn('BLAKE2b differs', str(exc))
        self.assertIn('zfs destroy -r tank/cinder2/volume-1',
                      self.dst_ex.calls)
        self.assertSourceUntouched(self.snapshot_made())

    def test_a_source_written_meanwhile_is_not_trusted(self):
        self.healthy(written=4096)
        exc = self.assertRaises(transfer.VerifyError, self.run_transfer)
        self.assertIn('written to during the transfer', str(exc))
        self.assertIn('zfs destroy -r tank/cinder2/volume-1',
                      self.dst_ex.calls)

    def test_size_mismatch_is_refused(self):
        self.dst_ex.rules.insert(0, [
            re.compile(r'volsize,type'),
            fakes.getout('volsize', 1 << 29, 'type', 'volume', source='-'),
            '', 0, None, None])
        exc = self.assertRaises(transfer.VerifyError, self.run_transfer)
        self.assertIn('536870912 bytes', str(exc))

    def test_an_unreadable_sum_is_a_failure(self):
        self.src_ex.rules.insert(0, [
            re.compile(r'^zvol-sum'), '', 'missing', 1, None,
            None])
        exc = self.assertRaises(transfer.VerifyError, self.run_transfer)
        self.assertIn('cannot read back the src', str(exc))


class PipeTestCase(testtools.TestCase):

    def test_reads_reassemble_writes(self):
        pipe = transfer._Pipe(blocks=2)
        data = bytes(range(256)) * 1000

        def writer():
            for i in range(0, len(data), 1000):
                pipe.write(data[i:i + 1000])
            pipe.close_write()
        t = threading.Thread(target=writer)
        t.start()
        got = b''
        while True:
            block = pipe.read(4096)
            if not block:
                break
            self.assertLessEqual(len(block), 4096)
            got += block
        t.join()
        self.assertEqual(data, got)
        self.assertEqual(len(data), pipe.sent)

    def test_a_closed_reader_breaks_the_writer(self):
        pipe = transfer._Pipe(blocks=1)
        pipe.write(b'x')
        pipe.close_read()
        self.assertRaises(BrokenPipeError, pipe.write, b'y')
        pipe.close_write()      # returns: nobody reads
