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

"""Issue 20: the replication engine between the two test-bed hosts.

zol_driver.replication.Replicator from host 1's tank/cinder to host 2's
tank/cinder (``testbed --instance 2``, which CI starts for test_two_hosts
anyway), over the driver's key and the real wrapper 1.6.0: a seed, data
written, a sync (the replica's BLAKE2b read on host 2 equals the
primary's, read on host 1), a sync cut midway and resumed from the real
receive token, a promote on host 2 (the data of the last sync, not what
host 1 wrote after it), then the fail-back shape: data written on host 2,
host 1's copy demoted, Replicator(host 2, host 1) syncs it back without a
full copy. And what zfs itself refuses through ``zvol-recv-incr`` on the
real host: a full stream into the replica, a stream whose base is not the
replica's newest snapshot, a replica changed since its snapshot, a zvol
that does not exist; each leaves the replica as it was. A delete of
either side is not blocked by the zol-repl snapshots. Small zvols
(24 MiB, 4 MiB written at a time) keep it cheap under emulation.
"""

import time
import uuid

from oslo_concurrency import processutils
import testtools
from testtools import content

from tests.functional import test_transfer
from tests.functional import testbed
from zol_driver import replication
from zol_driver import transfer

MiB = 1 << 20


class ReplicationBetweenTwoHosts(testtools.TestCase):
    """Host 1's tank/cinder -> host 2's tank/cinder, two SSH transports."""

    def setUp(self):
        super().setUp()
        self.h1 = testbed.get_host()             # SkipTest when unavailable
        self.h2 = testbed.get_second_host()
        self.name = "volume-repl-%s" % uuid.uuid4().hex[:8]
        self.p1, self.p2 = test_transfer.driver_ends(self, self.name)
        self.dev1 = "/dev/zvol/%s/%s" % (self.h1.parent, self.name)
        self.dev2 = "/dev/zvol/%s/%s" % (self.h2.parent, self.name)
        # thick, with a user property and a local native one to carry over
        self.h1.admin_ok(
            "zfs create -V %d -o compression=lz4 -o zol:cinder_id=c1d %s/%s "
            "&& udevadm settle && dd if=/dev/urandom of=%s bs=1M count=4 "
            "seek=0 conv=fsync status=none"
            % (24 * MiB, self.h1.parent, self.name, self.dev1), timeout=300)
        self.started = time.monotonic()

    def write(self, host, dev, seek, count=4):
        host.admin_ok("dd if=/dev/urandom of=%s bs=1M count=%d seek=%d "
                      "conv=fsync status=none" % (dev, count, seek),
                      timeout=300)

    def sum(self, host):
        out, _err = host.executor("zvol-sum", host.full(self.name),
                                  timeout=600)
        return out.strip()

    def snaps(self, p):
        """The zvol and its snapshots: name, readonly, resume token."""
        rows = p.list(self.name, fields=("name", "readonly",
                                         "receive_resume_token"),
                      types=("volume", "snapshot"), depth=1)
        return ["\t".join((r["name"], r["readonly"] or "-",
                           r["receive_resume_token"] or "-"))
                for r in rows]

    def test_seed_sync_resume_promote_and_fail_back(self):
        rep = replication.Replicator(self.p1, self.p2)
        stats = rep.seed(self.name)
        # the 4 MiB written crossed, not the 64 MiB zvol
        self.assertLess(stats.bytes, 8 * MiB)
        vol1, vol2 = (p.full(self.name) for p in (self.p1, self.p2))
        self.assertEqual(
            ["%s\toff\t-" % vol1, "%s@zol-repl-1\t-\t-" % vol1],
            self.snaps(self.p1))
        self.assertEqual(
            ["%s\ton\t-" % vol2, "%s@zol-repl-1\t-\t-" % vol2],
            self.snaps(self.p2))
        got = self.p2.get(self.name, ("compression", "zol:cinder_id",
                                      "refreservation", "volsize"))
        self.assertEqual("lz4", got["compression"])
        self.assertEqual("c1d", got["zol:cinder_id"])
        self.assertEqual(24 * MiB, got["volsize"])
        self.assertGreaterEqual(got["refreservation"], 24 * MiB,
                                "a thick zvol's replica stays thick")
        self.assertEqual(self.sum(self.p1), self.sum(self.p2))

        # more data, an incremental
        self.write(self.h1, self.dev1, 4)
        rep.sync(self.name)
        want = self.sum(self.p1)
        self.assertEqual(want, self.sum(self.p2))
        self.assertEqual(["%s@zol-repl-2\t-\t-" % vol1], self.snaps(
            self.p1)[1:])
        self.assertEqual(["%s@zol-repl-2\t-\t-" % vol2], self.snaps(
            self.p2)[1:])
        status = rep.status(self.name)
        self.assertEqual("zol-repl-2", status["common"])
        self.assertLess(abs(time.time() - status["created"]), 600)

        # an incremental cut after 2 MiB: resumed from the token
        self.write(self.h1, self.dev1, 8)
        rep._fault = test_transfer.cut_after(2 * MiB)
        stats = rep.sync(self.name)
        rep._fault = None
        self.assertEqual(1, stats.resumed)
        self.assertGreater(stats.bytes, 4 * MiB)
        synced = self.sum(self.p1)
        self.assertEqual(synced, self.sum(self.p2))
        self.assertEqual(["%s@zol-repl-3\t-\t-" % vol2], self.snaps(
            self.p2)[1:])

        # host 1 writes after the last sync, then is "lost": promote
        self.write(self.h1, self.dev1, 12)
        self.assertEqual("zol-repl-3", rep.promote(self.name))
        self.assertEqual(["%s\toff\t-" % vol2], self.snaps(self.p2)[:1])
        self.assertEqual(synced, self.sum(self.p2),
                         "the promoted replica holds the last sync")

        # fail-back: host 2 is live and written; host 1's copy is demoted
        # and brought up to date from host 2, incrementally
        self.write(self.h2, self.dev2, 16)
        back = replication.Replicator(self.p2, self.p1)
        back.demote(self.name)
        self.assertEqual(synced, self.sum(self.p1),
                         "host 1's copy rolled back to the common snapshot")
        stats = back.sync(self.name)
        self.assertLess(stats.bytes, 10 * MiB, "no full copy")
        self.assertEqual(self.sum(self.p2), self.sum(self.p1))
        self.assertEqual(["%s\ton\t-" % vol1, "%s@zol-repl-4\t-\t-" % vol1],
                         self.snaps(self.p1))
        self.addDetail("seconds", content.text_content(
            "%.1f" % (time.monotonic() - self.started)))

    def test_zfs_refuses_what_would_overwrite_a_replica(self):
        rep = replication.Replicator(self.p1, self.p2)
        rep.seed(self.name)
        before = self.snaps(self.p2)
        want = self.sum(self.p2)
        engine = transfer.ZvolTransfer(self.p1, self.p2, resumes=0,
                                       verify=False)
        full = self.p1.full(self.name)

        def refused(send, needle):
            exc = self.assertRaises(
                transfer.TransferError, engine.stream, send, self.name,
                "test", recv="zvol-recv-incr", keep_dst=True)
            self.assertIn(needle, str(exc))
            self.assertIn("zvol-recv-incr: %s is unchanged"
                          % self.p2.full(self.name), str(exc))
            self.assertEqual(before, self.snaps(self.p2))

        # a full stream into the existing replica (no -F: zfs refuses)
        refused(["zvol-send", full + "@zol-repl-1"], "exists")
        # an incremental whose base the replica does not have
        self.h1.admin_ok("zfs snapshot %s@x1 && zfs snapshot %s@x2"
                         % (full, full))
        refused(["zvol-send", "-i", full + "@x1", full + "@x2"],
                "most recent snapshot of")
        # the replica changed since its snapshot
        self.h2.admin_ok(
            "zfs set readonly=off {v} && udevadm settle && dd "
            "if=/dev/urandom of={d} bs=64K count=1 conv=fsync status=none "
            "&& zfs set readonly=on {v}".format(
                v=self.p2.full(self.name), d=self.dev2))
        self.h1.admin_ok("zfs snapshot %s@x3" % full)
        refused(["zvol-send", "-i", full + "@zol-repl-1", full + "@x3"],
                "has been modified")
        self.assertNotEqual(want, self.sum(self.p2), "the change is kept")
        # and a zvol that does not exist: the wrapper refuses before zfs
        exc = self.assertRaises(
            processutils.ProcessExecutionError, self.p2.executor.stream_to,
            ["zvol-recv-incr", self.p2.full(self.name + "-none")],
            _Bytes(b"x" * 1024))
        self.assertIn("does not exist: zvol-recv-incr updates an existing "
                      "zvol only", str(exc))
        # the zol-repl snapshots never block a delete (zfs destroy -r), on
        # either side
        self.assertEqual("destroyed", self.p1.delete_volume(self.name))
        rep.remove(self.name)
        rep.remove(self.name)                   # gone: fine
        self.assertFalse(self.p1.exists(self.name))
        self.assertFalse(self.p2.exists(self.name))


class _Bytes(object):
    def __init__(self, data):
        self.data = data

    def read(self, size):
        data, self.data = self.data[:size], self.data[size:]
        return data
