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

"""Issue 19 through the real Cinder services, across two ZFS hosts.

One AIO, two backends of this driver on two test-bed VMs:

* [zol] on host 1 (``testbed`` instance 1) with two parents, so two
  Cinder pools: ``aio@zol#tank/cinder`` and ``aio@zol#tank/cinder2``;
* [zol2] on host 2 (``testbed --instance 2``), parent tank/cinder, with
  ``reserved_percentage = 50`` so that the capacity weigher puts every new
  untyped volume on host 1 (both VMs have the same 4 GiB pool).

Tests: ``cinder migrate`` host 1 -> host 2 and ``cinder retype
--migration-policy on-demand`` back; a pool-to-pool move inside [zol];
the migration of an attached volume, which Cinder 29 does not hand to the
driver (it needs Nova to swap the volume) and which must leave the volume
in use on its source with its data, and nothing on host 2. Data goes in
on the host (random bytes) and through iSCSI (a pattern), and is checked
the same two ways after each move.

Slow under emulation (two VMs, an AIO, five migrations; ~6 min): only with
``tools/run-tests --full`` (ZOL_TEMPEST_FULL=1).
"""

import os
import time
import uuid

import testtools
from testtools import content

from tests.functional import cinder_aio
from tests.functional import test_cinder_e2e
from tests.functional import testbed

MiB = test_cinder_e2e.MiB
FULL = os.environ.get("ZOL_TEMPEST_FULL") == "1"
DATA_MIB = 16
P1 = "tank/cinder"
P2 = "tank/cinder2"


