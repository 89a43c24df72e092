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

"""Issue 20: replication lag (RPO) under a steady write load, and fail-over.

A real ZFSonLinuxISCSIDriver whose backend is test-bed host 1 and whose
replication_device is test-bed host 2 (both in this private netns), with
zol_replication_interval = --interval. N replicated 1 GiB thin volumes
(fake volume objects of a type with replication_enabled='<is> True') are
created and seeded through the driver; then a loop in host 1's guest
writes --write-mibs MiB/s of random data spread over the N zvols
(dd oflag=direct at random offsets, one round every --period s) for
--minutes, while the driver's own sync thread runs. Every --sample s the
lag is read two ways:

  driver   the driver's stats key zol_replication_lag (get_volume_stats,
           refresh=True): now minus the start of the oldest replica's
           last sync
  host 2   read on host 2: now minus the creation time of each replica's
           newest zol-repl snapshot (a received snapshot keeps the
           primary's creation time; host 2's clock is converted to host
           1's with their offset, measured at each sample), the oldest
           of N

Steady state = the samples after --warmup s. Its floor: the interval
plus one bare round, i.e. N times 'zfs snapshot' + 'zfs send -i |
zfs receive' (root, no wrapper, piped through this process between the
two hosts' admin SSH connections, as the engine's stream goes through
cinder-volume) of the data one zvol gets in one interval: with syncs one
volume after the other, the oldest replica is that old at best.

Then the load stops, the last writes are synced, host 1 is frozen (HMP
'stop': it no longer answers, as if it lost power) right after a sync
round ends, and the driver's failover_host of the N volumes is timed,
beside its floor: N bare promotes (zfs rollback + zfs set readonly=off)
on host 2 through one SSH channel. After HMP 'cont', the fail-back
(failover_host 'default') is timed. Everything is destroyed on both
hosts afterwards. The guest is emulated here: compare the ratios.
Run: benchmarks/run replication [--volumes N] [--interval S]
[--write-mibs R] [--minutes M] [--warmup S].
Writes benchmarks/results/replication-<time>.json.
"""

import argparse
import collections
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import unittest
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from cinder import context  # noqa: E402
from cinder import objects  # noqa: E402
from cinder.tests.unit import fake_volume  # noqa: E402
from oslo_config import cfg  # noqa: E402

from benchmarks import driver_ops  # noqa: E402
from tests.functional import faults  # noqa: E402
from tests.functional import testbed  # noqa: E402
from zol_driver import zfs  # noqa: E402

MiB = 1 << 20
BLOCK = 64 * 1024
SECONDARY = 'zfs2'
REPL = zfs.REPL_SNAP_PREFIX
LOAD = '/tmp/zol-bench-load'
# The write loop in host 1's guest: one round every PERIOD s, BLOCKS
# 64 KiB blocks of random data per zvol at a random offset, O_DIRECT.
LOAD_SCRIPT = r'''
period=$1 blocks=$2 span=$3; shift 3
rounds=0 late=0
echo $$ > %(p)s.pid
while [ ! -e %(p)s.stop ]; do
    t0=$(date +%%s%%N)
    for dev in "$@"; do
        dd if=/dev/urandom of="$dev" bs=64K count="$blocks" \
            seek=$(( (RANDOM * 32768 + RANDOM) %% span )) \
            oflag=direct status=none || exit 1
    done
    rounds=$((rounds + 1))
    left=$(( period * 1000000000 - ($(date +%%s%%N) - t0) ))
    if [ "$left" -gt 0 ]; then
        sleep "$((left / 1000000000)).$(printf %%09d $((left %% 1000000000)))"
    else
        late=$((late + 1))
    fi
    echo "$rounds $late" > %(p)s.count
done
''' % {'p': LOAD}


def log(msg):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def pct(values, q):
    """The q-th percentile (nearest rank) of values."""
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(
        q / 100.0 * len(values) + 0.5)) - 1))]


