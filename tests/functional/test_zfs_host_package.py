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

"""The test bed's ZFS host runs the wrapper from the Debian package.

tools/testbed/testbed builds cinder-zol-zfs-host with tools/build-deb from
the checkout and installs it with dpkg at every start, so every functional
test that talks to the wrapper uses the package's files.
"""

import os

import testtools

from tests.functional import testbed
from zol_driver import version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PKG = "cinder-zol-zfs-host"


class ZFSHostPackageTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.zhost = self.useFixture(testbed.ZFSHostFixture()).host

    def test_package_installed_and_intact(self):
        h = self.zhost
        out = h.admin_ok("dpkg-query -W -f '${Status} ${Version}' " + PKG)
        self.assertEqual("install ok installed %s" % version.RELEASE, out)
        # nothing of the package changed on disk but the config the test
        # bed writes (a conffile: dpkg keeps it on upgrades)
        rc, out, err = h.admin("dpkg --verify " + PKG)
        # (the guest's dpkg leaves out /usr/share/doc: path-exclude)
        changed = [ln.split()[-1] for ln in out.splitlines() if ln.strip()
                   and not ln.split()[-1].startswith("/usr/share/doc/")]
        self.assertEqual(["/etc/cinder-zol/zfswrapper.conf"], changed,
                         (out, err))
        self.assertEqual("/etc/cinder-zol/zfswrapper.conf\n"
                         "/etc/udev/rules.d/91-cinder-zol.rules",
                         h.admin_ok("dpkg-query -W -f '${Conffiles}' %s "
                                    "| awk '{print $1}'" % PKG).strip())

    def test_driver_key_runs_the_package_wrapper(self):
        h = self.zhost
        self.assertEqual("/usr/sbin/zfswrapper.sh", h.admin_ok(
            "readlink -f /usr/local/sbin/zfswrapper.sh").strip())
        for name in ("zfswrapper.sh", "zfswrapper-helper.sh"):
            with open(os.path.join(ROOT, "tools", name)) as f:
                local = f.read()
            self.assertEqual(local, h.admin_ok("cat /usr/sbin/" + name))
        rc, out, err = h.driver("version")
        self.assertEqual(0, rc, err)
        self.assertEqual("zfswrapper %s" % version.RELEASE,
                         out.splitlines()[0])

    def test_restore_unit_from_package(self):
        out = self.zhost.admin_ok(
            "systemctl show -p FragmentPath -p UnitFileState -p ExecStart "
            "cinder-zol-restore.service")
        self.assertIn("FragmentPath=/lib/systemd/system/"
                      "cinder-zol-restore.service", out)
        self.assertIn("UnitFileState=enabled", out)
        self.assertIn("/usr/sbin/zfswrapper.sh", out)
        self.assertEqual("drwx------ root", self.zhost.admin_ok(
            "stat -c '%A %U' /var/lib/cinder-zol/targets").strip())
