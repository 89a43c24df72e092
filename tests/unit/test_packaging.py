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

"""What ships: bindep.txt, the ZFS-host .deb, the wheel's data files."""

import configparser
import os
import re
import shutil
import subprocess
import tempfile

import testtools

from zol_driver import check
from zol_driver import version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


class BindepTestCase(testtools.TestCase):

    def test_bindep_lists_what_install_deps_installs(self):
        script = read('tools', 'install-deps')
        listed = set()
        for value in re.findall(r'^APT_PACKAGES="([^"]*)"', script, re.M):
            listed.update(w for w in value.split() if w != '$APT_PACKAGES')
        bindep = set()
        for line in read('bindep.txt').splitlines():
            line = line.split('#', 1)[0].strip()
            if line:
                self.assertIn('platform:dpkg', line)
                bindep.add(line.split()[0])
        self.assertEqual(sorted(listed), sorted(bindep))


class DataFilesTestCase(testtools.TestCase):

    def test_setup_cfg_ships_what_check_lists(self):
        parser = configparser.ConfigParser()
        parser.read(os.path.join(ROOT, 'setup.cfg'))
        text = parser['files']['data_files']
        shipped = [os.path.basename(w) for w in text.split()
                   if '/' in w and not w.startswith('share/')]
        for name in check.DATA_FILES:
            self.assertIn(name, shipped)
        for path in text.split():
            if not path.startswith('share/') and path != '=':
                self.assertTrue(os.path.isfile(os.path.join(ROOT, path)),
                                path)


class DebTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if not shutil.which('dpkg-deb'):
            self.skipTest('no dpkg-deb')
        self.out = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.out)
        self.deb = subprocess.run(
            [os.path.join(ROOT, 'tools', 'build-deb'), '-o', self.out],
            capture_output=True, text=True, check=True).stdout.strip()

    def dpkg_deb(self, *args):
        return subprocess.run(['dpkg-deb'] + list(args), capture_output=True,
                              text=True, check=True).stdout

    def test_control(self):
        self.assertEqual('cinder-zol-zfs-host_%s_all.deb' % version.RELEASE,
                         os.path.basename(self.deb))
        fields = self.dpkg_deb('-f', self.deb, 'Version', 'Depends',
                               'Architecture')
        self.assertIn('Version: %s' % version.RELEASE, fields)
        self.assertIn('Depends: zfsutils-linux, tgt', fields)
        self.assertIn('Architecture: all', fields)
        conffiles = subprocess.run(
            'dpkg-deb --ctrl-tarfile %s | tar xO ./conffiles' % self.deb,
            shell=True, capture_output=True, text=True, check=True).stdout
        self.assertEqual(['/etc/cinder-zol/zfswrapper.conf',
                          '/etc/udev/rules.d/91-cinder-zol.rules'],
                         conffiles.split())

    def test_files(self):
        rows = {}
        for line in self.dpkg_deb('-c', self.deb).splitlines():
            words = line.split()
            rows[words[-1].lstrip('.')] = (words[0], words[1])
        want = {
            '/usr/sbin/zfswrapper.sh': '-rwxr-xr-x',
            '/usr/sbin/zfswrapper-helper.sh': '-rwxr-xr-x',
            '/etc/cinder-zol/zfswrapper.conf': '-rw-r--r--',
            '/lib/systemd/system/cinder-zol-restore.service': '-rw-r--r--',
            '/etc/udev/rules.d/91-cinder-zol.rules': '-rw-r--r--',
            '/usr/share/cinder-zol/nonroot-setup.sh': '-rwxr-xr-x',
        }
        for path, mode in want.items():
            self.assertEqual((mode, 'root/root'), rows.get(path), path)

    def extract(self, path):
        return subprocess.run(
            'dpkg-deb --fsys-tarfile %s | tar xO .%s' % (self.deb, path),
            shell=True, capture_output=True, text=True, check=True).stdout

    def test_wrapper_paths_rewritten(self):
        self.assertEqual(read('tools', 'zfswrapper.sh'),
                         self.extract('/usr/sbin/zfswrapper.sh'))
        self.assertEqual(read('tools', 'zfswrapper-helper.sh'),
                         self.extract('/usr/sbin/zfswrapper-helper.sh'))
        unit = self.extract('/lib/systemd/system/cinder-zol-restore.service')
        self.assertIn('ExecStart=/usr/sbin/zfswrapper.sh -c '
                      '/etc/cinder-zol/zfswrapper.conf', unit)
        self.assertNotIn('/usr/local/', unit)
        setup = self.extract('/usr/share/cinder-zol/nonroot-setup.sh')
        self.assertIn('\nWRAPPER=/usr/sbin/zfswrapper.sh\n', setup)
