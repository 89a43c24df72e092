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

"""Every option is declared once, has help text, and reaches the sample."""

from oslo_config import cfg
import testtools

from zol_driver import options


class OptionsTestCase(testtools.TestCase):

    def test_every_option_has_help(self):
        for opt in options.zol_opts:
            self.assertTrue(opt.help and len(opt.help) > 20, opt.name)

    def test_names_are_unique_and_prefixed(self):
        names = [o.name for o in options.zol_opts]
        self.assertEqual(len(names), len(set(names)))
        for name in names:
            self.assertTrue(name.startswith('zol_'), name)

    def test_list_opts_includes_consumed_cinder_options(self):
        (group, opts), = options.list_opts()
        names = {o.name for o in opts}
        for wanted in ('zol_parent_dataset', 'san_ip', 'san_private_key',
                       'target_prefix', 'use_chap_auth'):
            self.assertIn(wanted, names)

    def test_register_and_read_defaults(self):
        conf = cfg.ConfigOpts()
        options.register(conf, group='zfs1')
        conf([], project='test')
        self.assertEqual('tank/cinder', conf.zfs1.zol_parent_dataset)
        self.assertTrue(conf.zfs1.zol_ssh_strict_host_key)

    def test_sample_says_the_portal_defaults_to_san_ip(self):
        (group, opts), = options.list_opts()
        portal, = [o for o in opts if o.name == 'target_ip_address']
        self.assertIn('san_ip', portal.help)
        self.assertNotIn('san_ip', options.cinder_consumed_opts()[
            [o.name for o in options.cinder_consumed_opts()].index(
                'target_ip_address')].help)
