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

"""Round trips, latency and scale of every driver operation (issue 8).

Runs against the ZFS test bed (tools/testbed) inside a private network
namespace; ``benchmarks/run`` sets that up. Side by side in one run, for
each Cinder operation:

  driver     zol_driver.driver.ZFSonLinuxISCSIDriver, built as cinder-volume
             builds it (Configuration + do_setup), through the wrapper
  floor      the bare zfs/tgtadm commands the operation needs, as root over
             one warm admin SSH connection, one exec channel per command
  floor-1ch  the same commands joined with '&&' into ONE exec channel
  2012       the same bare commands, a new SSH connection per command (how
             the original 2012 driver talked to its host): the baseline

Round trips are read from ``SSHExecutor.round_trips`` around each call.
Machines here are noisy (and the guest may be emulated): compare ratios
measured in the same run, not absolute times.

Also: start-up (ensure_export for N exported volumes), concurrency (1, 4,
16, 32 parallel create+export+remove_export+delete cycles), stats at scale
(client-side cost of get_volume_stats with a synthesised listing of 100,
1,000 and 10,000 zvols, and a real listing of 100 zvols on the host), and
the transport-only figures of benchmarks/ssh_latency.py (loopback sshd),
and the wrapper's target verbs on this machine's own CPU against a real
tgtd (benchmarks/wrapper_native.py), where a process start costs ~1 ms
instead of the ~50 ms it costs in an emulated guest.

Writes benchmarks/results/driver_ops-<time>.json (+ .png with matplotlib)
and prints a summary table.
"""

import argparse
import collections
import concurrent.futures
import contextlib
import json
import os
import platform
import socket
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
from cinder.tests.unit import fake_snapshot  # noqa: E402
from cinder.tests.unit import fake_volume  # noqa: E402
from cinder.volume import configuration  # noqa: E402
from oslo_config import cfg  # noqa: E402
import paramiko  # noqa: E402

from benchmarks import image_copy  # noqa: E402
from tests.functional import testbed  # noqa: E402
from zol_driver import driver  # noqa: E402
from zol_driver import tgt  # noqa: E402
from zol_driver import zfs  # noqa: E402

GROUP = 'zol_bench'
GiB = zfs.GiB
INITIATOR = 'iqn.2004-10.org.example:bench-compute'
TGT = 'tgtadm --lld iscsi '
SHOW = TGT + '--op show --mode target >/dev/null'
MODES = ('driver', 'floor', 'floor1', 'baseline')
MODE_LABELS = {'driver': 'driver (warm pool, wrapper)',
               'floor': 'floor (bare cmds, warm conn)',
               'floor1': 'floor, one channel',
               'baseline': '2012: new conn per cmd'}

# Round-trip targets of issue 8 (None: no target, reported only).
RT_TARGETS = {
    'create_volume': 1, 'delete_volume': 1, 'create_snapshot': 1,
    # stats: the space listing, and a target listing that notices targets
    # a ZFS-host reboot took (issue 14); a clone's delete also drops its
    # temporary snapshot if a crash left it unmarked.
    'delete_snapshot': 1, 'get_volume_stats': 2,
    'create_export': 2, 'initialize_connection': 2, 'remove_export': 2,
    'terminate_connection': 2, 'volume_from_snapshot_larger': 2,
    'volume_from_snapshot': 1, 'create_cloned_volume': None,
    'extend_volume': None, 'delete_volume_clone': 2,
}
FLOOR_RATIO_TARGET = 1.5
WRAPPER_GUEST = '/usr/local/sbin/zfswrapper.sh'
WRAPPER_CONF_GUEST = '/etc/cinder-zol/zfswrapper.conf'


# ------------------------------------------------------------ admin SSH

