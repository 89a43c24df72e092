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

"""tools/zfswrapper.sh, run with dash against stub binaries.

Each stub records its argv (and, where it matters, its environment) in a
calls file, so a test sees exactly what the wrapper ran: every command the
driver sends must reach the binary unchanged, every hostile one must be
refused with exit 126, one line on stderr, and nothing run at all.  The
target verbs run against a fake tgtadm that keeps tgtd's state in a JSON
file and prints ``--op show`` the way tgtd 1.0.85 does.
"""

import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time

import testtools

from zol_driver import errors
from zol_driver import ssh
from zol_driver import version
from zol_driver import zfs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# ZOL_WRAPPER: judge another script (a saved older version, say).
WRAPPER = (os.environ.get('ZOL_WRAPPER') or
           os.path.join(REPO, 'tools', 'zfswrapper.sh'))
DASH = shutil.which('dash') or '/bin/sh'
SEP = '\x1f'
IQN = 'iqn.2010-10.org.openstack:volume-0001'
IQN2 = 'iqn.2010-10.org.openstack:volume-0002'
INIT1 = 'iqn.1994-05.com.redhat:compute-1'
INIT2 = 'iqn.1994-05.com.redhat:compute-2'
SECRET = 'Secret0123456789'
LIST = 'zfs list -H -p -o name tank/cinder'

# Records argv, environment and stdin; answers from files next to it.
STUB = """#!/bin/sh
d=%(dir)s
{ printf '%%s' "$(basename "$0")"; for a; do printf '\\037%%s' "$a"; done
  printf '\\n'; } >>"$d/calls"
env >"$d/env.$(basename "$0")"
[ -f "$d/out" ] && cat "$d/out"
[ -f "$d/err" ] && cat "$d/err" >&2
[ -f "$d/rc" ] && exit "$(cat "$d/rc")"
exit 0
"""

# sudo stand-in: records, drops -n, runs the rest.
SUDO = """#!/bin/sh
{ printf 'sudo'; for a; do printf '\\037%%s' "$a"; done; printf '\\n'; } \
    >>%(dir)s/calls
[ "$1" = -n ] && shift
exec "$@"
"""

FAKE_TGTADM = r'''#!/usr/bin/python3
"""tgtadm against a JSON file standing in for tgtd."""
import json, os, sys
STATE, CALLS = %(state)r, %(calls)r
args = sys.argv[1:]
with open(CALLS, 'a') as f:
    f.write('\x1f'.join(['tgtadm'] + args) + '\n')
with open(CALLS + '.env.tgtadm', 'w') as f:
    json.dump(dict(os.environ), f)
if args == ['-V']:
    print(os.environ.get('FAKE_TGT_VERSION', '1.0.85'))
    sys.exit(0)
ALIAS = {'-T': '--targetname', '-b': '--backing-store',
         '-I': '--initiator-address', '-Q': '--initiator-name'}
opts, i = {}, 0
while i < len(args):
    a = ALIAS.get(args[i], args[i])
    if a == '--force':
        opts[a] = True
        i += 1
    else:
        opts[a] = args[i + 1]
        i += 2
try:
    with open(STATE) as f:
        st = json.load(f)
except FileNotFoundError:
    st = {'targets': {}, 'accounts': {}}


def fail(msg, rc=22):
    sys.stderr.write('tgtadm: %%s\n' %% msg)
    sys.exit(rc)


if st.get('down'):
    fail("can't send the request to the tgt daemon, Transport endpoint "
         "is not connected", 107)
op, mode, tid = opts.get('--op'), opts.get('--mode'), opts.get('--tid')
T = st['targets']


def sessions(t):
    """Initiator names of t's sessions (a number: that many of INIT)."""
    s = t['sessions']
    return s if isinstance(s, list) else [INIT] * s


if mode == 'target' and op == 'show' and tid is not None:
    if tid not in T:
        fail("can't find the target")
    print('nop_interval=0\nnop_count=0\nMaxRecvDataSegmentLength=8192')
    sys.exit(0)
if mode == 'target' and op == 'show' and 'show_raw' in st:
    sys.stdout.write(st['show_raw'])     # a recorded listing, verbatim
    sys.exit(0)
if mode == 'target' and op == 'show':
    for k in sorted(T, key=int):
        t = T[k]
        print('Target %%s: %%s' %% (k, t['iqn']))
        print('    System information:\n        Driver: iscsi\n'
              '        State: ready')
        print('    I_T nexus information:')
        for n, who in enumerate(sessions(t)):
            print('        I_T nexus: %%d' %% (n + 1))
            print('            Initiator: %%s alias: x' %% who)
            print('            Connection: 0')
            print('                IP Address: 192.0.2.9')
        print('    LUN information:')
        print('        LUN: 0\n            Type: controller\n'
              '            Backing store path: None')
        if t['lun1']:
            print('        LUN: 1\n            Type: disk')
            print('            SCSI SN: %%s' %% t['lun1']['sn'])
            print('            Backing store type: %%s' %% t['lun1']['bs'])
            print('            Backing store path: %%s' %% t['lun1']['path'])
            print('            Backing store flags: ')
        print('    Account information:')
        for u in t['accounts']:
            print('        %%s' %% u)
        print('    ACL information:')
        for a in t['acl']:
            print('        %%s' %% a)
    sys.exit(0)
if mode == 'target' and op == 'new':
    if tid in T or any(t['iqn'] == opts['--targetname'] for t in T.values()):
        fail('this target already exists')
    T[tid] = {'iqn': opts['--targetname'], 'lun1': None, 'acl': [],
              'accounts': [], 'sessions': 0}
elif mode == 'target' and op == 'delete':
    if tid not in T:
        fail("can't find the target", 3)
    if T[tid]['sessions'] and not opts.get('--force'):
        fail('this target is still active', 16)
    if T[tid].get('stuck') or st.get('delete_fails'):
        fail('this target is still active', 16)     # never drains
    del T[tid]
elif mode == 'target' and op in ('bind', 'unbind'):
    if tid not in T:
        fail("can't find the target", 3)
    who = opts.get('--initiator-address') or opts.get('--initiator-name')
    acl = T[tid]['acl']
    if op == 'bind':
        if who in acl:
            fail('this access control rule already exists')
        acl.append(who)
    elif who in acl:
        acl.remove(who)
    else:
        fail("can't find the access control rule")
elif mode == 'conn' and op == 'delete':
    names = sessions(T[tid]) if tid in T else []
    sid = int(opts['--sid'])
    if not 0 < sid <= len(names) or opts['--cid'] != '0':
        fail("can't find the connection")
    del names[sid - 1]
    T[tid]['sessions'] = names
elif mode == 'logicalunit':
    if tid not in T:
        fail("can't find the target", 3)
    t = T[tid]
    if opts['--lun'] != '1':
        fail('only LUN 1 here')
    if op == 'new':
        if t['lun1']:
            fail('this logical unit number already exists')
        if st.get('lun_fails'):
            fail('out of memory', 12)
        if not os.path.exists(opts['--backing-store']):
            fail('invalid request')
        t['lun1'] = {'path': opts['--backing-store'],
                     'bs': opts.get('--bstype', 'rdwr'), 'sn': 'beaf11',
                     'opened': 1}
    elif op == 'update':
        for p in opts['--params'].split(','):
            k, v = p.split('=', 1)
            if k == 'scsi_sn':
                t['lun1']['sn'] = v
            elif k == 'path':
                t['lun1']['path'] = v
                t['lun1']['opened'] += 1
    elif op == 'delete':
        t['lun1'] = None
elif mode == 'account':
    A = st['accounts']
    user = opts['--user']
    if op == 'new':
        if user in A:
            fail('this account already exists')
        A[user] = opts['--password']
    elif op == 'delete':
        if user not in A:
            fail("can't find the account")
        del A[user]
        for t in T.values():
            if user in t['accounts']:
                t['accounts'].remove(user)
    elif op == 'bind':
        if tid not in T or user not in A:
            fail("can't find the target or account")
        T[tid]['accounts'].append(user)
    elif op == 'unbind':
        if tid not in T or user not in T[tid]['accounts']:
            fail("can't find the account")
        T[tid]['accounts'].remove(user)
else:
    fail('unknown request')
with open(STATE, 'w') as f:
    json.dump(st, f)
'''.replace('INIT', repr(INIT1))

CONFIG = """\
# written by the test
parents = tank/cinder   tank2/cinder/sub
zfs = {bin}/zfs
zpool = {bin}/zpool
tgtadm = {bin}/tgtadm
dd = /bin/dd
statedir = {dir}/state
lockfile = {dir}/lock
log = {dir}/wrapper.log
zvol_root = {dir}/zvol
zvol_allow_files = yes
zvol_wait = 0
"""

# Every command the driver sends (doc/wrapper-protocol.rst).
LEGITIMATE = [
    'zfs create -s -V 1073741824 tank/cinder/volume-1',
    'zfs create -V 1073741824 -b 16384 -o compression=lz4 '
    '-o zol:cinder_id=8a1c-44 -o logbias=throughput tank/cinder/volume-1',
    'zfs create -s -V 4096 -o refreservation=none -o volblocksize=8192 '
    '-o snapdev=hidden -o readonly=off tank2/cinder/sub/v',
    'zfs destroy tank/cinder/volume-1',
    'zfs destroy -r tank/cinder/volume-1',
    'zfs destroy -d tank/cinder/volume-1@snapshot-2',
    'zfs snapshot tank/cinder/volume-1@snapshot-2',
    'zfs snapshot -o zol:cinder_id=abc tank/cinder/volume-1@zol-clone-x',
    # a group snapshot: several volumes of one parent, one transaction
    'zfs snapshot -o zol:cinder_id=gs tank/cinder/volume-1@snapshot-a '
    'tank/cinder/volume-2@snapshot-b tank/cinder/volume-3@snapshot-c',
    'zfs clone tank/cinder/volume-1@snapshot-2 tank/cinder/volume-3',
    'zfs clone -o volsize=2147483648 -o zol:cinder_id=x '
    'tank/cinder/volume-1@s tank/cinder/volume-3',
    'zfs promote tank/cinder/volume-3',
    'zfs promote tank/cinder/zol-revert-volume-1',
    'zfs rename tank/cinder/zol-revert-volume-1 tank/cinder/volume-1',
    'zfs rename tank/cinder/volume-1 '
    'tank/cinder/zol-deleted-volume-1-1700000000',
    'zfs rename tank2/cinder/sub/a tank2/cinder/sub/b',
    'zfs rename tank/cinder/volume-1 tank/cinder/zol-deleted-volume-1',
    'zfs rename tank/cinder/volume-1@a tank/cinder/volume-1@b',
    'zfs rollback tank/cinder/volume-1@snapshot-2',
    'zfs set volsize=2147483648 tank/cinder/volume-1',
    'zfs set compression=zstd-3 checksum=sha256 dedup=off sync=always '
    'primarycache=metadata secondarycache=none copies=2 reservation=0 '
    'tank/cinder/volume-1',
    'zfs set zol:managed=yes zol:cinder_id=1a2b tank/cinder/volume-1@s',
    'zfs set zol:note=a/b@c:d,e tank/cinder/v',
    'zfs get -H -p -o property,value volsize,zol:cinder_id '
    'tank/cinder/volume-1',
    'zfs get -H -p -o property,value used,available tank/cinder',
    'zfs get -H -p -o property,value,source type,volsize,defer_destroy '
    'tank/cinder/volume-1@snapshot-2',
    'zfs list -H -p -o name tank/cinder/volume-1',
    'zfs list -H -p -o name tank/cinder/volume-1@snapshot-2',
    'zfs list -H -p -r -d 1 -t filesystem,volume -o name,type,used,avail,'
    'volsize,volblocksize,compression,refreservation,origin,zol:cinder_id,'
    'zol:managed tank/cinder',
    'zfs list -H -p -r -d 2 -t volume,snapshot -o name,used,defer_destroy,'
    'clones tank/cinder',
    'zfs list -H -p -o name tank2/cinder/sub',
    'zpool list -H -p -o name,size,free,allocated tank2',
    # the replication engine's (issue 20): its state in one listing, the
    # source's local properties, a replica's readonly, a promote
    'zfs list -H -p -r -d 1 -t volume,snapshot -o name,type,guid,creation,'
    'readonly,receive_resume_token tank/cinder/volume-1',
    'zfs get -H -p -o property,value,source all tank/cinder/volume-1',
    'zfs set compression=lz4 refreservation=auto zol:cinder_id=c1d '
    'readonly=on tank/cinder/volume-1',
    'zfs rollback tank/cinder/volume-1@zol-repl-12',
    'zfs destroy -d tank/cinder/volume-1@zol-repl-11',
    'tgtadm --lld iscsi --op show --mode target',
]

