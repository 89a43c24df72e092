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

"""zol_driver.validation: the one home of the option rules."""

import types

from cinder import exception
from cinder.volume import driver as cinder_driver
from cinder.volume import volume_utils
import testtools

from zol_driver import validation


def cinder_accepts_ratio(value):
    """What cinder-volume does with a ratio: read it, then convert it."""
    opt = next(o for o in cinder_driver.volume_opts
               if o.name == 'max_over_subscription_ratio')
    try:
        volume_utils.get_max_over_subscription_ratio(opt.type(value),
                                                     supports_auto=True)
    except (ValueError, exception.CinderException):
        return False
    return True


def conf(**kw):
    values = dict(san_ip='192.0.2.10', san_private_key='/k', san_password='',
                  ssh_min_pool_conn=1, ssh_max_pool_conn=5,
                  zol_ssh_strict_host_key=True,
                  zol_ssh_known_hosts_file='/etc/cinder/ssh_known_hosts',
                  zol_parent_dataset='tank/cinder', zol_volblocksize=None,
                  zol_compression=None, zol_zvol_properties={},
                  max_over_subscription_ratio='20.0',
                  target_prefix='iqn.2010-10.org.openstack:')
    values.update(kw)
    return types.SimpleNamespace(**values)


class ValidationTestCase(testtools.TestCase):

    def test_ratio_as_cinder_volume_reads_it(self):
        for value in ('20', '20.0', '.5', '0.5', '1', '1.0', 'auto', 'AUTO',
                      'nan', 'inf', '1e3', '-1', '0', ' 2', '1_0', 'lots',
                      ''):
            self.assertEqual(cinder_accepts_ratio(value),
                             validation.valid_ratio(value), value)

    def test_blocksize(self):
        self.assertEqual(16384, validation.parse_blocksize('16K'))
        self.assertEqual(4096, validation.parse_blocksize('4096'))
        for bad in ('3K', '1M', '2K', '12K', 'big', ''):
            self.assertRaises(ValueError, validation.parse_blocksize, bad)

    def test_good_conf_has_no_problem(self):
        self.assertEqual([], validation.problems(conf()))

    def test_each_problem_names_its_option(self):
        cases = [({'zol_parent_dataset': 'tank'}, validation.FAIL),
                 ({'san_ip': ''}, validation.FAIL),
                 ({'san_private_key': ''}, validation.FAIL),
                 ({'san_password': 'pw'}, validation.WARN),
                 ({'ssh_min_pool_conn': 9}, validation.WARN),
                 ({'zol_ssh_strict_host_key': False}, validation.WARN),
                 ({'zol_volblocksize': '1M'}, validation.FAIL),
                 ({'zol_compression': 'a b'}, validation.FAIL),
                 ({'zol_zvol_properties': {'compression': 'lz4'}},
                  validation.FAIL),
                 ({'max_over_subscription_ratio': 'nan'}, validation.FAIL),
                 ({'target_prefix': 'volumes:'}, validation.FAIL)]
        for override, status in cases:
            found = validation.problems(conf(**override))
            option = next(iter(override))
            self.assertEqual([(status, option)],
                             [(p.status, p.option) for p in found], override)
            self.assertTrue(found[0].fix, override)