def _nodelay_socket(host, port):
    sock = socket.create_connection((host, port), 30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class AdminShell(object):
    """Bare commands as root, no wrapper: the floor and the 2012 baseline.

    One exec channel per command on a warm connection (``run``), or a new
    connection per command (``run_new``), like the 2012 driver.
    """

    def __init__(self, host):
        self.host = host
        self.client = self._connect()

    def _connect(self):
        client = paramiko.SSHClient()
        client.load_host_keys(self.host.known_hosts)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(self.host.host, self.host.port,
                       username=self.host.user,
                       key_filename=self.host.admin_key,
                       allow_agent=False, look_for_keys=False,
                       sock=_nodelay_socket(self.host.host, self.host.port))
        return client

    @staticmethod
    def _exec(client, command):
        chan = client.get_transport().open_session()
        with contextlib.closing(chan):
            chan.exec_command(command)
            chan.shutdown_write()
            out = []
            while True:
                data = chan.recv(65536)
                if not data:
                    break
                out.append(data)
            err = b''
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
            code = chan.recv_exit_status()
        text = b''.join(out).decode('utf-8', 'replace')
        if code:
            raise RuntimeError('admin command failed (%d): %s: %s'
                               % (code, command[:200], err.decode()[:300]))
        return text

    def run(self, command):
        return self._exec(self.client, command)

    def run_new(self, command):
        client = self._connect()
        try:
            return self._exec(client, command)
        finally:
            client.close()

    def close(self):
        self.client.close()


# ------------------------------------------------------------ the driver

def build_driver(host, **overrides):
    """The driver as cinder-volume builds it: Configuration + do_setup."""
    conf = configuration.Configuration(driver.driver.volume_opts,
                                       config_group=GROUP)
    drv = driver.ZFSonLinuxISCSIDriver(configuration=conf)
    values = dict(san_ip=host.host, san_ssh_port=host.port,
                  san_login=host.user, san_private_key=host.driver_key,
                  zol_ssh_known_hosts_file=host.known_hosts,
                  zol_parent_dataset=host.parent,
                  target_ip_address=host.iscsi_ip,
                  target_port=host.iscsi_port, san_thin_provision=True,
                  volume_backend_name='zol-bench', zol_ssh_command_timeout=300,
                  zol_export_timeout=120)   # the emulated host's waits
    values.update(overrides)
    for key, value in values.items():
        cfg.CONF.set_override(key, value, group=GROUP)
    drv.do_setup(None)
    # No Cinder database here: the stats' orphan checks (one query each
    # per period in cinder-volume) get an answer of no records instead of
    # an unconfigured sqlite's error, which cost seconds per period.
    drv.db = NoRecords()
    record_commands(drv.executor)
    return drv


class NoRecords(object):
    """Cinder's db API as far as the driver's stats use it: no records."""

    @staticmethod
    def volume_get_all(context, filters=None):
        return []


def record_commands(executor):
    """Keep the verbs the executor sends (for the report), thread-safe."""
    executor.sent = []
    real = executor._execute

    def execute(pool, command, *args, **kwargs):
        executor.sent.append(' '.join(command.split()[:2]))
        return real(pool, command, *args, **kwargs)
    executor._execute = execute


class Objects(object):
    """One set of volumes and a snapshot for one pass of the operations."""

    def __init__(self, ctx, parent):
        self.ctx = ctx
        self.parent = parent
        ids = {k: str(uuid.uuid4()) for k in 'asbcex'}
        self.ids = ids
        self.vol = self._vol(ids['a'], 1)
        self.snap = fake_snapshot.fake_snapshot_obj(
            ctx, id=ids['s'], volume=self.vol, volume_id=self.vol.id,
            volume_size=1)
        self.from_snap = self._vol(ids['b'], 1)
        self.from_snap_larger = self._vol(ids['c'], 2)
        self.clone = self._vol(ids['e'], 1, source_volid=ids['a'])
        self.chap = tgt.generate_chap()
        self.tid = None

    def _vol(self, vid, size, **kw):
        return fake_volume.fake_volume_obj(self.ctx, id=vid, size=size,
                                           **kw)

    def ds(self, vol):
        return '%s/%s' % (self.parent, vol.name)

    @property
    def snap_ds(self):
        return '%s@%s' % (self.ds(self.vol), self.snap.name)

    @property
    def iqn(self):
        return 'iqn.2010-10.org.openstack:' + self.vol.name

    def all_datasets(self):
        return [self.ds(v) for v in (self.clone, self.from_snap,
                                     self.from_snap_larger, self.vol)]


def _owner(obj_id):
    return '-o %s=%s -o %s=yes ' % (zfs.PROP_OWNER, obj_id,
                                    zfs.PROP_MANAGED)


def floor_commands(op, o):
    """The bare commands operation ``op`` needs on objects ``o``.

    A caller that knows a volume only by its IQN must list tgtd's targets
    to learn the tid (a free one, for a new target), as Cinder's own tgt
    helper does, so the four export operations start with that listing.
    """
    dev = '/dev/zvol/' + o.ds(o.vol)
    user, secret = o.chap
    tid = o.tid
    clone_snap = '%s@%s%s' % (o.ds(o.vol), zfs.CLONE_SNAP_PREFIX,
                              o.clone.name)
    table = {
        'create_volume': [
            'zfs create -s -V %d %s%s' % (GiB, _owner(o.vol.id),
                                          o.ds(o.vol))],
        'create_snapshot': [
            'zfs snapshot %s%s' % (_owner(o.snap.id), o.snap_ds)],
        'volume_from_snapshot': [
            'zfs clone %s%s %s' % (_owner(o.from_snap.id), o.snap_ds,
                                   o.ds(o.from_snap))],
        'volume_from_snapshot_larger': [
            'zfs clone %s-o volsize=%d %s %s' % (
                _owner(o.from_snap_larger.id), 2 * GiB, o.snap_ds,
                o.ds(o.from_snap_larger))],
        'create_cloned_volume': [
            'zfs snapshot %s' % clone_snap,
            'zfs clone %s%s %s' % (_owner(o.clone.id), clone_snap,
                                   o.ds(o.clone)),
            'zfs destroy -d %s' % clone_snap],
        'extend_volume': ['zfs set volsize=%d %s' % (2 * GiB, o.ds(o.vol))],
        'create_export': [
            SHOW,
            TGT + '--op new --mode target --tid %d --targetname %s'
            % (tid, o.iqn),
            TGT + '--op new --mode logicalunit --tid %d --lun 1 '
            '--backing-store %s --bstype rdwr' % (tid, dev),
            TGT + '--op update --mode logicalunit --tid %d --lun 1 '
            '--params scsi_sn=%s' % (tid, tgt.serial_for(o.vol.id)),
            TGT + '--op new --mode account --user %s --password %s'
            % (user, secret),
            TGT + '--op bind --mode account --tid %d --user %s'
            % (tid, user),
            TGT + '--op bind --mode target --tid %d -I ALL' % tid],
        'initialize_connection': [
            SHOW,
            TGT + '--op bind --mode target --tid %d --initiator-name %s'
            % (tid, INITIATOR),
            TGT + '--op unbind --mode target --tid %d -I ALL' % tid],
        'terminate_connection': [
            SHOW,
            TGT + '--op unbind --mode target --tid %d --initiator-name %s'
            % (tid, INITIATOR)],
        'remove_export': [
            SHOW,
            TGT + '--op delete --mode target --tid %d' % tid,
            TGT + '--op delete --mode account --user %s' % user],
        'get_volume_stats': [
            'zfs list -H -p -r -d 1 -t filesystem,volume -o %s %s'
            % (','.join(zfs.SPACE_FIELDS), o.parent), SHOW],
        'delete_volume_clone': ['zfs destroy -r %s' % o.ds(o.clone)],
        'delete_snapshot': ['zfs destroy -d %s' % o.snap_ds],
        'delete_volume': ['zfs destroy -r %s' % o.ds(o.vol)],
    }
    return table[op]


CONNECTOR = {'initiator': INITIATOR, 'ip': '127.0.0.1', 'host': 'bench'}


def driver_call(op, drv, o, ctx):
    """A zero-argument callable running Cinder operation ``op`` on ``o``."""
    table = {
        'create_volume': lambda: drv.create_volume(o.vol),
        'create_snapshot': lambda: drv.create_snapshot(o.snap),
        'volume_from_snapshot': lambda: drv.create_volume_from_snapshot(
            o.from_snap, o.snap),
        'volume_from_snapshot_larger':
            lambda: drv.create_volume_from_snapshot(o.from_snap_larger,
                                                    o.snap),
        'create_cloned_volume': lambda: drv.create_cloned_volume(
            o.clone, o.vol),
        'extend_volume': lambda: drv.extend_volume(o.vol, 2),
        'create_export': lambda: o.vol.update(
            drv.create_export(ctx, o.vol, CONNECTOR)),
        'initialize_connection': lambda: drv.initialize_connection(
            o.vol, CONNECTOR),
        'terminate_connection': lambda: drv.terminate_connection(
            o.vol, CONNECTOR),
        'remove_export': lambda: drv.remove_export(ctx, o.vol),
        'get_volume_stats': lambda: drv.get_volume_stats(refresh=True),
        'delete_volume_clone': lambda: drv.delete_volume(o.clone),
        'delete_snapshot': lambda: drv.delete_snapshot(o.snap),
        'delete_volume': lambda: drv.delete_volume(o.vol),
    }
    return table[op]


# In the order they run on one set of objects. After extend_volume the
# zvol device nodes are waited for (unmeasured), as they would long exist
# before Cinder attaches a volume; the two volumes made from the snapshot
# are removed (unmeasured) before delete_snapshot.
OPERATIONS = ('create_volume', 'create_snapshot', 'volume_from_snapshot',
              'volume_from_snapshot_larger', 'create_cloned_volume',
              'extend_volume', 'create_export', 'initialize_connection',
              'terminate_connection', 'remove_export', 'get_volume_stats',
              'delete_volume_clone', 'delete_snapshot', 'delete_volume')


# ------------------------------------------------------------ measuring

class Bench(object):
    """Everything one run measures, and the report it writes."""

    def __init__(self, args, host):
        self.args = args
        self.host = host
        self.ctx = context.get_admin_context()
        self.admin = AdminShell(host)
        self.drv = build_driver(host)
        self.next_tid = 1000
        self.ops = collections.OrderedDict(
            (op, {m: [] for m in MODES}) for op in OPERATIONS)
        self.rts = collections.defaultdict(list)
        self.sent = {}
        self.report = {}

    def log(self, msg):
        print('[bench +%6.1fs] %s' % (time.monotonic() - T0, msg),
              flush=True)

    # ---- one pass of every operation, four ways ----

    def pass_of_operations(self, rep):
        sets = {m: Objects(self.ctx, self.host.parent) for m in MODES}
        for o in sets.values():
            o.tid = self.next_tid
            self.next_tid += 1
        # The last pass's destroys free their blocks in the background.
        self.admin.run('zpool wait -t free %s'
                       % self.host.parent.split('/')[0])
        try:
            # Who goes first alternates by pass, and udev settles before
            # each measurement, so no way pays for another's leftovers
            # (udev runs for seconds after zvols come and go under TCG).
            order = MODES if rep % 2 == 0 else tuple(reversed(MODES))
            for op in OPERATIONS:
                if op == 'create_export':
                    self.wait_devices(sets)
                if op == 'delete_snapshot':
                    self.drop_snapshot_clones(sets)
                for mode in order:
                    self.admin.run('udevadm settle -t 30')
                    self.measure(op, mode, sets[mode])
        finally:
            self.cleanup(sets)

    def forget_operations(self):
        for per_mode in self.ops.values():
            for samples in per_mode.values():
                del samples[:]
        self.rts.clear()
        self.sent.clear()

    def measure(self, op, mode, o):
        if mode == 'driver':
            ex = self.drv.executor
            before, nsent = ex.round_trips, len(ex.sent)
            elapsed = timed(driver_call(op, self.drv, o, self.ctx))
            self.rts[op].append(ex.round_trips - before)
            self.sent[op] = ex.sent[nsent:]
        else:
            cmds = floor_commands(op, o)
            if mode == 'floor1':
                cmds = [' && '.join(cmds)]
            run = self.admin.run_new if mode == 'baseline' else \
                self.admin.run
            elapsed = timed(lambda: [run(c) for c in cmds])
        self.ops[op][mode].append(elapsed)

    def wait_devices(self, sets):
        devs = ' '.join('/dev/zvol/' + o.ds(o.vol) for o in sets.values())
        self.admin.run('udevadm settle -t 60; for d in %s; do for i in '
                       '$(seq 300); do [ -b $d ] && break; sleep 0.2; '
                       'done; done' % devs)

    def drop_snapshot_clones(self, sets):
        for mode, o in sets.items():
            if mode == 'driver':
                self.drv.delete_volume(o.from_snap)
                self.drv.delete_volume(o.from_snap_larger)
            else:
                self.admin.run('zfs destroy -r %s && zfs destroy -r %s'
                               % (o.ds(o.from_snap),
                                  o.ds(o.from_snap_larger)))

    def cleanup(self, sets):
        """Leave nothing behind, even after a failure (best effort)."""
        with contextlib.suppress(Exception):
            self.drv.remove_export(self.ctx, sets['driver'].vol)
        for mode, o in sets.items():
            self.admin.run(
                '%s--op delete --mode target --tid %d --force 2>/dev/null; '
                '%s--op delete --mode account --user %s 2>/dev/null; '
                'for d in %s; do zfs destroy -r $d 2>/dev/null; done; true'
                % (TGT, o.tid, TGT, o.chap[0], ' '.join(o.all_datasets())))

    # ---- start-up: ensure_export for N volumes ----

    def startup(self):
        sizes = sorted(set((1, self.args.ensure_n)))
        vols = [fake_volume.fake_volume_obj(self.ctx, id=str(uuid.uuid4()),
                                            size=1, status='in-use')
                for _ in range(max(sizes))]
        for vol in vols:
            self.drv.create_volume(vol)
        self.wait_for(vols)
        for vol in vols:
            vol.update(self.drv.create_export(self.ctx, vol, CONNECTOR))
        results = []
        recreate = None
        try:
            for n in sizes:
                results.append(self.startup_of(vols[:n]))
                self.log('start-up with %d exported volumes: %s round '
                         'trips' % (n, results[-1]['round_trips']))
            recreate = self.startup_recreate(vols)
        finally:
            for vol in vols:
                self.drv.remove_export(self.ctx, vol)
                self.drv.delete_volume(vol)
        floor = timed(lambda: self.admin.run(TGT + '--op show --mode '
                                             'target'))
        self.report['startup'] = {'runs': results, 'floor_ms': floor,
                                  'floor_cmds': 1, 'recreate': recreate}

    # The floor of a start-up that re-creates targets (issue 22): the same
    # targets made again by bare tgtadm commands in one channel, generated
    # (untimed) from the wrapper's state files.
    FLOOR_SCRIPT = '''T="tgtadm --lld iscsi"
    for f in %(statedir)s/iqn.*; do
        tid= iqn= ds= sn= u= p= ini=
        while IFS== read -r k v; do case $k in
            tid) tid=$v ;; iqn) iqn=$v ;; dataset) ds=$v ;; serial) sn=$v ;;
            chap_user) u=$v ;; chap_secret) p=$v ;; initiators) ini=$v ;;
        esac; done < $f
        echo "$T --op new --mode target --tid $tid -T $iqn"
        echo "$T --op new --mode logicalunit --tid $tid --lun 1 \
-b /dev/zvol/$ds --bstype rdwr"
        echo "$T --op update --mode logicalunit --tid $tid --lun 1 \
--params scsi_sn=$sn"
        if [ -n "$u" ]; then
            echo "$T --op new --mode account --user $u --password $p"
            echo "$T --op bind --mode account --tid $tid --user $u"
        fi
        for i in $ini; do case $i in
            iqn.*) echo "$T --op bind --mode target --tid $tid -Q $i" ;;
            *) echo "$T --op bind --mode target --tid $tid -I $i" ;;
        esac; done
    done > /tmp/zol-bench-floor.sh; grep -c . /tmp/zol-bench-floor.sh'''

    def startup_recreate(self, vols):
        """Start-up after a tgtd restart vs bare tgtadm re-creating.

        After the restart the start-up's target-restore re-creates every
        target; the floor re-creates the same ones with bare tgtadm
        commands in one channel.
        """
        statedir = self.admin.run(
            "awk -F' *= *' '$1 == \"statedir\" { print $2 }' "
            "/etc/cinder-zol/zfswrapper.conf").strip() or \
            '/var/lib/cinder-zol/targets'
        ncmds = int(self.admin.run(self.FLOOR_SCRIPT
                                   % {'statedir': statedir}).split()[-1])
        restart = 'systemctl restart tgt && sleep 1 && ' + TGT + \
            '--op show --mode sys >/dev/null'
        self.admin.run(restart)
        run = self.startup_of(vols)
        self.admin.run(restart)
        floor = timed(lambda: self.admin.run('sh -e /tmp/zol-bench-floor.sh'))
        listed = self.admin.run(TGT + '--op show --mode target | '
                                'grep -c "^Target "').strip()
        # back to the driver's own targets (the same ones) for the clean-up
        self.admin.run(restart)
        self.drv.targets.restore()
        self.log('start-up after a tgtd restart, %s persisted targets: '
                 '%.0f ms (%d round trips); bare tgtadm re-creating them: '
                 '%.0f ms (%d commands, %s targets made): %.2fx'
                 % (listed, run['ensure_ms'], run['round_trips'], floor,
                    ncmds, listed, run['ensure_ms'] / floor))
        run.pop('sent', None)
        return {'volumes': len(vols), 'driver': run, 'floor_ms': floor,
                'floor_cmds': ncmds, 'floor_targets': int(listed),
                'ratio': run['ensure_ms'] / floor}

    def startup_of(self, vols):
        """cinder-volume's init_host path with a freshly built driver."""
        drv = build_driver(self.host)
        ex = drv.executor
        t0 = time.perf_counter()
        drv.check_for_setup_error()
        setup_rt = ex.round_trips
        t1 = time.perf_counter()
        for vol in vols:
            drv.ensure_export(self.ctx, vol)
        drv.set_initialized()
        ensure_rt = ex.round_trips - setup_rt
        t2 = time.perf_counter()
        drv.get_volume_stats(refresh=True)
        total_rt = ex.round_trips
        t3 = time.perf_counter()
        ex.close()
        return {'volumes': len(vols), 'round_trips': ensure_rt,
                'ensure_ms': (t2 - t1) * 1000,
                'startup_round_trips': total_rt,
                'startup_ms': (t3 - t0) * 1000,
                'sent': ex.sent}

    # ---- a host with many zvols and targets (issue 22) ----

    @contextlib.contextmanager
    def population(self, zvols, targets):
        """``zvols`` sparse 1 MiB zvols, ``targets`` of them exported.

        Made the way a busy backend would hold them: zvols named and owned
        like the driver's (created in parallel by admin, as their creates
        would have been spread over time), targets by the driver's own
        create_export (state files, CHAP, serials). Everything measured in
        between sees them; the stats of the populated host are measured at
        once, beside the bare listing. All of it is removed afterwards.
        """
        if not zvols:
            yield
            return
        targets = min(targets, zvols)
        parent = self.host.parent
        vols = [fake_volume.fake_volume_obj(self.ctx, id=str(uuid.uuid4()),
                                            size=1, status='in-use')
                for _ in range(zvols)]
        listing = os.path.join(os.sep, 'tmp', 'zol-bench-population')
        self.admin.run("cat > %s <<'EOF'\n%s\nEOF" % (
            listing, '\n'.join(v.name for v in vols)))
        t0 = time.monotonic()
        self.admin.run('xargs -P 16 -I{} zfs create -s -V 1M -o '
                       '%s=yes %s/{} < %s' % (zfs.PROP_MANAGED, parent,
                                              listing))
        made = time.monotonic() - t0
        try:
            self._wait_devices(parent, listing, targets)
        except Exception:
            self._destroy_population(parent, listing)
            raise
        self.log('population: %d zvols made in %.0f s, devices of %d '
                 'there after %.0f s' % (zvols, made, targets,
                                         time.monotonic() - t0))
        t0 = time.monotonic()
        exported = []
        try:
            for vol in vols[:targets]:
                vol.update(self.drv.create_export(self.ctx, vol, CONNECTOR))
                exported.append(vol)
            export_s = time.monotonic() - t0
            self.admin.run('zpool sync')
            self.log('population: %d zvols in %.0f s, %d exported by the '
                     'driver in %.0f s' % (zvols, made, targets, export_s))
            self.report['population'] = {
                'zvols': zvols, 'targets': targets, 'create_s': made,
                'export_s': export_s,
                'stats': self.populated_stats(parent)}
            yield
        finally:
            for vol in exported:
                self.drv.remove_export(self.ctx, vol)
            self._destroy_population(parent, listing)

    def _wait_devices(self, parent, listing, n):
        """Until the first ``n`` zvols of ``listing`` have device nodes.

        Parallel creates queue their device nodes, and under TCG udev
        drops some links (33 of 500 /dev/zvol links missing while every
        /dev/zd* was there; once one still missing after a single replay
        and 600 s): replay the block devices' events every 30 s while one
        is missing, as the wrapper does for one zvol (bounded: 600 s).
        """
        self.admin.run(
            'udevadm settle -t 300; end=$(($(date +%%s) + 600)); last=0; '
            'for n in $(head -n %d %s); do until [ -b /dev/zvol/%s/$n ]; '
            'do now=$(date +%%s); [ $now -lt $end ] || '
            '{ echo "no device for $n" >&2; exit 1; }; '
            'if [ $((now - last)) -ge 30 ]; then udevadm trigger '
            '--subsystem-match=block --action=change; udevadm settle -t 60; '
            'last=$now; fi; sleep 1; done; done' % (n, listing, parent))

    def _destroy_population(self, parent, listing):
        self.admin.run('xargs -P 16 -I{} zfs destroy %s/{} < %s; rm -f %s'
                       % (parent, listing, listing))

    def populated_stats(self, parent):
        """get_volume_stats on the populated host vs its bare commands.

        The stats send two commands: the space listing and the target
        check (which targets tgtd lost); the floor is the same two, bare,
        one channel each.
        """
        listing = 'zfs list -H -p -r -d 1 -t filesystem,volume -o %s %s' \
            % (','.join(zfs.SPACE_FIELDS), parent)

        def floor():
            self.admin.run(listing)
            self.admin.run(TGT + '--op show --mode target')
        self.drv.get_volume_stats(refresh=True)      # warm both up
        floor()
        ex = self.drv.executor
        driver_ms, floor_ms, rts = [], [], []
        for _ in range(5):                  # in turn: same noise for both
            before = ex.round_trips
            driver_ms.append(timed(
                lambda: self.drv.get_volume_stats(refresh=True)))
            rts.append(ex.round_trips - before)
            floor_ms.append(timed(floor))
        row = {'driver_ms': driver_ms, 'floor_ms': floor_ms,
               'round_trips': max(rts),
               'ratio': median(driver_ms) / median(floor_ms)}
        self.log('stats on the populated host: %.0f ms, bare listing and '
                 'target show %.0f ms: %.2fx, %d round trip(s)'
                 % (median(driver_ms), median(floor_ms), row['ratio'],
                    row['round_trips']))
        return row

    def wait_for(self, vols):
        devs = ' '.join('/dev/zvol/%s/%s' % (self.host.parent, v.name)
                        for v in vols)
        self.admin.run('udevadm settle -t 120; for d in %s; do for i in '
                       '$(seq 300); do [ -b $d ] && break; sleep 0.2; '
                       'done; done' % devs)

    # ---- concurrency ----

    def concurrency(self):
        drv = build_driver(self.host)
        pool = PoolWatch(drv.executor)
        rows = []
        try:
            for level in self.args.concurrency:
                rows.append(self.concurrency_level(drv, pool, level))
                r = rows[-1]
                self.log('concurrency %2d: %d cycles in %.1f s, %d errors, '
                         '%d connections opened, peak %d channels'
                         % (level, r['cycles'], r['wall_s'], r['errors'],
                            r['connections_opened'], r['peak_channels']))
        finally:
            drv.executor.close()
        self.report['concurrency'] = {
            'pool_max': drv.configuration.ssh_max_pool_conn,
            'cycle': 'create_volume + create_export + remove_export + '
                     'delete_volume (1 GiB thin, CHAP)',
            'levels': rows}

    def concurrency_level(self, drv, pool, level):
        cycles = level * self.args.cycles
        vols = [fake_volume.fake_volume_obj(self.ctx, id=str(uuid.uuid4()),
                                            size=1) for _ in range(cycles)]
        errors, latencies = [], []
        pool.reset()
        rt0 = drv.executor.round_trips

        def cycle(vol):
            t = time.perf_counter()
            try:
                drv.create_volume(vol)
                vol.update(drv.create_export(self.ctx, vol, None))
                drv.remove_export(self.ctx, vol)
                drv.delete_volume(vol)
            except Exception as exc:
                errors.append('%s: %s' % (type(exc).__name__, exc))
                return
            latencies.append((time.perf_counter() - t) * 1000)

        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(level) as workers:
            list(workers.map(cycle, vols))
        wall = time.perf_counter() - t0
        if errors:
            self.cleanup_volumes(vols)
        return {'parallel': level, 'cycles': cycles, 'wall_s': wall,
                'cycles_per_s': cycles / wall, 'errors': len(errors),
                'error_samples': errors[:5],
                'cycle_ms_median': median(latencies),
                'cycle_ms_max': max(latencies) if latencies else None,
                'round_trips': drv.executor.round_trips - rt0,
                'connections_opened': pool.opened,
                'peak_channels': pool.peak_channels,
                'peak_waiting': pool.peak_waiting}

    def cleanup_volumes(self, vols):
        """After errors: no target and no zvol of the cycles left."""
        for vol in vols:
            with contextlib.suppress(Exception):
                self.drv.remove_export(self.ctx, vol)
            self.admin.run('zfs destroy -r %s/%s 2>/dev/null; true'
                           % (self.host.parent, vol.name))

    # ---- stats at scale ----

    def stats_scale(self):
        rows = []
        for n in self.args.stats_sizes:
            rows.append(synthetic_stats(self.host, n, self.args.stats_reps))
            self.log('stats, synthesised listing of %d zvols: %.1f ms '
                     'client-side, %d round trip(s)'
                     % (n, rows[-1]['client_ms_median'],
                        rows[-1]['round_trips']))
        real = None
        if self.args.real_stats:
            real = self.real_stats(self.args.real_stats)
        self.report['stats_scale'] = {
            'synthetic': rows, 'real': real,
            'how': 'synthetic: the driver\'s executor is replaced by a '
                   'fake that answers the one "zfs list" with N '
                   'synthesised zvol lines, so this is client-side parse '
                   'and compute cost only (no SSH, no host); real: N '
                   'sparse 1 MiB zvols (volmode=none) created on the '
                   'test bed, listed through SSH and the wrapper'}

    def real_stats(self, n):
        parent = self.host.parent
        base = self.stats_once(self.drv, 3)
        # in parallel: concurrent creates share transaction groups
        self.admin.run('for i in $(seq %d); do zfs create -s -V 1M -o '
                       'volmode=none %s/bench-stats-$i & done; wait'
                       % (n, parent))
        try:
            listing = 'zfs list -H -p -r -d 1 -t filesystem,volume -o %s ' \
                '%s' % (','.join(zfs.SPACE_FIELDS), parent)
            # The creates leave the pool busy for minutes under TCG (txg
            # syncs): the first listings after them took 105 s and 9.7 s,
            # the third 5.4 s (issue 22). Settle, warm both ways up
            # untimed, then take driver and floor samples in turn.
            self.admin.run('zpool sync; udevadm settle -t 120')
            self.drv.get_volume_stats(refresh=True)
            self.admin.run(listing)
            samples, rts, floor = [], [], []
            ex = self.drv.executor
            for _ in range(5):
                before = ex.round_trips
                samples.append(timed(
                    lambda: self.drv.get_volume_stats(refresh=True)))
                rts.append(ex.round_trips - before)
                floor.append(timed(lambda: self.admin.run(listing)))
            full = {'ms': samples, 'ms_median': median(samples),
                    'round_trips': max(rts)}
        finally:
            self.admin.run('for i in $(seq %d); do zfs destroy %s/'
                           'bench-stats-$i & done; wait' % (n, parent))
        self.log('stats with %d real zvols: %.0f ms (%.0f ms without), '
                 'floor %.0f ms, %s round trip(s)'
                 % (n, full['ms_median'], base['ms_median'], median(floor),
                    full['round_trips']))
        return {'zvols': n, 'empty': base, 'with_zvols': full,
                'floor_ms': floor,
                'ratio': full['ms_median'] / median(floor)}

    @staticmethod
    def stats_once(drv, reps):
        ex = drv.executor
        samples, rts = [], []
        for _ in range(reps):
            before = ex.round_trips
            samples.append(timed(lambda: drv.get_volume_stats(refresh=True)))
            rts.append(ex.round_trips - before)
        return {'ms': samples, 'ms_median': median(samples),
                'round_trips': max(rts)}

    # ---- where a round trip's time goes ----

    def overhead(self):
        """One read-only command: bare, via the wrapper, via the driver.

        Inside the guest (no SSH at all), over the warm admin connection,
        and through the driver's executor (forced command): the steps
        between them are the wrapper's and the transport's own cost.
        """
        n = self.args.overhead_n
        argv = ('zfs', 'list', '-H', '-p', '-o', 'name,avail',
                self.host.parent)
        bare = ' '.join(argv)
        wrapped = ('SSH_ORIGINAL_COMMAND="%s" %s -c %s >/dev/null'
                   % (bare, WRAPPER_GUEST, WRAPPER_CONF_GUEST))
        ex = self.drv.executor
        rows = {
            'in guest: bare command': self.in_guest(bare + ' >/dev/null', n),
            'in guest: through the wrapper': self.in_guest(wrapped, n),
            'admin channel: bare command': [
                timed(lambda: self.admin.run(bare)) for _ in range(n)],
            'admin channel: through the wrapper': [
                timed(lambda: self.admin.run(wrapped)) for _ in range(n)],
            'driver executor (forced command)': [
                timed(lambda: ex(*argv)) for _ in range(n)],
        }
        self.report['overhead'] = {
            'command': bare, 'n': n,
            'median_ms': {k: median(v) for k, v in rows.items()},
            'samples_ms': rows}
        for k, v in rows.items():
            self.log('  %-36s %7.0f ms' % (k, median(v)))

    def in_guest(self, command, n):
        """Per-run ms of command, timed by the guest's clock (no SSH)."""
        script = ('for i in $(seq %d); do s=$(date +%%s%%N); %s; '
                  'e=$(date +%%s%%N); echo $(( (e - s) / 1000 )); done'
                  % (n, command))
        return [int(x) / 1000.0 for x in self.admin.run(script).split()]

    # ---- environment and transport ----

    def environment(self):
        guest = self.admin.run(
            'echo "kernel $(uname -r)"; echo "vcpus $(nproc)"; '
            'zfs version | head -2 | tr "\\n" " "; echo; '
            'echo "tgtadm $(tgtadm --version)"')
        self.report['environment'] = environment(self.host, guest)


class PoolWatch(object):
    """Counts new SSH connections and concurrent channels of an executor."""

    def __init__(self, executor):
        self.lock = threading.Lock()
        self.reset()
        connect, run, run_on = (executor._connect, executor._run,
                                executor._run_on)

        def counted_connect(*a, **kw):
            with self.lock:
                self.opened += 1
            return connect(*a, **kw)

        def counted_run(*a, **kw):
            with self._track('waiting', 'peak_waiting'):
                return run(*a, **kw)

        def counted_run_on(*a, **kw):
            with self._track('channels', 'peak_channels'):
                return run_on(*a, **kw)
        executor._connect = counted_connect
        executor._run = counted_run
        executor._run_on = counted_run_on

    def reset(self):
        self.opened = self.channels = self.waiting = 0
        self.peak_channels = self.peak_waiting = 0

    @contextlib.contextmanager
    def _track(self, attr, peak):
        with self.lock:
            setattr(self, attr, getattr(self, attr) + 1)
            setattr(self, peak, max(getattr(self, peak),
                                    getattr(self, attr)))
        try:
            yield
        finally:
            with self.lock:
                setattr(self, attr, getattr(self, attr) - 1)


class SyntheticListing(object):
    """An executor answering the space listing with N synthesised zvols."""

    def __init__(self, parent, n):
        self.round_trips = 0
        rows = ['\t'.join((parent, 'filesystem', str(n * GiB),
                           str(10 * n * GiB), '-', '-', 'lz4', '0', '-',
                           '-', '-'))]
        for i in range(n):
            vid = str(uuid.UUID(int=i))
            rows.append('\t'.join((
                '%s/volume-%s' % (parent, vid), 'volume', str(GiB // 3),
                str(10 * n * GiB), str(GiB * (1 + i % 8)), '16384', 'lz4',
                '0', '-', vid, 'yes')))
        self.out = '\n'.join(rows) + '\n'

    def __call__(self, *argv, **kwargs):
        self.round_trips += 1
        if argv[:1] == ('target-list',):
            return '', ''           # the stats' target check: none lost
        if argv[:2] != ('zfs', 'list'):
            raise AssertionError('unexpected command %s' % ' '.join(argv))
        return self.out, ''


def synthetic_stats(host, n, reps):
    drv = build_driver(host)
    fake = SyntheticListing(host.parent, n)
    # both of the stats' commands (the listing, and the target check that
    # came later), or the figure holds a real round trip to the host
    drv.zfs.executor = drv.targets.executor = fake
    samples = [timed(lambda: drv.get_volume_stats(refresh=True))
               for _ in range(reps)]
    pool = drv.get_volume_stats()['pools'][0]
    assert pool['total_volumes'] == n, pool['total_volumes']
    return {'zvols': n, 'client_ms': samples,
            'client_ms_median': median(samples),
            'round_trips': fake.round_trips // reps,
            'listing_bytes': len(fake.out)}


def environment(host, guest):
    cpu = '?'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    with open('/proc/meminfo') as f:
        mem_kb = int(f.readline().split()[1])
    virt = subprocess.run(['systemd-detect-virt'], capture_output=True,
                          text=True).stdout.strip() if _which(
        'systemd-detect-virt') else 'unknown'
    qemu = subprocess.run(['qemu-system-x86_64', '--version'],
                          capture_output=True, text=True).stdout
    return {
        'cpu': cpu, 'cores': os.cpu_count(),
        'memory_gib': round(mem_kb / 1024.0 / 1024, 1),
        'host_kernel': platform.release(),
        'host_virtualisation': virt or 'none',
        'load_average_at_start': os.getloadavg(),
        'testbed_accelerator': (host.accel or '?').upper(),
        'testbed_accelerator_note': (
            'TCG: the ZFS host VM is emulated in software, every guest '
            'command is ~10-100x slower than on hardware'
            if (host.accel or '').lower() == 'tcg' else
            'KVM: hardware-assisted virtualisation'),
        'qemu': qemu.splitlines()[0] if qemu else '?',
        'guest': guest.strip().splitlines(),
        'python': platform.python_version(),
        'paramiko': paramiko.__version__,
        'cinder': _version('cinder'),
    }


def _which(name):
    return any(os.access(os.path.join(d, name), os.X_OK)
               for d in os.environ.get('PATH', '').split(':'))


def _version(dist):
    try:
        from importlib import metadata
        return metadata.version(dist)
    except Exception:
        return '?'


def native_wrapper(args):
    """benchmarks/wrapper_native.py: target verbs on this CPU (medians)."""
    argv = [sys.executable, os.path.join(REPO, 'benchmarks',
                                         'wrapper_native.py'),
            '-n', str(args.native_n), '--json']
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if p.returncode:
        return {'error': (p.stdout + p.stderr).strip()[-500:]}
    samples = json.loads(p.stdout)
    rows = []
    for verb, s in samples.items():
        w, f = median(s['wrapper']), median(s['floor'])
        rows.append({'verb': verb, 'wrapper_ms': w, 'floor_ms': f,
                     'ratio': w / f})
    return {'command': 'python3 benchmarks/wrapper_native.py -n %d'
                       % args.native_n, 'rounds': args.native_n,
            'rows': rows, 'samples': samples}


def transport_only(args):
    """benchmarks/ssh_latency.py against a loopback sshd (its text)."""
    argv = [sys.executable, os.path.join(REPO, 'benchmarks',
                                         'ssh_latency.py'),
            '-n', str(args.transport_n), '--new-conn', '20']
    p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    return {'command': 'python3 benchmarks/ssh_latency.py -n %d '
                       '--new-conn 20' % args.transport_n,
            'exit_code': p.returncode,
            'output': (p.stdout + p.stderr).strip().splitlines()}


# ------------------------------------------------------------ helpers

def timed(func):
    t = time.perf_counter()
    func()
    return (time.perf_counter() - t) * 1000


def median(samples):
    return statistics.median(samples) if samples else None


# ------------------------------------------------------------ reporting

def summarise_operations(bench):
    rows = []
    for op, modes in bench.ops.items():
        med = {m: median(v) for m, v in modes.items()}
        rts = bench.rts[op]
        row = {'operation': op, 'round_trips': rts,
               'round_trips_max': max(rts) if rts else None,
               'round_trip_target': RT_TARGETS.get(op),
               'floor_commands': None, 'driver_sent': bench.sent.get(op),
               'median_ms': med, 'samples_ms': modes}
        if med['floor']:
            row['driver_vs_floor'] = med['driver'] / med['floor']
            row['driver_vs_floor1'] = med['driver'] / med['floor1']
            row['baseline_vs_driver'] = med['baseline'] / med['driver']
        rows.append(row)
    return rows


def check_targets(report):
    """One line per issue-8 target: met or not, with the evidence."""
    checks = []
    for row in report['operations']:
        target = row['round_trip_target']
        if target is not None and row['round_trips_max'] is not None:
            checks.append({
                'target': '%s: <= %d round trip(s)' % (row['operation'],
                                                       target),
                'met': row['round_trips_max'] <= target,
                'measured': row['round_trips_max']})
    for row in report['operations']:
        ratio = row.get('driver_vs_floor')
        if ratio is not None:
            checks.append({
                'target': '%s: <= %.1fx floor' % (row['operation'],
                                                  FLOOR_RATIO_TARGET),
                'met': ratio <= FLOOR_RATIO_TARGET,
                'measured': round(ratio, 2),
                'vs_one_channel_floor': round(row['driver_vs_floor1'], 2)})
    recreate = report.get('startup', {}).get('recreate')
    if recreate:
        checks.append({'target': 'start-up re-creating %d targets: <= 1.5x '
                       'bare tgtadm re-creating them'
                       % recreate['floor_targets'],
                       'met': recreate['ratio'] <= 1.5,
                       'measured': round(recreate['ratio'], 2)})
    runs = report.get('startup', {}).get('runs') or []
    if runs:
        rts = [r['round_trips'] for r in runs]
        checks.append({'target': 'start-up: ensure_export for N volumes '
                       'is O(1) round trips',
                       'met': len(set(rts)) == 1,
                       'measured': {r['volumes']: r['round_trips']
                                    for r in runs}})
    conc = report.get('concurrency', {}).get('levels') or []
    if conc:
        checks.append({'target': 'concurrency: zero errors',
                       'met': all(r['errors'] == 0 for r in conc),
                       'measured': {r['parallel']: r['errors']
                                    for r in conc}})
    for way, row in (report.get('images', {}).get('rows') or {}).items():
        checks.append({'target': '%s, 1 GiB volume with 64 MiB of data: '
                       '<= 2x the 64 MiB through one SSH channel' % way,
                       'met': row['extents_vs_floor'] <= 2.0,
                       'measured': round(row['extents_vs_floor'], 2),
                       'plain_streams': round(row['plain_vs_floor'], 2)
                       if 'plain_vs_floor' in row else None})
    real = (report.get('stats_scale') or {}).get('real')
    if real and real.get('ratio') is not None:
        checks.append({'target': 'stats with %d real zvols: <= 1.5x bare '
                       'zfs list' % real['zvols'],
                       'met': real['ratio'] <= 1.5,
                       'measured': round(real['ratio'], 2)})
    pop = report.get('population')
    if pop:
        row = pop['stats']
        checks.append({'target': 'stats with %d zvols and %d targets on '
                       'the host: <= 1.5x bare zfs list + tgtadm show, 2 '
                       'round trips'
                       % (pop['zvols'], pop['targets']),
                       'met': row['ratio'] <= 1.5 and
                       row['round_trips'] == 2,
                       'measured': round(row['ratio'], 2)})
    stats = report.get('stats_scale', {}).get('synthetic') or []
    if stats:
        checks.append({'target': 'stats at scale: the same 2 round trips '
                       'for any N (the listing, the target check)',
                       'met': all(r['round_trips'] == 2 for r in stats),
                       'measured': {r['zvols']: r['round_trips']
                                    for r in stats}})
    return checks


def fmt(value, spec='%.0f'):
    return '-' if value is None else spec % value


def print_summary(report):
    env = report['environment']
    print()
    print('Hardware: %s, %d cores, %.1f GiB; host virtualisation: %s'
          % (env['cpu'], env['cores'], env['memory_gib'],
             env['host_virtualisation']))
    print('ZFS host: test-bed VM under %s (%s); %s'
          % (env['testbed_accelerator'], env['qemu'],
             '; '.join(env['guest'])))
    print()
    print('%-28s %3s %4s %9s %9s %9s %9s %7s %7s' % (
        'operation (median ms)', 'rt', 'tgt', 'driver', 'floor',
        'floor1ch', '2012', 'drv/fl', '2012/drv'))
    for row in report['operations']:
        med = row['median_ms']
        print('%-28s %3s %4s %9s %9s %9s %9s %7s %7s' % (
            row['operation'], fmt(row['round_trips_max'], '%d'),
            fmt(row['round_trip_target'], '%d'), fmt(med['driver']),
            fmt(med['floor']), fmt(med['floor1']), fmt(med['baseline']),
            fmt(row.get('driver_vs_floor'), '%.2f'),
            fmt(row.get('baseline_vs_driver'), '%.2f')))
    print_sections(report)
    print_images(report)
    over = report.get('overhead')
    if over:
        print()
        print('one command (%s), median of %d:'
              % (over['command'], over['n']))
        for k, v in over['median_ms'].items():
            print('  %-40s %7.0f ms' % (k, v))
    print()
    for check in report['targets']:
        print('%-4s %-55s %s' % ('MET' if check['met'] else 'MISS',
                                 check['target'], check['measured']))


def print_sections(report):
    native = report.get('native')
    if native and native.get('rows'):
        print()
        print('target verbs on this CPU (no VM), wrapper vs bare tgtadm, '
              'real tgtd, median of %d:' % native['rounds'])
        for r in native['rows']:
            print('  %-15s wrapper %6.1f ms  floor %6.1f ms  %5.2fx'
                  % (r['verb'], r['wrapper_ms'], r['floor_ms'], r['ratio']))
    elif native:
        print('\ntarget verbs on this CPU: %s' % native['error'])
    startup = report.get('startup')
    if startup:
        print()
        for r in startup['runs']:
            print('start-up, %2d exported volumes: ensure_export %d round '
                  'trip(s) %.0f ms (floor %.0f ms); whole init_host %d '
                  'round trips %.0f ms' % (
                      r['volumes'], r['round_trips'], r['ensure_ms'],
                      startup['floor_ms'], r['startup_round_trips'],
                      r['startup_ms']))
        rec = startup.get('recreate')
        if rec:
            print('start-up after a tgtd restart, %d persisted targets '
                  're-created: %.0f ms, %d round trip(s); bare tgtadm (%d '
                  'commands, one channel) %.0f ms: %.2fx' % (
                      rec['floor_targets'], rec['driver']['ensure_ms'],
                      rec['driver']['round_trips'], rec['floor_cmds'],
                      rec['floor_ms'], rec['ratio']))
    conc = report.get('concurrency')
    if conc:
        print()
        print('concurrency (pool max %s): %s'
              % (conc['pool_max'], conc['cycle']))
        print('%8s %6s %8s %8s %7s %8s %8s %6s %6s' % (
            'parallel', 'cycles', 'wall s', 'cyc/s', 'errors', 'med ms',
            'max ms', 'conns', 'chans'))
        for r in conc['levels']:
            print('%8d %6d %8.1f %8.3f %7d %8s %8s %6d %6d' % (
                r['parallel'], r['cycles'], r['wall_s'], r['cycles_per_s'],
                r['errors'], fmt(r['cycle_ms_median']),
                fmt(r['cycle_ms_max']), r['connections_opened'],
                r['peak_channels']))
    stats = report.get('stats_scale')
    if stats:
        print()
        for r in stats['synthetic']:
            print('stats, %5d zvols (synthesised listing): %8.1f ms '
                  'client-side, %d round trip(s), %d bytes listed'
                  % (r['zvols'], r['client_ms_median'], r['round_trips'],
                     r['listing_bytes']))
        real = stats.get('real')
        if real:
            print('stats, %5d real zvols on the host: %.0f ms (empty '
                  'parent %.0f ms; bare zfs list %.0f ms), %d round '
                  'trip(s)' % (real['zvols'],
                               real['with_zvols']['ms_median'],
                               real['empty']['ms_median'],
                               median(real['floor_ms']),
                               real['with_zvols']['round_trips']))


def print_images(report):
    images = report.get('images')
    if not images:
        return
    print()
    if 'error' in images:
        print('image copies: %s' % images['error'])
        return
    for way, row in images['rows'].items():
        med = row['median_ms']
        print('%s, 1 GiB volume / 64 MiB data: extents %.0f ms, plain %s '
              'ms, floor (64 MiB, one channel) %.0f ms: %.2fx (plain %s)'
              % (way, med['extents'], fmt(med.get('plain')), med['floor'],
                 row['extents_vs_floor'],
                 fmt(row.get('plain_vs_floor'), '%.2fx')))
        if 'extents_referenced' in row:
            print('  zvol referenced after the copy: extents %s, plain %s'
                  % (row['extents_referenced'],
                     row.get('plain_referenced', '-')))


def chart(report, path):
    """A PNG with the four views; skipped with a message without mpl."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        from matplotlib import pyplot
    except ImportError:
        print('matplotlib not installed: no chart (pip install matplotlib)')
        return None
    fig, axes = pyplot.subplots(2, 2, figsize=(15, 10))
    _chart_latency(axes[0][0], report)
    _chart_round_trips(axes[0][1], report)
    _chart_concurrency(axes[1][0], report)
    _chart_stats(axes[1][1], report)
    env = report['environment']
    fig.suptitle('cinder-zol driver operations, ZFS host VM under %s '
                 '(%d-core %s)' % (env['testbed_accelerator'],
                                   env['cores'], env['cpu'][:40]))
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    pyplot.close(fig)
    return path


def _chart_latency(ax, report):
    ops = report['operations']
    if not ops:
        ax.set_axis_off()
        return
    names = [r['operation'] for r in ops]
    width = 0.2
    for i, mode in enumerate(MODES):
        values = [r['median_ms'][mode] or 0 for r in ops]
        ax.barh([j + (i - 1.5) * width for j in range(len(ops))], values,
                width, label=MODE_LABELS[mode])
    ax.set_yticks(range(len(ops)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale('log')
    from matplotlib import ticker
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.xaxis.set_major_formatter(ticker.FormatStrFormatter('%d'))
    ax.set_xlabel('median latency, ms (log)')
    ax.set_title('Latency per operation')
    ax.legend(fontsize=7)


def _chart_round_trips(ax, report):
    ops = report['operations']
    if not ops:
        ax.set_axis_off()
        return
    names = [r['operation'] for r in ops]
    rts = [r['round_trips_max'] or 0 for r in ops]
    floors = [r.get('floor_commands') or 0 for r in ops]
    ax.barh(range(len(ops)), rts, 0.4, label='driver round trips')
    ax.barh([j + 0.4 for j in range(len(ops))], floors, 0.4,
            label='bare commands (2012 driver: one connection each)')
    for j, r in enumerate(ops):
        if r['round_trip_target'] is not None:
            ax.plot([r['round_trip_target']] * 2, [j - 0.3, j + 0.7], 'k--',
                    linewidth=1)
    ax.set_yticks(range(len(ops)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel('SSH round trips (dashed: target)')
    ax.set_title('Round trips per operation')
    ax.legend(fontsize=7)


def _chart_concurrency(ax, report):
    levels = (report.get('concurrency') or {}).get('levels') or []
    if not levels:
        ax.set_axis_off()
        return
    xs = [r['parallel'] for r in levels]
    ax.plot(xs, [r['cycles_per_s'] for r in levels], 'o-',
            label='cycles/s')
    ax.set_xscale('log', base=2)
    ax.set_xticks(xs)
    ax.set_xticklabels([str(x) for x in xs])
    ax.set_xlabel('parallel create+export+remove+delete cycles')
    ax.set_ylabel('cycles per second')
    for r in levels:
        ax.annotate('%d err' % r['errors'], (r['parallel'],
                                             r['cycles_per_s']),
                    fontsize=8)
    ax.set_title('Concurrency (pool max %s)'
                 % report['concurrency']['pool_max'])


def _chart_stats(ax, report):
    rows = (report.get('stats_scale') or {}).get('synthetic') or []
    if not rows:
        ax.set_axis_off()
        return
    xs = [r['zvols'] for r in rows]
    ax.plot(xs, [r['client_ms_median'] for r in rows], 'o-')
    ax.set_xscale('log')
    ax.set_yscale('log')
    ax.set_xlabel('zvols under the parent (synthesised listing)')
    ax.set_ylabel('client-side ms per get_volume_stats')
    ax.set_title('Stats at scale: 2 round trips for any N')


# ------------------------------------------------------------ main

T0 = time.monotonic()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ints = lambda s: [int(x) for x in s.split(',') if x]  # noqa: E731
    parser.add_argument('--reps', type=int, default=3,
                        help='passes of every operation (default 3)')
    parser.add_argument('--ensure-n', type=int, default=4,
                        help='exported volumes at start-up (default 4; '
                        '1 is measured too)')
    parser.add_argument('--concurrency', type=ints, default=[1, 4, 16, 32],
                        help='parallel cycles (default 1,4,16,32)')
    parser.add_argument('--cycles', type=int, default=1,
                        help='cycles per worker (default 1)')
    parser.add_argument('--stats-sizes', type=ints,
                        default=[100, 1000, 10000])
    parser.add_argument('--stats-reps', type=int, default=5)
    parser.add_argument('--real-stats', type=int, default=0,
                        help='real zvols listed for stats, e.g. 100 '
                        '(default 0: skip; ~3 min under TCG)')
    parser.add_argument('--overhead-n', type=int, default=5,
                        help='samples per case of the per-command '
                        'overhead section (default 10)')
    parser.add_argument('--transport-n', type=int, default=50,
                        help='commands per case of ssh_latency.py (0: skip)')
    parser.add_argument('--native-n', type=int, default=20,
                        help='rounds of wrapper_native.py (0: skip)')
    parser.add_argument('--image-reps', type=int, default=1,
                        help='copies per way of the images section')
    parser.add_argument('--population', metavar='ZVOLS,TARGETS',
                        type=ints, default=[],
                        help='issue 22\'s scale: run the sections with '
                        'ZVOLS sparse 1 MiB zvols on the host beside the '
                        'benchmark\'s own, TARGETS of them exported by the '
                        'driver (e.g. 500,200; minutes under TCG)')
    parser.add_argument('--skip', default='',
                        help='comma-separated sections to skip: ops, '
                        'overhead, startup, concurrency, stats, '
                        'transport, native, images (images-plain: only '
                        'the plain streams, minutes under TCG)')
    parser.add_argument('--quick', action='store_true',
                        help='smaller run: 1 pass, concurrency 1,4,16, '
                        'no transport section')
    parser.add_argument('--replot', metavar='REPORT.json',
                        help='only redraw the chart and table of a report')
    parser.add_argument('--out', default=os.path.join(REPO, 'benchmarks',
                                                      'results'))
    args = parser.parse_args()
    if args.quick:
        args.reps = 1
        args.concurrency = [c for c in args.concurrency if c <= 16]
        args.skip += ',transport'
    return args


def setup_cinder():
    cfg.CONF([], project='cinder', default_config_files=[])
    objects.register_all()


def get_host():
    try:
        return testbed.get_host()
    except unittest.SkipTest as exc:
        sys.exit('cannot benchmark: %s' % exc)


def run_sections(bench, args, skip):
    if 'transport' not in skip and args.transport_n:
        bench.log('transport only: ssh_latency.py on a loopback sshd')
        bench.report['transport'] = transport_only(args)
    if 'native' not in skip and args.native_n:
        bench.log('target verbs on this CPU: wrapper_native.py')
        bench.report['native'] = native_wrapper(args)
    if 'ops' not in skip:
        # Under TCG the first run of a code path also pays for translating
        # it: one unrecorded pass first, so pass 1 does not measure that.
        bench.log('warm-up pass (not recorded)')
        bench.pass_of_operations(1)
        bench.forget_operations()
        for rep in range(args.reps):
            bench.log('pass %d/%d of every operation (driver, floor, '
                      'floor-1ch, 2012)' % (rep + 1, args.reps))
            bench.pass_of_operations(rep)
        bench.report['operations'] = summarise_operations(bench)
        names = Objects(bench.ctx, bench.host.parent)
        names.tid = 0
        for row in bench.report['operations']:
            row['floor_commands'] = len(floor_commands(row['operation'],
                                                       names))
    if 'overhead' not in skip:
        bench.log('per-command overhead: bare, wrapper, executor')
        bench.overhead()
    if 'startup' not in skip:
        bench.log('start-up: ensure_export for 1 and %d volumes'
                  % args.ensure_n)
        bench.startup()
    if 'concurrency' not in skip:
        bench.concurrency()
    if 'stats' not in skip:
        bench.stats_scale()
    if 'images' not in skip:
        bench.log('image copies: 1 GiB volume, 64 MiB of data')
        bench.report['images'] = image_copy.image_copies(
            bench, reps=args.image_reps, plain='images-plain' not in skip)
        bench.log('images: %s' % {
            k: v.get('median_ms') for k, v in
            bench.report['images'].get('rows', {}).items()})


def replot(path):
    with open(path) as f:
        report = json.load(f)
    print_summary(report)
    print('chart: %s' % chart(report, path[:-len('.json')] + '.png'))


def main():
    args = parse_args()
    if args.replot:
        return replot(args.replot)
    skip = set(args.skip.split(','))
    setup_cinder()
    started = time.strftime('%Y%m%d-%H%M%S')
    host = get_host()
    bench = Bench(args, host)
    bench.log('test bed up (%s); driver set up' % (host.accel or '?'))
    bench.environment()
    bench.report.update(command='benchmarks/run ' + ' '.join(sys.argv[1:]),
                        started=started, operations=[])
    try:
        with bench.population(*(args.population or [0, 0])):
            run_sections(bench, args, skip)
    finally:
        bench.report['duration_s'] = time.monotonic() - T0
        bench.report['targets'] = check_targets(bench.report)
        os.makedirs(args.out, exist_ok=True)
        base = os.path.join(args.out, 'driver_ops-%s' % started)
        with open(base + '.json', 'w') as f:
            json.dump(bench.report, f, indent=1, default=str)
        try:
            png = chart(bench.report, base + '.png')
        except Exception as exc:  # a chart never costs the figures
            print('no chart: %s' % exc)
            png = None
        print_summary(bench.report)
        print('\nreport: %s.json%s'
              % (base, ('  chart: ' + png) if png else ''))


if __name__ == '__main__':
    main()