# Nothing of these may run.
HOSTILE = [
    # not a command at all, or not split on single spaces
    '', ' ', 'zfs  list -H -p tank/cinder', ' zfs list -H -p tank/cinder',
    'zfs list -H -p tank/cinder ', 'zfs\tlist -H -p tank/cinder',
    # chaining, substitution, redirection, quoting, control bytes
    'zfs list -H -p tank/cinder; id', 'zfs list -H -p tank/cinder;id',
    'zfs list -H -p tank/cinder && id', 'zfs list -H -p tank/cinder || id',
    'zfs list -H -p tank/cinder | sh', 'zfs list -H -p tank/cinder & id',
    'zfs list -H -p $(id)', 'zfs list -H -p `id`', 'zfs list ${IFS}x',
    'zfs list -H -p tank/cinder\nid', 'zfs list -H -p tank/cinder\rid',
    'zfs list -H -p tank/cinder > /etc/passwd',
    'zfs list -H -p tank/cinder 2>/tmp/x', 'zfs list -H -p < /etc/shadow',
    "zfs list -H -p 'tank/cinder'", 'zfs list -H -p "tank/cinder"',
    'zfs list -H -p tank\\/cinder', 'zfs list -H -p tank/cinder#x',
    'zfs list -H -p ~root', 'zfs list -H -p tank/cinder\x00',
    'zfs list -H -p tank/cinder/\xc3\xa9', 'zfs list -H -p tank/cinder\x1b',
    'zfs list -H -p tank/cinder\x7f', 'zfs list -H -p !1',
    'zfs list -H -p %1', 'zfs list -H -p tank/cinder{a,b}',
    # globbing
    'zfs destroy tank/cinder/*', 'zfs destroy tank/cinder/volume-?',
    'zfs destroy tank/cinder/[a-z]*',
    # other binaries and shells
    'sh', '/bin/sh -i', 'bash', 'rm -rf /', 'cat /etc/shadow',
    'dd if=/dev/sda', '/sbin/zfs list -H -p tank/cinder', 'sudo zfs',
    'env zfs list -H -p tank/cinder', 'exec zfs', 'scp -t /tmp',
    'rsync --server -e.Lsfx . /tmp', '/usr/lib/openssh/sftp-server',
    'internal-sftp', 'zdb tank', 'python3', 'ZFS list -H -p tank/cinder',
    '-c /tmp/other.conf', 'zfswrapper.sh -c /etc/passwd', 'zvol-copy',
    # zfs verbs that are not in the protocol
    'zfs', 'zfs allow tank/cinder', 'zfs allow -u evil create tank/cinder',
    'zfs send tank/cinder/v@s', 'zfs receive tank/cinder/v',
    'zfs recv tank/cinder/v', 'zfs mount tank/cinder/v', 'zfs mount -a',
    'zfs unmount tank/cinder', 'zfs share -a', 'zfs unshare -a',
    'zfs upgrade -a', 'zfs diff tank/cinder/v@s', 'zfs userspace tank',
    'zfs program tank x.lua', 'zfs hold x tank/cinder/v@s',
    'zfs release x tank/cinder/v@s', 'zfs bookmark tank/cinder/v@s x',
    'zfs load-key -a', 'zfs change-key tank/cinder/v', 'zfs wait tank',
    'zfs project tank', 'zfs jail 1 tank/cinder/v', 'zfs version',
    'zfs redact tank/cinder/v@s x', 'zfs groupspace tank/cinder',
    # create: only volumes, only under a parent, only allowed options
    'zfs create tank/cinder/fs', 'zfs create -o volsize=1 tank/cinder/fs',
    'zfs create -p -V 1 tank/cinder/a/b', 'zfs create -V 1 tank/cinder/a/b',
    'zfs create -V 1 tank/cinder', 'zfs create -V 1 tank', 'zfs create -V 1',
    'zfs create -V 1 tank/x', 'zfs create -V 1 rpool/cinder/x',
    'zfs create -V 1 tank/cinderx', 'zfs create -V 1 tank2/cinder/x',
    'zfs create -V 1 tank2/cinder/sub', 'zfs create -V 1G tank/cinder/x',
    'zfs create -V -1 tank/cinder/x', 'zfs create -V 1 -V 2 tank/cinder/x',
    'zfs create -V', 'zfs create -V 1 -b 16K tank/cinder/x',
    'zfs create -V 1 tank/cinder/-x', 'zfs create -V 1 tank/cinder/.x',
    'zfs create -V 1 tank/cinder/x -R', 'zfs create -V 1 tank/cinder/x -o',
    'zfs create -V 1 tank/cinder/x tank/cinder/y',
    'zfs create -V 1 tank/cinder/x@s',
    'zfs create -V 1 -o mountpoint=/ tank/cinder/x',
    'zfs create -V 1 -o sharenfs=on tank/cinder/x',
    'zfs create -V 1 -o sharesmb=on tank/cinder/x',
    'zfs create -V 1 -o canmount=on tank/cinder/x',
    'zfs create -V 1 -o volmode=dev tank/cinder/x',
    'zfs create -V 1 -o encryption=on tank/cinder/x',
    'zfs create -V 1 -o keylocation=file:///etc/shadow tank/cinder/x',
    'zfs create -V 1 -o all=on tank/cinder/x',
    'zfs create -V 1 -o quota=1 tank/cinder/x',
    'zfs create -V 1 -o compression tank/cinder/x',
    'zfs create -V 1 -o compression= tank/cinder/x',
    'zfs create -V 1 -o compression=-x tank/cinder/x',
    'zfs create -V 1 -o compression=a/b tank/cinder/x',
    'zfs create -V 1 -o zol:X=1 tank/cinder/x',
    'zfs create -V 1 -o zol:=1 tank/cinder/x',
    'zfs create -V 1 -o zol:a=b=c tank/cinder/x',
    'zfs create -V 1 -o user:a=b tank/cinder/x',
    'zfs create -sV 1 tank/cinder/x', 'zfs create -s -s -V 1 tank/cinder/x',
    'zfs create --V 1 tank/cinder/x', 'zfs create -- -V 1 tank/cinder/x',
    # destroy
    'zfs destroy -R tank/cinder/v', 'zfs destroy -f tank/cinder/v',
    'zfs destroy -rR tank/cinder/v', 'zfs destroy -n tank/cinder/v',
    'zfs destroy -r -r tank/cinder/v', 'zfs destroy tank/cinder',
    'zfs destroy -r tank/cinder', 'zfs destroy tank', 'zfs destroy',
    'zfs destroy tank/cinder@s', 'zfs destroy tank/cinder/v@a,b',
    'zfs destroy tank/cinder/v@a%b', 'zfs destroy tank/cinder/v -R',
    'zfs destroy tank/cinder/v tank/cinder/w',
    'zfs destroy tank/cinder/../x', 'zfs destroy tank/cinder//x',
    'zfs destroy tank/cinder/./x', 'zfs destroy tank/cinder/..',
    'zfs destroy tank/cinder/x/y', 'zfs destroy tank/x',
    'zfs destroy tank/cinder/v@', 'zfs destroy tank/cinder/v@s@t',
    'zfs destroy tank/cinder/v@-s', 'zfs destroy rpool/ROOT',
    # snapshot, clone, promote
    'zfs snapshot tank/cinder/v', 'zfs snapshot -r tank/cinder/v@s',
    'zfs snapshot tank/cinder@s', 'zfs snapshot -r tank/cinder@s',
    'zfs snapshot tank/x/v@s', 'zfs snapshot tank/cinder/v@s tank/x@s',
    'zfs snapshot -o mountpoint=/x tank/cinder/v@s',
    # group snapshots: every one a snapshot, one parent, distinct volumes
    'zfs snapshot tank/cinder/a@s tank2/cinder/sub/b@s',
    'zfs snapshot tank/cinder/a@s tank/cinder/a@t',
    'zfs snapshot tank/cinder/a@s tank/cinder/b',
    'zfs snapshot tank/cinder/a@s tank/cinder/b@s tank/cinder',
    'zfs snapshot tank/cinder/a@s -o zol:x=y tank/cinder/b@s',
    'zfs snapshot tank/cinder/a@s tank/cinder/b@s -r',
    'zfs clone tank/cinder/v@s tank/x', 'zfs clone tank/x@s tank/cinder/v',
    'zfs clone -p tank/cinder/v@s tank/cinder/a/b',
    'zfs clone tank/cinder/v@s tank/cinder/w@t',
    'zfs clone tank/cinder/v tank/cinder/w',
    'zfs clone tank/cinder/v@s tank/cinder',
    'zfs clone -o mountpoint=/mnt tank/cinder/v@s tank/cinder/w',
    'zfs clone -o sharenfs=rw tank/cinder/v@s tank/cinder/w',
    'zfs clone tank/cinder/v@s', 'zfs promote tank/cinder',
    'zfs promote tank/x', 'zfs promote -f tank/cinder/v',
    'zfs promote tank/cinder/v@s', 'zfs promote tank/cinder/v tank/cinder/w',
    # rename, rollback
    'zfs rename tank/cinder/v tank/x', 'zfs rename tank/x tank/cinder/v',
    'zfs rename -p tank/cinder/v tank/cinder/a/b',
    'zfs rename -f tank/cinder/v tank/cinder/w',
    'zfs rename -r tank/cinder/v@a tank/cinder/v@b',
    'zfs rename tank/cinder/a@s tank/cinder/b@s',
    'zfs rename tank/cinder/v tank/cinder/v@s',
    'zfs rename tank/cinder/v@s tank/cinder/w',
    'zfs rename tank/cinder/v', 'zfs rename tank/cinder tank/cinder2',
    'zfs rename tank/cinder/v tank/cinder',
    'zfs rollback -r tank/cinder/v@s', 'zfs rollback -R tank/cinder/v@s',
    'zfs rollback -f tank/cinder/v@s', 'zfs rollback tank/cinder/v',
    'zfs rollback tank/x/v@s', 'zfs rollback tank/cinder/v@s -R',
    # set, inherit: dangerous properties, parent, outside
    'zfs set mountpoint=/etc tank/cinder/v',
    'zfs set sharenfs=on tank/cinder/v', 'zfs set sharesmb=on tank/cinder/v',
    'zfs set canmount=on tank/cinder/v', 'zfs set quota=1 tank/cinder/v',
    'zfs set volmode=full tank/cinder/v', 'zfs set exec=on tank/cinder/v',
    'zfs set setuid=on tank/cinder/v', 'zfs set devices=on tank/cinder/v',
    'zfs set keylocation=prompt tank/cinder/v',
    'zfs set compression=lz4 tank/cinder', 'zfs set compression=lz4 tank',
    'zfs set compression=lz4 tank/x/v', 'zfs set compression=lz4',
    'zfs set tank/cinder/v', 'zfs set compression=lz4 mountpoint=/ '
    'tank/cinder/v', 'zfs set compression=lz4 tank/cinder/v tank/cinder/w',
    'zfs set -u compression=lz4 tank/cinder/v',
    'zfs set zol:x=a=b tank/cinder/v', 'zfs set zol:X=a tank/cinder/v',
    'zfs set zol:x= tank/cinder/v', 'zfs set =x tank/cinder/v',
    'zfs set compression=lz4/x tank/cinder/v',
    'zfs set all=off tank/cinder/v',
    'zfs inherit compression tank/cinder/v',
    'zfs inherit mountpoint tank/cinder/v',
    'zfs inherit -r zol:x tank/cinder/v', 'zfs inherit -S zol:x tank/cinder/v',
    'zfs inherit zol:x tank/cinder', 'zfs inherit zol:x tank/x/v',
    'zfs inherit zol:x', 'zfs inherit zol:a:b tank/cinder/v',
    # get and list: read-only, yet nothing system-wide
    'zfs list', 'zfs list -H -p', 'zfs list -H -p -r', 'zfs list tank/cinder',
    'zfs list -H tank/cinder', 'zfs list -p tank/cinder',
    'zfs list -H -p tank', 'zfs list -H -p -r tank', 'zfs list -H -p tank/x',
    'zfs list -H -p tank/cinder/a/b', 'zfs list -H -p tank/cinder@s',
    'zfs list -H -p rpool', 'zfs list -H -p tank/cinder tank/cinder/v',
    'zfs list -H -p -d x tank/cinder', 'zfs list -H -p -d tank/cinder',
    'zfs list -H -p -o NAME tank/cinder', 'zfs list -H -p -o name,,used '
    'tank/cinder', 'zfs list -H -p -o ,name tank/cinder',
    'zfs list -H -p -o name, tank/cinder',
    'zfs list -H -p -o name -o used tank/cinder',
    'zfs list -H -p -S name tank/cinder', 'zfs list -H -p -s a,b tank/cinder',
    'zfs list -H -p tank/cinder -r', 'zfs list -H -H -p tank/cinder',
    'zfs list -Hp tank/cinder', 'zfs list -H -p -x tank/cinder',
    'zfs get -H -p -o value all tank', 'zfs get -H -p all tank/cinder',
    'zfs get -H -p -o value tank/cinder', 'zfs get -H -p -o value volsize',
    'zfs get -H -p -s local -o value volsize tank/cinder/v',
    'zfs get -o value -p volsize tank/cinder/v',
    'zfs get -H -p -o value volsize tank/cinder/v tank/cinder/w',
    'zfs get -H -p -o value volsize tank/x/v',
    # zpool
    'zpool', 'zpool status', 'zpool status tank', 'zpool list',
    'zpool list -H -p', 'zpool list tank', 'zpool list -H -p rpool',
    'zpool list -H -p tank 1', 'zpool list -H -p tank tank2',
    'zpool list -H -p tank/cinder', 'zpool list -H -p -v tank',
    'zpool list -H -p -o name -o size tank', 'zpool get -H -p all',
    'zpool get -H -p all rpool', 'zpool get -H -p size', 'zpool destroy tank',
    'zpool export tank', 'zpool import -a', 'zpool set autoexpand=on tank',
    'zpool iostat 1', 'zpool scrub tank', 'zpool history tank',
    'zpool upgrade -a', 'zpool labelclear -f /dev/sda', 'zpool attach tank',
    # raw tgtadm beyond the one read-only form
    'tgtadm', 'tgtadm --lld iscsi --op show --mode target --tid 1',
    'tgtadm --op show --mode target --lld iscsi',
    'tgtadm --lld iscsi --op show --mode account',
    'tgtadm --lld iscsi --op show --mode sys',
    'tgtadm --lld iscsi --op delete --mode target --tid 1',
    'tgtadm --lld iscsi --op delete --mode target --force --tid 1',
    'tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 '
    '-b /dev/sda', 'tgtadm --lld iscsi --op bind --mode target --tid 1 '
    '-I ALL', 'tgtadm --lld iscsi --mode sys --op update --name State '
    '-v offline', 'tgtadm -C 1 --lld iscsi --op show --mode target',
    # wrapper verbs with bad arguments
    'target-create', 'target-create %s' % IQN,
    'target-create %s tank/cinder/v' % IQN,
    'target-create foo tank/cinder/v sn1',
    'target-create iqn.x tank/cinder/v s',
    'target-create iqn.2010-10.org.openstack:../x tank/cinder/v s',
    'target-create iqn.2010-10.org.openstack:a/b tank/cinder/v s',
    'target-create %s /dev/sda sn1' % IQN,
    'target-create %s /dev/zvol/tank/cinder/v sn1' % IQN,
    'target-create %s tank/cinder sn1' % IQN,
    'target-create %s tank/x/v sn1' % IQN,
    'target-create %s tank/cinder/v@s sn1' % IQN,
    'target-create %s tank/cinder/../../sda sn1' % IQN,
    'target-create %s tank/cinder/a/b sn1' % IQN,
    'target-create %s tank/cinder/v s,online=0' % IQN,
    'target-create %s tank/cinder/v %s' % (IQN, 'x' * 37),
    'target-create %s tank/cinder/v -sn' % IQN,
    'target-create %s tank/cinder/v sn1 -user' % IQN,
    'target-create %s tank/cinder/v sn1 u=x' % IQN,
    'target-create %s tank/cinder/v sn1 user extra' % IQN,
    'target-delete', 'target-delete foo', 'target-delete %s x' % IQN,
    'target-delete iqn.2010-10.org.openstack:../../etc/passwd',
    'target-allow %s' % IQN, 'target-allow %s ALL' % IQN,
    'target-allow %s 127.0.0.1' % IQN, 'target-allow %s 0.0.0.0/0' % IQN,
    'target-allow foo %s' % INIT1, 'target-deny %s ALL' % IQN,
    'target-resize', 'target-resize foo', 'target-list x',
    'target-list %s' % IQN, 'target-restore now', 'version x',
    'zvol-read', 'zvol-read /dev/sda', 'zvol-read tank/cinder',
    'zvol-read tank/x', 'zvol-read tank/cinder/v@s', 'zvol-read ../../sda',
    'zvol-read tank/cinder/v tank/cinder/w', 'zvol-write /dev/sda',
    'zvol-write tank/cinder', 'zvol-write tank/cinder/../../../dev/sda',
    # allowed once, never sent by the driver (zol_driver/*.py)
    'zfs inherit zol:cinder_id tank/cinder/volume-1',
    'zfs inherit zol:managed tank/cinder/volume-1@s',
    'zfs destroy -d -r tank/cinder/zol-deleted-volume-1',
    'zfs destroy -r tank/cinder/v@s', 'zfs destroy tank/cinder/v@s',
    'zfs destroy -d tank/cinder/v', 'zfs destroy -r -d tank/cinder/v@s',
    'zfs get -H -p -r -d 1 -t volume -o name,property,value all '
    'tank/cinder', 'zfs get -H -p -r -o value volsize tank/cinder/v',
    'zfs list -H -p -r -d 2 -t snapshot -o name,used -s createtxg '
    'tank/cinder', 'zfs list -H -p tank2/cinder/sub',
    'zfs list -H -p -r -o name tank/cinder',
    'zfs list -H -p -d 1 -o name tank/cinder',
    'zpool list -H -p tank',
    'zpool get -H -p -o name,property,value size,free,ashift tank',
    'zfs set compression=lz4 tank/cinder/v@s',
    'zfs set zol:a=b volsize=1 tank/cinder/v@s',
    # rename stays within one parent (each parent is a backend)
    'zfs rename tank/cinder/v tank2/cinder/sub/v',
    'zfs rename tank2/cinder/sub/v tank/cinder/v',
    # streams: Cinder's volumes only, never the driver's internal zvols
    'zvol-read tank/cinder/zol-deleted-volume-1-1700000000',
    'zvol-write tank/cinder/zol-deleted-volume-1',
    'zvol-read tank/cinder/zol-revert-volume-1',
    'zvol-write tank/cinder/zol-revert-volume-1',
    'zvol-read tank/cinder/volume-1@zol-clone-volume-2',
    'zvol-write tank/cinder/volume-1@zol-clone-volume-2',
    # the extent streams (1.4.0): the same volumes only
    'zvol-read-extents', 'zvol-write-extents', 'zvol-read-extents /dev/sda',
    'zvol-write-extents tank/cinder', 'zvol-read-extents tank/x/v',
    'zvol-write-extents tank/cinder/../../../dev/sda',
    'zvol-write-extents tank/cinder/v@s', 'zvol-read-extents tank/cinder/v x',
    'zvol-write-extents tank/cinder/zol-deleted-volume-1',
    'zvol-read-extents tank/cinder/zol-revert-volume-1',
    'zvol-write-extents -o x tank/cinder/v', 'zvol-extents tank/cinder/v',
    # ZFS streams (issue 19): one snapshot of a zvol under a parent out,
    # a new zvol under a parent in; no other send/receive form
    'zvol-send tank/cinder/v', 'zvol-send tank/cinder', 'zvol-send tank@s',
    'zvol-send tank/other/v@s', 'zvol-send tank/cinder/v@s tank/cinder/w@s',
    'zvol-send -R tank/cinder/v@s', 'zvol-send -p tank/cinder/v@s',
    'zvol-send -w tank/cinder/v@s', 'zvol-send -t 1-abc-de-789c',
    'zvol-send -b tank/cinder/v@s', 'zvol-send -S tank/cinder/v@s',
    'zvol-send -I tank/cinder/v@a tank/cinder/v@b',
    'zvol-send -i tank/cinder/v@a tank/cinder/w@b',
    'zvol-send -i tank/cinder/v@a tank2/cinder/sub/v@b',
    'zvol-send -i tank/other/v@a tank/other/v@b',
    'zvol-send -i tank/cinder/v tank/cinder/v@b',
    'zvol-send -i tank/cinder/v#bm tank/cinder/v@b',
    'zvol-send -i tank/cinder/v@a', 'zvol-send -i',
    'zvol-send tank/cinder/v@s -i tank/cinder/v@a',
    'zvol-send -n -v -t 1-abc', 'zvol-send-resume 1-abc-de-789c',
    'zvol-send-resume tank/cinder/v@s',
    'zvol-recv', 'zvol-recv tank/cinder', 'zvol-recv tank/other/v',
    'zvol-recv tank', 'zvol-recv tank/cinder/v@s',
    'zvol-recv -F tank/cinder/v', 'zvol-recv -s tank/cinder/v',
    'zvol-recv -o mountpoint=/etc tank/cinder/v',
    'zvol-recv -o mountpoint=/ tank/cinder/v',
    'zvol-recv -x mountpoint tank/cinder/v',
    'zvol-recv -o canmount=on tank/cinder/v',
    'zvol-recv -d tank/cinder', 'zvol-recv -e tank/cinder',
    'zvol-recv tank/cinder/v tank/cinder/w',
    'zvol-recv tank/cinder/zol-deleted-volume-1',
    'zvol-recv tank/cinder/zol-revert-volume-1',
    'zvol-recv tank/cinder/../../etc', 'zvol-recv tank/cinder/v/child',
    'zvol-recv-abort', 'zvol-recv-abort tank/cinder',
    'zvol-recv-abort tank/other/v', 'zvol-recv-abort tank/cinder/v@s',
    'zvol-recv-abort tank/cinder/zol-deleted-volume-1',
    # zvol-recv-incr (1.6.0): one existing zvol of a parent, no flags
    'zvol-recv-incr', 'zvol-recv-incr tank/cinder', 'zvol-recv-incr tank',
    'zvol-recv-incr tank/other/v', 'zvol-recv-incr tank/cinder/v@s',
    'zvol-recv-incr tank/cinder/v@zol-repl-1',
    'zvol-recv-incr -F tank/cinder/v', 'zvol-recv-incr -s tank/cinder/v',
    'zvol-recv-incr -u tank/cinder/v', 'zvol-recv-incr -A tank/cinder/v',
    'zvol-recv-incr -o readonly=off tank/cinder/v',
    'zvol-recv-incr -o mountpoint=/ tank/cinder/v',
    'zvol-recv-incr -x readonly tank/cinder/v',
    'zvol-recv-incr -d tank/cinder', 'zvol-recv-incr -e tank/cinder',
    'zvol-recv-incr tank/cinder/v -F', 'zvol-recv-incr tank/cinder/v -',
    'zvol-recv-incr tank/cinder/v tank/cinder/w',
    'zvol-recv-incr tank/cinder/zol-deleted-volume-1',
    'zvol-recv-incr tank/cinder/zol-revert-volume-1',
    'zvol-recv-incr tank/cinder/../../etc', 'zvol-recv-incr /dev/sda',
    'zvol-recv-incr tank/cinder/v/child', 'zvol-recv-incr tank2/cinder',
    'zvol-recv-incremental tank/cinder/v', 'zvol-recv-incr-abort tank/c/v',
    'zfs receive -F tank/cinder/v', 'zfs receive -s -u tank/cinder/v',
    'zvol-sum', 'zvol-sum /dev/sda', 'zvol-sum tank/cinder',
    'zvol-sum tank/other/v', 'zvol-sum tank/cinder/v@s',
    'zvol-sum tank/cinder/v tank/cinder/w',
    'zfs send tank/cinder/v@s', 'zfs receive tank/cinder/v',
    'zfs recv -s tank/cinder/v', 'zfs receive -A tank/cinder/v',
    # the grammar table's own notation is no part of a command (issue 24)
    'helper target-list', 'helper', 'zfs helper', 'tgtadm helper',
    'zfs create -V=1 tank/cinder/x', 'zfs create -V=size 1 tank/cinder/x',
    'zfs list -H -p -o=name tank/cinder', 'zfs destroy -d= tank/cinder/v@s',
    'zfs get -H -p -o name', 'zfs set', 'zfs snapshot',
    'zfs snapshot tank/cinder/a@s tank/cinder/b@s tank/cinder/c',
    'zfs set zol:a=b', 'zfs rename tank/cinder/a@s tank/cinder/a',
    'zfs rename tank/cinder/a tank/cinder/b tank/cinder/c',
    'tgtadm --lld iscsi --op show --mode', 'tgtadm --lld',
    'tgtadm --lld =iscsi --op show --mode target',
    'target-create %s tank/cinder/v sn1 chapuser extra' % IQN,
    'target-list target-list', 'version version', 'zvol-read tank/cinder/v x',
    # sizes
    'zfs list -H -p tank/cinder/' + 'v' * 120,
    'zfs set ' + 'zol:a=b ' * 512 + 'tank/cinder/v',
]


