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
wrapper's zvol-write / zvol-read) and converts formats with qemu-img on this
side. A real qcow2 image goes in; its raw contents are checked by checksum
on the ZFS host, and the uploaded image is checked the same way.
"""

import hashlib
import os
import subprocess

from cinder import privsep
from cinder.tests.unit import fake_volume
import fixtures

from tests.functional import test_export

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

    def _volume(self):
        vtype = fake_volume.fake_volume_type_obj(self.ctx)
        vtype.extra_specs = {}
        vol = self.new_volume(size=1)
        vol.volume_type = vtype
        vol.glance_metadata = {}
        return vol

    def _zvol_sha256(self, vol, length):
        out = self.host.admin_ok(
            'head -c %d /dev/zvol/%s/%s | sha256sum'
            % (length, self.host.parent, vol.name))
        return out.split()[0]

    def test_qcow2_image_to_volume_and_back(self):
        vol = self._volume()
        self.drv.copy_image_to_volume(self.ctx, vol, self.images, 'img-src')
        self.assertEqual(self.expected,
                         self._zvol_sha256(vol, IMAGE_MB * MiB))

        self.images.images['img-up'] = {
            'id': 'img-up', 'disk_format': 'qcow2',
            'container_format': 'bare', 'status': 'queued', 'size': 0}
        self.drv.copy_volume_to_image(self.ctx, vol, self.images,
                                      self.images.show(None, 'img-up'))
        uploaded = self.images.images['img-up']['path']
        info = subprocess.run(['qemu-img', 'info', uploaded],
                              capture_output=True, text=True, check=True)
        self.assertIn('file format: qcow2', info.stdout)
        self.assertIn('virtual size: 1 GiB', info.stdout)
        back = os.path.join(self.work, 'back.raw')
        _sh('qemu-img', 'convert', '-O', 'raw', uploaded, back)
        self.assertEqual(self.expected, _sha256(back, IMAGE_MB * MiB))
