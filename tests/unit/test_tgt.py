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

"""zol_driver.tgt against a recording executor with canned wrapper output."""

import types

from cinder.volume import configuration
from cinder.volume import driver as cinder_driver
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from tests.unit import fakes
from tests.unit.fakes import Recorder
from zol_driver import errors
from zol_driver import tgt

P = 'tank/cinder'
PREFIX = 'iqn.2010-10.org.openstack:'
VOL = 'volume-0b7d8f5e-2a36-4f8a-9d44-4a1f2b3c4d5e'
VID = '0b7d8f5e-2a36-4f8a-9d44-4a1f2b3c4d5e'
IQN = PREFIX + VOL
INI = 'iqn.1993-08.org.debian:01:abcdef'
SECRET = fakes.SECRET


def conf(**kw):
    values = dict(zol_parent_dataset=P, target_prefix=PREFIX,
                  target_ip_address='192.0.2.10', target_port=3260,
                  target_secondary_ip_addresses=[], use_chap_auth=None,
                  zol_export_timeout=None, zol_restore_timeout=120,
                  san_ip='192.0.2.99')
    values.update(kw)
    return types.SimpleNamespace(**values)


class HelpersTestCase(testtools.TestCase):

    def test_generated_chap_is_fresh_and_well_formed(self):
        pairs = {tgt.generate_chap() for _ in range(50)}
        self.assertEqual(50, len(pairs))
        for user, secret in pairs:
            self.assertRegex(user, r'^zol[0-9a-f]{12}$')
            self.assertRegex(secret, r'^[A-Za-z0-9]{16}$')

    def test_parse_auth(self):
        self.assertEqual(('u', 's'), tgt.parse_auth('CHAP u s'))
        for bad in (None, '', 'CHAP u', 'XXX u s', 'CHAP u s t'):
            self.assertIsNone(tgt.parse_auth(bad), bad)

    def test_serial_is_the_id_without_dashes(self):
        self.assertEqual(VID.replace('-', ''), tgt.serial_for(VID))
        self.assertEqual(32, len(tgt.serial_for(VID)))
        self.assertRaises(errors.TargetError, tgt.serial_for, '--')

    def test_parse_location(self):
        self.assertEqual((['1.2.3.4:3260', '5.6.7.8:3260'], 7, IQN, 1),
                         tgt.parse_location('1.2.3.4:3260;5.6.7.8:3260,7 %s 1'
                                            % IQN))
        self.assertEqual((['1.2.3.4:3260'], None, IQN, 1),
                         tgt.parse_location('1.2.3.4:3260 %s' % IQN))
        self.assertIsNone(tgt.parse_location(None))
        self.assertIsNone(tgt.parse_location('junk'))

    def test_parse_target_list(self):
        text = ('%s tid=3 lun=/dev/zvol/%s/%s persisted=yes sessions=2\n'
                'iqn.x:gone tid=- lun=- persisted=yes sessions=0\n\n'
                % (IQN, P, VOL))
        got = tgt.parse_target_list(text)
        self.assertEqual(tgt.TargetInfo(IQN, 3, '/dev/zvol/%s/%s' % (P, VOL),
                                        True, 2), got[IQN])
        self.assertEqual(tgt.TargetInfo('iqn.x:gone', None, None, True, 0),
                         got['iqn.x:gone'])

    def test_parse_restore(self):
        self.assertEqual({'a': 'ok', 'b': 'restored', 'c': 'failed'},
                         tgt.parse_restore('a ok\nb restored\n\nc failed\n'))

    def test_export_repr_hides_the_secret(self):
        export = tgt.TgtTargets(Recorder(), conf()).export_for(
            VOL, VID, 'CHAP zolu %s' % SECRET)
        for text in (repr(export), str(export), '%s' % (export,)):
            self.assertNotIn(SECRET, text)
            self.assertIn('***', text)