def _write(path, text, mode=0o755):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


class WrapperFixture(object):
    """A temp dir with stubs, a config and the wrapper's own state."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='zol-wrapper-')
        self.bin = os.path.join(self.dir, 'bin')
        os.makedirs(self.bin)
        os.makedirs(os.path.join(self.dir, 'zvol', 'tank', 'cinder'))
        for name in ('zfs', 'zpool'):
            _write(os.path.join(self.bin, name), STUB % {'dir': self.dir})
        self.tgt_state = os.path.join(self.dir, 'tgtd.json')
        _write(os.path.join(self.bin, 'tgtadm'), FAKE_TGTADM % {
            'state': self.tgt_state,
            'calls': os.path.join(self.dir, 'calls')})
        _write(os.path.join(self.bin, 'sudo'), SUDO % {'dir': self.dir})
        self.conf = os.path.join(self.dir, 'wrapper.conf')
        _write(self.conf, CONFIG.format(bin=self.bin, dir=self.dir), 0o644)
        self.statedir = os.path.join(self.dir, 'state')
        self.log = os.path.join(self.dir, 'wrapper.log')

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, command, stdin=b'', env=None, conf=None):
        """(rc, stdout, stderr) of the wrapper judging ``command``."""
        environ = {'PATH': '/usr/bin:/bin',
                   'SSH_CONNECTION': '192.0.2.7 50022 192.0.2.1 22'}
        if command is not None:
            environ['SSH_ORIGINAL_COMMAND'] = command
        environ.update(env or {})
        p = subprocess.run([DASH, WRAPPER, '-c', conf or self.conf],
                           input=stdin, env=environ, capture_output=True,
                           timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def calls(self):
        """Each recorded run as an argv list (binary name first)."""
        path = os.path.join(self.dir, 'calls')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [line.rstrip('\n').split(SEP) for line in f]

    def reset_calls(self):
        path = os.path.join(self.dir, 'calls')
        if os.path.exists(path):
            os.unlink(path)

    def read_log(self):
        if not os.path.exists(self.log):
            return ''
        with open(self.log) as f:
            return f.read()

    def tgtd(self):
        with open(self.tgt_state) as f:
            return json.load(f)

    def set_tgtd(self, state):
        with open(self.tgt_state, 'w') as f:
            json.dump(state, f)

    def configure(self, **changes):
        """Rewrite the config: KEY=VALUE changes, KEY=None drops KEY."""
        out = []
        for line in CONFIG.format(bin=self.bin, dir=self.dir).splitlines():
            key = line.split('=')[0].strip()
            if key not in changes:
                out.append(line)
            elif changes[key] is not None:
                out.append('%s = %s' % (key, changes.pop(key)))
            else:
                changes.pop(key)
        out += ['%s = %s' % kv for kv in changes.items() if kv[1] is not None]
        _write(self.conf, '\n'.join(out) + '\n', 0o644)

    def zvol(self, name, size=1 << 20):
        path = os.path.join(self.dir, 'zvol', 'tank', 'cinder', name)
        with open(path, 'wb') as f:
            f.truncate(size)
        return path


class WrapperTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.w = WrapperFixture()
        self.addCleanup(self.w.cleanup)

    def assertRefused(self, command, stdin=b''):
        self.w.reset_calls()
        rc, out, err = self.w.run(command, stdin)
        self.assertEqual(126, rc, 'not refused: %r (%s%s)' %
                         (command, out, err))
        self.assertEqual('', out, command)
        lines = err.splitlines()
        self.assertEqual(1, len(lines), 'stderr of %r: %r' % (command, err))
        self.assertTrue(lines[0].startswith('zfswrapper: refused: '),
                        lines[0])
        self.assertEqual([], self.w.calls(), 'ran for %r' % command)
        return lines[0]

    def assertPassed(self, command, stdin=b''):
        rc, out, err = self.w.run(command, stdin)
        self.assertEqual(0, rc, '%r: %s%s' % (command, out, err))
        return out


class TestAllowList(WrapperTestCase):

    def test_legitimate_commands_reach_the_binary_unchanged(self):
        for command in LEGITIMATE:
            self.w.reset_calls()
            self.assertPassed(command)
            words = command.split(' ')
            self.assertEqual([words], self.w.calls(), command)

    def test_hostile_commands_are_refused_and_nothing_runs(self):
        for command in HOSTILE:
            if '\x00' in command:
                continue        # cannot be in an environment variable
            self.assertRefused(command)

    def test_hostile_table_is_broad(self):
        self.assertGreater(len(HOSTILE), 300)

    def test_overlong_command_and_word(self):
        word = 'tank/cinder/' + 'v' * (ssh.MAX_WORD - 12)
        self.assertPassed('zfs list -H -p -o name ' + word)
        self.assertIn('longer than 128', self.assertRefused(
            'zfs list -H -p -o name ' + word + 'v'))
        cmd = 'zfs set ' + 'zol:a=b ' * 509 + 'tank/cinder/v'
        self.assertLessEqual(len(cmd), ssh.MAX_COMMAND)
        self.assertPassed(cmd)
        self.assertIn('longer than 4096',
                      self.assertRefused(cmd + ' zol:a=b' * 2))

    def test_no_command_is_refused(self):
        rc, out, err = self.w.run(None)
        self.assertEqual(126, rc)
        self.assertIn('no command', err)
        self.assertEqual([], self.w.calls())

    def test_stdout_stderr_and_exit_code_pass_through(self):
        _write(os.path.join(self.w.dir, 'out'), 'tank/cinder\t42\n', 0o644)
        _write(os.path.join(self.w.dir, 'err'), "cannot open 'x'\n", 0o644)
        _write(os.path.join(self.w.dir, 'rc'), '1\n', 0o644)
        rc, out, err = self.w.run('zfs list -H -p -o name tank/cinder')
        self.assertEqual((1, 'tank/cinder\t42\n', "cannot open 'x'\n"),
                         (rc, out, err))

    def test_exit_code_126_of_the_binary_is_passed_too(self):
        _write(os.path.join(self.w.dir, 'rc'), '2\n', 0o644)
        rc, _out, _err = self.w.run('zpool list -H -p -o name tank')
        self.assertEqual(2, rc)

    def test_binary_gets_a_clean_environment(self):
        evil = os.path.join(self.w.dir, 'evil')
        os.makedirs(evil)
        marker = os.path.join(self.w.dir, 'pwned')
        for name in ('awk', 'date', 'tr', 'head', 'env', 'sleep', 'mv',
                     'sync', 'mkdir', 'rm', 'logger', 'flock', 'zfs'):
            _write(os.path.join(evil, name), '#!/bin/sh\ntouch %s\n' % marker)
        rc, _o, err = self.w.run(
            'zfs list -H -p -o name tank/cinder',
            env={'PATH': evil, 'ZOL_EVIL': '1', 'LANG': 'de_DE.UTF-8',
                 'IFS': '/', 'ENV': marker, 'BASH_ENV': marker,
                 'BASH_FUNC_zfs%%': '() { touch %s; }' % marker})
        self.assertEqual(0, rc, err)
        self.assertFalse(os.path.exists(marker))
        with open(os.path.join(self.w.dir, 'env.zfs')) as f:
            env = dict(line.rstrip('\n').split('=', 1) for line in f
                       if '=' in line)
        self.assertNotIn('ZOL_EVIL', env)
        self.assertNotIn('LANG', env)
        self.assertNotIn('SSH_ORIGINAL_COMMAND', env)
        self.assertEqual('C', env['LC_ALL'])
        self.assertEqual('/usr/sbin:/usr/bin:/sbin:/bin', env['PATH'])
        # Nothing else. dash keeps IFS exported once the environment had
        # it (unset cannot drop the flag of its own variables), but with
        # the wrapper's blanks, never the caller's '/'; the stub, a dash
        # script, adds PWD itself.
        self.assertEqual({'PATH', 'LC_ALL', 'PWD', 'IFS'}, set(env))
        self.assertLessEqual(set(env['IFS']), set(' \t\n'))
        self.assertFalse(os.path.exists(marker))

    def test_target_verbs_run_tgtadm_with_a_clean_environment(self):
        self.w.zvol('v')
        rc, _o, err = self.w.run(
            'target-create %s tank/cinder/v sn-1' % IQN,
            env={'TGT_IPC_SOCKET': '/tmp/evil', 'ZOL_EVIL': '1',
                 # a newline in a value must not hide or forge names
                 'MULTI': "x\nexport FAKE_NAME='y'\n"})
        self.assertEqual(0, rc, err)
        with open(os.path.join(self.w.dir, 'calls.env.tgtadm')) as f:
            env = json.load(f)
        self.assertEqual({'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
                          'LC_ALL': 'C'}, env)

    def test_driver_commands_pass(self):
        """The real zol_driver.zfs argvs, through ssh.join_argv."""
        sent = []

        def executor(*argv, check_exit_code=True, process_input=None):
            line = ssh.join_argv(argv)
            sent.append(line)
            rc, out, err = self.w.run(line)
            self.assertEqual(0, rc, '%s: %s' % (line, err))
            return out, err

        host = zfs.ZFSHost(executor, 'tank/cinder')
        host.create_volume('volume-1', 1 << 30, sparse=True,
                           blocksize=16384,
                           props={'compression': 'lz4',
                                  'zol:cinder_id': 'abc-1'})
        host.create_volume('volume-2', 1 << 30, sparse=False)
        host.snapshot('volume-1@snapshot-1', props={'zol:cinder_id': 'x'})
        host.clone('volume-1@snapshot-1', 'volume-3',
                   props={'volsize': 2 << 30})
        host.promote('volume-3')
        host.rename('volume-2', zfs.ZFSHost.hidden_name('volume-2'))
        host.rename('volume-1@snapshot-1', 'volume-1@snapshot-9')
        host.rollback('volume-1@snapshot-9')
        host.set('volume-1', {'volsize': 4 << 30, 'zol:managed': 'yes'})
        host.get('volume-1', ['volsize', 'zol:cinder_id'])
        host.get(None, ['used', 'available'])
        host.list('volume-1', fields=('name', 'volsize'))
        host.space_listing()
        host.snapshot_listing()
        host.destroy('volume-1@snapshot-9', defer=True)
        host.destroy('volume-3', recursive=True)
        self.assertGreater(len(sent), 15)
        self.assertEqual(len(sent), len(self.w.calls()))


class TestLogging(WrapperTestCase):

    def _conf_with_log(self, log):
        """A copy of the test config with ``log = LOG``; its path."""
        conf = os.path.join(self.w.dir, 'log.conf')
        with open(self.w.conf) as f:
            text = f.read().replace(self.w.log, log)
        _write(conf, text, 0o644)
        return conf

    def test_allowed_and_refused_are_logged_with_client(self):
        self.assertPassed('zfs list -H -p -o name tank/cinder')
        self.assertRefused('zfs list -H -p tank/cinder;reboot')
        lines = self.w.read_log().splitlines()
        self.assertEqual(2, len(lines))
        self.assertIn('allowed from 192.0.2.7: ' + LIST,
                      lines[0])
        self.assertIn('refused from 192.0.2.7: byte outside the safe set: '
                      'zfs list -H -p tank/cinder?reboot', lines[1])

    def test_log_lines_carry_the_utc_time(self):
        before = datetime.datetime.now(datetime.timezone.utc)
        self.assertPassed('zfs list -H -p -o name tank/cinder')
        after = datetime.datetime.now(datetime.timezone.utc)
        stamp = self.w.read_log().split(' ', 1)[0]
        logged = datetime.datetime.strptime(
            stamp, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
        # boot time + uptime: whole seconds, so allow one on each side
        self.assertLessEqual(before - datetime.timedelta(seconds=2), logged)
        self.assertLessEqual(logged, after + datetime.timedelta(seconds=2))

    def test_syslog_goes_through_logger(self):
        if os.path.exists('/dev/log'):
            self.skipTest('/dev/log belongs to this machine\'s syslog; '
                          'the test needs to stand in for it')
        conf = self._conf_with_log('syslog')
        rc, _out, err = self.w.run(LIST, conf=conf)
        self.assertEqual(126, rc)
        self.assertIn('cannot write the log', err)
        self.assertEqual([], self.w.calls())
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        try:
            sock.bind('/dev/log')
        except OSError as e:
            self.skipTest('cannot stand in for syslog at /dev/log: %s' % e)
        self.addCleanup(os.unlink, '/dev/log')
        sock.settimeout(10)
        rc, _out, err = self.w.run(LIST, conf=conf)
        self.assertEqual(0, rc, err)
        self.assertEqual([LIST.split()],
                         self.w.calls())
        msg = sock.recv(4096).decode()
        # <PRI>: facility auth (4) * 8 + info (6) = 38
        self.assertTrue(msg.startswith('<38>'), msg)
        self.assertIn('zfswrapper', msg)
        self.assertIn('allowed from 192.0.2.7: ' + LIST,
                      msg)

    def test_newlines_cannot_forge_log_lines(self):
        self.assertRefused('x\n2026 zfswrapper[1]: allowed from 1.2.3.4: y')
        self.assertEqual(1, len(self.w.read_log().splitlines()))

    def test_unwritable_log_refuses_everything(self):
        conf = self._conf_with_log('/nonexistent/dir/log')
        rc, _out, err = self.w.run(LIST, conf=conf)
        self.assertEqual(126, rc)
        self.assertIn('cannot write the log', err)
        self.assertEqual([], self.w.calls())

    def test_chap_secret_is_never_logged(self):
        self.w.zvol('v')
        self.assertPassed('target-create %s tank/cinder/v sn-1 chapuser' % IQN,
                          stdin=(SECRET + '\n').encode())
        self.assertRefused('target-create %s tank/cinder/v sn-1 chapuser'
                           % IQN2, stdin=b'short,bad\n')
        log = self.w.read_log()
        self.assertIn('target-create', log)
        self.assertNotIn(SECRET, log)
        self.assertNotIn('short', log)


class TestConfig(WrapperTestCase):

    def _conf(self, text):
        path = os.path.join(self.w.dir, 'test.conf')
        _write(path, text, 0o644)
        return path

    def _base(self, **changes):
        lines = CONFIG.format(bin=self.w.bin, dir=self.w.dir).splitlines()
        out = []
        for line in lines:
            key = line.split('=')[0].strip()
            if key in changes:
                if changes[key] is not None:
                    out.append('%s = %s' % (key, changes.pop(key)))
                else:
                    changes.pop(key)
            else:
                out.append(line)
        out += ['%s = %s' % kv for kv in changes.items()]
        return '\n'.join(out) + '\n'

    def assertBadConfig(self, text):
        rc, _out, err = self.w.run('zfs list -H -p -o name tank/cinder',
                                   conf=self._conf(text))
        self.assertEqual(126, rc, text)
        self.assertIn('bad configuration', err)
        self.assertEqual([], self.w.calls())

    def test_bad_configs(self):
        for text in [
                self._base(parents=None),
                self._base(parents='/tank/cinder'),
                self._base(parents='tank/cinder tank/cinder/x'),
                self._base(parents='tank//cinder'),
                self._base(parents='tank/-x'),
                self._base(parents='tank/*'),
                self._base(zfs='zfs'),
                self._base(zfs='/nonexistent/zfs'),
                self._base(zfs=None),
                self._base(tgtadm='/bin/true /bin/sh'),
                self._base(log='relative.log'),
                self._base(zvol_wait='ten'),
                self._base(zvol_allow_files='maybe'),
                self._base(statedir='state'),
                self._base(sudo='sudo'),
                self._base() + 'unknown_key = 1\n',
                self._base() + 'parents = tank/other\n',
                self._base() + 'just words\n',
                self._base() + '$(id) = 1\n',
        ]:
            self.assertBadConfig(text)

    def test_comments_and_blank_lines(self):
        conf = self._conf('\n# c\n   \n' + self._base().replace(
            'parents =', 'parents\t=') + '  # trailing\n')
        rc, _out, err = self.w.run(LIST, conf=conf)
        self.assertEqual(0, rc, err)

    def test_usage(self):
        for argv in ([], ['-c'], ['-x', self.w.conf],
                     ['-c', self.w.conf, 'extra'],
                     ['-c', 'relative.conf']):
            p = subprocess.run([DASH, WRAPPER] + argv, capture_output=True,
                               env={'SSH_ORIGINAL_COMMAND': 'zfs list -H -p '
                                    'tank/cinder'})
            self.assertEqual(126, p.returncode, argv)
        self.assertEqual([], self.w.calls())


class TestVersionAndStreams(WrapperTestCase):

    def test_version(self):
        _write(os.path.join(self.w.dir, 'out'), 'zfs-2.1.11-1\n'
               'zfs-kmod-2.1.11-1\n', 0o644)
        out = self.assertPassed('version')
        self.assertEqual(['zfswrapper ' + version.RELEASE, 'zfs-2.1.11-1',
                          'zfs-kmod-2.1.11-1', 'tgtadm 1.0.85'],
                         out.splitlines())

    def test_zvol_write_then_read(self):
        path = self.w.zvol('volume-1', 3 << 20)
        data = os.urandom((2 << 20) + 12345)
        rc, _out, err = self.w.run('zvol-write tank/cinder/volume-1',
                                   stdin=data)
        self.assertEqual(0, rc, err)
        with open(path, 'rb') as f:
            self.assertEqual(data, f.read(len(data)))
        self.assertEqual(3 << 20, os.path.getsize(path))
        p = subprocess.run(
            [DASH, WRAPPER, '-c', self.w.conf], capture_output=True,
            env={'SSH_ORIGINAL_COMMAND': 'zvol-read tank/cinder/volume-1'})
        self.assertEqual(0, p.returncode, p.stderr)
        self.assertEqual(3 << 20, len(p.stdout))
        self.assertEqual(data, p.stdout[:len(data)])

    def test_missing_zvol_fails_without_refusal(self):
        rc, _out, err = self.w.run('zvol-read tank/cinder/nothing')
        self.assertEqual(1, rc)
        self.assertIn('missing', err)

    def _start(self, command):
        env = {'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND': command}
        p = subprocess.Popen([DASH, WRAPPER, '-c', self.w.conf], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p

    def _appear_once_waited_for(self, command, name, size):
        """Make zvol NAME appear after the wrapper began to look for it.

        udev makes the /dev/zvol link a moment after ``zfs create``
        returns: the device shows up only once the wrapper has logged the
        command it allowed (and so is about to look for the device).
        """
        give_up = time.monotonic() + 60
        while 'allowed from no-ssh: %s' % command not in self.w.read_log():
            self.assertLess(time.monotonic(), give_up, 'wrapper not started')
            time.sleep(0.05)
        time.sleep(0.3)
        path = os.path.join(self.w.dir, 'zvol', 'tank', 'cinder', name)
        with open(path + '.tmp', 'wb') as f:
            f.truncate(size)
        os.rename(path + '.tmp', path)      # appears whole, like a node
        return path

    def test_zvol_write_waits_for_the_device_node(self):
        self.w.configure(zvol_wait=20)
        data = os.urandom((1 << 20) + 7)
        p = self._start('zvol-write tank/cinder/late')
        path = self._appear_once_waited_for('zvol-write tank/cinder/late',
                                            'late', 2 << 20)
        _out, err = p.communicate(data, timeout=60)
        self.assertEqual(0, p.returncode, err)
        with open(path, 'rb') as f:
            self.assertEqual(data, f.read(len(data)))
        self.assertEqual(2 << 20, os.path.getsize(path))

    def test_zvol_read_waits_for_the_device_node(self):
        self.w.configure(zvol_wait=20)
        p = self._start('zvol-read tank/cinder/late')
        self._appear_once_waited_for('zvol-read tank/cinder/late', 'late',
                                     1 << 20)
        out, err = p.communicate(b'', timeout=60)
        self.assertEqual(0, p.returncode, err)
        self.assertEqual(b'\0' * (1 << 20), out)

    def test_zvol_write_never_creates_a_file(self):
        """A zvol destroyed between the wrapper's check and dd's open."""
        path = self.w.zvol('going')
        # dd stand-in: the zvol goes away just before the real dd opens it
        vanish = os.path.join(self.w.bin, 'dd')
        _write(vanish, '#!/bin/sh\nrm -f %s\nexec /bin/dd "$@"\n' % path)
        self.w.configure(dd=vanish)
        rc, _out, err = self.w.run('zvol-write tank/cinder/going',
                                   stdin=b'x' * 4096)
        self.assertNotEqual(0, rc)
        self.assertFalse(os.path.exists(path), 'dd created a regular file')
        self.assertIn('No such file', err)


class TestExtentStreams(WrapperTestCase):
    """zvol-write-extents / zvol-read-extents (doc: "Extent streams")."""

    SIZE = 4 << 20

    def setUp(self):
        super().setUp()
        self.path = self.w.zvol('v', self.SIZE)
        self.old = bytes(range(256)) * (self.SIZE // 256)
        with open(self.path, 'wb') as f:
            f.write(self.old)

    def contents(self):
        with open(self.path, 'rb') as f:
            return f.read()

    def write(self, stream):
        return self.w.run('zvol-write-extents tank/cinder/v', stdin=stream)

    def test_records_apply_in_order(self):
        data = os.urandom(100000)
        rc, out, err = self.write(
            b'D 65536 100000\n' + data + b'H 0 65536\nH 300000 1000000\n'
            b'Z 2000000 10\nE 4\n')
        self.assertEqual(0, rc, err)
        self.assertEqual('records=4\n', out)
        want = bytearray(self.old)
        want[65536:165536] = data
        want[0:65536] = bytes(65536)
        want[300000:1300000] = bytes(1000000)
        want[2000000:2000010] = bytes(10)
        self.assertEqual(bytes(want), self.contents())
        self.assertEqual(self.SIZE, os.path.getsize(self.path))
        # the holes were punched: less than the whole file is allocated
        self.assertLess(os.stat(self.path).st_blocks * 512, self.SIZE)

    def test_whole_volume_and_empty_stream(self):
        rc, _out, err = self.write(b'E 0\n')
        self.assertEqual(0, rc, err)
        self.assertEqual(self.old, self.contents())
        data = os.urandom(self.SIZE)
        rc, _out, err = self.write(
            b'D 0 %d\n' % self.SIZE + data + b'E 1\n')
        self.assertEqual(0, rc, err)
        self.assertEqual(data, self.contents())

    def assertStops(self, stream, why, applied=b''):
        """Refused: exit 1 and WHY said; the zvol is as before.

        Only ``applied`` (what the records before the bad one wrote)
        changed it, and its size is the same.
        """
        rc, out, err = self.write(stream)
        self.assertEqual(1, rc, (stream[:80], out, err))
        self.assertIn(why, err, stream[:80])
        self.assertNotIn('records=', out)
        want = bytearray(self.old)
        want[:len(applied)] = applied
        self.assertTrue(bytes(want) == self.contents(),
                        'changed by %r' % stream[:80])
        self.assertEqual(self.SIZE, os.path.getsize(self.path))

    def test_hostile_headers_change_nothing(self):
        huge = b'9' * 18
        for header in [
                b'D 0\n', b'D 0 1 2\n', b'X 0 1\n', b'd 0 1\n',
                b'D -1 10\n', b'D 0 -10\n', b'D +1 10\n', b'D 010 10\n',
                b'D 0 0\n', b'D 0x10 10\n', b'D 1e3 10\n', b'D  0 1\n',
                b'D 0 1 \n', b' D 0 1\n', b'D\t0 1\n', b'D 0 1\r\n',
                b'D 0 ' + b'9' * 19 + b'\n',
                b'D 0 99999999999999999999\n', b'H 0 ' + huge + b'\n',
                b'D ' + huge + b' 1\n', b'Z %d 1\n' % self.SIZE,
                b'D %d 1\n' % (self.SIZE - 1) + b'xx' + b'E 1\n'[:0],
                b'H 1 %d\n' % self.SIZE, b'D 0 1;reboot\n',
                b'D $(id) 1\n', b'D 0 1\\\n', b'\n', b'E\n', b'E 1\n',
                b'E 0 0\n', b'E -0\n', b'', b'D 0 1']:
            if header.startswith(b'D 4194303 1'):
                continue        # that one is legal; see the next test
            self.assertStops(header + b'y' * 8, 'zfswrapper: ')

    def test_range_beyond_the_volume_is_refused_before_writing(self):
        self.assertStops(b'D %d 2\n' % (self.SIZE - 1) + b'zz' + b'E 1\n',
                         "beyond the volume's 4194304 bytes")
        self.assertStops(b'Z 4194304 1\nE 1\n', 'beyond the volume')
        # the record before the bad one stays written
        self.assertStops(b'D 0 3\nabcH 0 4194305\nE 2\n',
                         'record 2: 0+4194305 is beyond', applied=b'abc')

    def test_a_cut_stream_fails(self):
        # the data of a record shorter than its length: EOF inside it
        rc, _out, err = self.write(b'D 0 10\nabc')
        self.assertEqual(1, rc)
        self.assertIn('ended without its end record (after 1 records)', err)
        self.assertStops(b'D 0 3\nabc', 'without its end record',
                         applied=b'abc')
        self.assertStops(b'D 0 3\nabcE 2\n', 'end record counts 2',
                         applied=b'abc')

    def test_read_extents_sends_only_non_zero_grains(self):
        g = 65536
        want = bytearray(self.SIZE)
        want[g:g + 5] = b'hello'                 # one grain
        want[10 * g:13 * g] = os.urandom(3 * g)  # three grains, one run
        want[self.SIZE - 1] = 7                  # the last grain
        with open(self.path, 'wb') as f:
            f.write(want)
        p = subprocess.run(
            [DASH, WRAPPER, '-c', self.w.conf], capture_output=True,
            env={'SSH_ORIGINAL_COMMAND': 'zvol-read-extents tank/cinder/v'})
        self.assertEqual(0, p.returncode, p.stderr)
        out = p.stdout
        got = bytearray(self.SIZE)
        headers = []
        while True:
            line, out = out.split(b'\n', 1)
            headers.append(line)
            kind, *nums = line.split(b' ')
            if kind == b'E':
                break
            off, length = int(nums[0]), int(nums[1])
            got[off:off + length] = out[:length]
            out = out[length:]
        self.assertEqual(b'', out)
        self.assertEqual([b'D %d %d' % (g, g), b'D %d %d' % (10 * g, 3 * g),
                          b'D %d %d' % (self.SIZE - g, g), b'E 3'], headers)
        self.assertEqual(want, got)

    def test_read_extents_without_perl_fails_clearly(self):
        self.w.configure(perl='/nonexistent/perl')
        rc, out, err = self.w.run('zvol-read-extents tank/cinder/v')
        self.assertEqual(1, rc)
        self.assertEqual('', out)
        self.assertIn('needs perl', err)

    def test_missing_zvol(self):
        for verb in ('zvol-read-extents', 'zvol-write-extents'):
            rc, _out, err = self.w.run('%s tank/cinder/nothing' % verb)
            self.assertEqual(1, rc)
            self.assertIn('missing', err)


class TestTargets(WrapperTestCase):

    def test_thin_provisioning_only_from_tgt_1_0_90(self):
        """UNMAP is advertised on LUN 1 only where tgtd frees blocks."""
        cases = [('1.0.85', False), ('1.0.89', False), ('1.0.90', True),
                 ('1.0.93\n', True), ('1.1.0', True), ('2.0', False),
                 ('1.0.9x', False), ('', False), ('junk', False),
                 ('01.0.90', True), ('99999.0.0', False)]
        for i, (found, thin) in enumerate(cases):
            self.w.reset_calls()
            # the fake tgtadm is run by the helper with its own scrubbed
            # environment: the version comes in through a sudo stand-in
            wrapper = os.path.join(self.w.bin, 'tgtadm-%d' % i)
            _write(wrapper, '#!/bin/sh\n[ "$1" = -V ] && { printf %%s '
                   '\'%s\'; echo; exit 0; }\nexec %s "$@"\n'
                   % (found, os.path.join(self.w.bin, 'tgtadm')))
            self.w.configure(tgtadm=wrapper)
            iqn = '%s%d' % (IQN, i)
            self.create(iqn=iqn, vol='v%d' % i, user=None)
            updates = [c for c in self.w.calls()
                       if c[0] == 'tgtadm' and '--op' in c and
                       c[c.index('--op') + 1] == 'update']
            params = [c[c.index('--params') + 1] for c in updates]
            self.assertEqual(thin, 'thin_provisioning=1' in params,
                             (found, params))
            self.assertEqual(1 + thin, len(params), (found, params))

    def create(self, iqn=IQN, vol='v', serial='sn-1', user='',
               secret=SECRET):
        """target-create; CHAP user 'chapuser' for vol v, else chap<vol>."""
        if user == '':
            user = 'chapuser' if vol == 'v' else 'chap' + vol
        self.w.zvol(vol)
        cmd = 'target-create %s tank/cinder/%s %s' % (iqn, vol, serial)
        stdin = b''
        if user:
            cmd += ' ' + user
            stdin = (secret + '\n').encode()
        return self.assertPassed(cmd, stdin=stdin)

    def state(self, iqn=IQN):
        path = os.path.join(self.w.statedir, iqn)
        with open(path) as f:
            lines = f.read().splitlines()
        return dict(line.split('=', 1) for line in lines)

    def tgtadm_calls(self):
        """tgtadm's runs, but the version query (tgt_unmaps: once a run)."""
        return [c[1:] for c in self.w.calls()
                if c[0] == 'tgtadm' and c[1:] != ['-V']]

    def test_create(self):
        self.assertEqual('tid=1\n', self.create())
        t = self.w.tgtd()
        target = t['targets']['1']
        dev = os.path.join(self.w.dir, 'zvol', 'tank', 'cinder', 'v')
        self.assertEqual(IQN, target['iqn'])
        self.assertEqual({'path': dev, 'bs': 'rdwr', 'sn': 'sn-1',
                          'opened': 1}, target['lun1'])
        self.assertEqual(['chapuser'], target['accounts'])
        self.assertEqual({'chapuser': SECRET}, t['accounts'])
        self.assertEqual(['ALL'], target['acl'])
        for argv in self.tgtadm_calls():
            self.assertEqual(['--lld', 'iscsi'], argv[:2])
        self.assertEqual({'iqn': IQN, 'dataset': 'tank/cinder/v',
                          'serial': 'sn-1', 'tid': '1',
                          'chap_user': 'chapuser', 'chap_secret': SECRET,
                          'initiators': 'ALL'}, self.state())
        mode = os.stat(os.path.join(self.w.statedir, IQN)).st_mode
        self.assertEqual(0o600, stat.S_IMODE(mode))
        mode = os.stat(self.w.statedir).st_mode
        self.assertEqual(0o700, stat.S_IMODE(mode))

    def test_create_without_chap(self):
        self.assertEqual('tid=1\n', self.create(user=None))
        self.assertEqual([], self.w.tgtd()['targets']['1']['accounts'])
        self.assertEqual('', self.state()['chap_user'])

    def test_create_is_idempotent(self):
        self.create()
        self.w.reset_calls()
        self.assertEqual('tid=1\n', self.create())
        changes = [a for a in self.tgtadm_calls() if a[3] != 'show']
        self.assertEqual([], changes)

    def test_lowest_free_tid(self):
        self.create(IQN, 'a')
        self.create(IQN2, 'b')
        self.assertPassed('target-delete %s' % IQN)
        self.assertEqual('tid=1\n',
                         self.create('iqn.2010-10.org.openstack:c', 'c'))
        self.assertEqual('tid=3\n',
                         self.create('iqn.2010-10.org.openstack:d', 'd'))

    def test_chap_change(self):
        self.create()
        self.create(secret='Another-secret-1')
        self.assertEqual({'chapuser': 'Another-secret-1'},
                         self.w.tgtd()['accounts'])
        self.create(user='user2', secret='Another-secret-2')
        self.assertEqual({'user2': 'Another-secret-2'},
                         self.w.tgtd()['accounts'])
        self.assertEqual(['user2'],
                         self.w.tgtd()['targets']['1']['accounts'])

    def test_chap_not_changed_while_connected(self):
        self.create()
        t = self.w.tgtd()
        t['targets']['1']['sessions'] = 1
        self.w.set_tgtd(t)
        self.w.zvol('v')
        rc, _out, err = self.w.run(
            'target-create %s tank/cinder/v sn-1 chapuser' % IQN,
            stdin=b'Different-secret\n')
        self.assertEqual(1, rc)
        self.assertIn('session', err)
        self.assertEqual({'chapuser': SECRET}, self.w.tgtd()['accounts'])
        self.assertEqual(SECRET, self.state()['chap_secret'])

    def test_same_iqn_other_backing_store_fails(self):
        self.create()
        self.w.zvol('w')
        rc, _out, err = self.w.run('target-create %s tank/cinder/w sn-1'
                                   % IQN)
        self.assertEqual(1, rc)
        self.assertIn('another backing store', err)

    def test_missing_zvol_fails(self):
        rc, _out, err = self.w.run('target-create %s tank/cinder/none sn'
                                   % IQN)
        self.assertEqual(1, rc)
        self.assertIn('did not appear', err)
        self.assertFalse(os.path.exists(self.w.tgt_state))

    def test_tgtd_down(self):
        self.w.zvol('v')
        self.w.set_tgtd({'down': True, 'targets': {}, 'accounts': {}})
        rc, _out, err = self.w.run('target-create %s tank/cinder/v sn' % IQN)
        self.assertEqual(1, rc)
        self.assertIn('tgtd', err)

    def test_delete(self):
        self.create()
        self.assertPassed('target-delete %s' % IQN)
        self.assertEqual({}, self.w.tgtd()['targets'])
        self.assertEqual({}, self.w.tgtd()['accounts'])
        self.assertFalse(os.path.exists(os.path.join(self.w.statedir, IQN)))
        self.assertPassed('target-delete %s' % IQN)

    def test_delete_forces_after_normal_delete_fails(self):
        self.create()
        t = self.w.tgtd()
        t['targets']['1']['sessions'] = 2
        self.w.set_tgtd(t)
        self.assertPassed('target-delete %s' % IQN)
        ops = [a[2:] for a in self.tgtadm_calls()
               if a[3] == 'delete' and a[5] != 'account']
        self.assertIn(['--op', 'delete', '--force', '--mode', 'target',
                       '--tid', '1'], ops)
        self.assertEqual({}, self.w.tgtd()['targets'])

    def test_deny_closes_the_denied_initiators_sessions_only(self):
        self.create()
        self.assertPassed('target-allow %s %s' % (IQN, INIT1))
        self.assertPassed('target-allow %s %s' % (IQN, INIT2))
        t = self.w.tgtd()
        t['targets']['1']['sessions'] = [INIT2, INIT1, INIT1]
        self.w.set_tgtd(t)
        self.assertPassed('target-deny %s %s' % (IQN, INIT1))
        self.assertEqual([INIT2], self.w.tgtd()['targets']['1']['sessions'])
        # a deny without sessions of that initiator closes nothing
        self.assertPassed('target-allow %s %s' % (IQN, INIT1))
        self.w.reset_calls()
        self.assertPassed('target-deny %s %s' % (IQN, INIT1))
        self.assertEqual([INIT2], self.w.tgtd()['targets']['1']['sessions'])
        self.assertEqual([], [a for a in self.tgtadm_calls()
                              if 'conn' in a])

    def test_self_chosen_initiator_names_cannot_break_the_listing(self):
        self.create()
        self.assertPassed('target-allow %s %s' % (IQN, INIT1))
        t = self.w.tgtd()
        t['targets']['1']['sessions'] = ['x|1|/dev/evil|9', '%s:a' % INIT1,
                                         INIT1 + '|']
        self.w.set_tgtd(t)
        line = self.assertPassed('target-list').split()
        lun = os.path.join(self.w.dir, 'zvol', 'tank', 'cinder', 'v')
        self.assertEqual([IQN, 'tid=1', 'lun=' + lun, 'persisted=yes',
                          'sessions=3'], line)
        self.assertPassed('target-deny %s %s' % (IQN, INIT1))
        self.assertEqual(['x|1|/dev/evil|9', '%s:a' % INIT1, INIT1 + '|'],
                         self.w.tgtd()['targets']['1']['sessions'])

    def test_allow_and_deny(self):
        self.create()
        self.assertPassed('target-allow %s %s' % (IQN, INIT1))
        self.assertEqual([INIT1], self.w.tgtd()['targets']['1']['acl'])
        self.assertPassed('target-allow %s %s' % (IQN, INIT2))
        self.assertPassed('target-allow %s %s' % (IQN, INIT2))
        self.assertEqual([INIT1, INIT2],
                         self.w.tgtd()['targets']['1']['acl'])
        self.assertEqual('%s %s' % (INIT1, INIT2),
                         self.state()['initiators'])
        self.assertPassed('target-deny %s %s' % (IQN, INIT1))
        self.assertEqual([INIT2], self.w.tgtd()['targets']['1']['acl'])
        self.assertPassed('target-deny %s %s' % (IQN, INIT2))
        self.assertEqual([], self.w.tgtd()['targets']['1']['acl'])
        self.assertEqual('', self.state()['initiators'])
        self.assertPassed('target-deny %s %s' % (IQN, INIT2))
        # a later create keeps the restriction (no initiator), never ALL
        self.assertEqual('tid=1\n', self.create())
        self.assertEqual([], self.w.tgtd()['targets']['1']['acl'])

    def test_deny_on_all_leaves_nobody(self):
        self.create()
        self.assertPassed('target-deny %s %s' % (IQN, INIT1))
        self.assertEqual([], self.w.tgtd()['targets']['1']['acl'])

    def test_allow_unknown_target_fails_deny_succeeds(self):
        rc, _out, _err = self.w.run('target-allow %s %s' % (IQN, INIT1))
        self.assertEqual(1, rc)
        self.assertPassed('target-deny %s %s' % (IQN, INIT1))

    def test_resize_reopens_lun_in_place(self):
        self.create()
        self.w.reset_calls()
        self.assertPassed('target-resize %s' % IQN)
        dev = os.path.join(self.w.dir, 'zvol', 'tank', 'cinder', 'v')
        self.assertIn(['--lld', 'iscsi', '--op', 'update', '--mode',
                       'logicalunit', '--tid', '1', '--lun', '1',
                       '--params', 'online=0,path=' + dev],
                      self.tgtadm_calls())
        lun = self.w.tgtd()['targets']['1']['lun1']
        self.assertEqual((2, 'sn-1'), (lun['opened'], lun['sn']))

    def test_resize_refuses_foreign_backing_store(self):
        self.w.set_tgtd({'accounts': {}, 'targets': {'1': {
            'iqn': IQN, 'acl': [], 'accounts': [], 'sessions': 0,
            'lun1': {'path': '/etc/passwd', 'bs': 'rdwr', 'sn': 'x',
                     'opened': 1}}}})
        rc, _out, err = self.w.run('target-resize %s' % IQN)
        self.assertEqual(1, rc)
        self.assertIn('zvol', err)

    def test_list(self):
        self.create(IQN, 'a')
        self.create(IQN2, 'b', user=None)
        os.unlink(os.path.join(self.w.statedir, IQN2))
        t = self.w.tgtd()
        del t['targets']['1']
        t['targets']['2']['sessions'] = 1
        self.w.set_tgtd(t)
        out = self.assertPassed('target-list')
        dev = os.path.join(self.w.dir, 'zvol', 'tank', 'cinder', 'b')
        self.assertEqual(
            ['%s tid=2 lun=%s persisted=no sessions=1' % (IQN2, dev),
             '%s tid=- lun=- persisted=yes sessions=0' % IQN],
            out.splitlines())

    def test_restore(self):
        self.create(IQN, 'a')
        self.create(IQN2, 'b', user=None)
        self.assertPassed('target-allow %s %s' % (IQN2, INIT1))
        before = self.w.tgtd()
        self.w.set_tgtd({'targets': {}, 'accounts': {}})    # tgtd restart
        out = self.assertPassed('target-restore')
        self.assertEqual(sorted(['%s restored' % IQN, '%s restored' % IQN2]),
                         sorted(out.splitlines()))
        self.assertEqual(before, self.w.tgtd())
        out = self.assertPassed('target-restore')
        self.assertEqual(sorted(['%s ok' % IQN, '%s ok' % IQN2]),
                         sorted(out.splitlines()))

    def test_restore_repairs_missing_lun_and_account(self):
        self.create()
        t = self.w.tgtd()
        t['targets']['1']['lun1'] = None
        t['targets']['1']['accounts'] = []
        t['accounts'] = {}
        self.w.set_tgtd(t)
        self.assertEqual('%s restored\n' % IQN,
                         self.assertPassed('target-restore'))
        self.assertEqual('sn-1', self.w.tgtd()['targets']['1']['lun1']['sn'])
        self.assertEqual({'chapuser': SECRET}, self.w.tgtd()['accounts'])

    def test_restore_reports_failures(self):
        self.create(IQN, 'a')
        self.create(IQN2, 'b')
        os.unlink(os.path.join(self.w.dir, 'zvol', 'tank', 'cinder', 'a'))
        with open(os.path.join(self.w.statedir,
                               'iqn.2010-10.org.openstack:bad'), 'w') as f:
            f.write('iqn=iqn.2010-10.org.openstack:bad\ndataset=/dev/sda\n')
        self.w.set_tgtd({'targets': {}, 'accounts': {}})
        rc, out, _err = self.w.run('target-restore')
        self.assertEqual(1, rc)
        self.assertEqual(sorted(['%s failed' % IQN, '%s restored' % IQN2,
                                 'iqn.2010-10.org.openstack:bad failed']),
                         sorted(out.splitlines()))
        self.assertEqual(['iqn.2010-10.org.openstack:volume-0002'],
                         [t['iqn'] for t in
                          self.w.tgtd()['targets'].values()])

    def test_restore_prefers_persisted_tid(self):
        self.create(IQN, 'a')
        self.create(IQN2, 'b')
        self.w.set_tgtd({'targets': {}, 'accounts': {}})
        # only the second comes back first: it keeps tid 2
        os.rename(os.path.join(self.w.statedir, IQN),
                  os.path.join(self.w.dir, 'saved'))
        self.assertPassed('target-restore')
        os.rename(os.path.join(self.w.dir, 'saved'),
                  os.path.join(self.w.statedir, IQN))
        self.assertPassed('target-restore')
        tids = {t['iqn']: k for k, t in self.w.tgtd()['targets'].items()}
        self.assertEqual({IQN: '1', IQN2: '2'}, tids)

    def put_state(self, iqn, vol, serial='sn', tid='', user='',
                  secret='', inits='ALL', drop=(), extra=''):
        """Write the state file of ``iqn`` (without the keys in drop)."""
        self.w.zvol(vol)
        fields = [('iqn', iqn), ('dataset', 'tank/cinder/' + vol),
                  ('serial', serial), ('tid', tid), ('chap_user', user),
                  ('chap_secret', secret), ('initiators', inits)]
        os.makedirs(self.w.statedir, mode=0o700, exist_ok=True)
        with open(os.path.join(self.w.statedir, iqn), 'w') as f:
            f.write(''.join('%s=%s\n' % kv for kv in fields
                            if kv[0] not in drop) + extra)
        os.chmod(os.path.join(self.w.statedir, iqn), 0o600)

    def shows(self):
        return [a for a in self.tgtadm_calls() if a[3] == 'show']

    def test_restore_lists_tgtd_once(self):
        """N targets cost one listing, not one per restored target."""
        iqns = ['iqn.2010-10.org.openstack:volume-%02d' % i
                for i in range(8)]
        for i, iqn in enumerate(iqns):
            self.create(iqn, 'v%d' % i, 'sn-%d' % i,
                        user='user%d' % i if i % 2 else None)
            if i % 3 == 0:
                self.assertPassed('target-allow %s %s' % (iqn, INIT1))
            if i % 3 == 1:
                self.assertPassed('target-deny %s %s' % (iqn, INIT1))
        before = self.w.tgtd()
        self.w.set_tgtd({'targets': {}, 'accounts': {}})    # tgtd restart
        self.w.reset_calls()
        out = self.assertPassed('target-restore')
        self.assertEqual(['%s restored' % i for i in iqns],
                         sorted(out.splitlines()))
        self.assertEqual(before, self.w.tgtd())
        self.assertEqual(1, len(self.shows()))
        self.w.reset_calls()
        out = self.assertPassed('target-restore')
        self.assertEqual(['%s ok' % i for i in iqns],
                         sorted(out.splitlines()))
        self.assertEqual(1, len(self.shows()))
        self.assertEqual(before, self.w.tgtd())

    def test_restore_sees_the_targets_it_made(self):
        """Its own table stays true: tids taken in this run are not reused.

        a is in tgtd without its LUN (repaired in place, tid 1); b's
        persisted tid 1 is taken by a, so b gets the lowest free, 2; c's
        persisted tid 2 was just taken by b, so c gets 3.
        """
        a, b, c = ('iqn.2010-10.org.openstack:%s' % n for n in 'abc')
        self.put_state(a, 'a', 'sn-a', '1', 'usera', SECRET)
        self.put_state(b, 'b', 'sn-b', '1', inits=INIT1)
        self.put_state(c, 'c', 'sn-c', '2', 'userc', SECRET, INIT2)
        self.w.set_tgtd({'accounts': {}, 'targets': {'1': {
            'iqn': a, 'lun1': None, 'acl': ['ALL'], 'accounts': [],
            'sessions': 0}}})
        self.w.reset_calls()
        out = self.assertPassed('target-restore')
        self.assertEqual(['%s restored' % i for i in (a, b, c)],
                         sorted(out.splitlines()))
        t = self.w.tgtd()['targets']
        self.assertEqual({'1': a, '2': b, '3': c},
                         {k: v['iqn'] for k, v in t.items()})
        self.assertEqual((['usera'], ['ALL'], 'sn-a'),
                         (t['1']['accounts'], t['1']['acl'],
                          t['1']['lun1']['sn']))
        self.assertEqual(([], [INIT1]), (t['2']['accounts'], t['2']['acl']))
        self.assertEqual((['userc'], [INIT2]),
                         (t['3']['accounts'], t['3']['acl']))
        self.assertEqual(['2', '3'], [self.state(b)['tid'],
                                      self.state(c)['tid']])
        self.assertEqual(1, len(self.shows()))

    def test_restore_without_initiators_line_fails_closed(self):
        """Never ALL by default: such a file is reported, nothing applied."""
        self.put_state(IQN, 'v', 'sn-1', '1', 'chapuser', SECRET,
                       drop=('initiators',))
        with open(os.path.join(self.w.statedir, IQN)) as f:
            text = f.read()
        self.w.set_tgtd({'targets': {}, 'accounts': {}})
        self.w.reset_calls()
        rc, out, _err = self.w.run('target-restore')
        self.assertEqual((1, '%s failed\n' % IQN), (rc, out))
        self.assertEqual({'targets': {}, 'accounts': {}}, self.w.tgtd())
        self.assertEqual([], [a for a in self.tgtadm_calls()
                              if a[3] != 'show'])
        with open(os.path.join(self.w.statedir, IQN)) as f:
            self.assertEqual(text, f.read())
        self.assertIn('invalid state file %s' % IQN, self.w.read_log())
        # the ACL verbs refuse to build on it too
        rc, _out, err = self.w.run('target-allow %s %s' % (IQN, INIT1))
        self.assertEqual(1, rc)
        self.assertIn('invalid', err)

    def test_restore_reports_malformed_state_files_and_applies_none(self):
        good = 'iqn.2010-10.org.openstack:good'
        self.put_state(good, 'good', inits=INIT1)
        bad = {
            'dup-inits': dict(inits=INIT1, extra='initiators=ALL\n'),
            'dup-user': dict(user='u1', secret=SECRET,
                             extra='chap_user=u2\n'),
            'unknown-key': dict(extra='lun=/dev/sda\n'),
            'no-equals': dict(extra='initiators\n'),
            'no-serial': dict(drop=('serial',)),
            'no-chap': dict(drop=('chap_user', 'chap_secret')),
            'no-tid': dict(drop=('tid',)),
            'bad-inits': dict(inits='ALL;reboot'),
            'half-chap': dict(user='u1'),
            'other-iqn': dict(extra=''),
        }
        for name, kw in bad.items():
            self.put_state('iqn.2010-10.org.openstack:' + name, name, **kw)
        other = os.path.join(self.w.statedir,
                             'iqn.2010-10.org.openstack:other-iqn')
        with open(other, 'w') as f:
            f.write('iqn=%s\ndataset=tank/cinder/other-iqn\nserial=sn\n'
                    'tid=\nchap_user=\nchap_secret=\ninitiators=ALL\n'
                    % good)
        os.chmod(other, 0o600)
        self.w.set_tgtd({'targets': {}, 'accounts': {}})
        rc, out, _err = self.w.run('target-restore')
        self.assertEqual(1, rc)
        self.assertEqual(sorted(['%s restored' % good] + [
            'iqn.2010-10.org.openstack:%s failed' % n for n in bad]),
            sorted(out.splitlines()))
        t = self.w.tgtd()
        self.assertEqual([good], [v['iqn'] for v in t['targets'].values()])
        self.assertEqual({}, t['accounts'])

    def test_serialised_by_lock(self):
        """Concurrent creates get distinct tids."""
        procs = []
        for i in range(6):
            self.w.zvol('v%d' % i)
            env = {'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND':
                   'target-create iqn.2010-10.org.openstack:v%d '
                   'tank/cinder/v%d sn%d' % (i, i, i)}
            procs.append(subprocess.Popen(
                [DASH, WRAPPER, '-c', self.w.conf], env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        outs = [p.communicate(timeout=60) for p in procs]
        self.assertEqual([0] * 6, [p.returncode for p in procs], outs)
        tids = sorted(o[0].decode().strip() for o in outs)
        self.assertEqual(['tid=%d' % i for i in range(1, 7)], tids)


class TestBounds(WrapperTestCase):
    """Each target verb ends within the driver's 25 s export budget.

    doc/wrapper-protocol.rst lists every wait and its bound; these pin the
    defaults and the retry counts behind that table.  Nothing here times
    the wrapper: counts and messages only.
    """

    def test_default_lock_wait_fits_the_export_budget(self):
        self.w.configure(lock_wait=None)     # not in the test config
        fd = os.open(os.path.join(self.w.dir, 'lock'),
                     os.O_WRONLY | os.O_CREAT, 0o600)
        with open(fd, 'a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            p = subprocess.run(
                [DASH, WRAPPER, '-c', self.w.conf], capture_output=True,
                timeout=40, env={'PATH': '/usr/bin:/bin',
                                 'SSH_ORIGINAL_COMMAND':
                                 'target-allow %s %s' % (IQN, INIT1)})
        self.assertEqual(1, p.returncode, p.stderr)
        self.assertIn(b'not acquired in 10 s', p.stderr)
        self.assertEqual([], self.w.calls())

    def test_delete_gives_up_after_eight_forced_deletes(self):
        """A target whose commands never drain: a bounded failure."""
        self.w.zvol('v')
        self.assertPassed('target-create %s tank/cinder/v sn-1' % IQN)
        t = self.w.tgtd()
        t['targets']['1'].update(sessions=1, stuck=True)
        self.w.set_tgtd(t)
        self.w.reset_calls()
        rc, _out, err = self.w.run('target-delete %s' % IQN)
        self.assertEqual(1, rc)
        self.assertIn('still exists after forced deletes', err)
        forced = [c for c in self.w.calls() if '--force' in c]
        self.assertEqual(8, len(forced))
        self.assertEqual(['1'], list(self.w.tgtd()['targets']))
        self.assertTrue(os.path.exists(os.path.join(self.w.statedir, IQN)))

    def test_create_undoes_a_half_made_target_without_forcing(self):
        """No ACL yet, so nobody is logged in: one plain delete, no retries.

        If even that fails, the LUN-less target is harmless (nobody may log
        in) and the next create adds the LUN to it.
        """
        self.w.zvol('v')
        self.w.set_tgtd({'targets': {}, 'accounts': {},
                         'lun_fails': True, 'delete_fails': True})
        rc, _out, err = self.w.run('target-create %s tank/cinder/v sn-1' % IQN)
        self.assertEqual(1, rc)
        self.assertIn('cannot add LUN 1', err)
        deletes = [c for c in self.w.calls() if 'delete' in c]
        self.assertEqual([['tgtadm', '--lld', 'iscsi', '--op', 'delete',
                           '--mode', 'target', '--tid', '1']], deletes)
        t = self.w.tgtd()
        self.assertEqual((None, []), (t['targets']['1']['lun1'],
                                      t['targets']['1']['acl']))
        self.assertFalse(os.path.exists(os.path.join(self.w.statedir, IQN)))
        t.update(lun_fails=False, delete_fails=False)
        self.w.set_tgtd(t)
        self.assertPassed('target-create %s tank/cinder/v sn-1' % IQN)
        t = self.w.tgtd()['targets']
        self.assertEqual((['1'], 'sn-1', ['ALL']),
                         (list(t), t['1']['lun1']['sn'], t['1']['acl']))

    def test_zvol_wait_is_wall_time_not_a_count_of_sleeps(self):
        """On a slow host each sleep costs more than it asks for.

        sleep is replaced (in a private mount namespace) by one that takes
        0.3 s longer than asked: a wait of 2 s then has room for at most
        six sleeps, where twenty sleeps of 0.1 s would take 8 s.  A slower
        machine only lowers the count.
        """
        unshare = shutil.which('unshare')
        if os.geteuid() != 0 or not unshare:
            self.skipTest('needs root and unshare for a private mount')
        record = os.path.join(self.w.dir, 'sleeps')
        slow = os.path.join(self.w.dir, 'slow-sleep')
        _write(slow, '#!/usr/bin/python3\nimport sys, time\n'
               'open(%r, "a").write(sys.argv[1] + "\\n")\n'
               'time.sleep(float(sys.argv[1]) + 0.3)\n' % record)
        self.w.configure(zvol_wait=2)
        p = subprocess.run(
            [unshare, '-m', '--', DASH, '-c',
             'mount --bind "$0" /usr/bin/sleep && exec "$@"', slow,
             DASH, WRAPPER, '-c', self.w.conf], capture_output=True,
            timeout=60, env={'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND':
                             'target-create %s tank/cinder/never sn' % IQN})
        self.assertEqual(1, p.returncode, p.stderr)
        self.assertIn(b'did not appear in 2 s', p.stderr)
        with open(record) as f:
            sleeps = f.read().split()
        self.assertGreater(len(sleeps), 0)
        self.assertLessEqual(len(sleeps), 7, sleeps)


class TestSudo(WrapperTestCase):

    def setUp(self):
        super().setUp()
        with open(self.w.conf, 'a') as f:
            f.write('sudo = %s/sudo\n' % self.w.bin)

    def test_tgtadm_runs_through_sudo(self):
        self.w.zvol('v')
        self.assertPassed('target-create %s tank/cinder/v sn' % IQN)
        calls = self.w.calls()
        sudo = [c for c in calls if c[0] == 'sudo']
        tgt = [c for c in calls if c[0] == 'tgtadm']
        self.assertEqual(len(sudo), len(tgt))
        version = [c for c in sudo if c[3:] == ['-V']]
        self.assertEqual(1, len(version), 'tgt_unmaps asks once a run')
        for c in sudo:
            if c in version:
                self.assertEqual(['-n', os.path.join(self.w.bin, 'tgtadm')],
                                 c[1:3])
                continue
            self.assertEqual(['-n', os.path.join(self.w.bin, 'tgtadm'),
                              '--lld', 'iscsi'], c[1:5])

    def test_raw_show_runs_through_sudo(self):
        self.assertPassed('tgtadm --lld iscsi --op show --mode target')
        self.assertEqual('sudo', self.w.calls()[0][0])

    def test_zfs_does_not_use_sudo(self):
        self.assertPassed('zfs list -H -p -o name tank/cinder')
        self.assertEqual([LIST.split()],
                         self.w.calls())


class TestRefusalCode(testtools.TestCase):

    def test_matches_errors_module(self):
        self.assertEqual(126, errors.WRAPPER_REFUSED)
        with open(WRAPPER) as f:
            text = f.read()
        self.assertIn('exit 126', text)
        code = '\n'.join(line for line in text.splitlines()
                         if not line.lstrip().startswith('#'))
        for banned in (r'\beval\b', r'(^|[\s;&|(])(/bin/)?(ba|da)?sh -c',
                       r'\bbash\b', r'\$RANDOM', r'\[\[', r'\blocal\b',
                       r'\bsource\b', r'^\s*\. '):
            self.assertIsNone(re.search(banned, code, re.M), banned)


# A zfs stand-in for the stream verbs: records argv, answers per form.
STREAM_ZFS = r'''#!/usr/bin/python3
import os, sys
D = %(dir)r
a = sys.argv[1:]
with open(os.path.join(D, 'calls'), 'a') as f:
    f.write('\x1f'.join(['zfs'] + a) + '\n')


def state(name, default=None):
    path = os.path.join(D, 'st.' + name.replace('/', '_'))
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return f.read()


if a[:2] == ['send', '-nvt']:
    sys.stdout.write(state('decode', ''))
    sys.exit(int(state('decode_rc', '0')))
if a[0] == 'send':
    sys.stdout.write('STREAM ' + ' '.join(a[1:]))
    sys.exit(0)
if a[0] == 'get':
    value = state(a[-2] + '.' + a[-1])
    if value is None:
        sys.stderr.write("cannot open '%%s': dataset does not exist\n"
                         %% a[-1])
        sys.exit(1)
    print(value)
    sys.exit(0)
if a[0] == 'receive' and '-A' not in a:
    with open(os.path.join(D, 'received'), 'wb') as f:
        f.write(sys.stdin.buffer.read())
sys.exit(int(state('rc', '0')))
'''

TOKEN = '1-fbb530659-f8-789c636064000310a500c4ec50360710e72765'
DECODED = ('resume token contents:\nnvlist version: 0\n\tobject = 0x1\n'
           '\toffset = 0x2be000\n\tbytes = 0x2daf70\n'
           '\ttoguid = 0x4f8ba53f7fce3203\n\ttoname = %s\n\tembedok = 1\n'
           '\tcompressok = 1\nfull send of %s estimated size is 5.40M\n'
           'total estimated size is 5.40M\n')


class TestZfsStreams(WrapperTestCase):
    """The stream verbs of issue 19 run exactly the forms they document."""

    def setUp(self):
        super().setUp()
        _write(os.path.join(self.w.bin, 'zfs'),
               STREAM_ZFS % {'dir': self.w.dir})

    def state(self, name, value):
        _write(os.path.join(self.w.dir, 'st.' + name.replace('/', '_')),
               value, 0o644)

    def run_ok(self, command, stdin=b''):
        self.w.reset_calls()
        rc, out, err = self.w.run(command, stdin)
        self.assertEqual(0, rc, '%r: %s' % (command, err))
        return out

    def test_send_full_and_incremental(self):
        out = self.run_ok('zvol-send tank/cinder/v@s')
        self.assertEqual('STREAM -L -e -c tank/cinder/v@s', out)
        self.assertEqual([['zfs', 'send', '-L', '-e', '-c',
                           'tank/cinder/v@s']], self.w.calls())
        self.run_ok('zvol-send -i tank2/cinder/sub/v@a tank2/cinder/sub/v@b')
        self.assertEqual([['zfs', 'send', '-L', '-e', '-c', '-i',
                           'tank2/cinder/sub/v@a', 'tank2/cinder/sub/v@b']],
                         self.w.calls())

    def test_receive_into_a_new_zvol(self):
        self.state('type.tank/cinder/v', 'volume')
        self.run_ok('zvol-recv tank/cinder/v', stdin=b'stream bytes')
        calls = self.w.calls()
        self.assertEqual(['zfs', 'receive', '-s', '-u', '-x', 'mountpoint',
                          '-x', 'sharenfs', '-x', 'sharesmb',
                          'tank/cinder/v'], calls[1])
        with open(os.path.join(self.w.dir, 'received'), 'rb') as f:
            self.assertEqual(b'stream bytes', f.read())

    def test_receive_over_an_existing_zvol_fails_before_zfs(self):
        self.state('receive_resume_token.tank/cinder/v', '-')
        rc, _out, err = self.w.run('zvol-recv tank/cinder/v', b'x')
        self.assertEqual(1, rc)
        self.assertIn('tank/cinder/v exists', err)
        self.assertNotIn('receive', [c[1] for c in self.w.calls()])

    def test_receive_resumes_a_partial_receive(self):
        self.state('receive_resume_token.tank/cinder/v', TOKEN)
        self.state('type.tank/cinder/v', 'volume')
        self.run_ok('zvol-recv tank/cinder/v', stdin=b'rest')
        self.assertEqual('receive', self.w.calls()[1][1])

    def test_a_stream_that_is_no_zvol_is_destroyed(self):
        self.state('type.tank/cinder/v', 'filesystem')
        rc, _out, err = self.w.run('zvol-recv tank/cinder/v', b'fs')
        self.assertEqual(1, rc)
        self.assertIn('not a zvol', err)
        self.assertEqual(['zfs', 'destroy', '-r', 'tank/cinder/v'],
                         self.w.calls()[-1])

    def test_a_failed_receive_passes_its_exit_code(self):
        self.state('rc', '1')
        rc, _out, _err = self.w.run('zvol-recv tank/cinder/v', b'cut')
        self.assertEqual(1, rc)
        self.assertNotIn('destroy', [c[1] for c in self.w.calls()])

    def test_incremental_receive_onto_an_existing_zvol(self):
        self.state('type.tank/cinder/v', 'volume')
        self.run_ok('zvol-recv-incr tank/cinder/v', stdin=b'incremental')
        self.assertEqual(
            [['zfs', 'get', '-H', '-p', '-o', 'value', 'type',
              'tank/cinder/v'],
             ['zfs', 'receive', '-s', '-u', '-x', 'mountpoint', '-x',
              'sharenfs', '-x', 'sharesmb', 'tank/cinder/v']],
            self.w.calls())
        with open(os.path.join(self.w.dir, 'received'), 'rb') as f:
            self.assertEqual(b'incremental', f.read())

    def test_incremental_receive_needs_an_existing_zvol(self):
        rc, _out, err = self.w.run('zvol-recv-incr tank/cinder/v', b'x')
        self.assertEqual(1, rc)
        self.assertIn('tank/cinder/v does not exist: zvol-recv-incr '
                      'updates an existing zvol only', err)
        self.assertNotIn('receive', [c[1] for c in self.w.calls()])
        self.state('type.tank/cinder/v', 'filesystem')
        self.w.reset_calls()
        rc, _out, err = self.w.run('zvol-recv-incr tank/cinder/v', b'x')
        self.assertEqual(1, rc)
        self.assertIn('tank/cinder/v is a filesystem, not a zvol', err)
        self.assertNotIn('receive', [c[1] for c in self.w.calls()])

    def test_incremental_receive_zfs_refusal_is_passed_on(self):
        self.state('type.tank/cinder/v', 'volume')
        self.state('rc', '1')
        rc, _out, err = self.w.run('zvol-recv-incr tank/cinder/v', b'full')
        self.assertEqual(1, rc)
        self.assertIn('zvol-recv-incr: tank/cinder/v is unchanged', err)
        self.assertEqual(['zfs', 'receive', '-s', '-u', '-x', 'mountpoint',
                          '-x', 'sharenfs', '-x', 'sharesmb',
                          'tank/cinder/v'], self.w.calls()[-1])
        self.assertIn('failed from 192.0.2.7: zvol-recv-incr: zfs receive '
                      'into tank/cinder/v failed (exit 1)',
                      self.w.read_log())

    def test_abort(self):
        self.run_ok('zvol-recv-abort tank/cinder/v')
        self.assertEqual([['zfs', 'receive', '-A', 'tank/cinder/v']],
                         self.w.calls())

    def test_resume_sends_a_token_naming_a_snapshot_under_a_parent(self):
        self.state('decode', DECODED % (('tank/cinder/v@s',) * 2))
        out = self.run_ok('zvol-send-resume', stdin=TOKEN.encode() + b'\n')
        self.assertEqual('STREAM -t ' + TOKEN, out)
        self.assertEqual([['zfs', 'send', '-nvt', TOKEN],
                          ['zfs', 'send', '-t', TOKEN]], self.w.calls())

    def assertResumeRefused(self, token, decoded=None, decoded_call=True):
        if decoded is not None:
            self.state('decode', decoded)
        self.w.reset_calls()
        rc, out, err = self.w.run('zvol-send-resume', token)
        self.assertEqual(126, rc, err)
        self.assertEqual('', out)
        self.assertIn('zfswrapper: refused: zvol-send-resume', err)
        sends = [c for c in self.w.calls() if c[2:3] != ['-nvt']]
        self.assertEqual([], sends, 'sent data for %r' % token)
        self.assertEqual(decoded_call, bool(self.w.calls()))
        return err

    def test_resume_refuses_hostile_tokens(self):
        for token in (b'', b'\n', b'tank/cinder/v@s', b'-t ' + TOKEN.encode(),
                      TOKEN.encode() + b' -R', TOKEN.encode() + b';id',
                      TOKEN.upper().encode(), b'1-' + b'a' * 1100,
                      b'1-ab\x00cd'):
            self.assertResumeRefused(token, decoded_call=False)

    def test_resume_refuses_a_token_of_another_dataset(self):
        for toname in ('tank/other/v@s', 'tank/cinder/v', 'tank/cinder',
                       'tank/cinder/../x@s', 'tank/cinder/v@s x',
                       'tank/cinder/v#bm'):
            err = self.assertResumeRefused(
                TOKEN.encode(), DECODED % (toname, toname))
            self.assertIn('configured parent', err)

    def test_resume_refuses_tokens_with_other_keys_or_two_names(self):
        base = DECODED % (('tank/cinder/v@s',) * 2)
        for extra in ('\trawok = 1\n', '\tsavedok = 1\n',
                      '\tredact_snaps = 0x1\n',
                      '\ttoname = tank/other/v@s\n'):
            self.assertResumeRefused(TOKEN.encode(),
                                     base.replace('\tembedok', extra +
                                                  '\tembedok'))

    def test_resume_of_a_token_zfs_cannot_decode_fails(self):
        self.state('decode', 'cannot resume send: invalid token\n')
        self.state('decode_rc', '1')
        rc, _out, err = self.w.run('zvol-send-resume', TOKEN.encode())
        self.assertEqual(1, rc)
        self.assertIn('cannot decode', err)
        self.assertEqual(1, len(self.w.calls()))

    def test_sum_is_the_blake2b_of_the_device(self):
        path = self.w.zvol('v', 3 << 20)
        with open(path, 'r+b') as f:
            f.write(b'data' * 1000)
        with open(path, 'rb') as f:
            want = hashlib.blake2b(f.read()).hexdigest()
        self.assertEqual(want + '\n', self.run_ok('zvol-sum tank/cinder/v'))

    def test_sum_of_a_missing_zvol_fails(self):
        rc, _out, err = self.w.run('zvol-sum tank/cinder/nothing')
        self.assertEqual(1, rc)
        self.assertIn('missing', err)
