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

"""Property: the wrapper runs exactly the commands its protocol allows.

Random argvs, mixtures of the protocol's own words (verbs, options,
datasets of both parents and of neither, properties, sizes, lists) and of
hostile ones (shell syntax, control bytes, paths, empty words), go to the
wrapper.  ``allowed`` below is the grammar of doc/wrapper-protocol.rst,
"Which commands can the driver's key run?", written again from the
document (not from the script): whatever the wrapper runs must be allowed
by it, and whatever it allows must run, unchanged.  Derandomized, so CI
sees the same examples every run; 500 examples: 5 s on a quiet host, 15-20
s on a busy one.
"""

import re

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.unit import test_wrapper as tw

PARENTS = ('tank/cinder', 'tank2/cinder/sub')     # test_wrapper.CONFIG
POOLS = ('tank', 'tank2')
NATIVE = set('volsize volblocksize compression checksum dedup sync logbias '
             'primarycache secondarycache copies refreservation reservation '
             'readonly snapdev'.split())
SAFE = re.compile(r'[A-Za-z0-9_.:/@=,-]+\Z')
SEG = re.compile(r'[A-Za-z0-9_:][A-Za-z0-9_.:-]*\Z')
DIGITS = re.compile(r'[0-9]{1,18}\Z')
NAMES = re.compile(r'[a-z0-9_:]+(,[a-z0-9_:]+)*\Z')


def dataset(word):
    """(kind, parent, volume) of a word, or None outside the parents."""
    for parent in PARENTS:
        if word == parent:
            return 'parent', parent, None
        if not word.startswith(parent + '/'):
            continue
        rest = word[len(parent) + 1:]
        vol, at, snap = rest.partition('@')
        if not SEG.match(vol) or (at and not SEG.match(snap)):
            return None
        return ('snap' if at else 'child'), parent, vol
    return None


def kind(word, *kinds):
    d = dataset(word)
    return d is not None and d[0] in kinds


def prop(word):
    """A PROP=VALUE of create/clone/snapshot/set: 'zol', 'native', None."""
    key, eq, value = word.partition('=')
    if not eq or not key or not value or value.startswith('-') or \
            '=' in value or not re.match(r'[A-Za-z0-9_.:/@,-]+\Z', value):
        return None
    if key.startswith('zol:'):
        return 'zol' if re.match(r'[a-z0-9_]+\Z', key[4:]) else None
    if key in NATIVE and re.match(r'[A-Za-z0-9_.-]+\Z', value):
        return 'native'
    return None


def options(words, spec):
    """Leading options of words by spec {opt: check or None}, each once.

    (found options, the words after them) or None.  '-o' of create is
    repeatable: spec value 'many'.
    """
    found = {}
    i = 0
    while i < len(words) and words[i].startswith('-'):
        opt = words[i]
        if opt not in spec:
            return None
        check = spec[opt]
        if opt in found and check != 'many-prop':
            return None
        if check is None:
            found[opt] = True
            i += 1
            continue
        if i + 1 >= len(words):
            return None
        arg = words[i + 1]
        ok = {'digits': DIGITS.match, 'names': NAMES.match,
              'many-prop': prop}[check](arg)
        if not ok:
            return None
        found.setdefault(opt, []).append(arg) if check == 'many-prop' \
            else found.__setitem__(opt, arg)
        i += 2
    return found, words[i:]


def zfs_allowed(sub, args):
    props = {'-o': 'many-prop'}
    if sub == 'create':
        r = options(args, {'-s': None, '-V': 'digits', '-b': 'digits',
                           '-o': 'many-prop'})
        return bool(r and '-V' in r[0] and len(r[1]) == 1 and
                    kind(r[1][0], 'child'))
    if sub == 'destroy':
        return (len(args) == 1 and kind(args[0], 'child')) or (
            len(args) == 2 and ((args[0] == '-r' and kind(args[1], 'child'))
                                or (args[0] == '-d' and
                                    kind(args[1], 'snap'))))
    if sub == 'snapshot':
        # one, or several of distinct volumes under one parent (groups)
        r = options(args, props)
        if not r or not r[1] or not all(kind(w, 'snap') for w in r[1]):
            return False
        found = [dataset(w)[1:] for w in r[1]]
        return (len({p for p, _v in found}) == 1 and
                len(set(found)) == len(found))
    if sub == 'clone':
        r = options(args, props)
        return bool(r and len(r[1]) == 2 and kind(r[1][0], 'snap') and
                    kind(r[1][1], 'child'))
    if sub == 'promote':
        return len(args) == 1 and kind(args[0], 'child')
    if sub == 'rollback':
        return len(args) == 1 and kind(args[0], 'snap')
    if sub == 'rename':
        if len(args) != 2:
            return False
        a, b = dataset(args[0]), dataset(args[1])
        if not a or not b or a[0] != b[0] or a[1] != b[1]:
            return False
        return a[0] == 'child' or (a[0] == 'snap' and a[2] == b[2])
    if sub == 'set':
        if len(args) < 2 or not all(prop(w) for w in args[:-1]):
            return False
        native = any(prop(w) == 'native' for w in args[:-1])
        return kind(args[-1], 'child') if native else kind(
            args[-1], 'child', 'snap')
    if sub == 'get':
        r = options(args, {'-H': None, '-p': None, '-o': 'names'})
        return bool(r and set(r[0]) == {'-H', '-p', '-o'} and
                    len(r[1]) == 2 and NAMES.match(r[1][0]) and
                    kind(r[1][1], 'parent', 'child', 'snap'))
    if sub == 'list':
        r = options(args, {'-H': None, '-p': None, '-o': 'names',
                           '-t': 'names', '-r': None, '-d': 'digits'})
        return bool(r and {'-H', '-p', '-o'} <= set(r[0]) and
                    ('-r' in r[0]) == ('-d' in r[0]) and len(r[1]) == 1 and
                    kind(r[1][0], 'parent', 'child', 'snap'))
    return False


