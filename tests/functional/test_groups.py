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

"""Volume groups with crash-consistent group snapshots (issue 21), through
the real Cinder services (tools/aio) and cinderclient's group API.

One test-bed VM and one all-in-one Cinder for the class. Groups are made
with cinderclient at microversion 3.71 (groups need 3.13, group snapshots
and create-from-src 3.14); attachments the way Nova makes them (3.44 with
the service role, as in test_production_day).

test_a: a group of three volumes of a consistent-snapshot group type
(group spec ``consistent_group_snapshot_enabled='<is> True'``), all three
attached as one compute host. One writer loops over the sequence numbers
n = 1, 2, ...: it writes n to volume 1, then to volume 2, then to volume
3, each write completed before the next is issued. A write is one command
on an open qemu-io session (interactive: qemu-io reads its commands from
stdin, one session logged in per volume with the connection info's
portal, IQN and CHAP): ``write -f -s FILE 0 512``, where FILE holds n as
an 8-byte big-endian counter and qemu-io repeats it over the 512-byte
sector (64 copies: a torn sector would show). ``-f`` is Force Unit
Access: the write is durable, not only in tgtd's page cache, before
qemu-io answers; a crash-consistent snapshot promises nothing about
writes still in a volatile cache.

While it runs the test takes SNAPSHOT_ROUNDS group snapshots and makes
a group from each (create-from-src with group_snapshot_id). It reads the
first sector of the three new volumes (the first new group of each kind
attached through Cinder and read over iSCSI, the others read from the
zvols on the ZFS host) and checks that the three counters fit one
instant of the write order: after P completed writes the volumes hold
(ceil(P/3), ceil((P-1)/3), floor(P/3)), i.e. (n,n,n), (n+1,n,n) or
(n+1,n+1,n); P is their sum. P must also lie between the writes
completed before the request and the writes issued when Cinder reported
the result available, and the writer must have made MIN_WRITES_DURING
writes in that time. On the ZFS host the members of a consistent group
snapshot have one ``createtxg``.

The negative control: with the same writer running, three separate
``zfs snapshot`` commands (the test bed's admin key, what a non-atomic
implementation would do) are cloned and read the same way; the check
must reject what they saw (up to CONTROL_TRIES tries), or it would prove
nothing.

Then SOURCE_ROUNDS groups from the source group itself (create-from-src
with source_group_id; the driver snapshots the sources at one instant
first), with the same check. Cinder accepts that only while the source
volumes are available, i.e. detached (cinder.volume.manager), so for this
part the writer goes on, with the same sequence, through targets the test
bed makes itself with raw tgtadm on the source zvols (tids 900+, CHAP).

Why the number of repetitions is enough: a non-atomic group snapshot is
three ``zfs snapshot`` commands, each ~0.2 s on this emulated host, so
its member snapshots are >= 0.2 s apart. The writer's rate is printed: in
the recorded runs 30-51 writes/s, i.e. 6-10 writes (two to three full
rounds) in 0.2 s, which moves a later member's counter at least 2 away
from an earlier one's: every single non-atomic snapshot fails the check,
deterministically rather than by chance (the negative control shows it on
this host: its three commands took 1.7 s, counters like (1147, 1150,
1151)). So SNAPSHOT_ROUNDS + SOURCE_ROUNDS = 6 checks, each of which
alone would catch it, leave a margin for slow moments of the writer
while keeping the test to about four to five minutes.

Deletes come in different orders: a group snapshot before the group made
from it (its clones keep the ZFS snapshot alive), the group made from a
snapshot before the snapshot, the last group snapshot while everything
else still exists, then the source group before the groups cloned from
it. Then nothing of the test may be left under the parent dataset and no
target of it in tgtd.

test_b: a group of a group type without the consistent spec takes Cinder's
generic path (the driver says NotImplementedError): the group snapshot
succeeds as per-volume snapshots (on the host: one snapshot per member,
in different transactions), a group is made from it, all is deleted and
nothing is left.

Run alone (it starts its own VM and AIO in the private namespace)::

    OS_CINDER_DISABLE_EVENTLET_PATCHING=1 unshare --net -- tools/in-netns \\
        .tox/functional/bin/python -m testtools.run \\
        tests.functional.test_groups
"""

