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

"""Two parents of one backend as two pools, through the real Cinder services.

``cinder get-pools --detail`` lists ``aio@zol#tank/cinder`` and
``aio@zol#tank/cinder2``; a type whose ``pool_name`` names the second pool
puts its volumes (and their snapshots' clones) there. Starting the AIO costs
about a minute, so this runs only with ZOL_POOLS_AIO=1 (tools/run-tests
--pools-aio).
"""

import os
import uuid

import testtools

from tests.functional import cinder_aio
from tests.functional import test_cinder_e2e
from tests.functional import testbed
from zol_driver import migration

BACKEND = "zol"
P1 = "tank/cinder"
P2 = "tank/cinder2"
FLAG = "ZOL_POOLS_AIO"


class PoolsThroughCinderTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.environ.get(FLAG) != "1":
            raise testtools.TestCase.skipException(
                "the pools AIO test starts its own Cinder (about a minute): "
                "set %s=1 (tools/run-tests --pools-aio) to run it" % FLAG)
        cls.host = testbed.get_host()          # SkipTest when unavailable
        conf = test_cinder_e2e.backend_conf(cls.host)
        conf["zol_parent_dataset"] = "%s, %s" % (P1, P2)
        cls.aio = cinder_aio.CinderAIOFixture(conf)
        cls.aio.setUp()                        # SkipTest when unavailable
        cls.addClassCleanup(cls.aio.cleanUp)
        cls.client = cls.aio.client

    def _names(self, parent):
        return self.host.admin_ok("zfs list -H -o name -r -t all %s"
                                  % parent).split()

    def test_two_pools_and_a_volume_in_each(self):
        pools = {p.name: p for p in self.client.pools.list(detailed=True)}
        mine = sorted(n for n in pools if n.split("#")[0].endswith(
            "@" + BACKEND))
        self.assertEqual(["#" + P1, "#" + P2],
                         ["#" + n.split("#", 1)[1] for n in mine], pools)
        for name in mine:
            info = pools[name].to_dict()
            caps = info.get("capabilities", info)
            self.assertEqual(name.split("#", 1)[1], caps["pool_name"])
            self.assertGreater(caps["total_capacity_gb"], 0)
            self.assertEqual(caps["pool_name"], migration.parse_location(
                caps["location_info"])["parent"], caps["location_info"])
        made = []
        for parent in (P1, P2):
            vtype = self.client.volume_types.create(
                "pool-" + uuid.uuid4().hex[:6])
            self.addCleanup(self.client.volume_types.delete, vtype)
            vtype.set_keys({"volume_backend_name": BACKEND,
                            "pool_name": parent})
            vol = self.client.volumes.create(1, volume_type=vtype.id)
            self.addCleanup(self._delete_quietly, vol.id)
            vol = self.aio.wait_for_volume(vol.id, "available")
            made.append(vol)
            host = getattr(vol, "os-vol-host-attr:host")
            self.assertTrue(host.endswith("#" + parent), host)
            self.assertIn("%s/volume-%s" % (parent, vol.id),
                          self._names(parent))
        # a clone of a snapshot goes to its source's pool
        snap = self.client.volume_snapshots.create(made[1].id)
        self.aio.wait_for_snapshot(snap.id, "available")
        clone = self.client.volumes.create(1, snapshot_id=snap.id)
        self.addCleanup(self._delete_quietly, clone.id)
        clone = self.aio.wait_for_volume(clone.id, "available")
        self.assertTrue(getattr(clone, "os-vol-host-attr:host").endswith(
            "#" + P2))
        self.assertIn("%s/volume-%s" % (P2, clone.id), self._names(P2))
        # everything goes, from its own parent
        self.client.volumes.delete(clone.id)
        self.aio.wait_for_volume(clone.id, "deleted")
        self.client.volume_snapshots.delete(snap.id)
        self.aio.wait_for_snapshot(snap.id, "deleted")
        for vol in made:
            self.client.volumes.delete(vol.id)
            self.aio.wait_for_volume(vol.id, "deleted")
        for parent in (P1, P2):
            self.assertEqual([], [n for n in self._names(parent) if any(
                v.id in n for v in made + [clone])])

    def _delete_quietly(self, vol_id):
        try:
            self.client.volumes.delete(vol_id, cascade=True)
        except cinder_aio.cinder_exc.NotFound:
            return
        self.aio.wait_for_volume(vol_id, "deleted")
