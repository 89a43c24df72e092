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

"""End to end: a real Cinder (tools/aio) driving the real ZFS test bed.

python-cinderclient in noauth mode against cinder-api, cinder-scheduler
and cinder-volume 29.x with zol_driver.driver.ZFSonLinuxISCSIDriver,
which talks to the test-bed VM over SSH through the wrapper. Attachments
are made without a server (there is no Nova): attachment-create with a
connector, attachment-complete, then a real iSCSI login with qemu-io on
the returned portal and CHAP credentials (never discovery), a data check,
and attachment-delete. Every volume must end available or gone, none in
error*.

Runs inside the private network namespace of ``tox -e functional``; skipped
with a reason when the test bed or the AIO cannot be had.
"""

import contextlib
import subprocess
import time
import urllib.parse
import uuid

import testtools
from testtools import content

from tests.functional import cinder_aio
from tests.functional import testbed

BACKEND = "zol"
MiB = 1024 * 1024
GiB = 1024 * MiB
INITIATOR = "iqn.2024-01.org.cinder-zol:e2e-initiator"
CONNECTOR = {"initiator": INITIATOR, "ip": "127.0.0.1", "host": "e2e-host",
             "multipath": False, "platform": "x86_64", "os_type": "linux2",
             "do_local_attach": False}


def backend_conf(host):
    """The [zol] section for the test bed's connection settings."""
    s = host.settings
    return {
        "volume_driver": "zol_driver.driver.ZFSonLinuxISCSIDriver",
        "san_ip": s["host"],
        "san_ssh_port": s["port"],
        "san_login": s["user"],
        "san_private_key": s["private_key"],
        "zol_ssh_known_hosts_file": s["known_hosts"],
        "zol_parent_dataset": s["parent"],
        "target_ip_address": "127.0.0.1",
        "target_port": s["iscsi_port"],
        "san_thin_provision": "true",
    }


