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

"""Faults and soak (issue 17): what the driver survives, through the real
Cinder services on the ZFS test bed, with nothing lost and nothing left.

One test-bed VM and one all-in-one Cinder (stats every 10 s) for the
class. cinder-volume reaches the ZFS host's sshd through faults.Link, a
relay on 127.0.0.1 that can delay its bytes; nftables rules on the relay's
port cut the link without a FIN. The steps run in name order:

a. tgtd restarted while an initiator is logged in and writing;
b. sshd killed (-9, with its sessions) in the middle of an operation,
   started again 10 s later;
c. the SSH link cut (nft DROP both ways) in the middle of an operation,
   restored after CUT_SECONDS;
d. the wrapper's host lock held by a stuck process during an attach;
e. the pool full: create, clone, extend (thick type) and a write fail with
   a clear error, nothing half-made; all work once the space is free;
f. cinder-volume killed (-9) in the middle of an operation, restarted;
g. a slow link (200 ms each way, 1% of chunks stalled 1 s): a chain of
   every operation kind completes, attach within the RPC timeout;
h. the ZFS host reset hard (qemu system_reset) in the middle of an
   operation and of a write: records match the host, flushed data intact;
s. the soak: SOAK_CYCLES full cycles, SOAK_PARALLEL at a time (or until
   ZOL_SOAK_MINUTES), with the host's and cinder-volume's counts sampled
   every ZOL_SOAK_EVERY cycles as it goes;
z. everything deleted, nothing of the class left.

After each case, every record of the class is in a final state and the
host holds exactly what the records say (aio_checks.HostRecordsMixin's check:
zvols, snapshots, targets, the wrapper's state files). Each case adds a
row to the table (fault, operation in flight, outcome, data check,
leftovers), printed at the end and written to ZOL_FAULTS_TABLE if set.

An extend cut by the fault ('extending' after a kill: Cinder's start-up
clean-up does not cover extends; 'error_extending' after an sshd kill) is
recovered as an operator does: reset-state, then the same extend again,
which the driver accepts when ZFS already grew the zvol; the table says so.

CI runs one case per fault kind and a short soak. ZOL_FAULTS_FULL=1 (set by
``tools/run-tests --faults``) runs every operation kind per fault, image
copies in flight (the AIO then has Glance) and resets during a create,
delete, clone and snapshot; ZOL_FAULTS_KINDS=extend,to-image (say) keeps
it to those operation kinds;
ZOL_SOAK_CYCLES and ZOL_SOAK_PARALLEL size the soak. Run alone::

    OS_CINDER_DISABLE_EVENTLET_PATCHING=1 unshare --net -- tools/in-netns \\
        .tox/functional/bin/python -m testtools.run \\
        tests.functional.test_faults
"""

import concurrent.futures
import contextlib
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid

import testtools
from testtools import content
from testtools import matchers

from tests.functional import aio_checks
from tests.functional import cinder_aio
from tests.functional import faults
from tests.functional import test_cinder_e2e
from tests.functional import test_production_day as pd
from tests.functional import testbed

FULL = os.environ.get("ZOL_FAULTS_FULL") == "1"
ONLY_KINDS = [k for k in os.environ.get("ZOL_FAULTS_KINDS", "").split(",")
              if k]
