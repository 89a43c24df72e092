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

"""The wrapper's target verbs on this machine's own CPU, against a real tgtd.

Under TCG every process the wrapper starts in the test-bed guest costs
~50 ms, which is what its ratios to the floor mostly measure.  This runs
the same script natively, side by side with the bare tgtadm commands each
verb needs (the floor), against a tgtd on 127.0.0.1 (a file stands in for
the zvol).  Both are run locally, without SSH: a warm pooled SSH channel
adds the same few milliseconds to both (benchmarks/ssh_latency.py).

The wrapper does more than the floor on purpose: it takes the host lock,
lists tgtd's targets to find the tid and ACL, and writes and syncs the
state file that ``target-restore`` replays after a tgtd restart.

Run as root:  python3 benchmarks/wrapper_native.py [-n 20]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from tests.functional import test_wrapper_tgt as wt  # noqa: E402

IQN = 'iqn.2010-10.org.openstack:volume-bench'
INIT = 'iqn.1994-05.com.redhat:bench'
USER = 'benchuser'
SECRET = 'BenchSecret0123'
TID = 1
VERBS = ('target-create', 'target-allow', 'target-deny', 'target-delete')


def bare_commands(tgtadm, dev, tid=TID):
    """The tgtadm argvs each verb needs, in the order they run."""
    t = [tgtadm, '--lld', 'iscsi']
    return {
        'target-create': [
            t + ['--op', 'new', '--mode', 'target', '--tid', str(tid),
                 '--targetname', IQN],
            t + ['--op', 'new', '--mode', 'logicalunit', '--tid', str(tid),
                 '--lun', '1', '--backing-store', dev, '--bstype', 'rdwr'],
            t + ['--op', 'update', '--mode', 'logicalunit', '--tid',
                 str(tid), '--lun', '1', '--params', 'scsi_sn=sn-bench'],
            t + ['--op', 'new', '--mode', 'account', '--user', USER,
                 '--password', SECRET],
            t + ['--op', 'bind', '--mode', 'account', '--tid', str(tid),
                 '--user', USER],
            t + ['--op', 'bind', '--mode', 'target', '--tid', str(tid),
                 '-I', 'ALL']],
        # the first allowed initiator replaces ALL
        'target-allow': [
            t + ['--op', 'bind', '--mode', 'target', '--tid', str(tid),
                 '--initiator-name', INIT],
            t + ['--op', 'unbind', '--mode', 'target', '--tid', str(tid),
                 '-I', 'ALL']],
        'target-deny': [
            t + ['--op', 'unbind', '--mode', 'target', '--tid', str(tid),
                 '--initiator-name', INIT]],
        'target-delete': [
            t + ['--op', 'delete', '--mode', 'target', '--tid', str(tid)],
            t + ['--op', 'delete', '--mode', 'account', '--user', USER]],
    }


class Bed(object):
    """A real tgtd, a wrapper config pointing at it, one file 'zvol'."""

    def __init__(self):
        self.tgtd = wt.Tgtd()
        self.tgtd.setUp()
        self.dir = tempfile.mkdtemp(prefix='zol-bench-native-')
        zvols = os.path.join(self.dir, 'zvol', 'tank', 'cinder')
        os.makedirs(zvols)
        self.dev = os.path.join(zvols, 'vol')
        with open(self.dev, 'wb') as f:
            f.truncate(64 << 20)
        self.tgtadm = os.path.join(self.dir, 'tgtadm')
        self.conf = wt.wrapper_config(self.dir, self.tgtd.control)

    def close(self):
        self.tgtd.cleanUp()
        shutil.rmtree(self.dir, ignore_errors=True)

    def populate(self, n):
        """``n`` other targets made by the wrapper (tids 1..n).

        As a host with many exports holds them; each is backed by its own
        small file.
        """
        for i in range(n):
            dev = os.path.join(os.path.dirname(self.dev), 'bg%d' % i)
            with open(dev, 'wb') as f:
                f.truncate(1 << 20)
            self.wrapper('target-create %s-bg%d tank/cinder/bg%d sn-bg%d '
                         'bguser%d' % (IQN, i, i, i, i),
                         (SECRET + '\n').encode())

    def wrapper(self, command, stdin=b''):
        rc, _out, err = wt.run_wrapper(self.conf, command, stdin)
        if rc:
            raise RuntimeError('%s: %s' % (command, err))

    def verbs(self):
        return {
            'target-create': lambda: self.wrapper(
                'target-create %s tank/cinder/vol sn-bench %s'
                % (IQN, USER), (SECRET + '\n').encode()),
            'target-allow': lambda: self.wrapper(
                'target-allow %s %s' % (IQN, INIT)),
            'target-deny': lambda: self.wrapper(
                'target-deny %s %s' % (IQN, INIT)),
            'target-delete': lambda: self.wrapper('target-delete ' + IQN),
        }


def timed(func):
    start = time.perf_counter()
    func()
    return (time.perf_counter() - start) * 1000


def run_bare(argvs):
    for argv in argvs:
        subprocess.run(argv, check=True, capture_output=True)


def measure(n, background=0):
    """{verb: {'wrapper': [ms], 'floor': [ms]}} over n rounds.

    A round is one create, allow, deny, delete cycle each way; who goes
    first alternates by round. ``background`` other targets are in tgtd
    all along (the measured one gets the next tid).
    """
    bed = Bed()
    try:
        t0 = time.perf_counter()
        bed.populate(background)
        if background:
            print('%d background targets made in %.1f s' % (
                background, time.perf_counter() - t0), file=sys.stderr)
        bare = bare_commands(bed.tgtadm, bed.dev, tid=background + 1)
        ways = {'wrapper': bed.verbs(),
                'floor': {v: (lambda v=v: run_bare(bare[v])) for v in bare}}
        samples = {v: {'wrapper': [], 'floor': []} for v in VERBS}
        for i in range(n + 1):          # round 0 warms caches, unrecorded
            for how in (('wrapper', 'floor') if i % 2 == 0
                        else ('floor', 'wrapper')):
                for verb in VERBS:
                    ms = timed(ways[how][verb])
                    if i:
                        samples[verb][how].append(ms)
        return samples
    finally:
        bed.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=20, help='rounds')
    parser.add_argument('--background', type=int, default=0,
                        help='other targets in tgtd while measuring '
                        '(issue 22\'s scale: e.g. 200)')
    parser.add_argument('--json', action='store_true',
                        help='print the samples as JSON instead')
    args = parser.parse_args()
    why = wt._missing_tools()
    if why:
        sys.exit('cannot run: %s' % why)
    samples = measure(args.n, args.background)
    if args.json:
        print(json.dumps(samples))
        return
    print('wrapper target verbs vs bare tgtadm, native CPU, real tgtd, '
          'median of %d (ms), %d other targets in tgtd'
          % (args.n, args.background))
    print('%-15s %5s %9s %9s %7s' % ('verb', 'cmds', 'wrapper', 'floor',
                                     'ratio'))
    bed_cmds = bare_commands('tgtadm', 'dev')
    for verb, s in samples.items():
        w, f = statistics.median(s['wrapper']), statistics.median(s['floor'])
        print('%-15s %5d %9.1f %9.1f %7.2f' % (verb, len(bed_cmds[verb]), w,
                                               f, w / f))


if __name__ == '__main__':
    main()
