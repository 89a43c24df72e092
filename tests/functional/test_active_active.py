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

"""Active-active (issue 18): two cinder-volume services of one backend in
one Cinder cluster, against one ZFS host, through the real Cinder services.

One test-bed VM and one all-in-one Cinder for the class, started with
``--volume-services 2``: cinder-volume-1 (host aio-1) and cinder-volume-2
(host aio-2), ``cluster = aio-cluster``, coordination through a real etcd
(tooz's etcd3gw driver). Work for the cluster goes to the cluster's queue,
which both services consume: who did what is read from the driver's own
log line per call (``create_volume <id>``, ``create_export <id>``, ...) in
each service's log.

The steps run in name order and share the VM and the AIO:

a. a batch of mixed operations issued in parallel from several threads
   (see MIX): create, snapshot, clone, volume from snapshot, extend,
   attach/detach with a real iSCSI login and a data check (qemu-io with
   the attachment's CHAP and initiator, never discovery), deletes in
   different orders (an origin with --cascade while its snapshot has a
   clone, a source before its clone, a snapshot before the volume made
   from it). Both services must have done driver work;
b. kill -9 of the service that is in the middle of a create (its driver
   line logged, the zfs command on its way): the other one carries on (a
   create during the outage), the killed one is started again and
   Cinder's cleanup at its start puts the volume in a final state;
c. the same in the middle of a clone (the temporary snapshot of
   create_cloned_volume);
d. the same in the middle of an attach (create_export): the API call
   fails; Nova's answer to a failed attach is to delete the attachment;
   then the volume must attach and carry data again;
e. everything deleted: nothing of the class left under the parent, in
   tgtd or in the wrapper's state directory.

After every step: each Cinder record of the class is in a final state
(none creating/deleting/attaching/reserved...) and the ZFS host holds
exactly what the records say: the zvols and snapshots under the parent,
the targets in tgtd and the wrapper's state files in
/var/lib/cinder-zol/targets are compared with the records; a zvol or
snapshot no record owns is allowed only while a clone depends on it
(hidden until its last clone goes, as the driver's delete does). Run it
alone (it starts its own VM and AIO)::

    OS_CINDER_DISABLE_EVENTLET_PATCHING=1 unshare --net -- tools/in-netns \\
        .tox/functional/bin/python -m testtools.run \\
        tests.functional.test_active_active
"""

import collections
import concurrent.futures
import contextlib
import sys
import threading
import time
import uuid

import testtools
from testtools import content
from testtools import matchers

from tests.functional import aio_checks
from tests.functional import test_production_day as pd

NOVA_API = "3.44"
PREFIX = "aa-"                     # names of this class's volumes
# An attach whose service died never answers: the API gives up after
# rpc_response_timeout (120 s in the AIO); 60 s is still ample for a
# create_export under TCG while the batch runs.
# stats every 10 s: the driver's stats period removes what a killed
# attach left (a target of an available volume)
DEFAULTS = {"rpc_response_timeout": 60, "backend_stats_polling_interval": 10}
# The batch: chains of dependent operations, all chains in parallel.
# Operations per chain: attach 9, clone 5, snaps 6, tree 6 -> 40 in all.
MIX = ("attach", "attach", "clone", "clone", "snaps", "tree")
FINAL_VOLUME = aio_checks.FINAL_VOLUME
KILL_WAIT = 180            # s for a driver line naming the victim's object
DRIVER_LINE = aio_checks.DRIVER_LINE


def connector(initiator):
    return pd.connector(initiator, initiator.rsplit(":", 1)[-1])