class ChapWantedTestCase(testtools.TestCase):
    """CHAP is on unless the operator set use_chap_auth = False."""

    def setUp(self):
        super().setUp()
        self.cfg = self.useFixture(config_fixture.Config(cfg.CONF))
        self.conf = configuration.Configuration(cinder_driver.volume_opts,
                                                config_group='chap_unit')

    def test_plain_objects_give_their_value(self):
        self.assertTrue(tgt.chap_wanted(conf()))
        self.assertTrue(tgt.chap_wanted(conf(use_chap_auth=True)))
        self.assertFalse(tgt.chap_wanted(conf(use_chap_auth=False)))

    def test_cinder_default_false_means_on(self):
        self.assertFalse(self.conf.use_chap_auth)
        self.assertTrue(tgt.chap_wanted(self.conf))

    def test_operator_false_in_backend_section_is_honoured(self):
        self.cfg.config(group='chap_unit', use_chap_auth=False)
        self.assertFalse(tgt.chap_wanted(self.conf))

    def test_operator_false_in_backend_defaults_is_honoured(self):
        self.cfg.config(group='backend_defaults', use_chap_auth=False)
        self.assertFalse(tgt.chap_wanted(self.conf))

    def test_operator_true_is_honoured(self):
        self.cfg.config(group='chap_unit', use_chap_auth=True)
        self.assertTrue(tgt.chap_wanted(self.conf))


class _RecordedTargets(testtools.TestCase):
    """TgtTargets on a Recorder, with a clock the test moves."""

    def setUp(self):
        super().setUp()
        self.ex = Recorder()
        self.now = [1000.0]
        self.slept = []
        self.targets = tgt.TgtTargets(self.ex, conf(),
                                      clock=lambda: self.now[0],
                                      sleep=self.sleep)

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now[0] += seconds


