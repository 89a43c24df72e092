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

"""The ZFS testbed VM itself: real ZFS, restricted driver key, tgtd, iSCSI.

Run inside a private network namespace::

    unshare --net sh -c 'ip link set lo up; \
        python -m stestr --test-path tests/functional run test_testbed'
"""

import os
import uuid

import testtools

from tests.functional import testbed


def _name(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


class TestTestbed(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.zhost = self.useFixture(testbed.ZFSHostFixture()).host

    def test_settings(self):
        s = self.zhost.settings
        self.assertEqual("127.0.0.1", s["host"])
        self.assertEqual("root", s["user"])
        self.assertEqual("tank/cinder", s["parent"])
        self.assertTrue(os.path.exists(s["private_key"]))
        with open(s["known_hosts"]) as f:
            self.assertTrue(f.read().startswith("[127.0.0.1]:%d "
                                                % s["port"]))
        self.assertEqual("127.0.0.1:%d" % s["iscsi_port"], s["iscsi_portal"])

    def test_zfs_is_real(self):
        vol = "%s/%s" % (self.zhost.parent, _name("tb-zvol"))
        self.addCleanup(self.zhost.admin, "zfs destroy -r %s" % vol)
        self.zhost.admin_ok("zfs create -s -V 32M %s" % vol)
        out = self.zhost.admin_ok("zfs get -H -p -o value volsize,type %s"
                                  % vol)
        self.assertEqual([str(32 << 20), "volume"], out.split())
        self.assertIn(vol, self.zhost.zfs_names())
        self.zhost.admin_ok("zfs snapshot %s@s1 && zfs destroy %s@s1"
                            % (vol, vol))
        self.zhost.admin_ok("zfs destroy %s" % vol)
        self.assertNotIn(vol, self.zhost.zfs_names())
        version = self.zhost.admin_ok("cat /sys/module/zfs/version")
        self.assertTrue(version.strip()[0].isdigit(), version)

    def test_driver_key_is_restricted(self):
        rc, out, err = self.zhost.driver("id")
        self.assertNotEqual(0, rc, (out, err))
        self.assertNotIn("uid=0", out)
        # no shell either: a metacharacter never reaches one
        rc, out, err = self.zhost.driver("zfs list; id")
        self.assertNotIn("uid=0", out)
        # and no port forwarding / pty: 'restrict' is in authorized_keys
        line = self.zhost.admin_ok("head -n1 /root/.ssh/authorized_keys")
        self.assertTrue(line.startswith('restrict,command="/usr/local/sbin/'
                                        'zfswrapper.sh -c /etc/cinder-zol/'
                                        'zfswrapper.conf" ssh-ed25519 '),
                        line)

    def test_wrapper_config_installed(self):
        conf = self.zhost.admin_ok("cat /etc/cinder-zol/zfswrapper.conf")
        self.assertIn("parents = tank/cinder", conf)
        self.assertIn("dd = /bin/dd", conf)

    def test_tgtd_answers(self):
        self.zhost.admin_ok("systemctl is-active tgt")
        self.zhost.targets()
        out = self.zhost.admin_ok("tgtadm --lld iscsi --op show --mode sys")
        self.assertIn("iSNS", out)
        # the restore unit exists and never blocks boot
        out = self.zhost.admin_ok(
            "systemctl show -p After -p Environment cinder-zol-restore")
        self.assertIn("tgt.service", out)
        self.assertIn("SSH_ORIGINAL_COMMAND=target-restore", out)

    def test_iscsi_export_with_chap(self):
        h = self.zhost
        vol = "%s/%s" % (h.parent, _name("tb-iscsi"))
        iqn = "iqn.2010-10.org.openstack:testbed-%s" % uuid.uuid4().hex[:8]
        tid = 900 + (uuid.uuid4().int % 90)
        chap = ("tbuser%s" % uuid.uuid4().hex[:4], "Secret%s"
                % uuid.uuid4().hex[:10])
        self.addCleanup(h.admin, "zfs destroy -r %s" % vol)
        h.admin_ok("zfs create -V 16M %s" % vol)
        self.addCleanup(h.unexport, tid, chap[0])
        h.export(tid, iqn, vol, chap)
        self.assertIn(iqn, h.targets())

        rc, out, err = h.iscsi_inq(iqn, chap=chap)
        self.assertEqual(0, rc, (out, err))
        self.assertIn("IET", out)
        self.assertEqual(16 << 20, h.iscsi_capacity(iqn, chap=chap))

        # without CHAP the login is refused
        rc, out, err = h.iscsi_inq(iqn)
        self.assertNotEqual(0, rc, (out, err))
        # a wrong secret too
        rc, out, err = h.iscsi_inq(iqn, chap=(chap[0], "WrongSecret123"))
        self.assertNotEqual(0, rc, (out, err))

        rc, out, err = h.qemu_io(iqn, ["write -P 0xab 0 1M",
                                       "read -P 0xab 0 1M"], chap=chap)
        self.assertEqual(0, rc, (out, err))
        self.assertNotIn("Pattern verification failed", out)
        # the bytes landed on the zvol in the guest
        out = h.admin_ok("dd if=/dev/zvol/%s bs=1M count=1 2>/dev/null "
                         "| od -v -An -tx1 | sort -u" % vol)
        self.assertEqual(["ab"] * 16, out.split())