def summary(values):
    if not values:
        return None
    return {'n': len(values), 'median': statistics.median(values),
            'p95': pct(values, 95), 'max': max(values),
            'min': min(values)}


def replication_device(h2):
    return {'backend_id': SECONDARY, 'san_ip': h2.host,
            'san_ssh_port': str(h2.port), 'san_login': h2.user,
            'san_private_key': h2.driver_key,
            'zol_ssh_known_hosts_file': h2.known_hosts,
            'zol_parent_dataset': h2.parent,
            'target_ip_address': h2.iscsi_ip,
            'target_port': str(h2.iscsi_port)}


def admin_argv(host):
    """ssh argv of host's warm admin connection (root, no wrapper)."""
    argv = host._ssh(host.admin_key)
    argv[1:1] = host._admin_mux(argv)
    return argv


def pipe(h1, send, h2, recv, timeout=1800):
    """ssh h1 'send' | ssh h2 'recv', through this process."""
    src = subprocess.Popen(admin_argv(h1) + [send], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    dst = subprocess.Popen(admin_argv(h2) + [recv], stdin=src.stdout,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    src.stdout.close()
    _out, err2 = dst.communicate(timeout=timeout)
    _out, err1 = src.communicate(timeout=timeout)
    if src.returncode or dst.returncode:
        raise RuntimeError('floor pipe failed: %s: %s | %s: %s'
                           % (send, err1.decode()[-300:], recv,
                              err2.decode()[-300:]))


def clock_offset(host):
    """The guest clock minus this machine's (s), from one round trip."""
    t0 = time.time()
    out = host.admin_ok('date +%s.%N')
    t1 = time.time()
    return float(out.strip()) - (t0 + t1) / 2, t1 - t0


class Bench(object):

    def __init__(self, args, h1, h2):
        self.args = args
        self.h1, self.h2 = h1, h2
        self.ctx = context.get_admin_context()
        self.tag = 'rb%d' % os.getpid()
        self.report = {
            'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
            'accel': h1.accel, 'volumes': args.volumes,
            'interval': args.interval, 'write_mibs': args.write_mibs,
            'period': args.period, 'minutes': args.minutes,
            'warmup': args.warmup, 'sample': args.sample,
            'loadavg_start': os.getloadavg()}
        self.vols = []
        self.floor_names = []
        self.rounds = []
        self.round_end = threading.Condition()
        self.drv = None

    # ----------------------------------------------------------- set-up

    def blocks(self):
        """64 KiB blocks per zvol per load round."""
        per_vol = self.args.write_mibs * self.args.period / self.args.volumes
        return max(1, int(round(per_vol * MiB / BLOCK)))

    def build(self):
        self.drv = driver_ops.build_driver(
            self.h1, zol_replication_interval=self.args.interval,
            replication_device=[replication_device(self.h2)])
        repl = self.drv.replication
        real = repl.sync_all

        def sync_all():
            start = time.monotonic()
            result = real()
            with self.round_end:
                self.rounds.append({'start': start, 'end': time.monotonic(),
                                    'synced': result['synced'],
                                    'failed': result['failed']})
                self.round_end.notify_all()
            return result
        repl.sync_all = sync_all        # the loop calls self.sync_all()
        self.sync_verbs = {1: [], 2: []}
        for n, ex in ((1, repl.primary.executor),
                      (2, repl.secondary.executor)):
            self._count_verbs(ex, self.sync_verbs[n])

    @staticmethod
    def _count_verbs(executor, verbs):
        """Keep the verbs the sync thread sends through executor."""
        real = executor._execute

        def execute(pool, command, *args, **kwargs):
            if threading.current_thread().name in ('zol-replication',
                                                   'zol-send'):
                verbs.append(' '.join(command.split()[:1]))
            return real(pool, command, *args, **kwargs)
        executor._execute = execute

    def create(self):
        vtype = fake_volume.fake_volume_type_obj(
            self.ctx, extra_specs={'replication_enabled': '<is> True'})
        seeds = []
        for _ in range(self.args.volumes):
            vol = fake_volume.fake_volume_obj(self.ctx, id=str(uuid.uuid4()),
                                              size=1)
            vol.volume_type = vtype
            t0 = time.monotonic()
            update = self.drv.create_volume(vol)
            seeds.append(time.monotonic() - t0)
            self.vols.append(vol)
            if (update or {}).get('replication_status') != 'enabled':
                raise RuntimeError('volume %s: not seeded: %s'
                                   % (vol.id, update))
        self.report['create_and_seed_seconds'] = summary(seeds)
        log('%d volumes created and seeded (median %.1f s each)'
            % (len(seeds), statistics.median(seeds)))

    def devs(self):
        return ['/dev/zvol/%s/%s' % (self.h1.parent, v.name)
                for v in self.vols]

    # ------------------------------------------------------------ floor

    def floor_setup(self):
        """N floor zvols on host 1, their bare copies on host 2 (@f1)."""
        h1, h2 = self.h1, self.h2
        p1, p2 = h1.parent, h2.parent
        self.floor_names = ['%s-floor-%d' % (self.tag, i)
                            for i in range(self.args.volumes)]
        h1.admin_ok('; '.join(
            'zfs create -s -V 1G %s/%s && zfs snapshot %s/%s@f1'
            % (p1, n, p1, n) for n in self.floor_names) + '; udevadm settle',
            timeout=600)
        for n in self.floor_names:
            pipe(h1, 'zfs send %s/%s@f1' % (p1, n), h2,
                 'zfs receive -u %s/%s' % (p2, n))
        self.floor_snap = 1

    def floor_round(self, per_vol_mib):
        """N bare incrementals of per_vol_mib MiB each, timed.

        The data is written first (untimed); the round is, per zvol, a
        'zfs snapshot' on host 1 and 'zfs send -i | zfs receive' through
        this process, as a sync of the driver: the least a sync costs.
        """
        h1, h2 = self.h1, self.h2
        p1, p2 = h1.parent, h2.parent
        blocks = max(1, int(round(per_vol_mib * MiB / BLOCK)))
        span = (1 << 30) // BLOCK - blocks
        base, snap = 'f%d' % self.floor_snap, 'f%d' % (self.floor_snap + 1)
        h1.admin_ok('; '.join(
            'dd if=/dev/urandom of=/dev/zvol/%s/%s bs=64K count=%d seek=%d '
            'oflag=direct status=none'
            % (p1, n, blocks, (7919 * (i + 1) * self.floor_snap) % span)
            for i, n in enumerate(self.floor_names)), timeout=900)
        t0 = time.monotonic()
        ones = []
        for n in self.floor_names:
            t1 = time.monotonic()
            h1.admin_ok('zfs snapshot %s/%s@%s' % (p1, n, snap))
            # -F: a copy promoted by floor_promote() takes the next one
            pipe(h1, 'zfs send -i %s/%s@%s %s/%s@%s'
                 % (p1, n, base, p1, n, snap), h2,
                 'zfs receive -u -F %s/%s' % (p2, n))
            ones.append(time.monotonic() - t1)
        total = time.monotonic() - t0
        self.floor_snap += 1
        est = h1.admin_ok('zfs send -nP -i %s/%s@%s %s/%s@%s' % (
            p1, self.floor_names[0], base, p1, self.floor_names[0], snap))
        h2.admin_ok('; '.join('zfs set readonly=on %s/%s' % (p2, n)
                              for n in self.floor_names))
        size = [ln.split()[1] for ln in est.splitlines()
                if ln.startswith('size')]
        log('floor: %d bare incrementals of %d KiB each: %.1f s (one: '
            'median %.1f s)' % (len(ones), blocks * BLOCK // 1024, total,
                                statistics.median(ones)))
        return {'round_seconds': total, 'one': summary(ones),
                'data_per_zvol_bytes': blocks * BLOCK,
                'stream_bytes_per_zvol': int(size[0]) if size else None}

    def floor_sync(self):
        """The ideal: one interval's writes per zvol."""
        self.floor_setup()
        self.report['floor_sync'] = self.floor_round(
            self.args.write_mibs * self.args.interval / self.args.volumes)

    def floor_like(self):
        """What the driver sent per sync: interval + its median round."""
        rounds = self.report['sync_rounds']['seconds']
        if not rounds:
            return
        per_vol = self.args.write_mibs * (
            self.args.interval + rounds['median']) / self.args.volumes
        self.report['floor_sync_like'] = self.floor_round(per_vol)

    def floor_promote(self):
        """N bare promotes on host 2 through one SSH channel."""
        p2 = self.h2.parent
        snap = 'f%d' % self.floor_snap
        cmd = ' && '.join('zfs rollback %s/%s@%s && zfs set readonly=off '
                          '%s/%s' % (p2, n, snap, p2, n)
                          for n in self.floor_names)
        t0 = time.monotonic()
        self.h2.admin_ok(cmd, timeout=600)
        self.report['floor_promote_seconds'] = time.monotonic() - t0

    # ------------------------------------------------------------- load

    def start_load(self):
        span = (1 << 30) // BLOCK - self.blocks()
        self.h1.admin_ok('udevadm settle; rm -f %s.stop %s.count; cat > '
                         '%s.sh' % (LOAD, LOAD, LOAD), input=LOAD_SCRIPT)
        self.h1.admin_ok('setsid nohup bash %s.sh %d %d %d %s </dev/null '
                         '>%s.log 2>&1 &' % (LOAD, self.args.period,
                                             self.blocks(), span,
                                             ' '.join(self.devs()), LOAD))

    def stop_load(self):
        self.h1.admin_ok(
            'touch %s.stop; for i in $(seq 600); do kill -0 $(cat %s.pid) '
            '2>/dev/null || break; sleep 0.2; done; cat %s.count; cat %s.log'
            % (LOAD, LOAD, LOAD, LOAD), timeout=300)
        out = self.h1.admin_ok('cat %s.count' % LOAD).split()
        return int(out[0]), int(out[1])

    def sample(self):
        """(driver lag, host-2 lag of the oldest replica, offset) now.

        The two guests' clocks drift apart under emulation: their offset
        (host 1 minus host 2) is measured again at every sample, each
        against this machine's clock at the middle of its round trip.
        """
        stats = self.drv.get_volume_stats(refresh=True)
        off1, _rtt = clock_offset(self.h1)
        t0 = time.time()
        out = self.h2.admin_ok(
            'date +%%s.%%N; zfs list -H -p -o name,creation -t snapshot -r '
            '-d 2 %s' % self.h2.parent, timeout=300)
        t1 = time.time()
        lines = out.splitlines()
        # date runs first: the middle of the round trip is a bound
        offset = off1 - (float(lines[0]) - (t0 + t1) / 2)
        now2 = float(lines[0]) + offset     # host 2 -> host 1 clock
        newest = {}
        for line in lines[1:]:
            name, created = line.split('\t')
            vol, _, snap = name.rpartition('@')
            if snap.startswith(REPL):
                newest[vol] = max(newest.get(vol, 0), int(created))
        ages = []
        for v in self.vols:
            created = newest.get('%s/%s' % (self.h2.parent, v.name))
            ages.append(None if created is None else now2 - created)
        known = [a for a in ages if a is not None]
        return (stats.get('zol_replication_lag'),
                max(known) if len(known) == len(ages) else None, offset)

    def run_load(self):
        a = self.args
        off1, rtt1 = clock_offset(self.h1)
        off2, rtt2 = clock_offset(self.h2)
        self.report['clock'] = {'host1_offset': off1, 'host2_offset': off2,
                                'rtt1': rtt1, 'rtt2': rtt2}
        log('guest clocks minus ours: host 1 %+.2f s, host 2 %+.2f s '
            '(measured again at every sample)' % (off1, off2))
        self.drv.check_for_setup_error()    # starts the sync thread
        synced0 = len(self.sync_verbs[1]), len(self.sync_verbs[2])
        self.start_load()
        t0 = time.monotonic()
        samples = []
        loads = []
        log('load: %.2f MiB/s over %d zvols (%d x 64 KiB each every %d s) '
            'for %.1f min' % (a.write_mibs, a.volumes, self.blocks(),
                              a.period, a.minutes))
        while time.monotonic() - t0 < a.minutes * 60:
            t = time.monotonic() - t0
            drv_lag, h2_lag, offset = self.sample()
            samples.append({'t': t, 'driver': drv_lag, 'host2': h2_lag,
                            'clock_1_minus_2': offset})
            loads.append(os.getloadavg()[0])
            log('t=%4.0f s lag: driver %s s, host 2 %s s, rounds %d'
                % (t, drv_lag, h2_lag if h2_lag is None else
                   '%.0f' % h2_lag, len(self.rounds)))
            time.sleep(max(0, a.sample - (time.monotonic() - t0 - t)))
        rounds_written, late = self.stop_load()
        stopped = time.monotonic()
        self.report['load'] = {
            'rounds': rounds_written, 'late_rounds': late,
            'seconds': stopped - t0,
            'written_bytes': rounds_written * self.blocks() * BLOCK *
            a.volumes,
            'loadavg_1min': summary(loads)}
        log('load stopped: %d rounds (%d late), %.1f MiB written in %.0f s'
            % (rounds_written, late, self.report['load']['written_bytes'] /
               MiB, stopped - t0))
        synced = sum(r['synced'] for r in self.rounds)
        self.report['sync_commands'] = {
            'host%d' % n: collections.Counter(
                self.sync_verbs[n][synced0[n - 1]:]) for n in (1, 2)}
        self.report['sync_commands']['syncs'] = synced
        steady = [s for s in samples if s['t'] >= a.warmup]
        self.report['samples'] = samples
        self.report['lag'] = {
            key: summary([s[key] for s in steady if s[key] is not None])
            for key in ('driver', 'host2')}
        rounds = [r for r in self.rounds if r['start'] >= t0 + a.warmup and
                  r['end'] <= stopped]
        self.report['sync_rounds'] = {
            'seconds': summary([r['end'] - r['start'] for r in rounds]),
            'all': [{'start': r['start'] - t0, 'end': r['end'] - t0,
                     'synced': r['synced']} for r in self.rounds],
            'failed': sum(r['failed'] for r in self.rounds),
            'synced': sum(r['synced'] for r in self.rounds)}
        # the last writes reach host 2: a round that began after the stop
        with self.round_end:
            while not any(r['start'] > stopped for r in self.rounds):
                self.round_end.wait(600)
        self.report['catch_up_seconds'] = time.monotonic() - stopped

    # ------------------------------------------------- fail-over / back

    def failover(self):
        # right after a round ends, so that no sync to host 1 is in
        # flight when it freezes (one would hold its volume's lock until
        # zol_ssh_command_timeout)
        with self.round_end:
            # the catch-up has just waited for a round's end; otherwise
            # wait for the next one
            while not self.rounds or time.monotonic() - \
                    self.rounds[-1]['end'] > self.args.interval / 2.0:
                self.round_end.wait(600)
        faults.hmp(self.h1.statedir, 'stop')
        log('host 1 frozen (HMP stop); failover_host of %d volumes'
            % len(self.vols))
        try:
            t0 = time.monotonic()
            active, updates, _g = self.drv.failover_host(
                self.ctx, self.vols, SECONDARY)
            secs = time.monotonic() - t0
            bad = [u for u in updates if u['updates'].get(
                'replication_status') != 'failed-over']
            self.report['failover'] = {'seconds': secs, 'active': active,
                                       'not_failed_over': len(bad)}
            log('failover_host: %.1f s, %d of %d failed over'
                % (secs, len(updates) - len(bad), len(updates)))
            self.floor_promote()
            log('floor: %d bare promotes: %.1f s'
                % (len(self.floor_names),
                   self.report['floor_promote_seconds']))
        finally:
            faults.hmp(self.h1.statedir, 'cont')
        self.h1.admin_ok('true', timeout=300)
        for v in self.vols:
            v.replication_status = 'failed-over'
        t0 = time.monotonic()
        active, updates, _g = self.drv.failover_host(self.ctx, self.vols,
                                                     'default')
        secs = time.monotonic() - t0
        bad = [u for u in updates if u['updates'].get(
            'replication_status') != 'enabled']
        self.report['failback'] = {'seconds': secs, 'active': active,
                                   'not_failed_back': len(bad)}
        log('fail-back: %.1f s, %d of %d back' % (
            secs, len(updates) - len(bad), len(updates)))

    # ---------------------------------------------------------- cleanup

    def cleanup(self):
        if self.drv is not None and self.drv.replication is not None:
            self.drv.replication.stop()
        for v in self.vols:
            try:
                self.drv.delete_volume(v)
            except Exception as exc:
                log('delete %s: %s (destroyed below)' % (v.id, exc))
        names = [v.name for v in self.vols] + self.floor_names
        for h in (self.h1, self.h2):
            h.admin('; '.join('zfs destroy -r %s/%s 2>/dev/null'
                              % (h.parent, n) for n in names) +
                    '; rm -f %s.*; true' % LOAD, timeout=600)
            left = [n for n in h.admin_ok(
                'zfs list -H -o name -r %s' % h.parent).split()
                if any(n.endswith('/' + x) or '/%s@' % x in n
                       for x in names)]
            if left:
                log('LEFT on host %d: %s' % (h.instance, left))
            self.report.setdefault('left', []).extend(left)


def ratio(a, b):
    return a / b if a is not None and b else None


def print_report(rep):
    floor_round = rep['floor_sync']['round_seconds']
    floor = rep['interval'] + floor_round
    load = rep['load']
    print('\nReplication, %d volumes, interval %d s, %s; load %.2f MiB/s '
          'asked, %.2f MiB/s written (%d/%d rounds late); loadavg %.1f '
          '(median)' % (rep['volumes'], rep['interval'], rep['accel'],
                        rep['write_mibs'],
                        load['written_bytes'] / MiB / load['seconds'],
                        load['late_rounds'], load['rounds'],
                        load['loadavg_1min']['median']))
    print('Lag (RPO) after %d s warm-up, oldest of the %d replicas:'
          % (rep['warmup'], rep['volumes']))
    print('%-20s %7s %7s %7s %4s %7s %7s %7s' % (
        '', 'median', 'p95', 'max', 'n', 'x floor', 'p95 x', 'max x'))
    for key, label in (('driver', 'driver stat (s)'),
                       ('host2', 'host 2 snapshot (s)')):
        s = rep['lag'][key]
        if s:
            print('%-20s %7.1f %7.1f %7.1f %4d %7.2f %7.2f %7.2f'
                  % (label, s['median'], s['p95'], s['max'], s['n'],
                     s['median'] / floor, s['p95'] / floor,
                     s['max'] / floor))
    print('floor: interval %d s + one bare round %.1f s (%d x snapshot + '
          'send -i | receive of %d KiB) = %.1f s'
          % (rep['interval'], floor_round, rep['volumes'],
             rep['floor_sync']['data_per_zvol_bytes'] // 1024, floor))
    sr = rep['sync_rounds']['seconds']
    like = rep.get('floor_sync_like')
    if sr:
        print('driver sync round (%d volumes): median %.1f s, max %.1f s; '
              '%d syncs failed' % (rep['volumes'], sr['median'], sr['max'],
                                   rep['sync_rounds']['failed']))
    if sr and like:
        print('bare round of what one driver sync moved (%d KiB per zvol: '
              'interval + median round of writes): %.1f s; driver round / '
              'bare round: %.2f' % (like['data_per_zvol_bytes'] // 1024,
                                    like['round_seconds'],
                                    sr['median'] / like['round_seconds']))
    sc = rep.get('sync_commands')
    # one zvol-send per sync, those cut by the end of the load included
    sends = sc and sc['host1'].get('zvol-send')
    if sends:
        print('SSH commands per sync (sync thread, during the load): host 1 '
              '%.1f, host 2 %.1f (the bare sync: 2 + 1)'
              % (sum(sc['host1'].values()) / sends,
                 sum(sc['host2'].values()) / sends))
    print('catch-up after the load stopped: %.1f s'
          % rep['catch_up_seconds'])
    fo, fp = rep['failover']['seconds'], rep['floor_promote_seconds']
    print('%-34s %8s %12s' % ('fail-over, %d volumes' % rep['volumes'],
                              'seconds', 'x floor'))
    print('%-34s %8.1f %12.2f' % ('failover_host (host 1 frozen)', fo,
                                  fo / fp))
    print('%-34s %8.1f %12.2f' % ('floor: bare promotes, 1 channel', fp, 1))
    print('%-34s %8.1f %12.2f' % ('fail-back (failover_host default)',
                                  rep['failback']['seconds'],
                                  rep['failback']['seconds'] / fp))
    print('(a fail-back also demotes, syncs back, promotes and demotes '
          'each volume:\n its ratio to the promote floor is not like for '
          'like)')
    print('left on the hosts: %s' % (rep.get('left') or 'nothing'))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--volumes', type=int, default=10)
    ap.add_argument('--interval', type=int, default=10,
                    help='zol_replication_interval (s, at least 10)')
    ap.add_argument('--write-mibs', type=float, default=1.0,
                    help='MiB/s written in all, spread over the volumes')
    ap.add_argument('--period', type=int, default=5,
                    help='s between two rounds of writes')
    ap.add_argument('--minutes', type=float, default=4)
    ap.add_argument('--warmup', type=float, default=60,
                    help='s of load before the samples count')
    ap.add_argument('--sample', type=float, default=5,
                    help='s between two lag samples')
    ap.add_argument('--out', default=os.path.join(REPO, 'benchmarks',
                                                  'results'))
    ap.add_argument('--replot', metavar='REPORT.json',
                    help='only print the table of a report')
    args = ap.parse_args()
    if args.warmup >= args.minutes * 60:
        ap.error('--warmup must be shorter than --minutes')
    return args


def main():
    args = parse_args()
    if args.replot:
        with open(args.replot) as f:
            print_report(json.load(f))
        return
    logging.basicConfig(level=logging.WARNING,
                        format='%(asctime)s %(levelname)s %(name)s: '
                               '%(message)s')
    cfg.CONF([], project='cinder', default_config_files=[])
    objects.register_all()
    try:
        h1, h2 = testbed.get_host(), testbed.get_second_host()
    except unittest.SkipTest as exc:
        sys.exit('cannot benchmark: %s' % exc)
    bench = Bench(args, h1, h2)
    t0 = time.monotonic()
    try:
        bench.build()
        bench.floor_sync()
        bench.create()
        bench.run_load()
        bench.failover()
        bench.drv.replication.stop()
        bench.floor_like()
    finally:
        bench.cleanup()
    rep = bench.report
    rep['wall_seconds'] = time.monotonic() - t0
    rep['loadavg_end'] = os.getloadavg()
    print_report(rep)
    out = os.path.join(args.out, 'replication-%s.json'
                       % time.strftime('%Y%m%dT%H%M%S'))
    os.makedirs(args.out, exist_ok=True)
    with open(out, 'w') as f:
        json.dump(rep, f, indent=1)
    print('written', out)


if __name__ == '__main__':
    main()