class TargetsTestCase(_RecordedTargets):

    def test_export_for_new_volume_gets_new_chap(self):
        export = self.targets.export_for(VOL, VID)
        self.assertEqual(IQN, export.iqn)
        self.assertEqual('%s/%s' % (P, VOL), export.dataset)
        self.assertEqual(VID.replace('-', ''), export.serial)
        self.assertRegex(export.chap_user, r'^zol[0-9a-f]{12}$')
        self.assertEqual('CHAP %s %s' % export.chap, export.provider_auth)

    def test_export_for_reuses_provider_auth(self):
        export = self.targets.export_for(VOL, VID, 'CHAP zolu %s' % SECRET)
        self.assertEqual(('zolu', SECRET), export.chap)

    def test_export_without_renew_never_invents_chap(self):
        export = self.targets.export_for(VOL, VID, None, renew=False)
        self.assertIsNone(export.chap)
        self.assertIsNone(export.provider_auth)

    def test_export_without_chap_when_turned_off(self):
        targets = tgt.TgtTargets(self.ex, conf(use_chap_auth=False))
        export = targets.export_for(VOL, VID, 'CHAP zolu %s' % SECRET)
        self.assertIsNone(export.chap)
        self.assertEqual(('target-create', IQN, '%s/%s' % (P, VOL),
                          export.serial), export.target_create_argv())
        self.assertIsNone(export.stdin())

    def test_export_refuses_words_the_wrapper_would_refuse(self):
        self.assertRaises(errors.TargetError, self.targets.export_for,
                          'vol ume', VID)
        self.assertRaises(errors.TargetError, self.targets.export_for,
                          VOL, VID, 'CHAP zolu short')
        self.assertRaises(errors.TargetError, self.targets.export_for,
                          VOL, VID, 'CHAP zol;u %s' % SECRET)
        self.assertEqual([], self.ex.calls)

    def test_create_sends_secret_on_stdin_only(self):
        self.ex.on('^target-create ', out='tid=7\n')
        export = self.targets.export_for(VOL, VID, 'CHAP zolu %s' % SECRET)
        self.assertEqual(7, self.targets.create(export))
        self.assertEqual(['target-create %s %s/%s %s zolu'
                          % (IQN, P, VOL, VID.replace('-', ''))],
                         self.ex.calls)
        self.assertNotIn(SECRET, self.ex.calls[0])
        self.assertEqual([SECRET + '\n'], self.ex.inputs)

    def test_create_without_tid_fails(self):
        self.ex.on('^target-create ', out='ok\n')
        export = self.targets.export_for(VOL, VID)
        self.assertRaises(errors.TargetError, self.targets.create, export)

    def test_errors_carry_the_host_words_and_refusals_are_typed(self):
        self.ex.on('^target-create ', err='tgtadm: out of memory\n',
                   exit_code=22)
        export = self.targets.export_for(VOL, VID, 'CHAP zolu %s' % SECRET)
        exc = self.assertRaises(errors.TargetError, self.targets.create,
                                export)
        self.assertIn('out of memory', str(exc))
        self.assertIn(IQN, str(exc))
        self.assertNotIn(SECRET, str(exc))
        self.ex.rules = []
        self.ex.on('^target-delete ', err='zfswrapper: refused: x\n',
                   exit_code=126)
        self.assertRaises(errors.WrapperRefused, self.targets.delete, IQN)

    def test_location_lists_every_portal(self):
        targets = tgt.TgtTargets(self.ex, conf(
            target_secondary_ip_addresses=['192.0.2.11', 'fd00::1'],
            target_port=3261))
        self.assertEqual('192.0.2.10:3261;192.0.2.11:3261;[fd00::1]:3261,'
                         '4 %s 1' % IQN, targets.location(IQN, 4))

    def test_one_command_each(self):
        self.targets.delete(IQN)
        self.targets.allow(IQN, INI)
        self.targets.deny(IQN, INI)
        self.assertTrue(self.targets.resize(IQN))
        self.assertEqual(['target-delete ' + IQN,
                          'target-allow %s %s' % (IQN, INI),
                          'target-deny %s %s' % (IQN, INI),
                          'target-resize ' + IQN], self.ex.calls)

    def test_allow_refuses_a_strange_initiator(self):
        self.assertRaises(errors.TargetError, self.targets.allow, IQN,
                          'iqn.x y')
        self.assertEqual([], self.ex.calls)

    def test_deny_on_a_gone_target_is_done(self):
        self.ex.on('^target-deny ', err='no such target', exit_code=22)
        self.ex.on('^target-list', out='iqn.other tid=1 lun=- '
                   'persisted=yes sessions=0\n')
        self.targets.deny(IQN, INI)
        self.assertEqual(['target-deny %s %s' % (IQN, INI), 'target-list'],
                         self.ex.calls)

    def test_deny_failure_on_a_live_target_raises(self):
        self.ex.on('^target-deny ', err='tgtadm: busy', exit_code=22)
        self.ex.on('^target-list', out='%s tid=2 lun=1 persisted=yes '
                   'sessions=1\n' % IQN)
        self.assertRaises(errors.TargetError, self.targets.deny, IQN, INI)

    def test_resize_without_target_is_a_no_op(self):
        self.ex.on('^target-resize ', err='no such target', exit_code=22)
        self.ex.on('^target-list', out='')
        self.assertFalse(self.targets.resize(IQN))

    def test_resize_failure_on_a_live_target_raises(self):
        self.ex.on('^target-resize ', err='tgtadm: bad', exit_code=22)
        self.ex.on('^target-list', out='%s tid=2 lun=1 persisted=yes '
                   'sessions=1\n' % IQN)
        self.assertRaises(errors.TargetError, self.targets.resize, IQN)

    def test_transport_errors_pass_through_after_one_resend(self):
        calls = []

        def broken(*argv, **kw):
            calls.append(argv)
            raise errors.TransportError('ZFS host', 'reset')
        targets = tgt.TgtTargets(broken, conf())
        self.assertRaises(errors.TransportError, targets.delete, IQN)
        self.assertEqual(2, len(calls))

    def test_a_command_lost_with_its_connection_is_sent_again(self):
        answers = [errors.TransportError('ZFS host', 'lost'), ('tid=4', '')]
        calls = []

        def flaky(*argv, **kw):
            calls.append((argv, kw.get('process_input')))
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        targets = tgt.TgtTargets(flaky, conf())
        export = targets.export_for(VOL, VID, 'CHAP zolu %s' % SECRET)
        self.assertEqual(4, targets.create(export))
        self.assertEqual(2, len(calls))
        self.assertEqual(calls[0], calls[1])

    def test_export_verbs_share_one_budget_with_their_resend(self):
        now = [0.0]
        deadlines = []

        def slow_then_lost(*argv, **kw):
            deadlines.append(kw.get('deadline'))
            now[0] += 10
            raise errors.TransportError('ZFS host', 'lost')
        targets = tgt.TgtTargets(slow_then_lost,
                                 conf(zol_export_timeout=25),
                                 clock=lambda: now[0])
        self.assertRaises(errors.TransportError, targets.allow, IQN, INI)
        self.assertEqual([25, 15], deadlines)

    def test_no_resend_when_the_budget_is_spent(self):
        now = [0.0]
        deadlines = []

        def lost_late(*argv, **kw):
            deadlines.append(kw.get('deadline'))
            now[0] += 24.5
            raise errors.TransportError('ZFS host', 'lost')
        targets = tgt.TgtTargets(lost_late, conf(zol_export_timeout=25),
                                 clock=lambda: now[0])
        self.assertRaises(errors.TransportError, targets.deny, IQN, INI)
        self.assertEqual([25], deadlines)

    def test_restore_has_no_export_budget(self):
        self.targets.conf.zol_export_timeout = 25
        self.ex.on('^target-restore', out='')
        self.ex.on('^target-list', out='')
        self.targets.restore()
        self.targets.listing()
        self.assertEqual([None, 25], self.ex.deadlines)

    def test_host_key_errors_are_never_resent(self):
        calls = []

        def bad_key(*argv, **kw):
            calls.append(argv)
            raise errors.HostKeyError('ZFS host', 'changed')
        targets = tgt.TgtTargets(bad_key, conf())
        self.assertRaises(errors.HostKeyError, targets.listing)
        self.assertEqual(1, len(calls))


