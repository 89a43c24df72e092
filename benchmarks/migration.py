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

"""Issue 19: what moving a volume costs, side by side in one run.

A 1 GiB sparse zvol with 64 MiB of random data on the test bed's
tank/cinder is moved to tank/cinder2 three ways:

  engine   zol_driver.transfer (zvol-send | cinder-volume | zvol-recv over
           the driver's key), with its verification (size, SHA-256 read on
           each side) and without it
  floor    the bare 'zfs send -L -e -c | zfs receive' on the host, as root
           over the admin connection: the least any send/receive can cost
  raw      a full-device copy over SSH through the driver's key:
           zvol-read | cinder-volume | zvol-write into a new 1 GiB zvol
           (what a byte-for-byte copy costs without an iSCSI initiator;
           Cinder's generic copy cannot run here, no kernel initiator)

Bytes are what crossed cinder-volume (engine, raw) or the pipe (floor).
The guest is emulated here: compare the ratios, not the seconds.
Run: benchmarks/run migration [--data-mib N] [--size-gib N].
Writes benchmarks/results/migration-<time>.json.
"""

import argparse
import json
import os
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.functional import testbed  # noqa: E402
from zol_driver import ssh  # noqa: E402
from zol_driver import transfer  # noqa: E402
from zol_driver import zfs  # noqa: E402

MiB = 1 << 20


def executor(host):
    return ssh.SSHExecutor(host.host, port=host.port, login=host.user,
                           private_key=host.driver_key,
                           known_hosts_file=host.known_hosts,
                           command_timeout=600)


def timed(func, *args, **kw):
    t0 = time.monotonic()
    result = func(*args, **kw)
    return time.monotonic() - t0, result


def raw_copy(src, dst, src_ds, dst_ds):
    """zvol-read | zvol-write through this process; bytes moved."""
    pipe = transfer._Pipe()
    errors = []

    def sender():
        try:
            src.stream_from(['zvol-read', src_ds], pipe)
        except Exception as exc:
            errors.append(exc)
        finally:
            pipe.close_write()
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    try:
        dst.stream_to(['zvol-write', dst_ds], pipe)
    finally:
        pipe.close_read()
        t.join()
    if errors:
        raise errors[0]
    return pipe.sent


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--size-gib', type=int, default=1)
    ap.add_argument('--data-mib', type=int, default=64)
    args = ap.parse_args()
    host = testbed.get_host()
    p1, p2 = host.parent, host.env['ZOL_PARENT2']
    name = 'bench-mig-%d' % os.getpid()
    size = args.size_gib << 30
    admin = host.admin_ok
    admin('zfs create -s -V %d %s/%s && udevadm settle && '
          'dd if=/dev/urandom of=/dev/zvol/%s/%s bs=1M count=%d '
          'conv=fsync status=none'
          % (size, p1, name, p1, name, args.data_mib), timeout=600)
    src = zfs.ZFSHost(executor(host), p1)
    dst = zfs.ZFSHost(executor(host), p2)
    results = {'size_bytes': size, 'data_bytes': args.data_mib * MiB,
               'accel': host.env.get('ZOL_ACCEL')}
    try:
        for verify in (True, False):
            key = 'engine' if verify else 'engine_noverify'
            secs, stats = timed(transfer.ZvolTransfer(
                src, dst, verify=verify).run, name)
            results[key] = {'seconds': secs, 'bytes': stats.bytes}
            admin('zfs destroy -r %s/%s' % (p2, name))
        admin('zfs snapshot %s/%s@floor' % (p1, name))
        est = admin('zfs send -L -e -c -nP %s/%s@floor' % (p1, name))
        floor_bytes = int([ln.split()[1] for ln in est.splitlines()
                           if ln.startswith('size')][0])
        secs, _ = timed(admin, 'zfs send -L -e -c %s/%s@floor | zfs receive '
                        '-u %s/%s' % (p1, name, p2, name), timeout=3600)
        results['floor'] = {'seconds': secs, 'bytes': floor_bytes}
        admin('zfs destroy -r %s/%s; zfs destroy %s/%s@floor'
              % (p2, name, p1, name))
        admin('zfs create -s -V %d %s/%s && udevadm settle'
              % (size, p2, name))
        secs, moved = timed(raw_copy, src.executor, dst.executor,
                            '%s/%s' % (p1, name), '%s/%s' % (p2, name))
        results['raw'] = {'seconds': secs, 'bytes': moved}
    finally:
        host.admin('zfs destroy -r %s/%s; zfs destroy -r %s/%s'
                   % (p1, name, p2, name))
    floor = results['floor']['seconds']
    print('\nMove a %d GiB zvol with %d MiB written (%s), tank/cinder -> '
          'tank/cinder2, one run:' % (args.size_gib, args.data_mib,
                                      results['accel']))
    print('%-16s %9s %14s %12s' % ('path', 'seconds', 'bytes moved',
                                   'x floor time'))
    for key in ('floor', 'engine', 'engine_noverify', 'raw'):
        r = results[key]
        print('%-16s %9.1f %14d %12.2f' % (key, r['seconds'], r['bytes'],
                                           r['seconds'] / floor))
    print('engine/raw time: %.2f; engine/raw bytes: %.3f'
          % (results['engine']['seconds'] / results['raw']['seconds'],
             results['engine']['bytes'] / float(results['raw']['bytes'])))
    out = os.path.join(REPO, 'benchmarks', 'results', 'migration-%s.json'
                       % time.strftime('%Y%m%dT%H%M%S'))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(results, f, indent=1)
    print('written', out)


if __name__ == '__main__':
    main()
