#!/bin/sh
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

# nonroot-setup.sh - let cinder-zol's key in as a dedicated non-root user
# (doc/wrapper-install.rst, "As a dedicated non-root user").
#
#   nonroot-setup.sh USER PARENT PUBKEY_FILE [CONFIG]
#
# Run as root on the ZFS host, after the wrapper is installed as
# /usr/local/sbin/zfswrapper.sh (its zfswrapper-helper.sh beside it) and
# CONFIG (default /etc/cinder-zol/zfswrapper.conf) names PARENT in
# "parents" and sets "sudo = /usr/bin/sudo".  PARENT must exist.  Safe to run again.  It gives
# USER exactly: the driver's key locked to the wrapper, "zfs allow" on
# PARENT and its descendants, the wrapper's state/lock/log files, tgtadm
# as root through sudo, and read/write on the zvol device nodes of PARENT.
set -eu

WRAPPER=/usr/local/sbin/zfswrapper.sh
TGTADM=/usr/sbin/tgtadm
# What the driver's zfs commands need ("mount" too: ZFS on Linux asks for
# it on create/destroy/clone/rename/rollback, even of volumes; the wrapper
# never lets a filesystem be made, so nothing is ever mounted).
ZFS_PERMS=create,destroy,mount,snapshot,clone,promote,rename,rollback
ZFS_PERMS=$ZFS_PERMS,userprop,volsize,volblocksize,compression,checksum
ZFS_PERMS=$ZFS_PERMS,dedup,sync,logbias,primarycache,secondarycache,copies
ZFS_PERMS=$ZFS_PERMS,refreservation,reservation,readonly,snapdev
# The stream verbs of wrapper 1.4.0 (migration): zfs send and receive.
ZFS_PERMS=$ZFS_PERMS,send,receive

die() {
    printf 'nonroot-setup: %s\n' "$*" >&2
    exit 1
}

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    die "usage: nonroot-setup.sh USER PARENT PUBKEY_FILE [CONFIG]"
fi
user=$1
parent=$2
pubkey=$3
conf=${4:-/etc/cinder-zol/zfswrapper.conf}
case $user in ''|-*|*[!a-z0-9_-]*) die "bad user name: $user" ;; esac
case $user in root) die "this is the non-root setup" ;; esac
[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$WRAPPER" ] || die "install the wrapper as $WRAPPER first"
# The wrapper runs its own verbs (targets, zvol streams) with the helper
# beside its file; the user must be able to run both.
helper=$(dirname "$(readlink -f "$WRAPPER")")/zfswrapper-helper.sh
[ -x "$helper" ] || die "install zfswrapper-helper.sh as $helper first"
[ -f "$conf" ] || die "no wrapper config $conf"
zfs list -H -o name "$parent" >/dev/null 2>&1 ||
    die "dataset $parent does not exist (zfs create $parent)"

# conf_value KEY: the value of KEY in the wrapper's config (empty if unset).
conf_value() {
    sed -n "s/#.*//; s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" \
        "$conf" | sed 's/[[:space:]]*$//' | tail -n 1
}
case " $(conf_value parents) " in
    *" $parent "*) ;;
    *) die "$conf does not list $parent in parents" ;;
esac
[ -n "$(conf_value sudo)" ] ||
    die "$conf must set 'sudo = /usr/bin/sudo' (tgtadm needs root)"
[ "$(conf_value tgtadm)" = "$TGTADM" ] ||
    die "$conf must set 'tgtadm = $TGTADM' (the sudo rule names it)"
key=$(grep -v '^[[:space:]]*#' "$pubkey" | grep . | head -n 1)
case $key in
    ssh-ed25519\ *|ssh-rsa\ *|ecdsa-sha2-*\ *) ;;
    *) die "$pubkey holds no SSH public key" ;;
esac

# 1. The user, with the key locked to the wrapper.
if ! id "$user" >/dev/null 2>&1; then
    useradd --system --shell /bin/sh --home-dir "/var/lib/$user" \
        --create-home "$user"