class TwoHostMigrationTest(test_cinder_e2e.AIOVolumeHelpers,
                           testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not FULL:
            raise cls.skipException(
                "migration between two ZFS hosts through the real Cinder "
                "services (two VMs and an AIO, ~6 min under emulation): "
                "tools/run-tests --full (ZOL_TEMPEST_FULL=1)")
        cls.h1 = testbed.get_host()              # SkipTest when unavailable
        cls.h2 = testbed.get_second_host()
        conf1 = test_cinder_e2e.backend_conf(cls.h1)
        conf1["zol_parent_dataset"] = "%s, %s" % (P1, P2)
        conf1["zol_migration_verify"] = "false"
        conf2 = test_cinder_e2e.backend_conf(cls.h2)
        conf2["zol_migration_verify"] = "false"
        conf2["reserved_percentage"] = "50"
        cls.aio = cinder_aio.CinderAIOFixture(conf1, backend2=conf2)
        cls.aio.setUp()                          # SkipTest when unavailable
        cls.addClassCleanup(cls.aio.cleanUp)
        cls.client = cls.aio.client
        vtype = cls.client.volume_types.create("mig-h1-" +
                                               uuid.uuid4().hex[:6])
        vtype.set_keys({"volume_backend_name": "zol"})
        cls.addClassCleanup(cls.client.volume_types.delete, vtype)
        cls.type_h1 = vtype

    def setUp(self):
        super().setUp()
        self.addCleanup(self._no_errors_left)
        self.addOnException(self._attach_logs)

    # ---- where a volume is ----

    def _place(self, vol):
        """(ZFSHost, parent) of the volume's Cinder host string."""
        backend, pool = getattr(vol, "os-vol-host-attr:host").split(
            "@", 1)[1].split("#", 1)
        if backend == "zol":
            return self.h1, pool
        self.assertEqual("zol2", backend)
        return self.h2, P1

    def _names(self, host, vol_id):
        """Every dataset or snapshot of host's pool naming vol_id."""
        out = host.admin_ok("zfs list -H -o name -t all -r tank")
        return sorted(n for n in out.split() if vol_id in n)

    def _where(self, vol_id):
        return {"h1": self._names(self.h1, vol_id),
                "h2": self._names(self.h2, vol_id)}

    def _wait_migrated(self, vol_id, dest, timeout=900):
        deadline = time.monotonic() + timeout
        while True:
            vol = self.client.volumes.get(vol_id)
            status = getattr(vol, "migration_status", None)
            host = getattr(vol, "os-vol-host-attr:host", "")
            if status == "success" and host == dest and \
                    vol.status == "available":
                return vol
            if status == "error" or vol.status.startswith("error"):
                self.fail("migration of %s failed: %s/%s" % (
                    vol_id, vol.status, status))
            if time.monotonic() > deadline:
                self.fail("migration of %s not done in %ds: %s/%s at %s"
                          % (vol_id, timeout, vol.status, status, host))
            time.sleep(3)

    def _new_volume(self):
        vol = self.client.volumes.create(1, name="mig2-" +
                                         uuid.uuid4().hex[:8])
        self.addCleanup(self._delete_quietly, vol.id)
        vol = self.aio.wait_for_volume(vol.id, "available")
        host = getattr(vol, "os-vol-host-attr:host")
        # reserved_percentage on [zol2] makes host 1 the weigher's choice
        self.assertTrue(host.startswith("aio@zol#"), host)
        return vol

    # ---- data ----

    def _dev(self, vol):
        host, parent = self._place(vol)
        return host, "/dev/zvol/%s/volume-%s" % (parent, vol.id)

    def _head_sum(self, vol):
        host, dev = self._dev(vol)
        return host.admin_ok("head -c %d %s | sha256sum" % (
            DATA_MIB * MiB, dev), timeout=300).split()[0]

    def _fill(self, vol):
        """Random bytes at 0 (on the host), 0xa5 at 512 MiB (iSCSI)."""
        host, dev = self._dev(vol)
        # the node appears when udev gets to it (seconds under emulation)
        host.admin_ok("udevadm settle -t 60; for i in $(seq 150); do "
                      "[ -b %s ] && break; sleep 0.2; done; "
                      "dd if=/dev/urandom of=%s bs=1M count=%d conv=fsync "
                      "status=none" % (dev, dev, DATA_MIB), timeout=300)
        with self._attached(vol) as conn:
            self._write(conn, "0xa5", 512 * MiB, MiB)
        return self._head_sum(vol)

    def _verify(self, vol, head_sum):
        """Both parts read back; the iSCSI login goes to vol's host."""
        self.assertEqual(head_sum, self._head_sum(vol))
        host, _parent = self._place(vol)
        with self._attached(vol) as conn:
            self.assertEqual("127.0.0.1:%d" % host.iscsi_port,
                             conn["target_portal"])
            self._check(conn, "0xa5", 512 * MiB, MiB)
            self._check(conn, "0x00", 600 * MiB, MiB)

    def _log_since(self, offset):
        return "\n".join(self.aio.log_since("cinder-volume", offset))

    def _timed(self, name, t0):
        self.addDetail(name, content.text_content(
            "%.1f" % (time.monotonic() - t0)))

    # ---- tests ----

    def test_1_migrate_to_the_other_host_and_retype_back(self):
        vol = self._new_volume()
        _host, p_src = self._place(vol)
        head = self._fill(vol)
        dest = "aio@zol2#zol2"
        mark = self.aio.log_size("cinder-volume")
        t0 = time.monotonic()
        self.client.volumes.migrate_volume(vol, dest, False, False)
        vol = self._wait_migrated(vol.id, dest)
        self._timed("migrate-h1-h2-seconds", t0)
        self.assertIn("migrate_volume %s: %s/volume-%s -> %s/volume-%s"
                      % (vol.id, p_src, vol.id, P1, vol.id),
                      self._log_since(mark))
        # on host 2 only, no transfer snapshot anywhere, owner kept
        self.assertEqual({"h1": [], "h2": ["%s/volume-%s" % (P1, vol.id)]},
                         self._where(vol.id))
        self.assertEqual(vol.id, self.h2.admin_ok(
            "zfs get -H -o value zol:cinder_id %s/volume-%s"
            % (P1, vol.id)).strip())
        self.assertIsNone(getattr(vol, "os-vol-mig-status-attr:name_id",
                                  None))
        self._verify(vol, head)
        # retype to host 1's type, migrating on demand: the way back
        mark = self.aio.log_size("cinder-volume")
        t0 = time.monotonic()
        self.client.volumes.retype(vol, self.type_h1.id, "on-demand")
        deadline = time.monotonic() + 900
        while True:
            vol = self.client.volumes.get(vol.id)
            host = getattr(vol, "os-vol-host-attr:host")
            if host.startswith("aio@zol#") and vol.status == "available" \
                    and getattr(vol, "migration_status", None) == "success":
                break
            self.assertNotEqual("error",
                                getattr(vol, "migration_status", None))
            self.assertFalse(vol.status.startswith("error"), vol.status)
            self.assertLess(time.monotonic(), deadline,
                            "retype not done: %s/%s at %s" % (
                                vol.status,
                                getattr(vol, "migration_status", None),
                                host))
            time.sleep(3)
        self._timed("retype-h2-h1-seconds", t0)
        self.assertEqual(self.type_h1.name, vol.volume_type)
        _host, p_back = self._place(vol)
        self.assertIn("migrate_volume %s: %s/volume-%s -> %s/volume-%s"
                      % (vol.id, P1, vol.id, p_back, vol.id),
                      self._log_since(mark))
        self.assertEqual({"h1": ["%s/volume-%s" % (p_back, vol.id)],
                          "h2": []}, self._where(vol.id))
        self._verify(vol, head)

    def test_2_pool_to_pool_inside_one_backend(self):
        vol = self._new_volume()
        _host, p_src = self._place(vol)
        p_dst = {P1: P2, P2: P1}[p_src]
        head = self._fill(vol)
        dest = "aio@zol#" + p_dst
        mark = self.aio.log_size("cinder-volume")
        t0 = time.monotonic()
        self.client.volumes.migrate_volume(vol, dest, False, False)
        vol = self._wait_migrated(vol.id, dest)
        self._timed("migrate-pool-seconds", t0)
        self.assertIn("migrate_volume %s: %s/volume-%s -> %s/volume-%s"
                      % (vol.id, p_src, vol.id, p_dst, vol.id),
                      self._log_since(mark))
        self.assertEqual({"h1": ["%s/volume-%s" % (p_dst, vol.id)],
                          "h2": []}, self._where(vol.id))
        self._verify(vol, head)

    def test_3_attached_volume_is_not_moved(self):
        """An attached volume stays in use where it was, data intact.

        Cinder 29 needs Nova to move an attached volume; without it the
        migration fails.
        The manager never offers an attached volume to the driver: it
        takes its generic path, creates a temporary volume on the
        destination, asks Nova to swap the attachment (which fails here:
        no Nova), and deletes the temporary volume again.
        """
        vol = self._new_volume()
        src_host = getattr(vol, "os-vol-host-attr:host")
        head = self._fill(vol)
        h2_before = self.h2.admin_ok("zfs list -H -o name -t all -r tank")
        tgt2_before = self.h2.targets()
        att = self.client.attachments.create(
            vol.id, test_cinder_e2e.CONNECTOR, instance_id=None, mode="rw")
        self.addCleanup(self._detach, vol.id, att["id"])
        conn = att["connection_info"]
        self.client.attachments.complete(att["id"])
        self.aio.wait_for_volume(vol.id, "in-use")
        self._write(conn, "0x5a", 700 * MiB, MiB)
        mark = self.aio.log_size("cinder-volume")
        self.client.volumes.migrate_volume(vol, "aio@zol2#zol2", False,
                                           False)
        deadline = time.monotonic() + 600
        while True:
            vol = self.client.volumes.get(vol.id)
            if getattr(vol, "migration_status", None) in ("error", "success"):
                break
            self.assertLess(time.monotonic(), deadline,
                            "migration still %s"
                            % getattr(vol, "migration_status", None))
            time.sleep(3)
        log = self._log_since(mark)
        self.addDetail("cinder-volume-log", content.text_content(log))
        self.assertEqual(("error", "in-use", src_host),
                         (getattr(vol, "migration_status", None), vol.status,
                          getattr(vol, "os-vol-host-attr:host")))
        # the driver was not asked (Cinder took its generic path)
        self.assertNotIn("migrate_volume %s" % vol.id, log)
        # the temporary volume Cinder made on host 2 goes away again
        deadline = time.monotonic() + 300
        while True:
            temps = [v.id for v in self.client.volumes.list(
                search_opts={"all_tenants": 1})
                if (getattr(v, "migration_status", None) or "").startswith(
                    "target:")]
            h2_now = self.h2.admin_ok("zfs list -H -o name -t all -r tank")
            if not temps and h2_now == h2_before:
                break
            self.assertLess(time.monotonic(), deadline,
                            "left on host 2: %s, records %s"
                            % (sorted(set(h2_now.split()) -
                                      set(h2_before.split())), temps))
            time.sleep(5)
        self.assertEqual(tgt2_before, self.h2.targets())
        # still attached, same connection, every byte where it was
        self.assertEqual({"h1": ["%s/volume-%s" % (self._place(vol)[1],
                                                   vol.id)], "h2": []},
                         self._where(vol.id))
        self._check(conn, "0xa5", 512 * MiB, MiB)
        self._check(conn, "0x5a", 700 * MiB, MiB)
        self.assertEqual(head, self._head_sum(vol))
        # and it still takes writes there
        self._write(conn, "0x3c", 800 * MiB, MiB)
        # and after detaching, it still migrates
        self.client.attachments.delete(att["id"])
        self.aio.wait_for_volume(vol.id, "available")
        self.client.volumes.migrate_volume(vol, "aio@zol2#zol2", False,
                                           False)
        vol = self._wait_migrated(vol.id, "aio@zol2#zol2")
        self.assertEqual({"h1": [], "h2": ["%s/volume-%s" % (P1, vol.id)]},
                         self._where(vol.id))
        self._verify(vol, head)
        with self._attached(vol) as conn:
            self._check(conn, "0x5a", 700 * MiB, MiB)
            self._check(conn, "0x3c", 800 * MiB, MiB)

    def _detach(self, vol_id, att_id):
        try:
            self.client.attachments.delete(att_id)
        except cinder_aio.cinder_exc.NotFound:
            return
        self.aio.wait_for_volume(vol_id, "available")