class ActiveActiveTest(aio_checks.HostRecordsMixin, testtools.TestCase):
    """Steps a-e of the module docstring, in name order, one VM, one AIO."""

    aio = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pd.start_aio_on_test_bed(cls, defaults=DEFAULTS, volume_services=2)
        cls.files_before = cls._state_files(cls.host)
        cls.admin = cls.aio.client
        cls.services = sorted(cls.aio.volume_services)
        cls.ops = collections.Counter()        # operation -> times issued
        cls.did = collections.defaultdict(collections.Counter)
        cls.ops_lock = threading.Lock()
        cls.addClassCleanup(cls._leave_nothing)
        # step a's chains hold more than the default quota of 10 volumes
        # at once when they overlap (they did on an idle machine)
        project = cls.aio.env["OS_PROJECT_ID"]
        cls.admin.quotas.update(project, volumes=-1, snapshots=-1,
                                gigabytes=-1)
        cls.addClassCleanup(cls.admin.quotas.delete, project)

    def setUp(self):
        super().setUp()
        self.step = self.id().rsplit(".", 1)[-1].split("_")[1]
        self.t0 = time.monotonic()
        self.offsets = self.log_offsets()
        self.addCleanup(self._step_done)

    def _step_done(self):
        seconds = time.monotonic() - self.t0
        self.say("step %s: %.1f s" % (self.step, seconds))
        for name in self.services:
            lines = self.aio.log_since(name, self.offsets[name])
            self.addDetail("%s-log-step-%s" % (name, self.step),
                           content.text_content("\n".join(lines[-300:])))

    def say(self, text):
        sys.stderr.write("\n[active-active] %s\n" % text)
        sys.stderr.flush()
        self.addDetail("note-%s" % uuid.uuid4().hex[:4],
                       content.text_content(text))

    def expect(self, ok, message):
        self.expectThat(bool(ok), matchers.Is(True),
                        "%s: %s" % (self.step, message))

    # ---- who did what: each service's driver lines ----

    def log_offsets(self):
        return {name: self.aio.log_size(name) for name in self.services}

    def driver_lines(self, offsets):
        """{service: [(verb, object id)]} logged since offsets."""
        found = {}
        for name in self.services:
            found[name] = [m.groups() for m in map(
                DRIVER_LINE.search, self.aio.log_since(name, offsets[name]))
                if m]
        return found

    def wait_driver_line(self, verb, obj_id, offsets):
        """The service that logged '<verb> <obj_id>' first (bounded)."""
        deadline = time.monotonic() + KILL_WAIT
        while time.monotonic() < deadline:
            for name, lines in self.driver_lines(offsets).items():
                if (verb, obj_id) in lines:
                    return name
            time.sleep(0.05)
        self.fail("%s: no service logged '%s %s' within %d s"
                  % (self.step, verb, obj_id, KILL_WAIT))

    # ---- Cinder, as Nova and an operator use it ----

    def count(self, op):
        with self.ops_lock:
            self.ops[op] += 1

    def client(self):
        """A client of its own for each thread (an operator's version)."""
        return self.aio.client_for(self.aio.env["OS_VOLUME_API_VERSION"])

    def create(self, c, size=1, **kw):
        self.count("create" if not kw else "create from " + "/".join(kw))
        vol = c.volumes.create(size, name=PREFIX + uuid.uuid4().hex[:8],
                               **kw)
        self.wait(c, "volume", vol.id, "available")
        return vol.id

    def snapshot(self, c, vol_id):
        self.count("snapshot")
        snap = c.volume_snapshots.create(vol_id,
                                         name=PREFIX + uuid.uuid4().hex[:8])
        self.wait(c, "snapshot", snap.id, "available")
        return snap.id

    def extend(self, c, vol_id, size):
        self.count("extend")
        c.volumes.extend(vol_id, size)
        deadline = time.monotonic() + 600
        while c.volumes.get(vol_id).size != size:
            self.assertLess(time.monotonic(), deadline,
                            "extend of %s to %d GiB not done" % (vol_id, size))
            time.sleep(1)
        self.wait(c, "volume", vol_id, "available")

    def delete(self, c, vol_id, cascade=False):
        self.count("delete volume" + (" --cascade" if cascade else ""))
        c.volumes.delete(vol_id, cascade=cascade)
        self.wait(c, "volume", vol_id, "deleted")

    def delete_snapshot(self, c, snap_id):
        self.count("delete snapshot")
        c.volume_snapshots.delete(snap_id)
        self.wait(c, "snapshot", snap_id, "deleted")

    def attach(self, nova, vol_id, initiator):
        """attachment-create with the connector, then complete (Nova)."""
        self.count("attach")
        att = nova.attachments.create(vol_id, connector(initiator),
                                      instance_id=str(uuid.uuid4()))
        nova.attachments.complete(att["id"])
        self.wait(nova, "volume", vol_id, "in-use")
        return att["id"], att["connection_info"]

    def detach(self, nova, vol_id, att_id):
        self.count("detach")
        nova.attachments.delete(att_id)
        self.wait(nova, "volume", vol_id, "available")

    def io(self, conn, initiator, *commands):
        rc, out = pd.QemuIO(conn, initiator).run(*commands)
        why = pd.io_failed(rc, out)
        self.assertIsNone(why, "%s as %s on %s" % ("; ".join(commands),
                                                   initiator,
                                                   conn["target_iqn"]))

    # ---- the chains of the batch ----

    def chain_attach(self, n):
        """Data through a snapshot and a larger volume made from it."""
        c, nova = self.client(), self.aio.client_for(NOVA_API, ["service"])
        ini = "iqn.2004-10.org.example:aa-compute-%d" % n
        pattern = "0x%02x" % (0xa0 + n)
        vol = self.create(c)
        att, conn = self.attach(nova, vol, ini)
        self.io(conn, ini, "write -P %s 0 1M" % pattern,
                "read -P %s 0 1M" % pattern)
        self.detach(nova, vol, att)
        snap = self.snapshot(c, vol)
        big = self.create(c, 2, snapshot_id=snap)
        att, conn = self.attach(nova, big, ini)
        self.io(conn, ini, "read -P %s 0 1M" % pattern,
                "write -P 0x5a 1G 1M", "read -P 0x5a 1G 1M")
        self.detach(nova, big, att)
        # the origin first, with its snapshot, while that has a clone
        self.delete(c, vol, cascade=True)
        self.delete(c, big)

    def chain_clone(self, n):
        """A clone grown, its source deleted before it."""
        c = self.client()
        vol = self.create(c)
        clone = self.create(c, source_volid=vol)
        self.extend(c, clone, 2)
        self.delete(c, vol)
        self.delete(c, clone)

    def chain_snaps(self, n):
        """Two snapshots of a grown volume; one deleted, then --cascade."""
        c = self.client()
        vol = self.create(c)
        self.extend(c, vol, 2)
        first = self.snapshot(c, vol)
        self.snapshot(c, vol)
        self.delete_snapshot(c, first)
        self.delete(c, vol, cascade=True)

    def chain_tree(self, n):
        """A snapshot deleted before the volume made from it."""
        c = self.client()
        vol = self.create(c)
        snap = self.snapshot(c, vol)
        child = self.create(c, snapshot_id=snap)
        self.delete_snapshot(c, snap)
        self.delete(c, child)
        self.delete(c, vol)

    # ---- the ZFS host against the records (aio_checks) ----

    def records(self):
        vols = {v.id: v for v in self.admin.volumes.list()
                if (v.name or "").startswith(PREFIX)}
        snaps = {s.id: s for s in self.admin.volume_snapshots.list()
                 if s.volume_id in vols or
                 (s.name or "").startswith(PREFIX)}
        return vols, snaps

    # ---- the steps ----

    def test_a_parallel_mixed_batch(self):
        ops_before = sum(self.ops.values())
        offsets = self.log_offsets()
        chains = {"attach": self.chain_attach, "clone": self.chain_clone,
                  "snaps": self.chain_snaps, "tree": self.chain_tree}
        errors = []
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(len(MIX)) as pool:
            futures = {pool.submit(chains[kind], n): "%s-%d" % (kind, n)
                       for n, kind in enumerate(MIX)}
            for fut in concurrent.futures.as_completed(futures):
                exc = fut.exception()
                if exc is not None:
                    errors.append("%s: %s: %s" % (futures[fut],
                                                  type(exc).__name__, exc))
        issued = sum(self.ops.values()) - ops_before
        did = self.driver_lines(offsets)
        per_service = {name: collections.Counter(v for v, _id in lines)
                       for name, lines in did.items()}
        self.say("batch: %d operations in %d parallel chains in %.0f s, "
                 "%d chain errors; issued: %s"
                 % (issued, len(MIX), time.monotonic() - t0, len(errors),
                    dict(self.ops)))
        for name, verbs in sorted(per_service.items()):
            self.say("%s (%s) did %d driver calls: %s"
                     % (name, self.aio.volume_services[name],
                        sum(verbs.values()), dict(sorted(verbs.items()))))
        self.expect(not errors, "chains failed:\n" + "\n".join(errors))
        self.expect(issued >= 40, "only %d operations issued" % issued)
        for name, verbs in per_service.items():
            self.expect(verbs, "%s did no driver work in the batch" % name)
        self.check_host_matches_records("after the batch")

    def kill_in_the_middle(self, verb, obj_id, offsets):
        """kill -9 the service that logs '<verb> <obj_id>'; restart it.

        The other one carries on meanwhile. Returns (victim, survivor).
        """
        victim = self.wait_driver_line(verb, obj_id, offsets)
        self.aio.kill_service(victim)
        survivor = [n for n in self.services if n != victim][0]
        self.say("killed %s in the middle of %s %s"
                 % (victim, verb, obj_id))
        # the surviving service carries on: a create during the outage
        c = self.client()
        during = self.log_offsets()
        vol = self.create(c)
        who = [n for n, lines in self.driver_lines(during).items()
               if ("create_volume", vol) in lines]
        self.expect(who == [survivor], "the create during the outage was "
                    "done by %s, not by the survivor %s" % (who, survivor))
        self.delete(c, vol)
        t0 = time.monotonic()
        self.aio.start_service(victim)
        self.say("%s started again in %.0f s (Cinder's cleanup ran)"
                 % (victim, time.monotonic() - t0))
        return victim, survivor

    def test_b_kill_during_create(self):
        c = self.client()
        offsets = self.log_offsets()
        vol = c.volumes.create(1, name=PREFIX + "kill-create")
        self.count("create")
        self.kill_in_the_middle("create_volume", vol.id, offsets)
        status = self.final_status(c, vol.id)
        self.say("the volume of the killed create is %s; its zvol %s"
                 % (status, "exists" if self.has_zvol(vol.id) else
                    "does not exist"))
        self.check_host_matches_records("killed in a create")
        self.delete(c, vol.id)
        self.check_host_matches_records("killed create's volume deleted")

    def test_c_kill_during_clone(self):
        c = self.client()
        src = self.create(c)
        offsets = self.log_offsets()
        clone = c.volumes.create(1, name=PREFIX + "kill-clone",
                                 source_volid=src)
        self.count("create from source_volid")
        self.kill_in_the_middle("create_cloned_volume", clone.id, offsets)
        status = self.final_status(c, clone.id)
        tmp = [n for n in self.host.zfs_names()
               if n.endswith("@zol-clone-volume-" + clone.id)]
        self.say("the clone of the killed create is %s; its zvol %s; "
                 "temporary snapshot %s" % (
                     status, "exists" if self.has_zvol(clone.id) else
                     "does not exist", tmp or "absent"))
        self.check_host_matches_records("killed in a clone")
        self.delete(c, clone.id)
        self.check_host_matches_records("killed clone deleted")
        self.delete(c, src)
        self.check_host_matches_records("its source deleted")

    def test_d_kill_during_attach(self):
        c = self.client()
        nova = self.aio.client_for(NOVA_API, ["service"])
        ini = "iqn.2004-10.org.example:aa-compute-kill"
        vol = self.create(c)
        offsets = self.log_offsets()
        result = {}

        def attach():
            try:
                result["att"] = nova.attachments.create(
                    vol, connector(ini), instance_id=str(uuid.uuid4()))
            except Exception as exc:     # what Nova sees
                result["error"] = "%s: %s" % (type(exc).__name__, exc)
        self.count("attach")
        caller = threading.Thread(target=attach)
        caller.start()
        self.kill_in_the_middle("create_export", vol, offsets)
        caller.join(DEFAULTS["rpc_response_timeout"] + 120)
        self.assertFalse(caller.is_alive(), "the attach call never returned")
        self.say("the attach call of the killed service: %s"
                 % (result.get("error") or "succeeded"))
        # Nova: an attach that failed is rolled back, its attachment
        # deleted; one that succeeded is detached as usual
        for att in c.attachments.list(search_opts={"volume_id": vol}):
            self.say("attachment %s left %s; Nova deletes it"
                     % (att.id, att.status))
            self.count("detach")
            nova.attachments.delete(att.id)
        self.wait(c, "volume", vol, "available")
        # a target the killed attach made goes within a stats period or two
        deadline = time.monotonic() + 120
        while vol in str(pd.parse_targets(self.host.targets())) and \
                time.monotonic() < deadline:
            time.sleep(5)
        self.check_host_matches_records("killed in an attach, rolled back")
        # the volume attaches and carries data again
        att, conn = self.attach(nova, vol, ini)
        self.io(conn, ini, "write -P 0xd4 0 1M", "read -P 0xd4 0 1M")
        self.detach(nova, vol, att)
        self.check_host_matches_records("attached and detached again")
        self.delete(c, vol)

    def test_e_nothing_left(self):
        c = self.client()
        vols, _snaps = self.records()
        for vol in vols.values():
            self.delete(c, vol.id, cascade=True)
        self.check_host_matches_records("everything deleted")
        left = sorted(set(self.host.zfs_names()) - self.datasets_before)
        self.expect(not left, "left under %s: %s" % (self.host.parent, left))
        self.say("operations issued in all: %d %s"
                 % (sum(self.ops.values()), dict(self.ops)))

    # ---- helpers of the kill cases ----

    def final_status(self, c, vol_id, timeout=300):
        """The volume's status once it has left every transient state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = c.volumes.get(vol_id).status
            if status in FINAL_VOLUME:
                return status
            time.sleep(1)
        self.fail("%s: volume %s still %s %d s after the restart"
                  % (self.step, vol_id, status, timeout))

    def has_zvol(self, vol_id):
        return "%s/volume-%s" % (self.host.parent, vol_id) in \
            self.host.zfs_names()

    # ---- class cleanup ----

    @classmethod
    def _leave_nothing(cls):
        """Best effort after a failed run: the VM may serve other tests."""
        with contextlib.suppress(Exception):
            vols = [v for v in cls.admin.volumes.list()
                    if (v.name or "").startswith(PREFIX)]
            for vol in vols:
                with contextlib.suppress(Exception):
                    for att in cls.admin.attachments.list(
                            search_opts={"volume_id": vol.id}):
                        cls.aio.client_for(NOVA_API, ["service"]) \
                            .attachments.delete(att.id)
                    cls.admin.volumes.reset_state(vol.id, "available",
                                                  attach_status="detached")
                    cls.admin.volumes.delete(vol.id, cascade=True)
