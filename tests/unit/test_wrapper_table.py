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

"""Issue 24: the wrapper's grammar table, its documentation and its helper.

The table in tools/zfswrapper.sh is what the key can run; the copy in
doc/wrapper-protocol.rst is what a reader is told; NATIVE_PROPS is written
in the wrapper, in zol_driver/zfs.py and in the document.  Each pair must
stay equal.  The helper runs only from the wrapper of its own version.
"""

import glob
import os
import re
import shutil
import subprocess

import testtools

from tests.unit import test_wrapper as tw
from tests.unit import test_wrapper_props as tp
from zol_driver import version
from zol_driver import zfs

REPO = tw.REPO
HELPER = os.path.join(REPO, 'tools', 'zfswrapper-helper.sh')
DOC = os.path.join(REPO, 'doc', 'wrapper-protocol.rst')


def _read(path):
    with open(path) as f:
        return f.read()


def rows(text):
    """The non-blank lines of a table, each as a tuple of its words."""
    return [tuple(line.split()) for line in text.splitlines()
            if line.strip()]


def wrapper_grammar():
    text = _read(tw.WRAPPER)
    return rows(re.search(r"^GRAMMAR='\n(.*?)^'$", text, re.S | re.M)
                .group(1))


def doc_grammar():
    text = _read(DOC)
    block = re.search(r'^\.\. grammar-table-begin\n\n::\n\n(.*?)\n'
                      r'\.\. grammar-table-end$', text, re.S | re.M).group(1)
    return rows(block)


def wrapper_native_props():
    text = _read(tw.WRAPPER)
    return set(re.search(r"^NATIVE_PROPS='([a-z ]+)'$", text, re.M)
               .group(1).split())


def doc_native_props():
    """The list in the document's "prop" row of the kinds table."""
    text = _read(DOC)
    cell = re.search(r'^prop +``PROP=VALUE``: ``PROP`` one of ``([a-z\s]+)``',
                     text, re.M).group(1)
    return set(cell.split())


class GrammarTableTestCase(testtools.TestCase):

    def test_the_document_shows_the_wrappers_table(self):
        self.assertEqual(wrapper_grammar(), doc_grammar())

    def test_every_row_has_a_run_a_verb_and_one_colon(self):
        runs = set()
        for row in wrapper_grammar():
            self.assertEqual(1, row.count(':'), row)
            self.assertGreaterEqual(row.index(':'), 2, row)
            runs.add(row[0])
        self.assertEqual({'zfs', 'zpool', 'tgtadm', 'helper'}, runs)

    def test_native_props_are_one_list_in_three_places(self):
        self.assertEqual(set(zfs.NATIVE_PROPS), wrapper_native_props())
        self.assertEqual(set(zfs.NATIVE_PROPS), doc_native_props())
        # and the property test's own copy, written from the document
        self.assertEqual(set(zfs.NATIVE_PROPS), tp.NATIVE)

    def test_mutable_props_are_native_ones(self):
        self.assertLessEqual(zfs.MUTABLE_PROPS, zfs.NATIVE_PROPS)

    def test_the_helper_runs_every_helper_verb_and_no_other(self):
        verbs = {row[1] for row in wrapper_grammar() if row[0] == 'helper'}
        text = _read(HELPER)
        dispatch = text[text.rindex('case $VERB in'):]
        handled = set(re.findall(r'^    ([a-z|-]+)\)', dispatch, re.M))
        handled = {v for alt in handled for v in alt.split('|')}
        self.assertEqual(verbs, handled)

    def test_every_wrapper_verb_the_driver_names_is_in_the_table(self):
        verbs = {row[1] for row in wrapper_grammar() if row[0] == 'helper'}
        named = set()
        for path in glob.glob(os.path.join(REPO, 'zol_driver', '**', '*.py'),
                              recursive=True):
            named |= set(re.findall(r"'((?:target|zvol)-[a-z]+)'",
                                    _read(path)))
        self.assertTrue(named)
        self.assertLessEqual(named, verbs)


