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

"""target-restore of many persisted targets into an empty real tgtd.

Runs two wrapper scripts side by side on this machine: the one in the
checkout ("after") and an older one taken from git ("before", by default
the last 1.1.0 script, which listed tgtd again after every target it
restored).  Each round kills tgtd (it forgets every target, as after a
crash or reboot), starts it empty and times one ``target-restore`` of the
same N persisted targets (files stand in for zvols; half have CHAP, a
third an initiator ACL).  A shim in front of tgtadm counts the listings
(``--op show``) and all tgtadm runs.  Who goes first alternates by round.
"floor" replays, bare and one after the other, the tgtadm runs that the
"after" script made: what the restore costs without any shell work.

Run as root:  python3 benchmarks/wrapper_restore.py [-n 200] [-r 3]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.functional import test_wrapper_tgt as wt  # noqa: E402

BEFORE = '6b11d2f'      # tools/zfswrapper.sh 1.1.0, before issue 14
INIT = 'iqn.1994-05.com.redhat:bench'
SECRET = 'BenchSecret0123'


class Bed(object):
    """A real tgtd, N persisted targets, a counting tgtadm shim."""

    def __init__(self, n):
        self.tgtd = wt.Tgtd()
        self.tgtd.setUp()
        self.dir = tempfile.mkdtemp(prefix='zol-bench-restore-')
        self.conf = wt.wrapper_config(self.dir, self.tgtd.control)
        self.record = os.path.join(self.dir, 'tgtadm.calls')
        with open(os.path.join(self.dir, 'tgtadm'), 'w') as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "$*" >>%s\n'
                    'exec %s -C %d "$@"\n'
                    % (self.record, wt.TGTADM, self.tgtd.control))
        zvols = os.path.join(self.dir, 'zvol', 'tank', 'cinder')
        state = os.path.join(self.dir, 'state')
        os.makedirs(zvols)
        os.makedirs(state, mode=0o700)
        self.iqns = []
        for i in range(n):
            name = 'volume-b%04d' % i
            iqn = 'iqn.2010-10.org.openstack:' + name
            with open(os.path.join(zvols, name), 'wb') as f:
                f.truncate(1 << 20)
            user = 'user%04d' % i if i % 2 == 0 else ''
            with open(os.path.join(state, iqn), 'w') as f:
                f.write('iqn=%s\ndataset=tank/cinder/%s\nserial=sn%d\n'
                        'tid=%d\nchap_user=%s\nchap_secret=%s\n'
                        'initiators=%s\n'
                        % (iqn, name, i, i + 1, user,
                           SECRET if user else '',
                           INIT if i % 3 == 0 else 'ALL'))
            self.iqns.append(iqn)

    def close(self):
        self.tgtd.cleanUp()
        shutil.rmtree(self.dir, ignore_errors=True)

    def restore(self, script):
        """(seconds, listings, tgtadm runs) of one restore by ``script``."""
        self.tgtd.kill()
        self.tgtd.start()
        if os.path.exists(self.record):
            os.unlink(self.record)
        env = {'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND':
               'target-restore', 'SSH_CONNECTION': '127.0.0.1 1 127.0.0.1 22'}
        start = time.perf_counter()
        p = subprocess.run([wt.DASH, script, '-c', self.conf], env=env,
                           capture_output=True, timeout=3600)
        seconds = time.perf_counter() - start
        lines = sorted(p.stdout.decode().splitlines())
        if p.returncode or lines != ['%s restored' % i for i in self.iqns]:
            raise RuntimeError('%s: rc %d, %s' % (script, p.returncode,
                                                  p.stderr.decode()[-500:]))
        with open(self.record) as f:
            self.calls = f.read().splitlines()
        return (seconds, sum(1 for c in self.calls if '--op show' in c),
                len(self.calls))

    def floor(self, calls):
        """The same tgtadm runs, bare, one after the other (no wrapper)."""
        self.tgtd.kill()
        self.tgtd.start()
        tgtadm = [wt.TGTADM, '-C', str(self.tgtd.control)]
        start = time.perf_counter()
        for c in calls:
            subprocess.run(tgtadm + c.split(' '), check=True,
                           stdout=subprocess.DEVNULL)
        return (time.perf_counter() - start,
                sum(1 for c in calls if '--op show' in c), len(calls))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=200, help='targets')
    parser.add_argument('-r', '--rounds', type=int, default=3)
    parser.add_argument('--before', default=BEFORE,
                        help='git revision of the "before" script')
    args = parser.parse_args()
    why = wt._missing_tools()
    if why:
        sys.exit('cannot run: %s' % why)
    old = subprocess.run(['git', '-C', REPO, 'show',
                          '%s:tools/zfswrapper.sh' % args.before],
                         capture_output=True, check=True).stdout
    tmp = tempfile.mkdtemp(prefix='zol-bench-before-')
    scripts = {'before': os.path.join(tmp, 'zfswrapper.sh'),
               'after': os.path.join(REPO, 'tools', 'zfswrapper.sh')}
    with open(scripts['before'], 'wb') as f:
        f.write(old)
    bed = Bed(args.n)
    runs = {k: [] for k in ('before', 'after', 'floor')}
    try:
        for i in range(args.rounds):
            for which in (('before', 'after') if i % 2 == 0
                          else ('after', 'before')):
                runs[which].append(bed.restore(scripts[which]))
                if which == 'after':
                    needed = bed.calls
            runs['floor'].append(bed.floor(needed))
    finally:
        bed.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print('target-restore of %d persisted targets into an empty real tgtd, '
          '%d rounds' % (args.n, args.rounds))
    print('%-7s %-10s %9s %9s %9s %9s %7s' % (
        'script', 'version', 'median s', 'min s', 'max s', 'listings',
        'tgtadm'))
    for which in ('before', 'after', 'floor'):
        version = {'before': args.before, 'after': 'checkout',
                   'floor': 'no script'}[which]
        secs = [r[0] for r in runs[which]]
        print('%-7s %-10s %9.2f %9.2f %9.2f %9d %7d' % (
            which, version, statistics.median(secs), min(secs), max(secs),
            runs[which][0][1], runs[which][0][2]))


if __name__ == '__main__':
    main()