fi
# A new system account's password is "!" (locked): sshd without PAM then
# refuses even key logins. "*" matches no password either, but unlocks.
case $(getent shadow "$user" | cut -d: -f2) in
    '!'|'!!'|'!*') usermod -p '*' "$user" ;;
esac
home=$(getent passwd "$user" | cut -d: -f6)
install -d -o "$user" -g "$user" -m 0700 "$home/.ssh"
printf 'restrict,command="%s -c %s" %s\n' "$WRAPPER" "$conf" "$key" \
    >"$home/.ssh/authorized_keys.new"
chown "$user:$user" "$home/.ssh/authorized_keys.new"
chmod 0600 "$home/.ssh/authorized_keys.new"
mv -f "$home/.ssh/authorized_keys.new" "$home/.ssh/authorized_keys"

# 2. ZFS rights on the parent and below, nothing else.
zfs allow -u "$user" "$ZFS_PERMS" "$parent"

# 3. The wrapper's own files belong to the user.
statedir=$(conf_value statedir)
lockfile=$(conf_value lockfile)
log=$(conf_value log)
statedir=${statedir:-/var/lib/cinder-zol/targets}
install -d -o "$user" -g "$user" -m 0700 "$statedir"
# The lock (default STATEDIR/.lock) is the user's own, 0600: the wrapper
# refuses one that anybody else could open or make first.
lockfile=${lockfile:-$statedir/.lock}
if [ -e "$lockfile" ]; then
    chown "$user:$user" "$lockfile"
    chmod 0600 "$lockfile"
fi
case ${log:-syslog} in
    syslog) ;;
    *) [ -e "$log" ] || install -o "$user" -g "$user" -m 0600 /dev/null "$log"
       chown "$user:$user" "$log" ;;
esac

# 4. tgtadm, and only tgtadm, as root.  sudo logs every command line it
# allows, and "tgtadm --op new --mode account --password SECRET" carries a
# CHAP secret (tgtadm takes it no other way): !log_allowed keeps those
# lines out of syslog, sudo's log file and the audit log; a refused
# command is still logged.  (The secret stays visible in tgtadm's own argv
# while it runs: doc/wrapper-install.rst.)
rules=/etc/sudoers.d/cinder-zol-$user
cat >"$rules.new" <<EOF
# Written by cinder-zol's tools/nonroot-setup.sh: the wrapper's user may
# run tgtadm as root and nothing else (the wrapper decides what to send).
# Its command lines can carry CHAP secrets: never log or record them.
Defaults:$user !requiretty, env_reset
Defaults!$TGTADM !log_allowed, !log_input, !log_output
$user ALL=(root) NOPASSWD: $TGTADM
EOF
chmod 0440 "$rules.new"
visudo -cqf "$rules.new" || { rm -f "$rules.new"; die "sudo rejects $rules"; }
mv -f "$rules.new" "$rules"

# 5. The zvol device nodes under the parent (image upload/download), never
# group "disk", which would be every disk of the host.
# One line per parent of the user: running this again for another parent
# adds that parent's line and keeps the others (a file written anew each
# time would take the device nodes of the first parent's zvols away).
udev=/etc/udev/rules.d/91-cinder-zol-$user.rules
rule="KERNEL==\"zd*\", SUBSYSTEM==\"block\", ACTION==\"add|change\", PROGRAM==\"/lib/udev/zvol_id \$devnode\", RESULT==\"$parent/*\", GROUP=\"$user\", MODE=\"0660\""
[ -e "$udev" ] ||
    printf '# Written by cinder-zol'"'"'s tools/nonroot-setup.sh.\n' >"$udev"
grep -qxF -- "$rule" "$udev" || printf '%s\n' "$rule" >>"$udev"
udevadm control --reload
udevadm trigger --action=change --subsystem-match=block --sysname-match='zd*'
udevadm settle -t 60 || true
printf 'nonroot-setup: %s may now run the wrapper on %s\n' "$user" "$parent"
