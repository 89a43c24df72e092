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

"""Image copy goes through the wrapper's zvol-write / zvol-read verbs."""

import os
import tempfile
from unittest import mock

import testtools

from zol_driver import image_transfer


class FakeStreams(object):
    """Records the streamed argvs; zvol-read yields fixed bytes."""

    def __init__(self):
        self.sent = {}

    def stream_to(self, argv, fileobj):
        # as ssh.SSHExecutor.stream_to: read() until it returns b''
        self.sent[tuple(argv)] = b''.join(
            iter(lambda: fileobj.read(1 << 20), b''))

    def stream_from(self, argv, fileobj):
        fileobj.write(b'zvol bytes')
        self.sent[tuple(argv)] = None


class ImageTransferTestCase(testtools.TestCase):

    @mock.patch.object(image_transfer.image_utils, 'fetch_to_raw')
    def test_image_to_zvol_streams_the_raw_file(self, fetch):
        def write_raw(ctx, svc, image_id, dest, blocksize, **kw):
            with open(dest, 'wb') as f:
                f.write(b'raw image')
        fetch.side_effect = write_raw
        ex = FakeStreams()
        image_transfer.image_to_zvol(ex, 'tank/cinder/volume-1', 'ctx',
                                     'svc', 'img', 1, '1M')
        self.assertEqual({('zvol-write', 'tank/cinder/volume-1'):
                          b'raw image'}, ex.sent)
        self.assertFalse(fetch.call_args.kwargs['run_as_root'])
        self.assertEqual(1, fetch.call_args.kwargs['size'])

    @mock.patch.object(image_transfer.volume_utils, 'upload_volume')
    def test_zvol_to_image_uploads_what_was_read(self, upload):
        seen = []

        def check(ctx, svc, meta, path, volume, run_as_root):
            with open(path, 'rb') as f:
                seen.append(f.read())
            self.assertFalse(run_as_root)
        upload.side_effect = check
        ex = FakeStreams()
        volume = mock.Mock(id='v1')
        image_transfer.zvol_to_image(ex, 'tank/cinder/volume-1', 'ctx',
                                     'svc', {'id': 'img'}, volume)
        self.assertIn(('zvol-read', 'tank/cinder/volume-1'), ex.sent)
        self.assertEqual([b'zvol bytes'], seen)


MiB = 1 << 20
GRAIN = image_transfer.GRAIN


