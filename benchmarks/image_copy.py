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

"""Image copies of a 1 GiB volume holding 64 MiB of data (issue 22).

The "images" section of benchmarks/driver_ops.py. Side by side in one run:

  extents   the driver's copy_image_to_volume / copy_volume_to_image with
            the wrapper's extent streams (only data crosses SSH)
  plain     the same driver calls with the plain zvol-write / zvol-read
            streams (what a wrapper before 1.4.0 gets: every byte)
  floor     just the 64 MiB of data through one SSH channel: the driver's
            executor streams 64 MiB into (zvol-write) and out of
            (zvol-read) a 64 MiB zvol

The image is a 1 GiB qcow2 file with 64 MiB of random data (four 16 MiB
runs) served by a local stand-in of Glance, so the driver's figures
include Cinder's own qemu-img steps on this side. The goal: extents within
2x of the floor.
"""

import os
import shutil
import subprocess
import tempfile
import time
import uuid

from cinder.tests.unit import fake_volume

from tests.functional import test_image_transfer


MiB = 1024 * 1024
DATA_AT_MB = (0, 100, 500, 1008)


def _image(workdir):
    raw = os.path.join(workdir, 'src.raw')
    with open(raw, 'wb') as f:
        f.truncate(1024 * MiB)
        for mb in DATA_AT_MB:
            f.seek(mb * MiB)
            f.write(os.urandom(16 * MiB))
    qcow2 = os.path.join(workdir, 'src.qcow2')
    subprocess.run(['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'qcow2',
                    raw, qcow2], check=True)
    os.unlink(raw)
    return qcow2


def _timed(func):
    t0 = time.perf_counter()
    func()
    return (time.perf_counter() - t0) * 1000


def image_copies(bench, reps=1, plain=True):
    """The report's "images" section (see the module docstring)."""
    from cinder import privsep
    privsep.sys_admin_pctxt.set_client_mode(False)   # run as root, in process
    drv, ctx, admin = bench.drv, bench.ctx, bench.admin
    drv._check_wrapper_version()
    if not drv.image_extents:
        return {'error': 'the test bed\'s wrapper has no extent streams'}
    work = tempfile.mkdtemp(prefix='zol-bench-img-')
    drv.configuration.image_conversion_dir = os.path.join(work, 'conv')
    images = test_image_transfer.FakeImageService(work)
    images.add('src', _image(work), 'qcow2')
    ex = drv.executor
    vols = []

    def volume(size):
        vol = fake_volume.fake_volume_obj(ctx, id=str(uuid.uuid4()),
                                          size=size)
        drv.create_volume(vol)
        vols.append(vol)
        vtype = fake_volume.fake_volume_type_obj(ctx)
        vtype.extra_specs = {}
        vol.volume_type = vtype
        vol.glance_metadata = {}
        return vol

    def upload(vol):
        iid = 'up-%s' % uuid.uuid4()
        images.images[iid] = {'id': iid, 'disk_format': 'qcow2',
                              'container_format': 'bare',
                              'status': 'queued', 'size': 0}
        drv.copy_volume_to_image(ctx, vol, images, images.show(None, iid))
        os.unlink(images.images.pop(iid)['path'])

    rows = {'image_to_volume': {}, 'volume_to_image': {}}
    try:
        # the floor: 64 MiB through one SSH channel, both ways
        small = volume(1)
        ds = drv._dataset(small)
        admin.run('zfs set volsize=%d %s' % (64 * MiB, ds))
        data = os.path.join(work, 'data64')
        with open(data, 'wb') as f:
            f.write(os.urandom(64 * MiB))
        admin.run('udevadm settle -t 60')
        for _ in range(reps):
            with open(data, 'rb') as f:
                rows['image_to_volume'].setdefault('floor_ms', []).append(
                    _timed(lambda: ex.stream_to(['zvol-write', ds], f)))
            with open(os.devnull, 'wb') as f:
                rows['volume_to_image'].setdefault('floor_ms', []).append(
                    _timed(lambda: ex.stream_from(['zvol-read', ds], f)))
            bench.log('  floor, 64 MiB through one channel: in %.0f ms, '
                      'out %.0f ms'
                      % (rows['image_to_volume']['floor_ms'][-1],
                         rows['volume_to_image']['floor_ms'][-1]))
        modes = [('extents', True)] + ([('plain', False)] if plain else [])
        for name, extents in modes:
            drv.image_extents = extents
            for _ in range(reps):
                vol = volume(1)
                admin.run('udevadm settle -t 60')
                rows['image_to_volume'].setdefault(name + '_ms', []).append(
                    _timed(lambda: drv.copy_image_to_volume(
                        ctx, vol, images, 'src')))
                rows['volume_to_image'].setdefault(name + '_ms', []).append(
                    _timed(lambda: upload(vol)))
                admin.run('zpool sync')
                ref = int(admin.run('zfs get -H -p -o value referenced '
                                    '%s' % drv._dataset(vol)).strip())
                rows['image_to_volume'].setdefault(
                    name + '_referenced', []).append(ref)
                bench.log('  %s: image to volume %.0f ms, volume to image '
                          '%.0f ms, referenced %d bytes'
                          % (name, rows['image_to_volume'][name + '_ms'][-1],
                             rows['volume_to_image'][name + '_ms'][-1], ref))
        drv.image_extents = True
    finally:
        for vol in vols:
            try:
                drv.delete_volume(vol)
            except Exception as exc:   # report, never lose the figures
                bench.log('cleanup of %s: %s' % (vol.name, exc))
        shutil.rmtree(work, ignore_errors=True)
    for row in rows.values():
        med = {k[:-3]: sorted(v)[len(v) // 2]
               for k, v in row.items() if k.endswith('_ms')}
        row['median_ms'] = med
        row['extents_vs_floor'] = med['extents'] / med['floor']
        if 'plain' in med:
            row['plain_vs_floor'] = med['plain'] / med['floor']
    return {'volume_gib': 1, 'data_mib': 64, 'reps': reps, 'rows': rows,
            'how': __doc__.split('\n\n', 1)[1]}