def qemu_io(conn, commands, initiator=INITIATOR, password=None,
            timeout=120):
    """qemu-io on the attached LUN, logging in to the given portal."""
    opts = {"driver": "iscsi", "transport": "tcp",
            "portal": conn["target_portal"], "target": conn["target_iqn"],
            "lun": str(conn.get("target_lun", 1)),
            "initiator-name": initiator}
    if conn.get("auth_method") == "CHAP":
        opts["user"] = conn["auth_username"]
        opts["password"] = password or conn["auth_password"]
    argv = ["qemu-io", "--image-opts",
            ",".join("%s=%s" % (k, v.replace(",", ",,"))
                     for k, v in opts.items())]
    for c in commands:
        argv += ["-c", c]
    p = subprocess.run(argv, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout + p.stderr


class AIOVolumeHelpers(object):
    """Attach, write, read back and clean up through a Cinder AIO.

    For test classes that set ``aio`` (cinder_aio.CinderAIOFixture) and
    ``client``; the end-to-end, migration and replication tests share it.
    """

    def _attach_logs(self, exc_info):
        self.addDetail("cinder-volume-log", content.text_content(
            self.aio.logs("cinder-volume", lines=150)))

    def _delete_quietly(self, vol_id):
        """Cleanup: delete what a failed test left (cascade), wait gone."""
        try:
            vol = self.client.volumes.get(vol_id)
        except cinder_aio.cinder_exc.NotFound:
            return
        for att in self.client.attachments.list(
                search_opts={"volume_id": vol_id}):
            with contextlib.suppress(cinder_aio.cinder_exc.ClientException):
                self.client.attachments.delete(att.id)
        with contextlib.suppress(cinder_aio.cinder_exc.NotFound):
            if vol.status not in ("available", "error", "in-use",
                                  "attaching", "reserved"):
                self.aio.wait_for_volume(vol_id, "available")
            self.client.volumes.delete(vol_id, cascade=True)
            self.aio.wait_for_volume(vol_id, "deleted")

    def _no_errors_left(self):
        bad = [(v.id, v.status) for v in self.client.volumes.list()
               if v.status != "available"]
        bad += [(s.id, s.status) for s in
                self.client.volume_snapshots.list()
                if s.status.startswith("error")]
        self.assertEqual([], bad, "volumes/snapshots left in a bad state")

    @contextlib.contextmanager
    def _attached(self, vol):
        """attachment-create --connect, complete; yield connection data."""
        att = self.client.attachments.create(vol.id, CONNECTOR,
                                             instance_id=None, mode="rw")
        try:
            info = att["connection_info"]
            self.client.attachments.complete(att["id"])
            self.aio.wait_for_volume(vol.id, "in-use")
            yield info
        finally:
            self.client.attachments.delete(att["id"])
            self.aio.wait_for_volume(vol.id, "available")

    def _write(self, conn, pattern, offset=0, length=MiB):
        rc, out = qemu_io(conn, ["write -P %s %d %d"
                                 % (pattern, offset, length)])
        self.assertEqual(0, rc, out)
        self.assertNotIn("failed", out)

    def _check(self, conn, pattern, offset=0, length=MiB):
        rc, out = qemu_io(conn, ["read -P %s %d %d"
                                 % (pattern, offset, length)])
        self.assertEqual(0, rc, out)
        self.assertNotIn("Pattern verification failed", out)


class CinderEndToEndTest(AIOVolumeHelpers, testtools.TestCase):
    """One AIO for the class: starting Cinder costs about a minute."""

    aio = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host = testbed.get_host()          # SkipTest when unavailable
        cls.aio = cinder_aio.CinderAIOFixture(backend_conf(cls.host))
        cls.aio.setUp()                        # SkipTest when unavailable
        cls.addClassCleanup(cls.aio.cleanUp)
        cls.client = cls.aio.client
        cls.types = {
            "thin": cls._make_type("e2e-thin", {
                "provisioning:type": "thin",
                "zol:compression": "lz4"}),
            "thick": cls._make_type("e2e-thick", {
                "provisioning:type": "thick",
                "zol:volblocksize": "16K",
                "zol:logbias": "throughput"}),
            "thick8k": cls._make_type("e2e-thick8k", {
                "provisioning:type": "thick"}),
        }

    @classmethod
    def _make_type(cls, name, specs):
        vtype = cls.client.volume_types.create(name)
        specs = dict(specs, volume_backend_name=BACKEND)
        vtype.set_keys(specs)
        cls.addClassCleanup(cls.client.volume_types.delete, vtype)
        return vtype

    def setUp(self):
        super().setUp()
        self.addCleanup(self._no_errors_left)
        self.addOnException(self._attach_logs)

    # ---- helpers ----

    def _create(self, size=1, vtype="thin", **kw):
        vol = self.client.volumes.create(
            size, name="e2e-" + uuid.uuid4().hex[:8],
            volume_type=self.types[vtype].id if vtype else None, **kw)
        self.addCleanup(self._delete_quietly, vol.id)
        return self.aio.wait_for_volume(vol.id, "available")

    def _snapshot(self, vol):
        snap = self.client.volume_snapshots.create(
            vol.id, name="e2e-snap-" + uuid.uuid4().hex[:8])
        return self.aio.wait_for_snapshot(snap.id, "available")

    def _delete(self, vol, cascade=False):
        self.client.volumes.delete(vol, cascade=cascade)
        self.aio.wait_for_volume(vol.id, "deleted")

    def _delete_snapshot(self, snap):
        self.client.volume_snapshots.delete(snap)
        self.aio.wait_for_snapshot(snap.id, "deleted")

    def _zfs(self, vol, *props):
        out = self.host.admin_ok(
            "zfs get -H -p -o value %s %s/volume-%s"
            % (",".join(props), self.host.parent, vol.id))
        return dict(zip(props, out.split("\n")))

    def _zfs_names(self):
        return set(self.host.zfs_names())

    def _capacity(self, conn):
        rc, out = qemu_io(conn, ["length"])
        self.assertEqual(0, rc, out)
        return out

    # ---- tests ----

    # Thick volumes first (tests run in name order): the scheduler counts
    # every new volume against the pool's free space until the next stats
    # report (60 s), and the test bed's pool is only 4 GiB.

    def test_1_pools_report_capabilities(self):
        """cinder get-pools --detail shows the driver's capabilities."""
        pools = {p.name: p for p in self.client.pools.list(detailed=True)}
        pool = pools.get("aio@%s#%s" % (BACKEND, BACKEND))
        self.assertIsNotNone(pool, "pools: %s" % list(pools))
        caps = pool.to_dict().get("capabilities", {})
        self.assertEqual("iSCSI", caps["storage_protocol"])
        self.assertEqual(BACKEND, caps["volume_backend_name"])
        self.assertEqual("up", caps["backend_state"])
        for key in ("thin_provisioning_support", "thick_provisioning_support",
                    "multiattach", "online_extend_support",
                    "compression_support"):
            self.assertTrue(caps[key], key)
        self.assertGreater(caps["total_capacity_gb"], 0)
        self.assertGreater(caps["free_capacity_gb"], 0)
        self.assertIn(self.host.parent, caps["location_info"])
        self.assertIn("zol_volblocksize", caps)
        # cinder get-capabilities: the zol:* extra specs, published
        shown = self.client.capabilities.get(
            "aio@%s" % BACKEND).to_dict()
        props = shown["properties"]
        for key in ("zol:sparse", "zol:volblocksize", "zol:compression",
                    "zol:sync"):
            self.assertIn(key, props)
        self.assertEqual("boolean", props["zol:sparse"]["type"])
        self.assertIn("16K", props["zol:volblocksize"]["enum"])

    def test_1_pool_list_filters(self):
        """get_pools filters by name (resource_filters.json is loaded).

        Cinder checks list filters against resource_query_filters_file
        for non-admin callers, and for pools for everyone; without the
        file every such filter is refused (400) or ignored.
        """
        name = "aio@%s#%s" % (BACKEND, BACKEND)
        api = self.aio.client_for("3.71").client
        _resp, body = api.get("/scheduler-stats/get_pools?name=%s"
                              % urllib.parse.quote(name, safe=""))
        self.assertEqual([name], [p["name"] for p in body["pools"]])
        _resp, body = api.get("/scheduler-stats/get_pools?name=nosuch")
        self.assertEqual([], body["pools"])

    def test_2_types_thin_thick_extend_retype(self):
        thick = self._create(1, "thick")
        plain = self._create(1, "thick8k")
        thin = self._create(1, "thin")
        p = self._zfs(thin, "refreservation", "compression", "volsize")
        self.assertEqual("0", p["refreservation"])      # none, -p gives 0
        self.assertEqual("lz4", p["compression"])
        self.assertEqual(str(GiB), p["volsize"])
        p = self._zfs(thick, "refreservation", "volblocksize", "logbias")
        self.assertGreaterEqual(int(p["refreservation"]), GiB)
        self.assertEqual(str(16 * 1024), p["volblocksize"])
        self.assertEqual("throughput", p["logbias"])

        self.client.volumes.extend(thin, 2)
        thin = self.aio.wait_for_volume(thin.id, "available")
        self.assertEqual(2, thin.size)
        self.assertEqual(str(2 * GiB), self._zfs(thin, "volsize")["volsize"])

        # thick (16K) -> thin: the blocksize cannot change in place, so
        # Cinder is allowed to migrate; thick8k -> thin is in place
        self.assertGreaterEqual(
            int(self._zfs(plain, "refreservation")["refreservation"]), GiB)
        self.client.volumes.retype(plain, self.types["thin"].id, "never")
        plain = self._wait_type(plain, "e2e-thin")
        p = self._zfs(plain, "refreservation", "compression")
        self.assertEqual("0", p["refreservation"])
        self.assertEqual("lz4", p["compression"])
        for vol in (thin, thick, plain):
            self._delete(vol)

    def _wait_type(self, vol, type_name, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            vol = self.client.volumes.get(vol.id)
            if vol.volume_type == type_name and vol.status == "available":
                return vol
            if vol.status.startswith("error"):
                self.fail("retype put %s in %s" % (vol.id, vol.status))
            time.sleep(0.5)
        self.fail("retype of %s not done after %d s (status %s, type %s)"
                  % (vol.id, timeout, vol.status, vol.volume_type))

    def test_3_attach_iscsi_chap_and_data(self):
        vol = self._create(1, "thin")
        with self._attached(vol) as info:
            conn = info
            self.assertEqual("CHAP", conn.get("auth_method"))
            self.assertTrue(conn["target_portal"].startswith("127.0.0.1:"))
            self.assertIn(vol.id, conn["target_iqn"])
            self._write(conn, "0xab")
            self._check(conn, "0xab")
            self.assertIn("1 GiB", self._capacity(conn))
            rc, out = qemu_io(conn, ["read 0 512"], password="wrong-secret")
            self.assertNotEqual(
                0, rc, "login with a wrong CHAP secret: " + out)
            rc, out = qemu_io(conn, ["read 0 512"],
                              initiator=INITIATOR + "-other")
            self.assertNotEqual(
                0, rc, "login from a foreign initiator: " + out)
        targets = self.host.targets()
        self.assertNotIn(conn["target_iqn"], targets)
        # the data outlives the attachment
        with self._attached(vol) as conn:
            self._check(conn, "0xab")
        self._delete(vol)

    def test_4_snapshot_revert_from_snapshot_clone_awkward_deletes(self):
        a = self._create(1, "thin")
        with self._attached(a) as conn:
            self._write(conn, "0xab")
        snap = self._snapshot(a)
        with self._attached(a) as conn:
            self._write(conn, "0xcd")
            self._check(conn, "0xcd")
        self.client.volumes.revert_to_snapshot(a, snap)
        a = self.aio.wait_for_volume(a.id, "available")
        with self._attached(a) as conn:
            self._check(conn, "0xab")

        c = self._create(2, "thin", snapshot_id=snap.id)   # larger
        d = self._create(1, "thin", source_volid=a.id)     # clone
        with self._attached(c) as conn:
            self._check(conn, "0xab")
            self.assertIn("2 GiB", self._capacity(conn))
            self._write(conn, "0x11", offset=MiB)
        with self._attached(d) as conn:
            self._check(conn, "0xab")

        # the origin first, with its snapshot, while a clone of it lives
        self._delete(a, cascade=True)
        with self._attached(c) as conn:
            self._check(conn, "0xab")
            self._check(conn, "0x11", offset=MiB)
        with self._attached(d) as conn:
            self._check(conn, "0xab")

        # a snapshot deleted before the volume made from it
        s2 = self._snapshot(d)
        e = self._create(1, "thin", snapshot_id=s2.id)
        self._delete_snapshot(s2)
        self._delete(d)
        with self._attached(e) as conn:
            self._check(conn, "0xab")
        self._delete(c)
        self._delete(e)
        visible = [n for n in self._zfs_names()
                   if any(v.id in n for v in (a, c, d, e))
                   and "/." not in n and "@" not in n]
        self.assertEqual([], visible)

    def test_5_manage_unmanage(self):
        vol = self._create(1, "thin")
        with self._attached(vol) as conn:
            self._write(conn, "0x5a")
        name = "volume-%s" % vol.id
        self.client.volumes.unmanage(vol)
        self.aio.wait_for_volume(vol.id, "deleted")
        self.assertIn("%s/%s" % (self.host.parent, name), self._zfs_names())
        listed = self.client.volumes.list_manageable(
            host="aio@%s" % BACKEND, detailed=True)
        entry = [m for m in listed
                 if m.reference.get("source-name") == name]
        self.assertEqual(1, len(entry), listed)
        self.assertTrue(entry[0].safe_to_manage)

        managed = self.client.volumes.manage(
            host="aio@%s#%s" % (BACKEND, BACKEND),
            ref={"source-name": name}, name="e2e-managed",
            volume_type=self.types["thin"].id)
        self.addCleanup(self._delete_quietly, managed.id)
        managed = self.aio.wait_for_volume(managed.id, "available")
        self.assertEqual(1, managed.size)
        names = self._zfs_names()
        self.assertIn("%s/volume-%s" % (self.host.parent, managed.id),
                      names)
        self.assertNotIn("%s/%s" % (self.host.parent, name), names)
        with self._attached(managed) as conn:
            self._check(conn, "0x5a")
        self._delete(managed)
