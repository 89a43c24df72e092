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

"""Copy images into and out of zvols without a local iSCSI initiator.

Cinder's generic path attaches the volume on the cinder-volume host, which
needs a kernel initiator there. Instead the image is converted to raw in a
temporary file with Cinder's own image helpers (qemu-img on this side), and
the bytes travel through the SSH channel to and from the wrapper.

With a wrapper of 1.4.0 or later only data crosses the channel: an extent
stream (doc/wrapper-protocol.rst, "Extent streams") of ``D OFFSET LENGTH``
records with their bytes, ``H``/``Z`` records for zero ranges and an
``E COUNT`` end. Into a zvol (``zvol-write-extents``) the zero ranges
become holes (``H``: freed, so a thin zvol stays thin) or, when Cinder
passes ``disable_sparse`` (thick types), zeros written on the ZFS host
(``Z``); out of a zvol (``zvol-read-extents``) the host sends its non-zero
grains and the temporary file here stays sparse. An older wrapper gets the
plain ``zvol-write`` / ``zvol-read`` byte streams.
"""

import errno
import os

from oslo_log import log as logging

from cinder.image import image_utils
from cinder.volume import volume_utils

from zol_driver import errors

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
# Ranges are classified in grains of this size, so every H/Z record is
# aligned to any volblocksize (4K..128K) and a discard frees whole blocks.
GRAIN = 128 * 1024
# A zero gap shorter than this between two data runs is sent as data:
# one record less (a dd on the ZFS host) is worth more than the bytes.
MERGE_GAP = 1024 * 1024
CHUNK = 1024 * 1024
_MAX_HEADER = 64
_ZERO = bytes(GRAIN)


class StreamError(errors.ZolError):
    """The ZFS host's extent stream is malformed (nothing is uploaded)."""

    def __init__(self, dataset, detail):
        super().__init__('ZFS host', '%s: bad extent stream: %s'
                         % (dataset, detail))


