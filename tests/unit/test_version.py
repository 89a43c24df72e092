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

"""One release number: setup.cfg, the driver, the wrapper, the check tool."""

import configparser
import os
import re
import subprocess

import testtools

from zol_driver import check
from zol_driver import driver
from zol_driver import version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def setup_cfg_version():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, 'setup.cfg'))
    return parser['metadata']['version']


def wrapper_version():
    """What the wrapper's "version" verb prints first (its VERSION=)."""
    with open(os.path.join(ROOT, 'tools', 'zfswrapper.sh')) as f:
        text = f.read()
    value = re.search(r'^VERSION=([0-9.]+)$', text, re.M).group(1)
    # the verb (run by the helper, which reads the wrapper) prints exactly
    # this variable
    with open(os.path.join(ROOT, 'tools', 'zfswrapper-helper.sh')) as f:
        assert "printf 'zfswrapper %s\\n' \"$VERSION\"" in f.read()
    return value


class VersionTestCase(testtools.TestCase):

    def test_one_version(self):
        want = setup_cfg_version()
        found = {
            'setup.cfg': want,
            'driver VERSION': driver.ZFSonLinuxISCSIDriver.VERSION,
            'tools/zfswrapper.sh': wrapper_version(),
            'zol_driver.version.RELEASE': version.RELEASE,
            'cinder-zol-check --version': check.version_line().split()[1],
        }
        self.assertEqual({k: want for k in found}, found)
        self.assertIn('\n        %s - ' % want,
                      driver.ZFSonLinuxISCSIDriver.__doc__,
                      'the driver\'s version history names this release')

    def test_wrapper_of_this_release_is_supported(self):
        found = version.parse_wrapper_version(
            'zfswrapper %s\nzfs-2.1.11-1\n' % wrapper_version())
        self.assertIsNone(version.wrapper_problem(found))

    def test_skew(self):
        parse = version.parse_wrapper_version
        self.assertEqual((1, 1, 0), parse('zfswrapper 1.1.0\nzfs x\n'))
        self.assertIsNone(parse('zfswrapper\n'))
        self.assertIsNone(parse('zfswrapper 1.2\n'))
        self.assertIsNone(parse('bash: version: not found\n'))
        self.assertIn('upgrade the wrapper',
                      version.wrapper_problem((1, 1, 9)))
        self.assertIn('upgrade cinder-zol',
                      version.wrapper_problem((2, 0, 0)))
        self.assertIn('did not print', version.wrapper_problem(None))
        self.assertIsNone(version.wrapper_problem((1, 9, 0)))

    def test_check_version_option(self):
        out = subprocess.run(
            [os.sys.executable, '-m', 'zol_driver.check', '--version'],
            capture_output=True, text=True, check=True, cwd=ROOT)
        self.assertEqual('cinder-zol-check %s' % version.RELEASE,
                         out.stdout.split(' (')[0].strip())
