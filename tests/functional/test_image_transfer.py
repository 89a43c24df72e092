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

"""Copy image to volume and volume to image on the real test bed.

cinder-volume's host has no kernel iSCSI initiator here, so the driver
streams the bytes through the SSH channel into and out of the zvol (the
wrapper's extent streams, zvol-write-extents / zvol-read-extents, chosen by
the real wrapper's version) and converts formats with qemu-img on this
side. A real qcow2 image goes in; its raw contents are checked by checksum
on the ZFS host, and the uploaded image is checked the same way. With
compression off on the zvol (so zeros written would be allocated), the
zvol's ``referenced`` shows it stayed thin, and the temporary file of the
upload is checked to be sparse.
"""

import base64
import hashlib
import os
import subprocess
import time
import uuid

from unittest import mock

from cinder import privsep
from cinder.tests.unit import fake_snapshot
from cinder.tests.unit import fake_volume
import fixtures

from tests.functional import test_export
from zol_driver import image_transfer

MiB = 1024 * 1024
IMAGE_MB = 64


def _sh(*argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=300)


def _sha256(path, length=None):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        left = length if length is not None else float('inf')
        while left > 0:
            chunk = f.read(int(min(MiB, left)))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


class FakeImageService(object):
    """Glance's interface as Cinder's image helpers use it, on local files."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.images = {}
        self.temp_images = None  # Cinder's image helpers keep a cache here

    def add(self, image_id, path, disk_format):
        self.images[image_id] = {
            'id': image_id, 'disk_format': disk_format,
            'container_format': 'bare', 'status': 'active',
            'size': os.path.getsize(path), 'path': path}

    def show(self, context, image_id):
        return dict(self.images[image_id])

    def download(self, context, image_id, data):
        with open(self.images[image_id]['path'], 'rb') as f:
            for chunk in iter(lambda: f.read(MiB), b''):
                data.write(chunk)

    def update(self, context, image_id, meta, data, **kwargs):
        path = os.path.join(self.workdir, 'uploaded-%s' % image_id)
        with open(path, 'wb') as f:
            for chunk in iter(lambda: data.read(MiB), b''):
                f.write(chunk)
        self.images[image_id]['path'] = path


class ImageTransferTest(test_export.ExportTestBase):

    def setUp(self):
        super().setUp()
        self.work = self.useFixture(fixtures.TempDir()).path
        self.cfg.config(image_conversion_dir=os.path.join(self.work, 'conv'))
        self.images = FakeImageService(self.work)
        # The test runs as root: run Cinder's privileged image inspection in
        # process instead of through sudo and privsep-helper.
        privsep.sys_admin_pctxt.set_client_mode(False)
        self.addCleanup(privsep.sys_admin_pctxt.set_client_mode, True)
        # A qcow2 image with two patterns and a hole between them.
        self.qcow2 = os.path.join(self.work, 'src.qcow2')
        _sh('qemu-img', 'create', '-q', '-f', 'qcow2', self.qcow2,
            '%dM' % IMAGE_MB)
        _sh('qemu-io', '-f', 'qcow2', '-c', 'write -P 0x5a 0 4M',
            '-c', 'write -P 0xa5 %dM 4M' % (IMAGE_MB - 4), self.qcow2)
        raw = os.path.join(self.work, 'src.raw')
        _sh('qemu-img', 'convert', '-O', 'raw', self.qcow2, raw)
        self.expected = _sha256(raw)
        self.images.add('img-src', self.qcow2, 'qcow2')

    BIG_DATA_MB = (0, 100, 500, 1008)   # 16 MiB of data at each

    def _big_image(self):
        """A 1 GiB qcow2 image holding 64 MiB of data in four places.

        Returns the sha256 of the whole raw image and of its data regions.
        """
        path = os.path.join(self.work, 'big.qcow2')
        _sh('qemu-img', 'create', '-q', '-f', 'qcow2', path, '1G')
        _sh('qemu-io', '-f', 'qcow2', '-c', 'write -P 0x11 0 16M',
            '-c', 'write -P 0x22 100M 16M', '-c', 'write -P 0x33 500M 16M',
            '-c', 'write -P 0x44 1008M 16M', path)
        raw = os.path.join(self.work, 'big.raw')
        _sh('qemu-img', 'convert', '-O', 'raw', path, raw)
        self.images.add('img-big', path, 'qcow2')
        regions = hashlib.sha256()
        with open(raw, 'rb') as f:
            for mb in self.BIG_DATA_MB:
                f.seek(mb * MiB)
                regions.update(f.read(16 * MiB))
        return _sha256(raw), regions.hexdigest()

    def _zvol_regions_sha256(self, vol):
        """The sha256 of the zvol's data regions, read on the ZFS host.

        (Reading the whole 1 GiB zvol there takes minutes under TCG: the
        round trip below compares all of it on this side.)
        """
        dev = '/dev/zvol/%s/%s' % (self.host.parent, vol.name)
        out = self.host.admin_ok(
            '{ %s; } | sha256sum' % '; '.join(
                'dd if=%s bs=1M skip=%d count=16 status=none' % (dev, mb)
                for mb in self.BIG_DATA_MB))
        return out.split()[0]

    def _volume(self, compression=None):
        vtype = fake_volume.fake_volume_type_obj(self.ctx)
        vtype.extra_specs = {}
        vol = self.new_volume(size=1)
        if compression:
            self.host.admin_ok('zfs set compression=%s %s/%s' % (
                compression, self.host.parent, vol.name))
        vol.volume_type = vtype
        vol.glance_metadata = {}
        return vol

    def _zvol_sha256(self, vol, length):
        out = self.host.admin_ok(
            'head -c %d /dev/zvol/%s/%s | sha256sum'
            % (length, self.host.parent, vol.name))
        return out.split()[0]

    def _referenced(self, vol):
        self.host.admin_ok('zpool sync')
        return int(self.host.admin_ok(
            'zfs get -H -p -o value referenced %s/%s'
            % (self.host.parent, vol.name)).strip())

    def _upload_spy(self):
        """Record the size and allocation of the file the driver uploads."""
        seen = []
        real = image_transfer.volume_utils.upload_volume

        def spy(ctx, svc, meta, path, volume, **kw):
            st = os.stat(path)
            seen.append((st.st_size, st.st_blocks * 512))
            return real(ctx, svc, meta, path, volume, **kw)
        self.useFixture(fixtures.MonkeyPatch(
            'zol_driver.image_transfer.volume_utils.upload_volume', spy))
        return seen

    def test_qcow2_image_to_volume_and_back(self):
        self.drv._check_wrapper_version()   # the real wrapper's verbs
        self.assertTrue(self.drv.image_extents,
                        'the test bed\'s wrapper has no extent streams')
        vol = self._volume(compression='off')
        written = []
        real_reader = image_transfer.RecordReader

        def reader(src, records):
            written.append(records)
            return real_reader(src, records)
        expected, expected_regions = self._big_image()
        with mock.patch.object(image_transfer, 'RecordReader', reader):
            self.drv.copy_image_to_volume(self.ctx, vol, self.images,
                                          'img-big')
        self.assertEqual(['D', 'H', 'D', 'H', 'D', 'H', 'D'],
                         [r[0] for r in written[0]], written)
        # 64 MiB of data, compression off: zeros written would be allocated
        referenced = self._referenced(vol)
        print('referenced after a 1 GiB image with 64 MiB of data: %d '
              'bytes' % referenced)
        self.assertLess(referenced, 72 * MiB)
        self.assertGreaterEqual(referenced, 64 * MiB)
        self.assertEqual(expected_regions, self._zvol_regions_sha256(vol))

        self.images.images['img-up'] = {
            'id': 'img-up', 'disk_format': 'qcow2',
            'container_format': 'bare', 'status': 'queued', 'size': 0}
        seen = self._upload_spy()
        self.drv.copy_volume_to_image(self.ctx, vol, self.images,
                                      self.images.show(None, 'img-up'))
        # the temporary raw file: the volume's size, only the data allocated
        self.assertEqual(1, len(seen))
        self.assertEqual(1024 * MiB, seen[0][0])
        self.assertLess(seen[0][1], 72 * MiB, seen)
        uploaded = self.images.images['img-up']['path']
        info = subprocess.run(['qemu-img', 'info', uploaded],
                              capture_output=True, text=True, check=True)
        self.assertIn('file format: qcow2', info.stdout)
        self.assertIn('virtual size: 1 GiB', info.stdout)
        back = os.path.join(self.work, 'back.raw')
        _sh('qemu-img', 'convert', '-O', 'raw', uploaded, back)
        # byte-exact over the whole 1 GiB: data and zeros alike
        self.assertEqual(expected, _sha256(back))

    def test_thick_type_gets_zeros_written(self):
        """disable_sparse (thick types): the zero ranges are written."""
        self.drv._check_wrapper_version()
        vol = self._volume(compression='off')
        self.drv.copy_image_to_volume(self.ctx, vol, self.images, 'img-src',
                                      disable_sparse=True)
        self.assertEqual(self.expected,
                         self._zvol_sha256(vol, IMAGE_MB * MiB))
        referenced = self._referenced(vol)
        print('referenced after a thick copy: %d bytes' % referenced)
        # the whole 64 MiB image is allocated, the rest of the volume not
        self.assertGreaterEqual(referenced, IMAGE_MB * MiB)
        self.assertLess(referenced, (IMAGE_MB + 8) * MiB)

    def test_reimage_leaves_nothing_of_the_old_contents(self):
        """A second image into a used volume: its old bytes read as zeros."""
        self.drv._check_wrapper_version()
        vol = self._volume(compression='off')
        dev = '/dev/zvol/%s/%s' % (self.host.parent, vol.name)
        self.host.admin_ok('dd if=/dev/urandom of=%s bs=1M count=4 seek=8 '
                           'conv=fsync status=none && dd if=/dev/urandom '
                           'of=%s bs=1M count=4 seek=900 conv=fsync '
                           'status=none' % (dev, dev))
        self.drv.copy_image_to_volume(self.ctx, vol, self.images, 'img-src')
        self.assertEqual(self.expected,
                         self._zvol_sha256(vol, IMAGE_MB * MiB))
        zeros = self.host.admin_ok(
            'dd if=%s bs=1M skip=%d status=none | tr -d "\\000" | wc -c'
            % (dev, IMAGE_MB))
        self.assertEqual('0', zeros.strip())
        self.assertLess(self._referenced(vol), 12 * MiB)

    # ---- zvol-read-extents from a zfs send of a temporary snapshot (1.5.0):
    # volumes filled on the ZFS host with small writes next to holes
    # (inside one volblocksize block, at the volume's last byte), zeros
    # written with compression off, a clone whose data lives partly in
    # its origin, a thick volume; each upload is compared over the whole
    # 1 GiB with an image built here from the same writes. The records
    # show the send path (volblocksize pieces, not the scan's 64 KiB
    # grains); no temporary snapshot stays, also when the reader goes.
    def _write(self, vol, expected, offset, data):
        """Write ``data`` at ``offset`` on the host and into ``expected``."""
        dev = '/dev/zvol/%s/%s' % (self.host.parent, vol.name)
        self.host.admin_ok(
            'base64 -d | dd of=%s bs=64k oflag=seek_bytes seek=%d '
            'conv=notrunc,fsync status=none' % (dev, offset),
            input=base64.b64encode(data).decode())
        with open(expected, 'r+b') as f:
            f.seek(offset)
            f.write(data)

    def _expected(self, name, base=None):
        path = os.path.join(self.work, name)
        with open(path, 'wb') as f:
            if base:
                with open(base, 'rb') as b:
                    for chunk in iter(lambda: b.read(MiB), b''):
                        f.write(chunk)
            f.truncate(1024 * MiB)
        return path

    def _upload(self, vol):
        """(sha256 of the uploaded image as raw, the D record headers)."""
        image_id = 'up-%s' % vol.id
        self.images.images[image_id] = {
            'id': image_id, 'disk_format': 'qcow2',
            'container_format': 'bare', 'status': 'queued', 'size': 0}
        headers = []
        real = image_transfer.RecordWriter._header

        def spy(writer, line):
            headers.append(line.decode())
            return real(writer, line)
        with mock.patch.object(image_transfer.RecordWriter, '_header', spy):
            self.drv.copy_volume_to_image(self.ctx, vol, self.images,
                                          self.images.show(None, image_id))
        raw = os.path.join(self.work, '%s.raw' % image_id)
        _sh('qemu-img', 'convert', '-O', 'raw',
            self.images.images[image_id]['path'], raw)
        return _sha256(raw), headers

    def _temp_snapshots(self):
        out = self.host.admin_ok('zfs list -H -o name -t snapshot -r %s'
                                 % self.host.parent)
        return [n for n in out.split() if '@zol-extents-' in n]

    def test_send_path_origin_clone_and_thick_volume_byte_exact(self):
        self.drv._check_wrapper_version()
        self.assertTrue(self.drv.image_extents,
                        'the test bed\'s wrapper has no extent streams')
        origin = self._volume(compression='off')
        want = self._expected('origin.raw')
        self._write(origin, want, 5 * 4096, os.urandom(4096))
        self._write(origin, want, 10 * MiB, os.urandom(MiB))
        self._write(origin, want, 20 * MiB, bytes(64 * 1024))
        self._write(origin, want, 1024 * MiB - 3072, os.urandom(3072))
        sha, headers = self._upload(origin)
        print('origin records: %s' % headers)
        self.assertEqual(_sha256(want), sha)
        block = int(self.host.admin_ok(
            'zfs get -H -p -o value volblocksize %s/%s'
            % (self.host.parent, origin.name)))
        # blocks of the send stream, not 64 KiB grains of a scan; the
        # zeros written (compression off: allocated) are not sent
        self.assertEqual(['D %d %d' % (5 * 4096 // block * block, block),
                          'D %d %d' % (10 * MiB, MiB),
                          'D %d %d' % (1024 * MiB - block, block), 'E 3'],
                         headers)

        snap = fake_snapshot.fake_snapshot_obj(
            self.ctx, id=str(uuid.uuid4()), volume=origin,
            volume_id=origin.id, volume_size=origin.size)
        self.drv.create_snapshot(snap)
        self.addCleanup(self.drv.delete_snapshot, snap)
        clone = fake_volume.fake_volume_obj(self.ctx, id=str(uuid.uuid4()),
                                            size=1)
        self.drv.create_volume_from_snapshot(clone, snap)
        self.addCleanup(self._drop, clone)
        clone.volume_type = origin.volume_type
        clone.glance_metadata = {}
        cwant = self._expected('clone.raw', base=want)
        self._write(clone, cwant, 10 * MiB + 4096, os.urandom(8192))
        self._write(clone, cwant, 500 * MiB + 512, os.urandom(2048))
        sha, headers = self._upload(clone)
        print('clone records: %s' % headers)
        # the origin's blocks came too: a full stream, not an incremental
        self.assertEqual(_sha256(cwant), sha)
        self.assertEqual(['D %d %d' % (5 * 4096 // block * block, block),
                          'D %d %d' % (10 * MiB, MiB),
                          'D %d %d' % (500 * MiB, block),
                          'D %d %d' % (1024 * MiB - block, block), 'E 4'],
                         headers)

        self.cfg.config(group=test_export.GROUP, zol_sparse=False)
        thick = self._volume()
        self.assertGreaterEqual(int(self.host.admin_ok(
            'zfs get -H -p -o value refreservation %s/%s'
            % (self.host.parent, thick.name))), 1024 * MiB)
        twant = self._expected('thick.raw')
        self._write(thick, twant, 0, os.urandom(300 * 1024))
        self._write(thick, twant, 700 * MiB + 100, os.urandom(100))
        sha, headers = self._upload(thick)
        print('thick records: %s' % headers)
        self.assertEqual(_sha256(twant), sha)
        self.assertEqual([], self._temp_snapshots())

    def test_send_path_reader_gone_midway_leaves_no_snapshot(self):
        self.drv._check_wrapper_version()
        vol = self._volume(compression='off')
        self.host.admin_ok('dd if=/dev/urandom of=/dev/zvol/%s/%s bs=1M '
                           'count=8 conv=fsync status=none'
                           % (self.host.parent, vol.name))
        argv = self.host._ssh(self.host.driver_key) + [
            'zvol-read-extents %s/%s' % (self.host.parent, vol.name)]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        try:
            first = p.stdout.read(65536)
            self.assertTrue(first.startswith(b'D 0 '), first[:40])
            self.assertTrue(self._temp_snapshots())
        finally:
            p.kill()
            p.wait()
        deadline = time.time() + 60
        while self._temp_snapshots() and time.time() < deadline:
            time.sleep(2)
        self.assertEqual([], self._temp_snapshots())