def data_runs(fileobj, size, grain=GRAIN):
    """[(offset, length)] of the non-zero grains of the first ``size`` bytes.

    Holes of a sparse file are skipped with SEEK_DATA/SEEK_HOLE without
    being read; data ranges are read and each grain that is all zeros is
    left out. Adjacent grains are joined into one run.
    """
    fd = fileobj.fileno()
    runs = []
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        except OSError as exc:
            if exc.errno == errno.ENXIO:        # only a hole is left
                break
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                raise
            start, end = pos, size              # no SEEK_DATA: read all
        if start >= size:
            break
        start -= start % grain
        end = min(size, -(-end // grain) * grain)
        fileobj.seek(start)
        off = start
        while off < end:
            block = fileobj.read(min(CHUNK, end - off))
            if not block:
                break
            for i in range(0, len(block), grain):
                piece = block[i:i + grain]
                if piece == _ZERO[:len(piece)]:
                    continue
                here = off + i
                if runs and runs[-1][0] + runs[-1][1] == here:
                    runs[-1] = (runs[-1][0], runs[-1][1] + len(piece))
                else:
                    runs.append((here, len(piece)))
            off += len(block)
        pos = max(end, start + grain)
    return runs


def merge_runs(runs, gap=MERGE_GAP):
    """Join data runs whose zero gap is shorter than ``gap``."""
    merged = []
    for off, length in runs:
        if merged and off - (merged[-1][0] + merged[-1][1]) < gap:
            merged[-1] = (merged[-1][0], off + length - merged[-1][0])
        else:
            merged.append((off, length))
    return merged


def write_records(runs, image_size, volume_size, sparse=True):
    """The records that make a zvol of ``volume_size`` hold the image.

    ``runs`` are the image's data runs (within ``image_size``); a zero gap
    inside the image is a hole (``H``), or zeros written on the host
    (``Z``) when not ``sparse``; the rest of the volume is a hole, so a
    re-imaged volume keeps nothing of its old contents.
    """
    records = []
    pos = 0
    gap_kind = 'H' if sparse else 'Z'
    for off, length in runs:
        if off > pos:
            records.append((gap_kind, pos, off - pos))
        records.append(('D', off, length))
        pos = off + length
    if image_size > pos:
        records.append((gap_kind, pos, image_size - pos))
        pos = image_size
    if volume_size > pos:
        records.append(('H', pos, volume_size - pos))
    return records


class RecordReader(object):
    """A file-like ``read()`` over the extent stream of ``records``.

    The data of each ``D`` record is read from ``src`` as it is sent.
    """

    def __init__(self, src, records):
        self.sent_data = 0
        self._pieces = self._generate(src, records)

    def _generate(self, src, records):
        for kind, off, length in records:
            yield ('%s %d %d\n' % (kind, off, length)).encode('ascii')
            if kind != 'D':
                continue
            src.seek(off)
            left = length
            while left:
                block = src.read(min(CHUNK, left))
                if not block:       # the image file is shorter than its runs
                    raise IOError('image file ended at %d' % src.tell())
                left -= len(block)
                self.sent_data += len(block)
                yield block
        yield ('E %d\n' % len(records)).encode('ascii')

    def read(self, size=-1):
        return next(self._pieces, b'')


class RecordWriter(object):
    """A file-like ``write()`` that applies an extent stream to ``dst``.

    Accepts ``D`` records (and nothing else) inside ``size`` bytes, then
    exactly one ``E``. ``finish()`` checks that the end record came.
    """

    def __init__(self, dst, size, dataset):
        self.dst = dst
        self.size = size
        self.dataset = dataset
        self.records = 0
        self.data = 0
        self.ended = False
        self._head = b''
        self._left = 0

    def _bad(self, detail):
        raise StreamError(self.dataset, detail)

    def _header(self, line):
        words = line.split(b' ')
        try:
            text = [w.decode('ascii') for w in words]
        except UnicodeDecodeError:
            self._bad('header is not ASCII')
        if not all(w.isdigit() and (w == '0' or w[0] != '0')
                   for w in text[1:]):
            self._bad('malformed header %r' % line[:_MAX_HEADER])
        if text[0] == 'E' and len(text) == 2:
            if int(text[1]) != self.records:
                self._bad('end record counts %s of %d records'
                          % (text[1], self.records))
            self.ended = True
            return
        if text[0] != 'D' or len(text) != 3:
            self._bad('unexpected header %r' % line[:_MAX_HEADER])
        off, length = int(text[1]), int(text[2])
        if length < 1 or off + length > self.size:
            self._bad('record %d+%d outside the volume (%d bytes)'
                      % (off, length, self.size))
        self.dst.seek(off)
        self._left = length
        self.records += 1

    def write(self, data):
        view = memoryview(data)
        while len(view):
            if self._left:
                piece = view[:self._left]
                self.dst.write(piece)
                self._left -= len(piece)
                self.data += len(piece)
                view = view[len(piece):]
                continue
            if self.ended:
                self._bad('data after the end record')
            cut = bytes(view[:_MAX_HEADER + 1 - len(self._head)])
            nl = cut.find(b'\n')
            if nl < 0:
                self._head += cut
                if len(self._head) > _MAX_HEADER:
                    self._bad('header longer than %d bytes' % _MAX_HEADER)
                view = view[len(cut):]
                continue
            line, self._head = self._head + cut[:nl], b''
            view = view[nl + 1:]
            self._header(line)

    def finish(self):
        if self._left or self._head or not self.ended:
            self._bad('the stream ended early (after %d records)'
                      % self.records)


def image_to_zvol(executor, dataset, context, image_service, image_id,
                  size_gb, blocksize, extents=False, disable_sparse=False):
    """Fetch ``image_id``, convert it to raw, stream it into ``dataset``.

    ``extents``: the host's wrapper has ``zvol-write-extents``.
    """
    with image_utils.temporary_file(prefix='zol-image-') as tmp:
        image_utils.fetch_to_raw(context, image_service, image_id, tmp,
                                 blocksize, size=size_gb, run_as_root=False)
        with open(tmp, 'rb') as src:
            if not extents:
                executor.stream_to(['zvol-write', dataset], src)
            else:
                image_size = min(os.fstat(src.fileno()).st_size,
                                 size_gb * GiB)
                runs = merge_runs(data_runs(src, image_size))
                records = write_records(runs, image_size, size_gb * GiB,
                                        sparse=not disable_sparse)
                reader = RecordReader(src, records)
                executor.stream_to(['zvol-write-extents', dataset], reader)
                LOG.debug('Image %(image)s: %(data)d data bytes of '
                          '%(size)d in %(n)d records to %(ds)s.',
                          {'image': image_id, 'data': reader.sent_data,
                           'size': image_size, 'n': len(records),
                           'ds': dataset})
    LOG.debug('Image %(image)s written to %(ds)s.',
              {'image': image_id, 'ds': dataset})


def read_zvol(executor, dataset, dst, size, extents=False):
    """Copy the zvol ``dataset`` (``size`` bytes) into the file ``dst``.

    With ``extents`` only the host's non-zero grains arrive; ``dst`` is
    left sparse (its zero ranges are never written) and ``size`` long.
    """
    if not extents:
        executor.stream_from(['zvol-read', dataset], dst)
        return None
    writer = RecordWriter(dst, size, dataset)
    executor.stream_from(['zvol-read-extents', dataset], writer)
    writer.finish()
    dst.truncate(size)
    return writer


def zvol_to_image(executor, dataset, context, image_service, image_meta,
                  volume, extents=False):
    """Stream ``dataset`` into a temporary file and upload it as an image."""
    with image_utils.temporary_file(prefix='zol-upload-') as tmp:
        with open(tmp, 'wb') as dst:
            read_zvol(executor, dataset, dst,
                      volume.size * GiB if extents else None,
                      extents=extents)
        volume_utils.upload_volume(context, image_service, image_meta, tmp,
                                   volume, run_as_root=False)
    LOG.debug('Volume %(vol)s uploaded as image %(image)s.',
              {'vol': volume.id, 'image': image_meta.get('id')})