class CinderCallsTestCase(_RecordedTargets):
    """The export calls on any volume-like object, without Cinder."""

    def volume(self, **kw):
        values = dict(name=VOL, id=VID, provider_location=None,
                      provider_auth=None, encryption_key_id=None,
                      volume_attachment=[])
        values.update(kw)
        return types.SimpleNamespace(**values)

    def test_export_connect_disconnect_unexport(self):
        self.ex.on('^target-create ', out='tid=7\n')
        vol = self.volume()
        update = self.targets.create_export(vol)
        self.assertEqual('192.0.2.10:3260,7 %s 1' % IQN,
                         update['provider_location'])
        vol = self.volume(**update)
        info = self.targets.initialize_connection(vol, {'initiator': INI})
        user, secret = tgt.parse_auth(update['provider_auth'])
        self.assertEqual({'driver_volume_type': 'iscsi', 'data': {
            'target_discovered': False, 'target_portal': '192.0.2.10:3260',
            'target_iqn': IQN, 'target_lun': 1, 'volume_id': VID,
            'encrypted': False, 'auth_method': 'CHAP',
            'auth_username': user, 'auth_password': secret}}, info)
        self.assertFalse(self.targets.terminate_connection(
            vol, {'initiator': INI}))
        self.targets.remove_export(vol)
        self.assertEqual(['target-create', 'target-allow', 'target-deny',
                          'target-delete'],
                         [c.split()[0] for c in self.ex.calls])

    def test_failed_create_is_undone_and_raised(self):
        self.ex.on('^target-create ', err='no zvol', exit_code=1)
        self.assertRaises(errors.TargetError, self.targets.create_export,
                          self.volume())
        self.assertEqual(['target-create', 'target-delete'],
                         [c.split()[0] for c in self.ex.calls])

    def test_resize_export_only_when_exported(self):
        self.targets.resize_export(self.volume())
        self.assertEqual([], self.ex.calls)
        self.targets.resize_export(self.volume(
            provider_location='192.0.2.10:3260,7 %s 1' % IQN))
        self.assertEqual(['target-resize ' + IQN], self.ex.calls)