import contextlib
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import testtools
from testtools import content
from testtools import matchers

from tests.functional import cinder_aio
from tests.functional import test_production_day as pday

BACKEND = "zol"
GROUP_API = "3.71"         # groups 3.13, group snapshots / from-src 3.14
NOVA_API = "3.44"
WRITER = "iqn.2004-10.org.example:grp-compute-1"
READER = "iqn.2004-10.org.example:grp-compute-2"
SNAPSHOT_ROUNDS = 4        # group snapshot -> group from it
SOURCE_ROUNDS = 2          # group from the source group
MIN_WRITES_DURING = 6      # two full rounds of the writer
CONTROL_TRIES = 3
SECTOR = 512
PROMPT = b"qemu-io> "
GROUP_WAIT = 300


def fits(triple):
    """The prefix length P whose state is this triple, or None."""
    p = sum(triple)
    expect = (-(-p // 3), -(-(p - 1) // 3), p // 3)
    return p if tuple(triple) == expect else None


def counter(sector_hex, what):
    """The 8-byte big-endian counter repeated over a sector (hex text)."""
    raw = bytes.fromhex(sector_hex)
    if len(raw) != SECTOR:
        raise AssertionError("%s: read %d bytes, not %d"
                             % (what, len(raw), SECTOR))
    copies = {raw[i:i + 8] for i in range(0, SECTOR, 8)}
    if len(copies) != 1:
        raise AssertionError("%s: torn sector, %d different 8-byte values: "
                             "%s" % (what, len(copies), sorted(
                                 c.hex() for c in copies)[:6]))
    return struct.unpack(">Q", copies.pop())[0]


class Console(pday.QemuIO):
    """An interactive qemu-io session: one command at a time.

    qemu-io prints its prompt (no newline, flushed) once the previous
    command has finished, so a command has completed when the prompt
    comes back.
    """

    def open(self, timeout=120):
        self.proc = subprocess.Popen(
            self._argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self.pattern = tempfile.NamedTemporaryFile(prefix="grp-n-",
                                                   delete=False)
        self.pattern.close()
        out = self._until_prompt(timeout)
        self._forget_secret()
        if not self.alive():
            raise AssertionError("qemu-io did not log in to %s: %s"
                                 % (self.conn["target_iqn"], out))
        return self

    def _until_prompt(self, timeout):
        buf = b""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while not buf.endswith(PROMPT):
            if time.monotonic() > deadline:
                raise AssertionError("qemu-io on %s: no prompt in %d s: %r"
                                     % (self.conn["target_iqn"], timeout,
                                        buf[-500:]))
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace")

    def command(self, line, timeout=120):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        return self._until_prompt(timeout)

    def write_counter(self, n):
        with open(self.pattern.name, "wb") as f:
            f.write(struct.pack(">Q", n))
        out = self.command("write -f -s %s 0 %d" % (self.pattern.name,
                                                    SECTOR))
        if "wrote %d/%d bytes" % (SECTOR, SECTOR) not in out:
            raise AssertionError("writing %d to %s: %s"
                                 % (n, self.conn["target_iqn"], out))

    def read_sector(self):
        out = self.command("read -v 0 %d" % SECTOR)
        rows = re.findall(r"^[0-9a-f]{8}:\s+((?:[0-9a-f]{2} ){1,16})", out,
                          re.M)
        return "".join(r.replace(" ", "") for r in rows)

    def close(self):
        if self.alive():
            with contextlib.suppress(Exception):
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(Exception):
            os.unlink(self.pattern.name)
        self._forget_secret()


class Writer(object):
    """n to volume 1, 2, 3, n+1 to 1, 2, 3, ... in a thread.

    completed: writes answered by qemu-io; issued: writes sent (at most
    one more than completed). Write k (from 0) writes k // 3 + 1 to
    volume k % 3.
    """

    def __init__(self, consoles, first=0):
        self.consoles = consoles
        self.first = first
        self.completed = first
        self.issued = first
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = None

    def start(self):
        self.started = time.monotonic()
        self._thread.start()

    def _run(self):
        try:
            while not self._stop.is_set():
                k = self.issued
                self.issued = k + 1
                self.consoles[k % 3].write_counter(k // 3 + 1)
                self.completed = k + 1
        except Exception as exc:  # reported by the test
            self.error = "writer stopped at write %d: %s" % (
                self.issued, exc)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=180)
        return time.monotonic() - self.started

    def check(self):
        if self.error:
            raise AssertionError(self.error)


class GroupsTest(testtools.TestCase):

    aio = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pday.start_aio_on_test_bed(cls)
        cls.admin = cls.aio.client_for(GROUP_API)
        cls.nova = cls.aio.client_for(NOVA_API, ["service"])
        cls.groups = []           # ids, for the cleanup after a failure
        cls.group_snapshots = []
        cls.attached = {}         # volume id -> attachment id
        cls.vtype = cls.admin.volume_types.create("grp-thin-%s"
                                                  % uuid.uuid4().hex[:6])
        cls.addClassCleanup(cls.admin.volume_types.delete, cls.vtype)
        cls.addClassCleanup(cls._leave_nothing)
        # 3 sources and up to 3 groups of 3 from them at once: more than
        # the default quota of 10 volumes
        project = cls.aio.env["OS_PROJECT_ID"]
        cls.admin.quotas.update(project, volumes=-1, snapshots=-1,
                                groups=-1, gigabytes=-1)
        cls.addClassCleanup(cls.admin.quotas.delete, project)
        cls.vtype.set_keys({"volume_backend_name": BACKEND,
                            "provisioning:type": "thin"})

    def setUp(self):
        super().setUp()
        self.log_from = self.aio.log_size("cinder-volume")
        self.addCleanup(self._log_detail)

    def _log_detail(self):
        lines = self.aio.log_since("cinder-volume", self.log_from)
        self.addDetail("cinder-volume-log", content.text_content(
            "\n".join(lines[-400:])))

    def note(self, text):
        sys.stderr.write("\n[groups] %s\n" % text)
        sys.stderr.flush()
        self.addDetail("note-%s" % uuid.uuid4().hex[:4],
                       content.text_content(text))

    def expect(self, ok, message):
        self.expectThat(bool(ok), matchers.Is(True), message)

    # ---- Cinder ----

    def group_type(self, name, specs):
        gtype = self.admin.group_types.create("%s-%s" % (
            name, uuid.uuid4().hex[:6]))
        self.addCleanup(self._quietly, self.admin.group_types.delete, gtype)
        if specs:
            gtype.set_keys(specs)
        return gtype

    @staticmethod
    def _quietly(func, *args):
        """A cleanup whose failure an earlier check has reported."""
        with contextlib.suppress(cinder_aio.cinder_exc.ClientException):
            func(*args)

    def wait_group(self, manager, obj_id, status, timeout=GROUP_WAIT):
        cinder_aio.wait_status(
            manager, "group %s" % obj_id, status, timeout,
            lambda: "; cinder-volume log:\n%s"
            % self.aio.logs("cinder-volume", lines=80))

    def make_group(self, gtype, count):
        group = self.admin.groups.create(gtype.id, self.vtype.id,
                                         name="grp-%s" % uuid.uuid4().hex[:6])
        self.groups.append(group.id)
        self.wait_group(self.admin.groups, group.id, "available")
        vols = []
        for i in range(count):
            vol = self.admin.volumes.create(
                1, name="grp-v%d-%s" % (i + 1, uuid.uuid4().hex[:6]),
                volume_type=self.vtype.id, group_id=group.id)
            vols.append(vol.id)
        for vol in vols:
            self.aio.wait_for_volume(vol, "available")
        return group.id, vols

    def group_volumes(self, group_id):
        return [v for v in self.admin.volumes.list(
            search_opts={"group_id": group_id}) if v.group_id == group_id]

    def snapshot_group(self, group_id):
        gs = self.admin.group_snapshots.create(
            group_id, name="grp-gs-%s" % uuid.uuid4().hex[:6])
        self.group_snapshots.append(gs.id)
        self.wait_group(self.admin.group_snapshots, gs.id, "available")
        return gs.id

    def group_from(self, group_snapshot=None, source_group=None):
        new = self.admin.groups.create_from_src(
            group_snapshot, source_group,
            name="grp-from-%s" % uuid.uuid4().hex[:6])
        self.groups.append(new["id"])
        self.wait_group(self.admin.groups, new["id"], "available")
        return new["id"]

    def delete_group(self, group_id):
        self.admin.groups.delete(group_id, delete_volumes=True)
        self.wait_group(self.admin.groups, group_id, "deleted")
        self.groups.remove(group_id)

    def delete_group_snapshot(self, gs_id):
        self.admin.group_snapshots.delete(gs_id)
        self.wait_group(self.admin.group_snapshots, gs_id, "deleted")
        self.group_snapshots.remove(gs_id)

    def attach(self, vol_id, initiator):
        att = self.nova.attachments.create(
            vol_id, pday.connector(initiator, initiator.rsplit(":", 1)[1]),
            instance_id=str(uuid.uuid4()))
        self.attached[vol_id] = att["id"]
        self.nova.attachments.complete(att["id"])
        self.aio.wait_for_volume(vol_id, "in-use")
        return att["connection_info"]

    def detach(self, vol_id):
        self.nova.attachments.delete(self.attached.pop(vol_id))
        self.aio.wait_for_volume(vol_id, "available")

    # ---- the ZFS host ----

    def zvol(self, vol_id):
        return "%s/volume-%s" % (self.host.parent, vol_id)

    def host_sectors(self, vol_ids):
        """The first sector of each zvol, read on the ZFS host (hex)."""
        script = ["udevadm settle"]
        for vol in vol_ids:
            dev = "/dev/zvol/" + self.zvol(vol)
            script.append(
                "for i in $(seq 100); do [ -e %s ] && break; sleep 0.2; "
                "done; dd if=%s bs=%d count=1 iflag=direct status=none | "
                "od -An -v -tx1 | tr -d ' \\n'; echo" % (dev, dev, SECTOR))
        sectors = self.host.admin_ok("\n".join(script)).split()
        self.assertEqual(len(vol_ids), len(sectors), "reading %s on the "
                         "host: %s" % (vol_ids, sectors))
        return sectors

    def iscsi_sectors(self, vol_ids):
        """Attach each as READER through Cinder, read over iSCSI, detach."""
        sectors = []
        for vol in vol_ids:
            conn = self.attach(vol, READER)
            console = Console(conn, READER).open()
            try:
                sectors.append(console.read_sector())
            finally:
                console.close()
                self.detach(vol)
        return sectors

    def export_out_of_band(self, vol_ids):
        """The test bed's own targets on the zvols: connection infos.

        Raw tgtadm with the test bed's admin key, on the zvols of available
        volumes, with CHAP, as Console takes them. Cinder creates a group
        from a source group only while its volumes are available
        (cinder.volume.manager), i.e. not attached through Cinder; the
        writer goes on through these instead. Tids from 900 up: the
        wrapper gives its targets the lowest free tids.
        """
        conns = []
        for i, vol in enumerate(vol_ids):
            tid = 900 + i
            iqn = "iqn.2004-10.org.example:grp-oob-%d-%s" % (
                i + 1, uuid.uuid4().hex[:6])
            chap = ("grpoob%d%s" % (i + 1, uuid.uuid4().hex[:6]),
                    uuid.uuid4().hex[:16])
            self.out_of_band.append((tid, chap[0]))
            self.host.export(tid, iqn, self.zvol(vol), chap=chap)
            conns.append({"target_portal": self.host.iscsi_portal,
                          "target_iqn": iqn, "target_lun": 1,
                          "auth_method": "CHAP", "auth_username": chap[0],
                          "auth_password": chap[1]})
        return conns

    def unexport_out_of_band(self):
        while self.out_of_band:
            tid, user = self.out_of_band.pop()
            rc, out, err = self.host.unexport(tid, user)
            self.expect(rc == 0, "removing the test bed's target %d: %s %s"
                        % (tid, out, err))

    def separate_snapshots(self, tag):
        """The negative control: what a NON-atomic group snapshot sees.

        Three ``zfs snapshot`` commands, one per source zvol in order 1,
        2, 3 (test bed's admin key), cloned outside the parent dataset
        and read on the host; all of it destroyed again. Returns the
        three counters and the seconds from the first snapshot command's
        start to the last one's end.
        """
        pool = self.host.parent.split("/")[0]
        snaps = ["%s@%s" % (self.zvol(v), tag) for v in self.sources]
        clones = ["%s/%s-%d" % (pool, tag, i + 1) for i in range(3)]
        destroy = "; ".join("zfs destroy %s" % d for d in clones + snaps)
        self.addCleanup(self.host.admin, destroy)
        script = ["set -e", "date +%s%N"]
        script += ["zfs snapshot " + snap for snap in snaps]
        script += ["date +%s%N", "udevadm settle"]
        for snap, clone in zip(snaps, clones):
            dev = "/dev/zvol/" + clone
            script.append(
                "zfs clone %s %s; udevadm settle; for i in $(seq 100); do "
                "[ -e %s ] && break; sleep 0.2; done; dd if=%s bs=%d "
                "count=1 iflag=direct status=none | od -An -v -tx1 | "
                "tr -d ' \\n'; echo" % (snap, clone, dev, dev, SECTOR))
        try:
            out = self.host.admin_ok("\n".join(script)).split()
        finally:
            self.host.admin_ok(destroy)
        seconds = (int(out[1]) - int(out[0])) / 1e9
        return tuple(counter(x, "%s volume %d" % (tag, i + 1))
                     for i, x in enumerate(out[2:])), seconds

    def createtxgs(self, snapshot_names):
        out = self.host.admin_ok("zfs get -H -p -o value createtxg "
                                 + " ".join(snapshot_names))
        return [int(x) for x in out.split()]

    def member_snapshots(self, gs_id):
        snaps = [s for s in self.admin.volume_snapshots.list(
            search_opts={"group_snapshot_id": gs_id})
            if s.group_snapshot_id == gs_id]
        return {s.volume_id: "%s@snapshot-%s" % (
            self.zvol(s.volume_id), s.id) for s in snaps}

    def expect_nothing_left(self, what):
        left = sorted(set(self.host.zfs_names()) - self.datasets_before)
        self.expect(not left, "%s: left under %s: %s"
                    % (what, self.host.parent, left))
        targets = pday.parse_targets(self.host.targets())
        left = sorted(set(targets) - self.targets_before)
        self.expect(not left, "%s: left in tgtd: %s"
                    % (what, {iqn: targets[iqn] for iqn in left}))

    # ---- the check ----

    def check_instant(self, label, new_group, origin_of, window, via):
        """The new group's three counters fit one instant in window."""
        vols = {v.id: v for v in self.group_volumes(new_group)}
        self.assertEqual(3, len(vols), "%s: new group %s has %s"
                         % (label, new_group, sorted(vols)))
        order = []
        for source in self.sources:
            mine = [vid for vid, v in vols.items() if origin_of(v) == source]
            self.assertEqual(1, len(mine), "%s: no single new volume from "
                             "%s: %s" % (label, source, mine))
            order.append(mine[0])
        if via == "iscsi":
            sectors = self.iscsi_sectors(order)
        else:
            sectors = self.host_sectors(order)
        triple = tuple(counter(s, "%s volume %d" % (label, i + 1))
                       for i, s in enumerate(sectors))
        p = fits(triple)
        lo, hi = window
        self.results.append((label, triple, hi - lo))
        self.note("%s: counters %s (read %s), writes %d..%d during the "
                  "request" % (label, triple, via, lo, hi))
        self.expect(p is not None, "%s: counters %s (volumes 1, 2, 3) fit "
                    "no instant of the write order (n,n,n / n+1,n,n / "
                    "n+1,n+1,n): the group snapshot was not atomic"
                    % (label, triple))
        if p is not None:
            self.expect(lo <= p <= hi, "%s: counters %s are the state "
                        "after %d writes, but %d were complete before the "
                        "request and %d issued when it was done"
                        % (label, triple, p, lo, hi))
        self.expect(hi - lo >= MIN_WRITES_DURING, "%s: the writer made "
                    "only %d writes while it was taken: this check could "
                    "not tell an atomic snapshot from three"
                    % (label, hi - lo))

    # ---- the tests ----

    def test_a_consistent_group_snapshots_while_writing(self):
        t0 = time.monotonic()
        gtype = self.group_type("grp-consistent", {
            "consistent_group_snapshot_enabled": "<is> True"})
        source, self.sources = self.make_group(gtype, 3)
        consoles = []
        for vol in self.sources:
            conn = self.attach(vol, WRITER)
            consoles.append(Console(conn, WRITER).open())
            self.addCleanup(consoles[-1].close)
        writer = Writer(consoles)
        writer.start()
        self.addCleanup(writer.stop)
        self.results = []
        kept = []               # (group snapshot, its group), deleted last

        for i in range(SNAPSHOT_ROUNDS):
            lo = writer.completed
            gs = self.snapshot_group(source)
            hi = writer.issued
            writer.check()
            snaps = self.member_snapshots(gs)
            txgs = self.createtxgs([snaps[v] for v in self.sources])
            self.expect(len(set(txgs)) == 1, "group snapshot %d: member "
                        "snapshots in transactions %s, not one" % (i, txgs))
            new = self.group_from(group_snapshot=gs)
            writer.check()
            self.check_instant(
                "group snapshot %d" % (i + 1), new,
                lambda v: self.admin.volume_snapshots.get(
                    v.snapshot_id).volume_id,
                (lo, hi), "iscsi" if i == 0 else "host")
            if i == SNAPSHOT_ROUNDS - 1:
                kept.append((gs, new))
            elif i % 2 == 0:    # the snapshot before the group made from it
                self.delete_group_snapshot(gs)
                self.delete_group(new)
            else:               # the group made from it first
                self.delete_group(new)
                self.delete_group_snapshot(gs)

        # The negative control: three separate snapshots while the same
        # writer runs must fail the same check, or it proves nothing.
        control = []
        for attempt in range(CONTROL_TRIES):
            triple, seconds = self.separate_snapshots(
                "grp-control-%s" % uuid.uuid4().hex[:6])
            writer.check()
            control.append((triple, seconds))
            if fits(triple) is None:
                break
        self.note("negative control, three separate zfs snapshot commands "
                  "(order 1, 2, 3): %s" % "; ".join(
                      "counters %s, snapshots spread over %.2f s, %s"
                      % (t, sec, "caught" if fits(t) is None else
                         "NOT caught") for t, sec in control))
        self.expect(fits(control[-1][0]) is None, "the check did not tell "
                    "three separate snapshots from an atomic one in %d "
                    "tries: %s" % (len(control), control))

        # Cinder makes a group from a source group only while the sources
        # are available: the writer goes on through the test bed's targets
        rate = [(writer.completed - writer.first, writer.stop())]
        writer.check()
        for console in consoles:
            console.close()
        for vol in self.sources:
            self.detach(vol)
        self.out_of_band = []
        self.addCleanup(self.unexport_out_of_band)
        consoles = []
        for conn in self.export_out_of_band(self.sources):
            consoles.append(Console(conn, WRITER).open())
            self.addCleanup(consoles[-1].close)
        writer = Writer(consoles, first=writer.completed)
        writer.start()
        self.addCleanup(writer.stop)

        from_source = []
        for j in range(SOURCE_ROUNDS):
            lo = writer.completed
            new = self.group_from(source_group=source)
            hi = writer.issued
            writer.check()
            from_source.append(new)
            self.check_instant(
                "group from the source group %d" % (j + 1), new,
                lambda v: v.source_volid, (lo, hi),
                "iscsi" if j == 0 else "host")

        rate.append((writer.completed - writer.first, writer.stop()))
        writer.check()
        for console in consoles:
            console.close()
        self.unexport_out_of_band()
        for what, (writes, seconds) in zip(
                ("through Cinder's targets", "through the test bed's"),
                rate):
            self.note("writer %s: %d writes in %.0f s (%.1f writes/s, "
                      "%.1f in 0.2 s)" % (what, writes, seconds,
                                          writes / seconds,
                                          writes / seconds * 0.2))
        self.note("counters seen: %s" % "; ".join(
            "%s %s (%d writes during)" % r for r in self.results))

        # the last group snapshot while its group and the source exist,
        # then the source group before the groups cloned from it
        gs, new = kept[0]
        self.delete_group_snapshot(gs)
        self.delete_group(source)
        self.delete_group(new)
        for new in from_source:
            self.delete_group(new)
        self.expect_nothing_left("consistent groups deleted")
        self.note("test_a took %.0f s" % (time.monotonic() - t0))

    def test_b_generic_group_type(self):
        t0 = time.monotonic()
        gtype = self.group_type("grp-generic", {})
        group, vols = self.make_group(gtype, 2)
        gs = self.snapshot_group(group)
        snaps = self.member_snapshots(gs)
        self.assertEqual(sorted(vols), sorted(snaps), snaps)
        names = set(self.host.zfs_names())
        missing = [s for s in snaps.values() if s not in names]
        self.expect(not missing, "generic group snapshot: not on the host: "
                    "%s" % missing)
        if not missing:
            txgs = self.createtxgs(list(snaps.values()))
            self.note("generic group snapshot: member snapshots in "
                      "transactions %s" % txgs)
            self.expect(len(set(txgs)) == len(txgs), "generic group "
                        "snapshot: members share a transaction %s: not "
                        "Cinder's per-volume path" % txgs)
        new = self.group_from(group_snapshot=gs)
        self.assertEqual(2, len(self.group_volumes(new)))
        self.delete_group(new)
        self.delete_group_snapshot(gs)
        self.delete_group(group)
        self.expect_nothing_left("generic group deleted")
        self.note("test_b took %.0f s" % (time.monotonic() - t0))

    # ---- class cleanup ----

    @classmethod
    def _leave_nothing(cls):
        """Best effort after a failed run: the VM may serve other tests."""
        for vol, att in list(cls.attached.items()):
            with contextlib.suppress(Exception):
                cls.nova.attachments.delete(att)
                cls.aio.wait_for_volume(vol, "available", timeout=120)
        for manager, ids, kwargs in (
                (cls.admin.group_snapshots, cls.group_snapshots, {}),
                (cls.admin.groups, cls.groups, {"delete_volumes": True})):
            for obj in reversed(ids):
                with contextlib.suppress(Exception):
                    manager.delete(obj, **kwargs)
            deadline = time.monotonic() + 300
            for obj in ids:
                with contextlib.suppress(Exception):
                    while time.monotonic() < deadline:
                        manager.get(obj)      # NotFound ends the wait
                        time.sleep(2)