SOAK_CYCLES = int(os.environ.get("ZOL_SOAK_CYCLES", "4"))
SOAK_PARALLEL = int(os.environ.get("ZOL_SOAK_PARALLEL", "2"))
# the soak stops after ZOL_SOAK_MINUTES too (0: no limit), and samples the
# host and cinder-volume every ZOL_SOAK_EVERY cycles (default a tenth)
SOAK_MINUTES = float(os.environ.get("ZOL_SOAK_MINUTES", "0"))
SOAK_EVERY = int(os.environ.get("ZOL_SOAK_EVERY", "0")) or max(
    1, SOAK_CYCLES // 10)
GiB = 1024 ** 3
IMAGE_MIB = 32                     # the raw image of the image cases
PREFIX = "ft-"
NOVA_API = "3.44"
SERVICE = "cinder-volume"
RPC_TIMEOUT = 120                  # the AIO's rpc_response_timeout
DEFAULTS = {"backend_stats_polling_interval": 10}
CUT_SECONDS = 30
FREE_MIB = 24                      # left free on the full pool (step e)
WRITE_MIB = 48                     # random bytes written to it
RESET_WAIT = 360                   # s for the guest to boot after a reset
SETTLE = 30                        # s: three stats periods
STUCK = 240                        # s in one transient status: stuck
LOCK_WAIT = 10                     # the wrapper's lock_wait for step d
WRAPPER_CONF = "/etc/cinder-zol/zfswrapper.conf"
STUCK_UNIT = "zol-faults-stuck-lock"
FINAL_VOLUME = ("available", "in-use", "error", "deleted")
# the operation kinds in flight; CI takes the first of each fault's list
KINDS = ("create", "clone", "snapshot", "extend", "attach", "detach",
         "delete")
# an image copy in flight (the full run only: the AIO has Glance then)
IMAGE_KINDS = ("from-image", "to-image")
VERB = {"create": "create_volume", "clone": "create_cloned_volume",
        "snapshot": "create_snapshot", "extend": "extend_volume",
        "attach": "create_export", "detach": "terminate_connection",
        "delete": "delete_volume"}
# the driver's line when an image copy starts: (regex, seconds to let the
# bytes flow before the fault)
IMAGE_LINE = {"from-image": (r"INFO zol_driver\.driver .*Copy image \S+ to "
                             r"volume %s\.", 3),
              "to-image": (r"INFO zol_driver\.driver .*Copy volume %s to "
                           r"image \S+\.", 3)}
INI = "iqn.2004-10.org.example:ft-compute-1"

TABLE = faults.Table()


def kinds(first, images=False, only=None):
    """The operation kinds of one fault: all with FULL, else one.

    images: the image copies too (FULL only); only: the full run's kinds
    of this fault, if not all. ZOL_FAULTS_KINDS (comma-separated) keeps
    the full run to those kinds, to run a piece of it again.
    """
    if not FULL:
        return (first,)
    chosen = only or ((first,) + tuple(k for k in KINDS if k != first) +
                      (IMAGE_KINDS if images else ()))
    return tuple(k for k in chosen if not ONLY_KINDS or k in ONLY_KINDS)


class FaultsTest(aio_checks.HostRecordsMixin, testtools.TestCase):
    """Steps a-z of the module docstring, in name order, one VM, one AIO."""

    aio = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host = testbed.get_host()
        why = faults.nft_problem()
        if why:
            raise testtools.TestCase.skipException(why)
        cls.link = faults.Link(cls.host.port)
        cls.addClassCleanup(cls.link.close)
        cls.addClassCleanup(faults.restore)
        # the relay's port needs its own known_hosts line
        fd, cls.known_hosts = tempfile.mkstemp(prefix="ft-known-hosts-")
        with open(cls.host.known_hosts) as f, os.fdopen(fd, "w") as out:
            out.write(f.read().replace("]:%d " % cls.host.port,
                                       "]:%d " % cls.link.port))
        cls.addClassCleanup(os.unlink, cls.known_hosts)
        backend = test_cinder_e2e.backend_conf(cls.host)
        backend.update(san_ssh_port=cls.link.port,
                       zol_ssh_known_hosts_file=cls.known_hosts)
        cls.datasets_before = set(cls.host.zfs_names())
        cls.targets_before = set(pd.parse_targets(cls.host.targets()))
        cls.files_before = cls._state_files(cls.host)
        # the full run's image copies need Glance (and so Keystone)
        cls.aio = cinder_aio.CinderAIOFixture(backend, defaults=DEFAULTS,
                                              glance=FULL)
        cls.aio.setUp()
        cls.addClassCleanup(cls.aio.cleanUp)
        cls.admin = cls.aio.client
        cls.nova = cls.aio.client_for(NOVA_API, ["service"])
        cls.image = cls._make_image() if FULL else None
        cls.addClassCleanup(cls._report)

    @classmethod
    def _glance(cls, method, path, **kw):
        sess = cls.admin.client.session
        return getattr(sess, method)(cls.aio.env["ZOL_AIO_GLANCE"] +
                                     "/v2/images" + path, **kw)

    @classmethod
    def _make_image(cls):
        """A raw image of IMAGE_MIB MiB of 0xa5 in Glance for the class."""
        image = cls._glance("post", "", json={
            "name": PREFIX + "image", "disk_format": "raw",
            "container_format": "bare", "visibility": "private"}).json()
        cls.addClassCleanup(cls._glance, "delete", "/" + image["id"],
                            raise_exc=False)
        cls._glance("put", "/%s/file" % image["id"],
                    data=b"\xa5" * (IMAGE_MIB << 20),
                    headers={"Content-Type": "application/octet-stream"})
        return image["id"]

    def image_status(self, image_id):
        resp = self._glance("get", "/" + image_id, raise_exc=False)
        if resp.status_code == 404:
            return "deleted", None
        body = resp.json()
        return body.get("status"), body.get("size")

    @classmethod
    def _report(cls):
        text = TABLE.render()
        sys.stderr.write("\n[faults] the table:\n%s\n" % text)
        path = os.environ.get("ZOL_FAULTS_TABLE")
        if path:
            with open(path, "w") as f:
                f.write(text + "\n")

    def setUp(self):
        super().setUp()
        self.step = self.id().rsplit(".", 1)[-1].split("_")[1]
        self.t0 = time.monotonic()
        self.log_from = self.aio.log_size(SERVICE)
        self.problems = []
        self.quiet = False
        self.resets = []
        self.service_killed = False
        self.addCleanup(self._step_done)

    def _step_done(self):
        self.say("step %s: %.1f s" % (self.step, time.monotonic() - self.t0))
        lines = self.aio.log_since(SERVICE, self.log_from)
        self.addDetail("cinder-volume-log-step-" + self.step,
                       content.text_content("\n".join(lines[-400:])))

    def say(self, text):
        sys.stderr.write("\n[faults] %s\n" % text)
        sys.stderr.flush()
        self.addDetail("note-%s" % uuid.uuid4().hex[:4],
                       content.text_content(text))

    def expect(self, ok, message):
        """A check that does not stop the step; counted as a leftover."""
        if not ok:
            self.problems.append(message)
        if not self.quiet:
            self.expectThat(bool(ok), matchers.Is(True),
                            "%s: %s" % (self.step, message))

    def records(self):
        vols = {v.id: v for v in self.admin.volumes.list()
                if (v.name or "").startswith(PREFIX)}
        snaps = {s.id: s for s in self.admin.volume_snapshots.list()
                 if s.volume_id in vols or (s.name or "").startswith(PREFIX)}
        return vols, snaps

    def leftovers(self, what, settle=SETTLE):
        """Host vs records; the table's leftovers cell.

        What the driver's stats period cleans (a stray target, a zvol
        Cinder deleted without it) may take a period or two: the check is
        repeated for up to settle seconds before its findings count.
        """
        deadline = time.monotonic() + settle
        while True:
            before = len(self.problems)
            self.quiet = True
            try:
                self.check_host_matches_records(what)
            finally:
                self.quiet = False
            found = self.problems[before:]
            del self.problems[before:]
            if not found or time.monotonic() > deadline:
                break
            time.sleep(5)
        for message in found:
            self.expect(False, message)
        cells = [m[len(what) + 2:] if m.startswith(what + ": ") else m
                 for m in found]
        return "none" if not found else "; ".join(cells)[:300]

    # ---- Cinder as an operator and Nova use it ----

    def wait(self, kind, obj_id, status, timeout=600):
        aio_checks.HostRecordsMixin.wait(self, self.admin, kind, obj_id,
                                         status, timeout)

    def final(self, kind, obj_id, timeout=600, stuck=None):
        """The status once it left every transient one ('deleted': gone).

        stuck: seconds after which a transient status that has not
        changed is returned as '<status> (stuck)' instead of waiting on.
        """
        manager = (self.admin.volumes if kind == "volume"
                   else self.admin.volume_snapshots)
        deadline = time.monotonic() + timeout
        status = None
        since = time.monotonic()
        while time.monotonic() < deadline:
            try:
                now = manager.get(obj_id).status
            except cinder_aio.cinder_exc.NotFound:
                return "deleted"
            if now != status:
                status, since = now, time.monotonic()
            if status.startswith("error") or (
                    status in FINAL_VOLUME and not status.endswith("ing")):
                return status
            if stuck and time.monotonic() - since > stuck:
                return "%s (stuck)" % status
            time.sleep(1)
        self.fail("%s %s still %s after %d s" % (kind, obj_id, status,
                                                 timeout))

    def create(self, size=1, wait=True, **kw):
        vol = self.admin.volumes.create(
            size, name=PREFIX + uuid.uuid4().hex[:8], **kw)
        if wait:
            self.wait("volume", vol.id, "available")
        return vol.id

    def attach(self, vol_id, wait=True):
        att = self.nova.attachments.create(
            vol_id, pd.connector(INI, "ft-compute-1"),
            instance_id=str(uuid.uuid4()))
        self.nova.attachments.complete(att["id"])
        if wait:
            self.wait("volume", vol_id, "in-use")
        return att["id"], att["connection_info"]

    def detach_all(self, vol_id):
        for att in self.admin.attachments.list(
                search_opts={"volume_id": vol_id}):
            self.nova.attachments.delete(att.id)

    def io(self, conn, *commands):
        """qemu-io as INI on the attachment: None or why it failed."""
        rc, out = pd.QemuIO(conn, INI).run(*commands)
        return pd.io_failed(rc, out)

    def delete(self, vol_id):
        """Delete (detached, --cascade) and wait until it is gone."""
        with contextlib.suppress(cinder_aio.cinder_exc.NotFound):
            self.detach_all(vol_id)
            status = self.admin.volumes.get(vol_id).status
            if status not in ("available", "error"):
                self.admin.volumes.reset_state(vol_id, "error")
            self.admin.volumes.delete(vol_id, cascade=True)
        self.wait("volume", vol_id, "deleted")

    # ---- the driver's log line: "now it is in the middle" ----

    def wait_driver_line(self, verb, obj_id, offset, timeout=180):
        """verb: the driver's verb, or a regex with %s for obj_id."""
        deadline = time.monotonic() + timeout
        pattern = re.compile(verb % obj_id) if "%s" in verb else None
        while time.monotonic() < deadline:
            for line in self.aio.log_since(SERVICE, offset):
                if pattern is not None:
                    if pattern.search(line):
                        return
                    continue
                m = aio_checks.DRIVER_LINE.search(line)
                if m and m.groups() == (verb, obj_id):
                    return
            time.sleep(0.05)
        self.fail("no '%s %s' in the driver's log within %d s"
                  % (verb, obj_id, timeout))

    # ---- one operation of a kind, started but not waited for ----

    def start_op(self, kind):
        """Prepare, start kind; returns (obj kind, id, verb id, finish)."""
        result = {}
        if kind == "create":
            vol = self.create(wait=False)
            return "volume", vol, vol, result
        if kind == "clone":
            src = self.create()
            vol = self.create(wait=False, source_volid=src)
            result["extra"] = [src]
            return "volume", vol, vol, result
        if kind == "from-image":
            vol = self.create(wait=False, imageRef=self.image)
            return "volume", vol, vol, result
        vol = self.create()
        if kind == "to-image":
            _resp, body = self.admin.volumes.upload_to_image(
                vol, False, PREFIX + uuid.uuid4().hex[:8], "bare", "raw",
                "private", False)
            result["image"] = body["os-volume_upload_image"]["image_id"]
            return "volume", vol, vol, result
        if kind == "snapshot":
            snap = self.admin.volume_snapshots.create(
                vol, name=PREFIX + uuid.uuid4().hex[:8])
            result["extra"] = [vol]
            return "snapshot", snap.id, snap.id, result
        if kind == "extend":
            self.admin.volumes.extend(vol, 2)
            return "volume", vol, vol, result
        if kind == "delete":
            self.admin.volumes.delete(vol)
            return "volume", vol, vol, result
        if kind == "detach":
            att, _conn = self.attach(vol)
            call = (lambda: self.nova.attachments.delete(att))
        else:  # attach
            def call():
                att = self.nova.attachments.create(
                    vol, pd.connector(INI, "ft-compute-1"),
                    instance_id=str(uuid.uuid4()))
                self.nova.attachments.complete(att["id"])

        def run():
            try:
                call()
                result["call"] = "ok"
            except Exception as exc:          # what Nova would see
                result["call"] = "%s: %s" % (type(exc).__name__,
                                             str(exc)[:120])
        result["thread"] = threading.Thread(target=run)
        result["thread"].start()
        return "volume", vol, vol, result

    def finish_op(self, kind, obj, obj_id, result):
        """Wait for the final state; Nova's rollback of a failed attach."""
        thread = result.get("thread")
        if thread is not None:
            thread.join(RPC_TIMEOUT + 180)
            self.expect(not thread.is_alive(), "%s call never returned"
                        % kind)
        if kind == "attach" and result.get("call") != "ok":
            # Nova deletes the attachment of a failed attach: until then
            # the volume stays reserved
            self.detach_all(obj_id)
        # Cinder's start-up clean-up covers neither extends nor uploads:
        # the driver names a volume left 'extending' or 'uploading' at
        # start-up; no need to wait for it to count as stuck then
        left = {"extend": "extending", "to-image": "uploading"}.get(kind)
        warned = left is not None and any(
            obj_id in ln and '"%s" at start-up' % left in ln
            for ln in self.aio.log_since(SERVICE, result["offset"]))
        status = self.final(obj, obj_id, stuck=10 if warned else STUCK)
        outcome = "%s %s" % (obj, status)
        if kind == "extend" and status in ("extending (stuck)",
                                           "error_extending"):
            # documented: the operator's recovery (doc/operations)
            outcome += ("%s; %s" % (" (the driver's start-up warning named "
                                    "it)" if warned else "",
                                    self.recover_extend(obj_id)))
        elif kind == "to-image" and warned and \
                status == "uploading (stuck)":
            # documented (doc/deployment.rst): reset-state, delete the
            # queued image (clean_op), upload again; the zvol was only read
            self.admin.volumes.reset_state(obj_id, "available")
            outcome += (" (the driver's start-up warning named it); "
                        "recovered by reset-state available: %s"
                        % self.final("volume", obj_id))
        elif status.endswith("(stuck)"):
            self.expect(False, "%s %s %s" % (obj, obj_id, status))
            if obj == "volume":
                self.admin.volumes.reset_state(obj_id, "error")
            else:
                self.admin.volume_snapshots.reset_state(obj_id, "error")
        if "call" in result:
            outcome += " (API call: %s)" % result["call"]
        if kind == "from-image" and status == "available":
            why = self.read_image_pattern(obj_id)
            result["data"] = ("%d MiB image read back: %s"
                              % (IMAGE_MIB, why or "intact"))
            self.expect(why is None, "volume from image: %s" % why)
        if kind == "to-image":
            image, size = self.image_status(result["image"])
            outcome += "; image %s" % image
            if image == "active":
                self.expect(size == GiB, "uploaded image of %s bytes"
                            % size)
                result["data"] = "image of %s bytes" % size
            elif self.service_killed and image in ("queued", "saving"):
                # Cinder deletes the image of an upload that fails, but
                # its start-up clean-up (uploading -> available) does not
                outcome += (" (Cinder's start-up clean-up leaves it; "
                            "deleted by hand)")
            else:
                self.expect(image in ("deleted", "killed"), "image "
                            "left %s" % image)
        return outcome

    def zvol_size(self, vol_id):
        return int(self.host.admin_ok("zfs get -Hp -o value volsize %s/"
                                      "volume-%s" % (self.host.parent,
                                                     vol_id)))

    def recover_extend(self, vol_id, size=2):
        """The operator's recovery of a cut extend: reset, extend again.

        The zvol may already have the new size (ZFS grew it, the service
        died before Cinder recorded it): the same extend is accepted.
        """
        before = self.zvol_size(vol_id)
        self.admin.volumes.reset_state(vol_id, "available")
        # the scheduler refuses an extend (back to 'available', the old
        # size, a user message) until the pool reports capacity again
        self.wait_schedulable()
        self.admin.volumes.extend(vol_id, size)
        deadline = time.monotonic() + 600
        while True:
            vol = self.admin.volumes.get(vol_id)
            if vol.size == size or vol.status.startswith("error") or \
                    time.monotonic() > deadline:
                break
            time.sleep(1)
        status = self.final("volume", vol_id)
        recorded = self.admin.volumes.get(vol_id).size
        after = self.zvol_size(vol_id)
        ok = status == "available" and recorded == size and \
            after == size * GiB
        self.expect(ok, "recovery of the extend of %s: %s, %s GiB, zvol "
                    "%d bytes" % (vol_id, status, recorded, after))
        return ("zvol had %d GiB; recovered by reset-state available + "
                "extend to %d GiB again: %s, %s GiB, zvol %s" % (
                    before // GiB, size, status, recorded,
                    "%d GiB" % (after // GiB) if after % GiB == 0
                    else "%d bytes" % after))

    def read_image_pattern(self, vol_id):
        """Attach, read the image's pattern, detach: None or why not."""
        att, conn = self.attach(vol_id)
        try:
            return self.io(conn, "read -P 0xa5 0 %dM" % IMAGE_MIB)
        finally:
            self._detach(vol_id, att)

    def clean_op(self, obj, obj_id, result):
        """Delete what the case made; the volumes go with their snapshots."""
        if result.get("image"):
            self._glance("delete", "/" + result["image"], raise_exc=False)
        vols = list(result.get("extra", []))
        if obj == "volume":
            vols.insert(0, obj_id)
        for vol in vols:
            self.delete(vol)

    def wait_no_stray_target(self, timeout=120):
        """A target an interrupted attach left goes within stats periods."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            vols, _snaps = self.records()
            in_use = {v for v, r in vols.items() if r.status == "in-use"}
            left = [t for t in pd.parse_targets(self.host.targets())
                    if t not in self.targets_before and
                    t.rsplit("volume-", 1)[-1] not in in_use]
            if not left:
                return
            time.sleep(5)

    def wait_schedulable(self, timeout=300):
        """Wait until the pool reports a capacity again: seconds waited.

        While the host cannot be listed the driver reports no capacity,
        so the scheduler sends nothing there until the next stats period
        after the host is back.
        """
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            for pool in self.admin.pools.list(detailed=True):
                caps = pool.to_dict().get("capabilities", {})
                total = caps.get("total_capacity_gb")
                if isinstance(total, (int, float)) and total > 0:
                    return time.monotonic() - t0
            time.sleep(2)
        self.fail("the pool reports no capacity %d s after the fault"
                  % timeout)

    def fault_case(self, fault, kind, inject, restore=None):
        """kind in flight, inject() at its driver line, restore(), check."""
        self.wait_schedulable()
        offset = self.aio.log_size(SERVICE)
        obj, obj_id, verb_id, result = self.start_op(kind)
        result["offset"] = offset
        t0 = time.monotonic()
        if kind in IMAGE_LINE:
            line, flow = IMAGE_LINE[kind]
            self.wait_driver_line(line, verb_id, offset, timeout=600)
            time.sleep(flow)
        else:
            self.wait_driver_line(VERB[kind], verb_id, offset)
        inject()
        if restore:
            restore()
        restored = time.monotonic()
        outcome = self.finish_op(kind, obj, obj_id, result)
        seconds = time.monotonic() - t0
        self.wait_schedulable()
        outcome += ", in %.0f s; schedulable again %.0f s after the " \
            "restore" % (seconds, time.monotonic() - restored)
        self.wait_no_stray_target()
        left = self.leftovers("%s during %s" % (fault, kind))
        self.clean_op(obj, obj_id, result)
        left_after = self.leftovers("%s during %s, cleaned" % (fault, kind))
        # the backend works again: the next case's operations prove it
        self.say("%s during %s: %s; leftovers %s, after clean-up %s"
                 % (fault, kind, outcome, left, left_after))
        TABLE.add(fault, kind, outcome,
                  result.get("data", "n/a (control path)"),
                  left if left == left_after
                  else "%s; after clean-up: %s" % (left, left_after))

    # ---- a. tgtd restarted under a writing initiator ----

    def test_a_tgtd_restart_while_writing(self):
        # the first step: the pool may not have reported capacity yet (the
        # CI run's first create went to error in 2 s, load average 20+)
        self.wait_schedulable()
        vol = self.create()
        att, conn = self.attach(vol)
        iqn = conn["target_iqn"]
        why = self.io(conn, "write -P 0x11 0 4M", "flush")
        self.assertIsNone(why, "the acknowledged write")
        before = pd.parse_targets(self.host.targets())[iqn]
        writer = {}

        def write():
            writer["rc"] = self.io(conn, *["write -P 0x22 %dM 1M" % (8 + i)
                                           for i in range(40)])
        thread = threading.Thread(target=write)
        thread.start()
        time.sleep(2)
        self.host.admin_ok("systemctl restart tgt")
        t0 = time.monotonic()
        after = None
        while time.monotonic() - t0 < 180:
            after = pd.parse_targets(self.host.targets()).get(iqn)
            if after:
                break
            time.sleep(2)
        back = time.monotonic() - t0
        thread.join(300)
        self.expect(after, "target %s not back within 180 s" % iqn)
        same = after and all(after[k] == before[k] for k in
                             ("tid", "luns", "acl", "accounts"))
        self.expect(same, "target facts before %s, after %s"
                    % (before, after))
        why = self.io(conn, "read -P 0x11 0 4M")
        self.expect(why is None, "after re-login: %s" % why)
        self.say("tgtd restart: target back in %.0f s; writer during it: "
                 "%s" % (back, writer.get("rc") or "no error"))
        self.nova.attachments.delete(att)
        self.wait("volume", vol, "available")
        left = self.leftovers("after the tgtd restart")
        self.delete(vol)
        TABLE.add("tgtd restarted", "attached, qemu-io writing",
                  "target back in %.0f s (%s); writer: %s" % (
                      back, "tid, LUN, ACL, CHAP as before" if same
                      else "CHANGED", "ok" if not writer.get("rc")
                      else "I/O error, reconnects after restore"),
                  "4 MiB acknowledged before: %s"
                  % ("intact" if why is None else "LOST"), left)

    # ---- b. sshd killed ----

    def kill_sshd(self):
        # systemd kills the sessions too (they are in ssh.service's
        # cgroup without PAM); the admin connection dies with them
        self.host.admin("systemd-run --no-block sh -c 'systemctl kill -s "
                        "KILL ssh.service; systemctl stop ssh.service; "
                        "sleep 10; systemctl start ssh.service'",
                        timeout=30)

    def wait_sshd(self):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(3)
            if self.host.boot_id():
                return
        self.fail("sshd not back within 120 s")

    def test_b_sshd_killed(self):
        for kind in kinds("create", images=True):
            self.fault_case("sshd killed -9, up 10 s later", kind,
                            self.kill_sshd, self.wait_sshd)

    # ---- c. the link cut without a FIN ----

    def test_c_link_cut(self):
        def cut():
            faults.cut(self.link.port)
            time.sleep(CUT_SECONDS)
            faults.restore()
        # each case waits out the cut: four kinds, not seven
        for kind in kinds("create", only=("create", "snapshot", "attach",
                                          "delete") + IMAGE_KINDS):
            self.fault_case("SSH link dropped %d s (nft DROP)" % CUT_SECONDS,
                            kind, cut)

    # ---- d. the wrapper's host lock held by a stuck process ----

    def test_d_lock_held(self):
        self.host.admin_ok("sed -i 's/^lock_wait = .*/lock_wait = %d/' %s"
                           % (LOCK_WAIT, WRAPPER_CONF))
        self.addCleanup(self.host.admin_ok,
                        "sed -i 's/^lock_wait = .*/lock_wait = 60/' %s"
                        % WRAPPER_CONF)
        vol = self.create()
        lock = self.host.admin_ok("sed -n 's/^lockfile *= *//p' %s"
                                  % WRAPPER_CONF).strip() or \
            "/var/lib/cinder-zol/targets/.lock"
        # a process of the wrapper's user, stuck while it holds the lock
        # (umask 077: a lock file it makes is one the wrapper trusts)
        self.host.admin_ok("systemd-run -p UMask=0077 --unit %s flock %s "
                           "sleep 3600" % (STUCK_UNIT, lock))
        self.addCleanup(self.host.admin, "systemctl stop " + STUCK_UNIT)
        offset = self.aio.log_size(SERVICE)
        t0 = time.monotonic()
        try:
            self.attach(vol)
            failed = None
        except Exception as exc:
            failed = "%s: %s" % (type(exc).__name__, str(exc)[:100])
        seconds = time.monotonic() - t0
        logged = [ln for ln in self.aio.log_since(SERVICE, offset)
                  if "not acquired in" in ln]
        self.expect(failed, "the attach worked while the lock was held")
        self.expect(logged, "no 'lock ... not acquired' in the log")
        message = (re.sub(r".*?(lock \S+ not acquired in \d+ s).*", r"\1",
                          logged[0]) if logged else "no message")
        self.detach_all(vol)
        self.wait("volume", vol, "available")
        self.host.admin_ok("systemctl stop " + STUCK_UNIT)
        att, conn = self.attach(vol)
        why = self.io(conn, "write -P 0x44 0 1M", "read -P 0x44 0 1M")
        self.expect(why is None, "I/O after the lock's release: %s" % why)
        self.nova.attachments.delete(att)
        self.wait("volume", vol, "available")
        left = self.leftovers("lock released, detached")
        self.delete(vol)
        self.say("lock held: attach failed after %.0f s (%s); log: %s"
                 % (seconds, failed, message))
        TABLE.add("wrapper lock held (lock_wait %d s)" % LOCK_WAIT,
                  "attach", "failed after %.0f s: %s; attached after "
                  "release" % (seconds, message),
                  "1 MiB written and read after release: %s"
                  % ("ok" if why is None else "FAILED"), left)

    # ---- e. the pool full ----

    def test_e_pool_full(self):
        thick = self.admin.volume_types.create(PREFIX + "thick")
        self.addCleanup(self.admin.volume_types.delete, thick)
        thick.set_keys({"zol:sparse": "False",
                        "volume_backend_name": "zol"})
        src = self.create(volume_type=thick.id)
        thin = self.create()
        att, conn = self.attach(thin)
        avail = int(self.host.admin_ok("zfs get -Hp -o value available "
                                       "tank"))
        fill = avail - FREE_MIB * 1024 * 1024
        fill -= fill % (1024 * 1024)
        # a file system's refreservation takes exactly that much
        self.host.admin_ok("zfs create -o refreservation=%d tank/ft-fill"
                           % fill)
        self.addCleanup(self.host.admin, "zfs destroy tank/ft-fill")
        self.say("pool filled: %d MiB reserved, %s left" % (
            fill >> 20, self.host.admin_ok(
                "zfs get -H -o value available tank").strip()))
        failures = {}
        made = [src, thin]
        self.addCleanup(self._delete_all, made)
        new = self.create(wait=False, volume_type=thick.id)
        made.append(new)
        failures["create"] = self.final("volume", new)
        clone = self.create(wait=False, volume_type=thick.id,
                            source_volid=src)
        made.append(clone)
        failures["clone"] = self.final("volume", clone)
        self.admin.volumes.extend(src, 2)
        time.sleep(5)
        failures["extend"] = "%s, size %d" % (
            self.final("volume", src), self.admin.volumes.get(src).size)
        # tgtd writes through the ZFS host's page cache: the pool's
        # refusal may come at the flush (SYNCHRONIZE CACHE), not the write
        # (random bytes: the pool compresses a fill pattern to nothing)
        noise = self.random_file(WRITE_MIB)
        write = "write -s %s 0 %dM" % (noise, WRITE_MIB)
        why = self.io(conn, write, "flush")
        failures["write"] = "ok" if not why else (
            "error at the flush" if "flush" in why.lower() else "error")
        self.say("on a full pool: %s; the write: %s" % (failures, why))
        if self.admin.volumes.get(src).status != "available":
            # an extend the pool refused: Cinder's error_extending, the
            # zvol as it was; an operator resets it
            self.admin.volumes.reset_state(src, "available")
        logged = [ln for ln in self.aio.log_since(SERVICE, self.log_from)
                  if "out of space" in ln.lower()]
        self.expect(failures["create"] == "error", "create on a full pool "
                    "is %s" % failures["create"])
        self.expect(failures["clone"] == "error", "thick clone on a full "
                    "pool is %s" % failures["clone"])
        self.expect(why, "a flushed %d MiB write to a full pool succeeded"
                    % WRITE_MIB)
        self.expect(logged, "no 'out of space' in the driver's log")
        half = [n for n in self.host.zfs_names()
                if new in n or clone in n]
        self.expect(not half, "half-made on a full pool: %s" % half)
        left = self.leftovers("pool full")
        self.host.admin_ok("zfs destroy tank/ft-fill")
        # everything works again (the test pool holds ~2.6 GiB: the thick
        # volumes of the full pool go first)
        for v in (new, clone, src):
            self.delete(v)
        again = self.create(volume_type=thick.id)
        made.append(again)
        again_clone = self.create(volume_type=thick.id, source_volid=again)
        made.append(again_clone)
        self.delete(again_clone)
        self._extend(again, 2)
        why2 = self.io(conn, write, "flush", "write -P 0x66 0 1M",
                       "read -P 0x66 0 1M")
        self.expect(why2 is None, "write after freeing: %s" % why2)
        self.nova.attachments.delete(att)
        self.wait("volume", thin, "available")
        for v in reversed(made):
            self.delete(v)
        left2 = self.leftovers("pool freed, all deleted")
        TABLE.add("pool full (%d MiB free)" % FREE_MIB,
                  "create, clone, extend (thick), a write (thin)",
                  "create %s, clone %s, extend %s, write %s; all work after "
                  "freeing" % (failures["create"], failures["clone"],
                               failures["extend"],
                               failures["write"]),
                  "%d MiB written, 1 MiB read back after freeing: %s"
                  % (WRITE_MIB, "ok" if why2 is None else "FAILED"),
                  left if left == left2 else "%s; after: %s" % (left, left2))

    def _delete_all(self, vols):
        """Clean-up after a failed step: nothing may pollute the next."""
        for vol in reversed(vols):
            with contextlib.suppress(Exception):
                self.delete(vol)

    def random_file(self, mib):
        """A file of mib MiB of random bytes, removed after the test."""
        fd, path = tempfile.mkstemp(prefix="ft-noise-")
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1024 * 1024))
        return path

    # ---- f. cinder-volume killed ----

    def test_f_volume_service_killed(self):
        def kill():
            self.service_killed = True
            self.aio.kill_service(SERVICE)

        def start():
            self.aio.start_service(SERVICE)
        for kind in kinds("delete", images=True):
            self.fault_case("cinder-volume kill -9, restarted", kind, kill,
                            start)

    # ---- g. a slow link ----

    def test_g_slow_link(self):
        self.link.slow(0.2, 0.01)
        self.addCleanup(self.link.slow, 0, 0)
        times = {}

        def timed(name, func, *args, **kw):
            t0 = time.monotonic()
            out = func(*args, **kw)
            times[name] = time.monotonic() - t0
            return out
        vol = timed("create", self.create)
        snap = timed("snapshot", self._snapshot, vol)
        clone = timed("clone", self.create, source_volid=vol)
        timed("extend", self._extend, clone, 2)
        att, conn = timed("attach", self.attach, clone)
        why = self.io(conn, "write -P 0x77 0 1M", "read -P 0x77 0 1M")
        self.expect(why is None, "I/O on the slow link: %s" % why)
        timed("detach", self._detach, clone, att)
        timed("delete", self.delete, clone)
        self.admin.volume_snapshots.delete(snap)
        self.wait("snapshot", snap, "deleted")
        self.delete(vol)
        self.expect(times["attach"] < RPC_TIMEOUT, "attach took %.0f s"
                    % times["attach"])
        left = self.leftovers("slow link")
        text = ", ".join("%s %.0f s" % kv for kv in times.items())
        self.say("slow link: %s" % text)
        TABLE.add("slow SSH link: +200 ms each way, 1% stalls of 1 s",
                  "create, snapshot, clone, extend, attach, detach, delete",
                  "all completed: %s (RPC timeout %d s)" % (text,
                                                            RPC_TIMEOUT),
                  "1 MiB written and read: %s"
                  % ("ok" if why is None else "FAILED"), left)

    def _snapshot(self, vol):
        snap = self.admin.volume_snapshots.create(
            vol, name=PREFIX + uuid.uuid4().hex[:8])
        self.wait("snapshot", snap.id, "available")
        return snap.id

    def _extend(self, vol, size):
        self.admin.volumes.extend(vol, size)
        deadline = time.monotonic() + 600
        while self.admin.volumes.get(vol).size != size:
            self.assertLess(time.monotonic(), deadline, "extend not done")
            time.sleep(1)
        self.wait("volume", vol, "available")

    def _detach(self, vol, att):
        self.nova.attachments.delete(att)
        self.wait("volume", vol, "available")

    # ---- h. the ZFS host reset hard ----

    def reset_host(self):
        """system_reset; again if the guest hangs in its boot (TCG).

        Under software emulation on a loaded machine a guest now and then
        hangs early in its boot (soft lockups on the console); an operator
        power-cycles it again, and so does this, at most twice more.
        """
        before = self.host.boot_id()
        for attempt in range(3):
            faults.hmp(self.host.statedir, "system_reset")
            deadline = time.monotonic() + RESET_WAIT
            while time.monotonic() < deadline:
                now = self.host.boot_id()
                if now not in (None, before):
                    self.host.admin("systemctl is-system-running --wait",
                                    timeout=600)
                    self.resets.append(attempt + 1)
                    return
                time.sleep(5)
            self.say("guest not back %d s after system_reset" % RESET_WAIT)
        self.fail("the guest is not back after three system_resets")

    def test_h_host_reset_during_write(self):
        vol = self.create()
        att, conn = self.attach(vol)
        iqn = conn["target_iqn"]
        why = self.io(conn, "write -P 0x88 0 8M", "flush")
        self.assertIsNone(why, "the acknowledged write")
        writer = threading.Thread(target=self.io, args=(conn,) + tuple(
            "write -P 0x99 %dM 1M" % (16 + i) for i in range(40)))
        writer.start()
        time.sleep(2)
        t0 = time.monotonic()
        self.reset_host()
        back = time.monotonic() - t0
        writer.join(300)
        deadline = time.monotonic() + 180
        while iqn not in pd.parse_targets(self.host.targets()):
            self.assertLess(time.monotonic(), deadline,
                            "target not restored after the reset")
            time.sleep(3)
        why = self.io(conn, "read -P 0x88 0 8M")
        self.expect(why is None, "flushed data after the reset: %s" % why)
        self.nova.attachments.delete(att)
        self.wait("volume", vol, "available")
        left = self.leftovers("reset during a write")
        self.delete(vol)
        TABLE.add("ZFS host reset (system_reset)", "attached, qemu-io "
                  "writing", "host back in %.0f s (%d system_reset), target "
                  "restored, volume in-use" % (back, self.resets[-1]),
                  "8 MiB flushed before: %s" % ("intact" if why is None
                                                else "LOST"), left)

    def test_h_host_reset_in_flight(self):
        if not FULL:
            self.skipTest("a second guest reset: ZOL_FAULTS_FULL=1 only "
                          "(tools/run-tests --faults)")
        for kind in kinds("create", only=("create", "delete", "clone",
                                          "snapshot")):
            self.fault_case("ZFS host reset (system_reset)", kind,
                            self.reset_host)

    # ---- s. the soak ----

    def cycle(self, n):
        """One cycle: create, attach, I/O, detach, snapshot, clone, delete.

        A cycle that fails deletes what it made, so that one failure does
        not hold volumes (and quota) for the rest of the soak.
        """
        made = []
        try:
            self._cycle(n, made)
        except Exception:
            for vol in reversed(made):
                with contextlib.suppress(Exception):
                    self.delete(vol)
            raise

    def _cycle(self, n, made):
        vol = self.create(wait=False)
        made.append(vol)
        self.wait("volume", vol, "available")
        att, conn = self.attach(vol)
        self.expect(conn.get("auth_method") == "CHAP", "no CHAP")
        pattern = "0x%02x" % (n % 200 + 16)
        why = self.io(conn, "write -P %s 0 1M" % pattern,
                      "read -P %s 0 1M" % pattern)
        if why:
            raise AssertionError("cycle %d I/O: %s" % (n, why))
        self._detach(vol, att)
        snap = self._snapshot(vol)
        clone = self.create(wait=False, source_volid=vol)
        made.append(clone)
        self.wait("volume", clone, "available")
        self.admin.volumes.delete(clone)
        self.wait("volume", clone, "deleted")
        self.admin.volume_snapshots.delete(snap)
        self.wait("snapshot", snap, "deleted")
        self.admin.volumes.delete(vol)
        self.wait("volume", vol, "deleted")

    def sample(self, done):
        parent = self.host.parent
        zfs = self.host.admin_ok("zfs list -H -o name -r -t all " + parent)
        names = [n for n in zfs.split() if n not in self.datasets_before]
        accounts = self.host.admin_ok("tgtadm --lld iscsi --op show "
                                      "--mode account")
        sshd = self.host.admin_ok("pgrep -c -x sshd; true").strip()
        with open(os.path.join(self.aio.env["ZOL_AIO_RUNDIR"],
                               "run.json")) as f:
            pid = json.load(f)["pids"][SERVICE]
        fds, rss = faults.fds_and_rss(faults.process_tree(pid))
        return {"cycles": done,
                "zvols": sum("@" not in n for n in names),
                "snapshots": sum("@" in n for n in names),
                "targets": len(set(pd.parse_targets(self.host.targets())) -
                               self.targets_before),
                "accounts": len([ln for ln in accounts.splitlines()[1:]
                                 if ln.strip()]),
                "state files": len(self._state_files(self.host) -
                                   self.files_before),
                "ssh conns": self.link.connections,
                "guest sshd": int(sshd or 0),
                "fds": fds, "rss MiB": rss // 1024}

    def _save_samples(self, samples):
        path = os.environ.get("ZOL_SOAK_SAMPLES")
        if path:
            with open(path, "w") as f:
                json.dump(samples, f, indent=1)

    def test_s_soak(self):
        """SOAK_CYCLES cycles, or fewer if SOAK_MINUTES runs out first.

        Each sample is printed and saved (ZOL_SOAK_SAMPLES) as it is
        taken, so a long soak can be watched and cut short.
        """
        # each cycle holds two volumes and a snapshot at once: 8 at a time
        # pass Cinder's default quotas (10 each; HTTP 413 for the rest)
        project = self.admin.client.session.get_project_id()
        self.admin.quotas.update(project, volumes=-1, snapshots=-1,
                                 gigabytes=-1)
        self.addCleanup(self.admin.quotas.delete, project)
        samples = [dict(self.sample(0), minutes=0.0)]
        errors = []
        started = [0]
        done = [0]
        lock = threading.Lock()
        t0 = time.monotonic()
        deadline = t0 + SOAK_MINUTES * 60 if SOAK_MINUTES else None

        def worker():
            while True:
                with lock:
                    n = started[0]
                    if n >= SOAK_CYCLES or (deadline and
                                            time.monotonic() > deadline):
                        return
                    started[0] += 1
                try:
                    self.cycle(n)
                except Exception as exc:
                    with lock:
                        errors.append("cycle %d: %s: %s" % (
                            n, type(exc).__name__, str(exc)[:200]))
                with lock:
                    done[0] += 1
                    take = done[0] % SOAK_EVERY == 0 and done[0]
                if take:
                    s = dict(self.sample(take), minutes=round(
                        (time.monotonic() - t0) / 60, 1))
                    sys.stderr.write("\n[faults] soak sample: %s, %d "
                                     "errors\n" % (s, len(errors)))
                    with lock:
                        samples.append(s)
                        self._save_samples(samples)
        with concurrent.futures.ThreadPoolExecutor(SOAK_PARALLEL) as pool:
            for f in [pool.submit(worker) for _ in range(SOAK_PARALLEL)]:
                f.result()
        minutes = (time.monotonic() - t0) / 60
        cycles = done[0]
        samples.append(dict(self.sample(cycles), minutes=round(minutes, 1)))
        keys = list(samples[0])
        lines = ["  ".join("%s=%s" % (k, s[k]) for k in keys)
                 for s in samples]
        self.say("soak: %d cycles x %d parallel in %.1f min (%.1f "
                 "cycles/min), %d errors\n%s"
                 % (cycles, SOAK_PARALLEL, minutes,
                    cycles / max(minutes, 1e-9), len(errors),
                    "\n".join(lines)))
        self._save_samples(samples)
        self.expect(not errors, "soak errors:\n" + "\n".join(errors))
        first, last = samples[min(1, len(samples) - 1)], samples[-1]
        growth = ", ".join("%s %s->%s" % (k, first[k], last[k])
                           for k in keys[1:] if k != "minutes")
        left = self.leftovers("after the soak")
        TABLE.add("none (soak)", "%d cycles x %d parallel (create, attach "
                  "CHAP, write+verify, detach, snapshot, clone, delete)"
                  % (cycles, SOAK_PARALLEL),
                  "%d errors in %.1f min (%d cycles); from sample 1 to "
                  "the end: %s" % (len(errors), minutes, cycles, growth),
                  "1 MiB pattern per cycle verified", left)

    # ---- z. nothing left ----

    def test_z_nothing_left(self):
        vols, _snaps = self.records()
        for vol in vols:
            self.delete(vol)
        left = self.leftovers("everything deleted")
        names = sorted(set(self.host.zfs_names()) - self.datasets_before)
        self.expect(not names, "left under the parent: %s" % names)
        self.say("nothing left: %s" % left)
