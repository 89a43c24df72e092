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

"""What the grammar table and the helper cost per command (issue 24).

Runs the checkout's wrapper ("after": GRAMMAR read by one interpreter,
the target verbs in zfswrapper-helper.sh) and an older one taken from git
("before", by default the self-contained 1.2.0 script) side by side on
this machine, against the unit tests' stub zfs and fake tgtadm: the time
is the wrapper's own (judging, the config, the log, for a target verb the
helper's exec and its reading of the wrapper), not ZFS's or tgtd's.
Who goes first alternates by round.  Prints the median ms per command.

Run:  python3 benchmarks/wrapper_table.py [-n 50] [--before REV]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.unit import test_wrapper as tw  # noqa: E402

BEFORE = 'dc864b0'      # tools/zfswrapper.sh 1.2.0, one file
COMMANDS = (
    'zfs list -H -p -o name tank/cinder',
    'zfs create -s -V 1073741824 -o compression=lz4 -o zol:cinder_id=x '
    'tank/cinder/volume-1',
    'zfs set zol:a=b tank/cinder/volume-1@s',
    'tgtadm --lld iscsi --op show --mode target',
    'target-list',
)


def run(script, conf, command):
    env = {'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND': command,
           'SSH_CONNECTION': '192.0.2.7 50022 192.0.2.1 22'}
    start = time.perf_counter()
    p = subprocess.run([tw.DASH, script, '-c', conf], env=env,
                       capture_output=True)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit('%s: %r exited %d: %s' % (
            script, command, p.returncode, p.stderr.decode()))
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=50, help='rounds')
    parser.add_argument('--before', default=BEFORE,
                        help='git revision of the older wrapper')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = os.path.join(tmp, 'zfswrapper.sh')
        with open(before, 'w') as f:
            f.write(subprocess.run(
                ['git', '-C', REPO, 'show',
                 '%s:tools/zfswrapper.sh' % args.before],
                capture_output=True, text=True, check=True).stdout)
        scripts = {'before': before, 'after': tw.WRAPPER}
        bed = tw.WrapperFixture()
        try:
            times = {(s, c): [] for s in scripts for c in COMMANDS}
            for i in range(args.n):
                order = sorted(scripts, reverse=bool(i % 2))
                for command in COMMANDS:
                    for name in order:
                        times[name, command].append(
                            run(scripts[name], bed.conf, command))
        finally:
            bed.cleanup()
    print('median ms per command, %d rounds (before: %s, after: the '
          'checkout)' % (args.n, args.before))
    print('%-8s %-8s %s' % ('before', 'after', 'command'))
    for command in COMMANDS:
        print('%-8.2f %-8.2f %s' % (
            statistics.median(times['before', command]) * 1000,
            statistics.median(times['after', command]) * 1000,
            command[:60]))


if __name__ == '__main__':
    main()
