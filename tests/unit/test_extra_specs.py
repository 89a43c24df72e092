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

"""The zol:* extra specs: declared once, published as vendor properties."""

import os
import re
from unittest import mock

from tests.unit import fakes
from zol_driver import extra_specs
from zol_driver import zfs

DOC = os.path.join(os.path.dirname(__file__), '..', '..', 'doc',
                   'volume-types.rst')


class ExtraSpecsTestCase(fakes.DriverTestCase):

    def capabilities(self):
        with mock.patch.object(self.drv, 'get_volume_stats',
                               return_value={'volume_backend_name': 'zolbe'}):
            self.drv.init_capabilities()
        return self.drv.capabilities

    def test_every_mutable_property_is_described(self):
        self.assertEqual(set(zfs.MUTABLE_PROPS),
                         set(extra_specs.PROPERTIES))

    def test_published_through_cinders_capabilities(self):
        caps = self.capabilities()
        self.assertEqual('zol', caps['vendor_prefix'])
        ours = {k: v for k, v in caps['properties'].items()
                if k.startswith('zol:')}
        wanted = {'zol:sparse', 'zol:volblocksize'} | {
            'zol:' + k for k in zfs.MUTABLE_PROPS}
        self.assertEqual(wanted, set(ours))
        self.assertEqual('boolean', ours['zol:sparse']['type'])
        self.assertEqual(['4K', '8K', '16K', '32K', '64K', '128K'],
                         ours['zol:volblocksize']['enum'])
        self.assertEqual(['standard', 'always', 'disabled'],
                         ours['zol:sync']['enum'])
        self.assertNotIn('enum', ours['zol:compression'])
        for key, prop in ours.items():
            self.assertTrue(prop['title'] and prop['description'], key)
        self.assertIn('thin_provisioning', caps['properties'],
                      "Cinder's standard ones stay")

    def test_the_driver_accepts_every_published_value(self):
        caps = self.capabilities()['properties']
        for size in caps['zol:volblocksize']['enum']:
            _sparse, blocksize, _props = self.drv._zvol_spec(
                {'zol:volblocksize': size})
            self.assertEqual(zfs.parse_size(size), blocksize)
        for key in zfs.MUTABLE_PROPS:
            for value in caps['zol:' + key].get('enum', ()):
                _sparse, _bs, props = self.drv._zvol_spec(
                    {'zol:' + key: value})
                self.assertEqual(value, props[key])

    def test_the_guide_lists_every_published_key(self):
        with open(DOC) as f:
            documented = set(re.findall(r'``(zol:[a-z]+)``', f.read()))
        published = set(self.capabilities()['properties']) - {
            'thin_provisioning', 'compression', 'qos', 'replication_enabled'}
        self.assertEqual(set(), published - documented)