class StartupTestCase(_RecordedTargets):
    """N exports at start-up cost one restore plus one per broken target."""

    def exports(self, n):
        return [self.targets.export_for(
            'volume-%032x' % i, '%032x' % i, 'CHAP zolu%d %s' % (i, SECRET),
            renew=False) for i in range(n)]

    def test_ensure_costs_one_restore_for_all(self):
        exports = self.exports(50)
        self.ex.on('^target-restore', out=''.join(
            '%s %s\n' % (e.iqn, 'ok' if i % 2 else 'restored')
            for i, e in enumerate(exports)))
        for export in exports:
            self.assertFalse(self.targets.ensure(export))
        self.assertEqual(['target-restore'], self.ex.calls)

    def test_ensure_recreates_only_what_is_missing(self):
        exports = self.exports(5)
        self.ex.on('^target-restore', out='%s ok\n%s failed\n'
                   % (exports[0].iqn, exports[1].iqn))
        self.ex.on('^target-create ', out='tid=9\n')
        recreated = [self.targets.ensure(e) for e in exports]
        self.assertEqual([False, True, True, True, True], recreated)
        self.assertEqual(1, self.ex.calls.count('target-restore'))
        creates = self.ex.commands('target-create')
        self.assertEqual(4, len(creates))
        # the credentials the initiators know, not new ones
        self.assertTrue(creates[0].endswith(' zolu1'))
        self.assertEqual(SECRET + '\n', self.ex.inputs[-1])

    def test_window_ends_on_request_or_after_a_while(self):
        export = self.exports(1)[0]
        self.ex.on('^target-restore', out='%s ok\n' % export.iqn)
        self.targets.ensure(export)
        self.targets.ensure(export)
        self.targets.end_startup()
        self.targets.ensure(export)
        self.now[0] += self.targets.startup_window + 1
        self.targets.ensure(export)
        self.assertEqual(['target-restore'] * 3, self.ex.calls)

    def test_failing_restore_is_retried_within_its_time_then_raises(self):
        self.ex.on('^target-restore', err='tgtd not running', exit_code=1)
        exports = self.exports(3)
        exc = self.assertRaises(errors.TargetError, self.targets.ensure,
                                exports[0])
        self.assertIn('tgtd not running', str(exc))
        tries = self.ex.calls.count('target-restore')
        self.assertGreater(tries, 2)
        self.assertEqual(tries - 1, len(self.slept))
        self.assertLessEqual(sum(self.slept[:-1]), 120)
        self.assertLessEqual(max(self.slept), 15)
        # the failure is kept for the window: the other volumes fail fast
        for export in exports[1:]:
            self.assertRaises(errors.TargetError, self.targets.ensure,
                              export)
        self.assertEqual(tries, self.ex.calls.count('target-restore'))

    def test_restore_that_comes_back_is_used(self):
        exports = self.exports(1)
        self.ex.on('^target-restore', err='tgtd not running', exit_code=1,
                   times=2)
        self.ex.on('^target-restore', out='%s restored\n' % exports[0].iqn)
        self.assertFalse(self.targets.ensure(exports[0]))
        self.assertEqual(3, self.ex.calls.count('target-restore'))

    def test_restore_where_every_target_failed_is_retried(self):
        exports = self.exports(2)
        self.ex.on('^target-restore', out='%s failed\n%s failed\n' % (
            exports[0].iqn, exports[1].iqn), exit_code=1, times=1)
        self.ex.on('^target-restore', out='%s ok\n%s restored\n' % (
            exports[0].iqn, exports[1].iqn))
        self.assertFalse(self.targets.ensure(exports[0]))
        self.assertEqual(2, self.ex.calls.count('target-restore'))

    def test_refused_restore_is_not_retried(self):
        self.ex.on('^target-restore', err='refused', exit_code=126)
        self.assertRaises(errors.WrapperRefused, self.targets.ensure,
                          self.exports(1)[0])
        self.assertEqual(['target-restore'], self.ex.calls)

    def test_restore_with_some_failed_targets_still_answers(self):
        exports = self.exports(2)
        self.ex.on('^target-restore', out='%s ok\n%s failed\n' % (
            exports[0].iqn, exports[1].iqn), err='zfswrapper: x',
            exit_code=1)
        self.ex.on('^target-create ', out='tid=3\n')
        self.assertEqual([False, True],
                         [self.targets.ensure(e) for e in exports])