class HelperTestCase(tw.WrapperTestCase):
    """zfswrapper-helper.sh is reachable only through the wrapper."""

    def run_helper(self, argv, env):
        environ = {'PATH': '/usr/bin:/bin'}
        environ.update(env)
        return subprocess.run([tw.DASH, HELPER] + argv, env=environ,
                              capture_output=True, timeout=60)

    def test_refuses_without_the_wrappers_marker(self):
        self.w.zvol('v')
        argv = ['-c', self.w.conf, 'target-create', tw.IQN, 'tank/cinder/v',
                'sn-1']
        for env in ({}, {'ZFSWRAPPER': '1.0.0'}, {'ZFSWRAPPER': ''}):
            p = self.run_helper(argv, env)
            self.assertEqual(126, p.returncode, (env, p.stderr))
            self.assertIn(b'runs only from zfswrapper.sh', p.stderr)
        p = self.run_helper(['target-list'], {'ZFSWRAPPER': version.RELEASE})
        self.assertEqual(126, p.returncode, p.stderr)
        self.assertEqual([], self.w.calls())
        self.assertFalse(os.path.exists(self.w.statedir))

    def test_with_the_marker_it_runs_what_it_is_given(self):
        """What the wrapper execs (the wrapper's own tests run it so)."""
        p = self.run_helper(['-c', self.w.conf, 'target-list'],
                            {'ZFSWRAPPER': version.RELEASE})
        self.assertEqual(0, p.returncode, p.stderr)
        self.assertEqual([['tgtadm', '--lld', 'iscsi', '--op', 'show',
                           '--mode', 'target']], self.w.calls())

    def test_the_wrapper_finds_it_through_a_symlink(self):
        """A package's /usr/local/sbin link to /usr/sbin/zfswrapper.sh."""
        link = os.path.join(self.w.dir, 'zfswrapper.sh')
        os.symlink(tw.WRAPPER, link)
        self.w.zvol('v')
        p = subprocess.run(
            [tw.DASH, link, '-c', self.w.conf], capture_output=True,
            timeout=60, env={'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND':
                             'target-create %s tank/cinder/v sn-1' % tw.IQN})
        self.assertEqual(0, p.returncode, p.stderr)
        self.assertEqual(b'tid=1\n', p.stdout)

    def test_a_missing_helper_fails_only_its_verbs(self):
        d = os.path.join(self.w.dir, 'sbin')
        os.makedirs(d)
        wrapper = os.path.join(d, 'zfswrapper.sh')
        shutil.copy(tw.WRAPPER, wrapper)
        env = {'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND': 'target-list'}
        p = subprocess.run([tw.DASH, wrapper, '-c', self.w.conf], env=env,
                           capture_output=True, timeout=60)
        self.assertEqual(1, p.returncode, p.stderr)
        self.assertIn(b'no helper', p.stderr)
        self.assertEqual([], self.w.calls())
        env['SSH_ORIGINAL_COMMAND'] = tw.LIST
        p = subprocess.run([tw.DASH, wrapper, '-c', self.w.conf], env=env,
                           capture_output=True, timeout=60)
        self.assertEqual(0, p.returncode, p.stderr)
        self.assertEqual([tw.LIST.split()], self.w.calls())

    def test_the_secret_never_reaches_an_argv_of_the_helper(self):
        self.w.zvol('v')
        self.assertPassed('target-create %s tank/cinder/v sn-1 chapuser'
                          % tw.IQN, stdin=(tw.SECRET + '\n').encode())
        tgtadm = [c for c in self.w.calls() if tw.SECRET in c]
        # tgtadm itself takes it as an argv word (it has no other way)
        self.assertEqual(1, len(tgtadm))
        self.assertIn('--password', tgtadm[0])
        with open(os.path.join(self.w.dir, 'calls.env.tgtadm')) as f:
            self.assertNotIn(tw.SECRET, f.read())

    def test_no_shell_evaluation_in_the_helper(self):
        """The wrapper's banned constructs, but the one "." of the wrapper."""
        text = _read(HELPER)
        code = '\n'.join(line for line in text.splitlines()
                         if not line.lstrip().startswith('#'))
        for banned in (r'\beval\b', r'(^|[\s;&|(])(/bin/)?(ba|da)?sh -c',
                       r'\bbash\b', r'\$RANDOM', r'\[\[', r'\blocal\b',
                       r'\bsource\b'):
            self.assertIsNone(re.search(banned, code, re.M), banned)
        self.assertEqual(['. "${0%/*}/zfswrapper.sh"'],
                         re.findall(r'^\s*\. .*$', code, re.M))