class ExtentStreamsTestCase(testtools.TestCase):
    """The extent streams of a 1.4.0 wrapper (doc: "Extent streams")."""

    def sparse_file(self, size, pieces):
        """A sparse temporary file of ``size`` with ``pieces`` written."""
        f = tempfile.TemporaryFile()
        self.addCleanup(f.close)
        f.truncate(size)
        for off, data in pieces:
            f.seek(off)
            f.write(data)
        f.flush()
        return f

    def test_data_runs_skip_holes_and_zero_grains(self):
        f = self.sparse_file(64 * MiB, [
            (5, b'x'),                               # grain 0
            (10 * MiB, bytes(3 * GRAIN)),            # written, but zeros
            (20 * MiB + GRAIN, b'y' * (2 * GRAIN)),  # two grains
            (64 * MiB - 1, b'z')])                   # the last grain
        self.assertEqual([(0, GRAIN), (20 * MiB + GRAIN, 2 * GRAIN),
                          (64 * MiB - GRAIN, GRAIN)],
                         image_transfer.data_runs(f, 64 * MiB))

    def test_data_runs_of_an_unaligned_size(self):
        f = self.sparse_file(GRAIN + 10, [(GRAIN + 9, b'q')])
        self.assertEqual([(GRAIN, 10)],
                         image_transfer.data_runs(f, GRAIN + 10))

    def test_merge_runs_joins_short_gaps(self):
        runs = [(0, GRAIN), (GRAIN * 3, GRAIN), (10 * MiB, GRAIN)]
        self.assertEqual([(0, GRAIN * 4), (10 * MiB, GRAIN)],
                         image_transfer.merge_runs(runs))

    def test_write_records_thin_and_thick(self):
        runs = [(MiB, MiB), (4 * MiB, MiB)]
        self.assertEqual(
            [('H', 0, MiB), ('D', MiB, MiB), ('H', 2 * MiB, 2 * MiB),
             ('D', 4 * MiB, MiB), ('H', 5 * MiB, MiB),
             ('H', 6 * MiB, 1024 * MiB - 6 * MiB)],
            image_transfer.write_records(runs, 6 * MiB, 1024 * MiB))
        # thick: zeros inside the image are written, the rest is a hole
        self.assertEqual(
            [('Z', 0, MiB), ('D', MiB, MiB), ('Z', 2 * MiB, 2 * MiB),
             ('D', 4 * MiB, MiB), ('Z', 5 * MiB, MiB),
             ('H', 6 * MiB, 1024 * MiB - 6 * MiB)],
            image_transfer.write_records(runs, 6 * MiB, 1024 * MiB,
                                         sparse=False))
        self.assertEqual([('D', 0, MiB)],
                         image_transfer.write_records([(0, MiB)], MiB, MiB))

    def test_record_reader_sends_headers_and_data(self):
        f = self.sparse_file(4 * MiB, [(MiB, b'a' * 10)])
        reader = image_transfer.RecordReader(
            f, [('H', 0, MiB), ('D', MiB, 10), ('H', MiB + 10, 3 * MiB - 10)])
        stream = b''.join(iter(lambda: reader.read(1 << 20), b''))
        self.assertEqual(b'H 0 1048576\nD 1048576 10\naaaaaaaaaa'
                         b'H 1048586 3145718\nE 3\n', stream)
        self.assertEqual(10, reader.sent_data)

    def writer(self, size=4 * MiB):
        dst = tempfile.TemporaryFile()
        self.addCleanup(dst.close)
        return dst, image_transfer.RecordWriter(dst, size, 'tank/cinder/v')

    def test_record_writer_in_any_chunking(self):
        stream = b'D 10 3\nabcD 2097152 4\nwxyzE 2\n'
        for step in (1, 2, 5, len(stream)):
            dst, w = self.writer()
            for i in range(0, len(stream), step):
                w.write(stream[i:i + step])
            w.finish()
            dst.truncate(4 * MiB)
            dst.seek(0)
            data = dst.read()
            self.assertEqual(b'abc', data[10:13])
            self.assertEqual(b'wxyz', data[2 * MiB:2 * MiB + 4])
            self.assertEqual(7, len(data.replace(b'\0', b'')))
            self.assertEqual((2, 7), (w.records, w.data))

    def test_record_writer_refuses_a_bad_stream(self):
        for stream, why in [
                (b'D 0 1\nxE 2\n', 'end record counts 2'),
                (b'H 0 10\nE 1\n', 'unexpected header'),
                (b'D 4194303 2\nxx', 'outside the volume'),
                (b'D 0 0\n', 'outside the volume'),
                (b'D -1 5\n', 'malformed header'),
                (b'D 01 5\n', 'malformed header'),
                (b'D 1 5 6\n', 'unexpected header'),
                (b'D 1 \xff\n', 'not ASCII'),
                (b'D 1' + b'1' * 70, 'header longer'),
                (b'E 0\nD 0 1\n', 'data after the end record')]:
            _dst, w = self.writer()
            exc = self.assertRaises(image_transfer.StreamError,
                                    w.write, stream)
            self.assertIn(why, str(exc), stream)
        for stream in (b'', b'D 0 5\nabc', b'D 0 1\nx', b'E'):
            _dst, w = self.writer()
            w.write(stream)
            exc = self.assertRaises(image_transfer.StreamError, w.finish)
            self.assertIn('ended early', str(exc))

    @mock.patch.object(image_transfer.image_utils, 'fetch_to_raw')
    def test_image_to_zvol_sends_extents(self, fetch):
        def write_raw(ctx, svc, image_id, dest, blocksize, **kw):
            with open(dest, 'wb') as f:
                f.truncate(8 * MiB)
                f.seek(3 * MiB)
                f.write(b'data')
        fetch.side_effect = write_raw
        for disable_sparse, gap in ((False, b'H'), (True, b'Z')):
            ex = FakeStreams()
            image_transfer.image_to_zvol(
                ex, 'tank/cinder/volume-1', 'ctx', 'svc', 'img', 1, '1M',
                extents=True, disable_sparse=disable_sparse)
            sent = ex.sent[('zvol-write-extents', 'tank/cinder/volume-1')]
            self.assertEqual(
                gap + b' 0 3145728\nD 3145728 131072\ndata' +
                bytes(GRAIN - 4) + gap + b' 3276800 5111808\n'
                b'H 8388608 1065353216\nE 4\n', sent)

    @mock.patch.object(image_transfer.volume_utils, 'upload_volume')
    def test_zvol_to_image_reads_extents_into_a_sparse_file(self, upload):
        seen = []

        def check(ctx, svc, meta, path, volume, run_as_root):
            st = os.stat(path)
            with open(path, 'rb') as f:
                f.seek(5 * MiB)
                seen.append((st.st_size, st.st_blocks, f.read(3)))
        upload.side_effect = check

        class Host(FakeStreams):
            def stream_from(self, argv, fileobj):
                self.sent[tuple(argv)] = None
                fileobj.write(b'D 5242880 3\nabcE 1\n')
        ex = Host()
        image_transfer.zvol_to_image(ex, 'tank/cinder/volume-1', 'ctx',
                                     'svc', {'id': 'img'},
                                     mock.Mock(id='v1', size=1),
                                     extents=True)
        self.assertIn(('zvol-read-extents', 'tank/cinder/volume-1'),
                      ex.sent)
        size, blocks, data = seen[0]
        self.assertEqual((1 << 30, b'abc'), (size, data))
        self.assertLess(blocks * 512, MiB)     # sparse

    def test_a_cut_read_stream_fails(self):
        class Host(FakeStreams):
            def stream_from(self, argv, fileobj):
                fileobj.write(b'D 0 3\nab')
        dst = tempfile.TemporaryFile()
        self.addCleanup(dst.close)
        self.assertRaises(image_transfer.StreamError,
                          image_transfer.read_zvol, Host(), 'tank/cinder/v',
                          dst, MiB, extents=True)