def allowed(words):
    """Does doc/wrapper-protocol.rst allow running this argv?"""
    line = ' '.join(words)
    if not words or len(line) > 4096 or not SAFE.match(line.replace(' ', '')
                                                       or '!'):
        return False
    for w in words:
        if not w or len(w) > 128 or '//' in w or \
                re.search(r'(^|/)\.\.?(/|$)', w):
            return False
    if words[0] == 'zfs':
        return len(words) > 1 and zfs_allowed(words[1], words[2:])
    if words[0] == 'zpool':
        r = options(words[2:], {'-H': None, '-p': None, '-o': 'names'})
        return bool(len(words) > 1 and words[1] == 'list' and r and
                    set(r[0]) == {'-H', '-p', '-o'} and len(r[1]) == 1 and
                    r[1][0] in POOLS)
    if words[0] == 'tgtadm':
        return words[1:] == '--lld iscsi --op show --mode target'.split()
    return False


PROTOCOL_WORDS = (
    'zfs zpool tgtadm create destroy snapshot clone promote rename rollback '
    'set get list inherit send receive allow mount -s -V -b -o -d -r -t -H '
    '-p -R -f -u -x -- 1073741824 16384 0 1G -1 volsize=1 compression=lz4 '
    'zol:cinder_id=a-1 zol:X=1 mountpoint=/ refreservation=none '
    'snapdev=hidden zol:note=a/b name name,used,volsize property,value,source '
    'volume,snapshot all NAME tank tank2 rpool tank/cinder tank/cinder/v '
    'tank/cinder/w tank/cinder/v@s tank/cinder/v@t tank/cinder/w@s '
    'tank/cinder/zol-revert-v tank/cinder/zol-deleted-v-1 '
    'tank2/cinder/sub tank2/cinder/sub/v tank2/cinder/sub/v@s tank/x '
    'tank/cinder/a/b tank/cinder/-v tank/cinder/.v tank/cinder/../x '
    'tank/cinderx tank2/cinder --lld iscsi --op show --mode target').split()

# Characters of hostile words (no NUL: it cannot be in the environment).
HOSTILE_CHARS = ''.join(chr(c) for c in range(1, 128)) + '\xe9'

words = st.lists(st.one_of(st.sampled_from(PROTOCOL_WORDS),
                           st.sampled_from(PROTOCOL_WORDS),
                           st.text(HOSTILE_CHARS, max_size=10)),
                 min_size=1, max_size=9)
# Words that turn one legitimate command into another, or into one that
# is close to the protocol but outside it, come first.
CLOSE_WORDS = ('-r -d -s -t -o -H -p -R -f 1 2 name volume inherit createtxg '
               'tank2/cinder/sub/v tank/cinder/v tank/cinder/v@s zol:x=y '
               'compression=lz4 tank tank/cinder').split()
word = st.one_of(st.sampled_from(CLOSE_WORDS), st.sampled_from(CLOSE_WORDS),
                 st.sampled_from(PROTOCOL_WORDS),
                 st.text(HOSTILE_CHARS, max_size=10))
# Commands of the protocol's own table (test_wrapper.LEGITIMATE): the raw
# tgtadm listing and target verbs aside, they run stubs only.
BASES = [c.split(' ') for c in tw.LEGITIMATE]


@st.composite
def near_misses(draw):
    """A legitimate argv with up to three words replaced, added, dropped."""
    argv = list(draw(st.sampled_from(BASES)))
    for _i in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(['replace', 'insert', 'drop', 'swap']))
        at = draw(st.integers(0, len(argv) - 1))
        if op == 'replace':
            argv[at] = draw(word)
        elif op == 'insert':
            argv.insert(at, draw(word))
        elif op == 'drop' and len(argv) > 1:
            del argv[at]
        elif op == 'swap':
            other = draw(st.integers(0, len(argv) - 1))
            argv[at], argv[other] = argv[other], argv[at]
    return argv


commands = st.one_of(
    near_misses(), near_misses(),
    st.tuples(st.sampled_from(['zfs', 'zpool', 'tgtadm']), words).map(
        lambda t: [t[0]] + t[1]),
    words)


class TestProtocolProperty(tw.WrapperTestCase):

    @settings(max_examples=500, deadline=None, derandomize=True,
              database=None)
    @given(commands)
    def test_runs_exactly_what_the_protocol_allows(self, argv):
        command = ' '.join(argv)
        if '\x00' in command:
            return
        self.w.reset_calls()
        rc, _out, err = self.w.run(command)
        calls = self.w.calls()
        split = command.split(' ')
        if allowed(split):
            self.assertEqual((0, [split]), (rc, calls),
                             'allowed but not run: %r: %s' % (command, err))
        else:
            self.assertEqual([], calls, 'ran: %r' % command)
            self.assertEqual(126, rc, '%r: %s' % (command, err))

    def test_the_model_itself(self):
        """The grammar above on a few commands of each kind."""
        for command in tw.LEGITIMATE:
            self.assertTrue(allowed(command.split(' ')), command)
        for command in tw.HOSTILE:
            self.assertFalse(allowed(command.split(' ')), repr(command))
