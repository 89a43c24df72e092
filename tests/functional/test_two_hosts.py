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

"""Two test-bed ZFS hosts at once (``testbed --instance 2``), independent.

Both VMs run in the test run's private network namespace; each has its own
disks (copies of the same clean snapshot: the same pool and parent names),
its own forwarded SSH and iSCSI ports, its own known_hosts and its own sshd
host key.  Run inside a private network namespace::

    unshare --net sh -c 'ip link set lo up; \
        python -m testtools.run tests.functional.test_two_hosts'
"""

import os
import uuid

import testtools

from tests.functional import testbed


def _name(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def _host_key(known_hosts):
    with open(known_hosts) as f:
        return f.read().split()[1:3]


class TestTwoHosts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.h1 = self.useFixture(testbed.ZFSHostFixture()).host
        self.h2 = self.useFixture(testbed.SecondZFSHostFixture()).host

    def test_two_vms_own_ports_and_state(self):
        self.assertEqual((1, 2), (self.h1.instance, self.h2.instance))
        ports1 = {self.h1.port, self.h1.iscsi_port}
        ports2 = {self.h2.port, self.h2.iscsi_port}
        self.assertEqual(4, len(ports1 | ports2))
        self.assertNotEqual(self.h1.statedir, self.h2.statedir)
        self.assertNotEqual(self.h1.known_hosts, self.h2.known_hosts)
        # the same image, so the same pool and parents on both
        self.assertEqual(self.h1.parent, self.h2.parent)
        # two machines, not two names for one (both restore the same
        # snapshot, so boot ids agree: instance 2 is renamed at start)
        self.assertEqual("zolhost", self.h1.admin_ok("hostname").strip())
        self.assertEqual("zolhost2", self.h2.admin_ok("hostname").strip())
        # the driver key reaches the wrapper on both
        for h in (self.h1, self.h2):
            rc, out, err = h.driver("version")
            self.assertEqual(0, rc, (h.instance, out, err))

    def test_pools_are_independent(self):
        vol1 = "%s/%s" % (self.h1.parent, _name("two-h1"))
        vol2 = "%s/%s" % (self.h2.parent, _name("two-h2"))
        self.addCleanup(self.h1.admin, "zfs destroy -r %s" % vol1)
        self.addCleanup(self.h2.admin, "zfs destroy -r %s" % vol2)
        self.h1.admin_ok("zfs create -s -V 16M %s" % vol1)
        self.h2.admin_ok("zfs create -s -V 16M %s" % vol2)
        names1, names2 = self.h1.zfs_names(), self.h2.zfs_names()
        self.assertIn(vol1, names1)
        self.assertNotIn(vol2, names1)
        self.assertIn(vol2, names2)
        self.assertNotIn(vol1, names2)
        # a target exported on host 2 is on host 2's portal only
        iqn = "iqn.2010-10.org.openstack:two-%s" % uuid.uuid4().hex[:8]
        tid = 800 + (uuid.uuid4().int % 90)
        self.addCleanup(self.h2.unexport, tid)
        self.h2.export(tid, iqn, vol2)
        self.assertEqual(16 << 20, self.h2.iscsi_capacity(iqn))
        rc, out, err = self.h1.iscsi_inq(iqn)
        self.assertNotEqual(0, rc, (out, err))
        self.assertNotIn(iqn, self.h1.targets())

    def test_known_hosts_tell_the_hosts_apart(self):
        key1 = _host_key(self.h1.known_hosts)
        key2 = _host_key(self.h2.known_hosts)
        self.assertEqual("ssh-ed25519", key1[0])
        self.assertNotEqual(key1, key2)
        # each host's right known_hosts works; the other host's key under
        # its port is refused (a swapped port or a spoofing host is caught)
        for host, wrong_key in ((self.h1, key2), (self.h2, key1)):
            rc, out, err = host.admin("hostname")
            self.assertEqual(0, rc, (out, err))
            wrong = os.path.join(self.useFixture(
                testbed.fixtures.TempDir()).path, "known_hosts")
            with open(wrong, "w") as f:
                f.write("[127.0.0.1]:%d %s %s\n" % (host.port, *wrong_key))
            argv = host._ssh(host.admin_key)
            argv[argv.index("UserKnownHostsFile=" + host.known_hosts)] = (
                "UserKnownHostsFile=" + wrong)
            rc, out, err = testbed._run(argv + ["true"], None, 60)
            self.assertEqual(255, rc, (out, err))
            self.assertIn("Host key verification failed", err)
