#!/bin/sh
# zfswrapper-helper.sh - runs the verbs of zfswrapper.sh that are not a
# binary of their own: the tgt targets (target-*), the zvol streams
# (zvol-read, zvol-write and their -extents forms), the ZFS streams
# (zvol-send, zvol-send-resume, zvol-recv, zvol-recv-incr, zvol-recv-abort),
# zvol-sum and version (doc/wrapper-protocol.rst).
#
# Only zfswrapper.sh runs it, as its last step: it has judged the command
# against its GRAMMAR (every word here already fits its kind), logged it,
# and execs, beside itself,
#
#   zfswrapper-helper.sh -c CONFIG VERB WORD...
#
# with ZFSWRAPPER=<its version> (the marker), ZFSWRAPPER_CLIENT (for the
# log lines) and ZFSWRAPPER_SECRET (target-create's CHAP secret: never an
# argv word) in the environment.  It drops those, and reads the wrapper
# beside it for the word kinds, the log and the config checks (one copy of
# each), so tgtadm sees only PATH and LC_ALL.  Never name it
# in authorized_keys: without the marker of the wrapper's own version it
# refuses to run, and run directly it gives nobody more than that user
# already has (it is neither setuid nor in sudoers).
#
# What it holds: the lock of every target change, the state files (one
# per exported IQN) and the parser of tgtd's listing, which trusts no text
# an initiator can send.

# shellcheck disable=SC2015
# (SC2015: "A && B || fail" is meant: fail when either A or B is false.)
_mark=${ZFSWRAPPER-}
_client=${ZFSWRAPPER_CLIENT-}
_secret=${ZFSWRAPPER_SECRET-}
# The wrapper made this environment: PATH, LC_ALL, these three (and PWD,
# which dash adds).  tgtadm gets PATH and LC_ALL only.
unset ZFSWRAPPER ZFSWRAPPER_CLIENT ZFSWRAPPER_SECRET PWD
set -- --helper "$@"
# shellcheck source=tools/zfswrapper.sh     # its functions and config
. "${0%/*}/zfswrapper.sh"
shift
if [ "$_mark" != "$VERSION" ] || [ $# -lt 3 ] || [ "$1" != -c ]; then
    printf 'zfswrapper: refused: the helper runs only from zfswrapper.sh %s\n' \
        "$VERSION" >&2
    exit 126
fi
load_config "$2"
shift 2
CLIENT=$_client
VERB=$1
shift
STATE_TRUSTED=          # state files state_iqns found trustworthy

# ---------------------------------------------------------------- running

# tgt ARGS: tgtadm --lld iscsi ARGS (through sudo when configured).
tgt() {
    $C_SUDO "$C_TGTADM" --lld iscsi "$@" 9>&-
}

# ---------------------------------------------------------------- tgt state

# own_statedir: the state directory exists (0700) and is the wrapper's
# user's own: not a symlink, not writable by group or others.  Nothing in
# it is trusted otherwise (its files carry CHAP secrets and decide ACLs).
STATEDIR_OK=no
own_statedir() {
    [ $STATEDIR_OK = no ] || return 0
    if [ ! -e "$C_STATEDIR" ] && [ ! -h "$C_STATEDIR" ]; then
        # shellcheck disable=SC2174  # parents get 0700 too (umask 077)
        mkdir -p -m 0700 "$C_STATEDIR" 9>&- ||
            fail "cannot create $C_STATEDIR"
    fi
    stat_paths "$C_STATEDIR"
    trusted_path "$C_STATEDIR" "$MY_UID" && [ -d "$C_STATEDIR" ] ||
        fail "refusing statedir: ${TRUST_WHY:-$C_STATEDIR is no directory}"
    STATEDIR_OK=yes
}

# lock: the exclusive lock of every target change.  Nobody else may hold
# it: the lock file is no symlink, is the wrapper's user's own and nobody
# else can open it (0600); it is made with O_EXCL.  Its directory is that
# user's or root's, writable by nobody else unless root's and sticky (as
# /run/lock: there a name another user took first is refused at once,
# never waited on).  The default, STATEDIR/.lock, leaves no such name.
lock() {
    own_statedir
    _ld=${C_LOCKFILE%/*}
    _ld=${_ld:-/}
    [ -e "$C_LOCKFILE" ] || [ -h "$C_LOCKFILE" ] || {
        set -C
        : >"$C_LOCKFILE" 9>&- 2>/dev/null
        set +C
    }
    stat_paths "$_ld" "$C_LOCKFILE"
    trusted_path "$_ld" "$MY_UID" || trusted_path "$_ld" 0 ||
        fail "refusing lock file $C_LOCKFILE: $TRUST_WHY"
    trusted_path "$C_LOCKFILE" "$MY_UID" && [ -f "$C_LOCKFILE" ] ||
        fail "refusing lock file: ${TRUST_WHY:-$C_LOCKFILE is no file}"
    [ $((TRUST_MODE & 63)) = 0 ] ||
        fail "refusing lock file $C_LOCKFILE: others may open it"
    exec 9>>"$C_LOCKFILE" || fail "cannot open lock file $C_LOCKFILE"
    "$C_FLOCK" -x -w "$C_LOCK_WAIT" 9 ||
        fail "lock $C_LOCKFILE not acquired in $C_LOCK_WAIT s"
}

# One line per target:
# tid|iqn|lun1 path|sessions|accounts|acls|lun1 serial|ok|pre|next|conns
# conns: sid:cid:initiator entries (a name outside the IQN bytes is "?").
#
# tgtd prints each initiator's name and alias as the initiator sent them,
# newlines and all, right after a nexus's "I_T nexus: N" line: that text
# can imitate any line of the listing.  It can add lines, never take any
# away.  So a block is trusted (ok=1) only if it has exactly tgtd's shape:
# one Target line, the five sections once each in order, in the I_T
# section nothing but nexuses of exactly four lines (nexus, initiator,
# connection, address), every other line of a known kind, its tid and IQN
# unique in the listing and tids ascending (tgtd keeps its targets sorted).
# What is still possible is a whole target block imitated inside the
# region of a target with a session: that block's tid does not exist.
# pre=1: some nexus comes before this Target line (it may be imitated);
# next = the tid of the following block (it may be imitated, and then the
# rest of this target's real lines went to it).  find_target asks tgtd
# about those tids, in a form without any initiator text.
# shellcheck disable=SC2016     # an awk program: no shell expansion
TGT_AWK='
function bad() { ok[n] = 0 }
function safe(v, re) { return v ~ re ? v : "?" }
function want_done() { if (want != "") bad() }
function add(list, v) { return list (list == "" ? "" : " ") v }
BEGIN {
    n = 0; seen_nexus = 0
    split("System information:|I_T nexus information:|LUN information:|" \
        "Account information:|ACL information:", H, "|")
    for (i = 1; i <= 5; i++) HI[H[i]] = i
    split("Type:|SCSI ID:|SCSI SN:|Size:|Online:|Removable media:|" \
        "Prevent removal:|Readonly:|SWP:|Thin-provisioning:|" \
        "Backing store type:|Backing store path:|Backing store flags:", K, "|")
    for (i in K) LK[K[i]] = 1
    NAME = "^[A-Za-z0-9.:_-]+$"
}
/^Target / {
    if (n) { want_done(); if (sec != 5) bad() }
    n++; ok[n] = 1; pre[n] = seen_nexus
    tid[n] = $2; sub(/:$/, "", tid[n])
    if ($2 !~ /^[0-9]+:$/ || NF != 3) bad()
    tid[n] = safe(tid[n], "^[0-9]+$"); iqn[n] = safe($3, NAME)
    if (iqn[n] == "?") bad()
    lun1[n] = "-"; sess[n] = 0; acct[n] = ""; acl[n] = ""; sn[n] = ""
    conns[n] = ""; sec = 0; want = ""; lun = ""; delete SID; delete LUNS
    next
}
n == 0 { junk = 1; next }
/^    [^ ]/ {
    want_done()
    h = substr($0, 5)
    if (!(h in HI) || HI[h] != sec + 1) bad()
    sec = HI[h]; lun = ""
    next
}
sec == 1 && /^        [^ ]/ && ($1 == "Driver:" || $1 == "State:") && NF == 2 {
    next
}
sec == 1 && /^        Nop / && NF == 3 { next }
sec == 2 && /^        I_T nexus: [0-9]+$/ {
    want_done()
    if ($3 in SID) bad()
    SID[$3] = 1; seen_nexus = 1; sid = $3; sess[n]++; want = "init"
    next
}
sec == 2 && /^            Initiator: / {
    if (want != "init") bad()
    init = "?"
    if (NF == 4 && $3 == "alias:" && $2 ~ NAME) init = $2
    want = "conn"
    next
}
sec == 2 && /^            Connection: [0-9]+$/ {
    if (want != "conn") bad()
    conns[n] = add(conns[n], sid ":" $2 ":" init)
    want = "addr"
    next
}
sec == 2 && /^                IP Address: [^ ]+$/ {
    if (want != "addr") bad()
    want = ""
    next
}
sec == 3 && /^        LUN: [0-9]+$/ {
    if ($2 in LUNS) bad()
    LUNS[$2] = 1; lun = $2
    next
}
sec == 3 && lun != "" && /^            [^ ]/ {
    k = $1; if (!(k in LK)) k = $1 " " $2; if (!(k in LK)) k = k " " $3
    if (!(k in LK)) { bad(); next }
    if (lun == "1" && k == "Backing store path:") {
        lun1[n] = safe($4, "^/[A-Za-z0-9._/:-]*$"); if (NF != 4) bad()
    }
    if (lun == "1" && k == "SCSI SN:") sn[n] = safe($3, NAME)
    next
}
sec == 4 && /^        [^ ]/ && (NF == 1 || (NF == 2 && $2 == "(outgoing)")) {
    if (NF == 1) acct[n] = add(acct[n], safe($1, NAME))
    next
}
sec == 5 && /^        [^ ]+$/ { acl[n] = add(acl[n], safe($1, "^[A-Za-z0-9.:_/-]+$")); next }
{ bad() }
END {
    if (n) { want_done(); if (sec != 5) bad() }
    for (i = 1; i <= n; i++) {
        if (junk) ok[i] = 0
        if ((tid[i] in T) || (iqn[i] in Q)) { ok[i] = 0; ok[T[tid[i]]] = 0; ok[Q[iqn[i]]] = 0 }
        T[tid[i]] = i; Q[iqn[i]] = i
        if (i > 1 && tid[i] + 0 <= tid[i - 1] + 0) { ok[i] = 0; ok[i - 1] = 0 }
    }
    for (i = 1; i <= n; i++)
        print tid[i] "|" iqn[i] "|" lun1[i] "|" sess[i] "|" acct[i] "|" \
            acl[i] "|" sn[i] "|" (ok[i] ? 1 : 0) "|" pre[i] "|" \
            (i < n ? tid[i + 1] : "-") "|" conns[i]
}
'

load_table() {
    VERIFIED=' '
    _show=$(tgt --op show --mode target) ||
        fail "tgtadm cannot list targets (is tgtd running?)"
    TABLE=$(awk "$TGT_AWK" <<EOF
$_show
EOF
    ) || fail "cannot parse the tgtadm listing"
}

# tid_real TID: tgtd knows TID (asked without listing any initiator text;
# remembered until the next listing).
tid_real() {
    case $VERIFIED in *" $1 "*) return 0 ;; esac
    tgt --op show --mode target --tid "$1" >/dev/null 2>&1 || return 1
    VERIFIED="$VERIFIED$1 "
}

# The lookups below walk TABLE's lines by splitting it on newlines (set -f
# is on), not with "read" from a here-document: dash reads those a byte
# per system call and writes the larger ones from a child process, which
# made every lookup cost in proportion to tgtd's size.

# find_target IQN: T_TID T_LUN T_SESS T_ACCT T_ACL T_SN T_CONNS of IQN, or
# status 1.  If tgtd's block of IQN cannot be trusted (see TGT_AWK), the
# verb fails and changes nothing; with SOFT_AMBIGUOUS=1, status 2 instead.
SOFT_AMBIGUOUS=0
find_target() {
    _iqn=$1
    T_TID=
    T_LUN=-
    T_SESS=0
    T_ACCT=
    T_ACL=
    T_SN=
    T_CONNS=
    IFS=$NL
    for _l in $TABLE; do
        _r=${_l#*|}
        [ "${_r%%|*}" = "$_iqn" ] || continue
        IFS='|'
        # shellcheck disable=SC2086     # the fields (none holds a "|")
        set -- $_l
        IFS=' '
        T_TID=$1
        T_LUN=$3
        T_SESS=$4
        T_ACCT=$5
        T_ACL=$6
        T_SN=$7
        T_CONNS=${11-}
        # $8 ok, $9 pre, ${10} next (TGT_AWK)
        if [ "$8" = 1 ] &&
                { [ "$9" = 0 ] || tid_real "$T_TID"; } &&
                { [ "$T_SESS" = 0 ] || [ "${10}" = - ] ||
                  tid_real "${10}"; }; then
            return 0
        fi
        [ "$SOFT_AMBIGUOUS" = 1 ] && return 2
        fail "tgtd's listing of $_iqn is ambiguous (initiator-chosen text?): nothing done"
    done
    IFS=' '
    return 1
}

# table_tids: TIDS = " 1 2 5 ", the tids in TABLE, so that a membership
# test is one pattern match (walking TABLE once per candidate tid made
# alloc_tid cost 29 ms at 200 targets: benchmarks/wrapper_native.py).
table_tids() {
    TIDS=' '
    IFS=$NL
    for _l in $TABLE; do
        TIDS="$TIDS${_l%%|*} "
    done
    IFS=' '
}

in_tids() {
    case $TIDS in *" $1 "*) return 0 ;; esac
    return 1
}

tid_exists() {
    table_tids
    in_tids "$1"
}

# table_put IQN: TABLE's line of tid T_TID becomes IQN with the other T_*
# (a new line for a new tid), so that a loop which changes tgtd itself
# knows what tgtd holds without listing it again.
table_put() {
    _put="$T_TID|$1|$T_LUN|$T_SESS|$T_ACCT|$T_ACL|$T_SN|1|0|-|$T_CONNS"
    if ! tid_exists "$T_TID"; then
        TABLE="$TABLE${TABLE:+$NL}$_put"
        return 0
    fi
    _new=
    IFS=$NL
    for _l in $TABLE; do
        [ "${_l%%|*}" != "$T_TID" ] || _l=$_put
        _new="$_new${_new:+$NL}$_l"
    done
    IFS=' '
    TABLE=$_new
}

# alloc_tid [PREFERRED]: NEW_TID = PREFERRED if free, else the lowest free.
alloc_tid() {
    table_tids
    if [ -n "${1-}" ] && ! in_tids "$1"; then
        NEW_TID=$1
        return
    fi
    NEW_TID=1
    while in_tids "$NEW_TID"; do
        NEW_TID=$((NEW_TID + 1))
    done
}

# zvol_dev DATASET -> DEV; dev_ready DEV: the device node exists.
dev_ready() {
    [ -b "$1" ] && return 0
    [ "$C_ZVOL_ALLOW_FILES" = yes ] && [ -f "$1" ]
}

# udev sometimes loses /dev/zvol links when many zvols appear at once
# (OpenZFS issues 756, 12484): half-way through the wait, replay the
# "change" events of the zd devices once so the links are made again.
kick_udev() {
    [ -n "$C_UDEVADM" ] || return 0
    "$C_UDEVADM" trigger --action=change --subsystem-match=block \
        --sysname-match='zd*' >/dev/null 2>&1 9>&- || true
}

# uptime_cs: UPTIME_CS = the uptime in hundredths of a second, read from
# /proc/uptime (no process started); 0 if unreadable.
uptime_cs() {
    UPTIME_CS=0
    read -r _up _r </proc/uptime || return 0
    _cs=${_up#*.}
    _cs=${_cs#0}
    is_digits "${_up%.*}" && is_digits "$_cs" || return 0
    UPTIME_CS=$((${_up%.*} * 100 + _cs))
}

# wait_dev DEV: wait until DEV is ready, for at most zvol_wait seconds of
# wall time.  A clock bounds it, not a count of sleeps: on a busy host
# each "sleep 0.1" costs more than it asks for.  (Without a clock, the
# count of zvol_wait * 10 sleeps still ends it.)
wait_dev() {
    dev_ready "$1" && return 0
    uptime_cs
    _end=$((UPTIME_CS + C_ZVOL_WAIT * 100))
    _half=$((UPTIME_CS + C_ZVOL_WAIT * 50))
    _left=$((C_ZVOL_WAIT * 10))
    _kick=$((_left / 2))
    while [ "$_left" -gt 0 ]; do
        sleep 0.1 9>&-
        _left=$((_left - 1))
        dev_ready "$1" && return 0
        uptime_cs
        [ "$UPTIME_CS" -lt "$_end" ] || return 1
        if [ "$_kick" -ge 0 ] &&
                { [ "$UPTIME_CS" -ge "$_half" ] || [ "$_left" -le "$_kick" ]; }; then
            kick_udev
            _kick=-1
        fi
    done
    return 1
}

# read_state IQN: S_* from STATEDIR/IQN; 1 if absent, 2 if invalid.
# write_state writes each of its seven keys exactly once, so a file with
# a key missing or repeated, or with any other line, is invalid as a
# whole: nothing in it has a default (no initiators line is not ALL).
read_state() {
    S_IQN=
    S_DATASET=
    S_SERIAL=
    S_TID=
    S_USER=
    S_SECRET=
    S_INITS=
    _f=$C_STATEDIR/$1
    [ -f "$_f" ] || [ -h "$_f" ] || return 1
    own_statedir
    # Its own file only: never through a symlink, never one that anyone
    # else could have written (or read: it holds the CHAP secret).
    case " $STATE_TRUSTED " in
        *" $1 "*) ;;
        *)  stat_paths "$_f"
            trusted_path "$_f" "$MY_UID" &&
                [ $(((TRUST_MODE >> 12) & 15)) = 8 ] &&
                [ $((TRUST_MODE & 63)) = 0 ] || return 2 ;;
    esac
    _keys=' '
    _n=0
    while IFS= read -r _l || [ -n "$_l" ]; do
        case $_l in *=*) ;; *) return 2 ;; esac
        _k=${_l%%=*}
        case $_keys in *" $_k "*) return 2 ;; esac
        _keys="$_keys$_k "
        _n=$((_n + 1))
        case $_k in
            iqn) S_IQN=${_l#*=} ;;
            dataset) S_DATASET=${_l#*=} ;;
            serial) S_SERIAL=${_l#*=} ;;
            tid) S_TID=${_l#*=} ;;
            chap_user) S_USER=${_l#*=} ;;
            chap_secret) S_SECRET=${_l#*=} ;;
            initiators) S_INITS=${_l#*=} ;;
            *) return 2 ;;
        esac
    done <"$_f"
    [ $_n -eq 7 ] || return 2       # seven known keys, none twice: all
    [ "$S_IQN" = "$1" ] && fits iqn "$S_IQN" && fits serial "$S_SERIAL" ||
        return 2
    ds_kind "$S_DATASET" && [ "$DS_KIND" = child ] || return 2
    [ -z "$S_TID" ] || is_digits "$S_TID" || return 2
    if [ -n "$S_USER$S_SECRET" ]; then
        fits chapuser "$S_USER" && fits chapsecret "$S_SECRET" || return 2
    fi
    if [ "$S_INITS" != ALL ]; then
        for _si in $S_INITS; do fits iqn "$_si" || return 2; done
    fi
    return 0
}

# write_state: persist W_* as STATEDIR/W_IQN (0600, atomic, synced).  The
# new file is made by mktemp (O_EXCL: never through a symlink) and
# renamed over the old name (a symlink there is replaced, not followed).
write_state() {
    own_statedir
    _tmp=$(mktemp "$C_STATEDIR/.new.XXXXXX" 9>&-) ||
        fail "cannot create a file in $C_STATEDIR"
    printf 'iqn=%s\ndataset=%s\nserial=%s\ntid=%s\nchap_user=%s\nchap_secret=%s\ninitiators=%s\n' \
        "$W_IQN" "$W_DATASET" "$W_SERIAL" "$W_TID" "$W_USER" "$W_SECRET" \
        "$W_INITS" >"$_tmp" || fail "cannot write $_tmp"
    sync "$_tmp" 9>&- 2>/dev/null
    mv -f "$_tmp" "$C_STATEDIR/$W_IQN" 9>&- ||
        fail "cannot write $C_STATEDIR/$W_IQN"
}

# in_list WORD LIST: WORD is one of the space-separated LIST.
in_list() {
    case " $2 " in *" $1 "*) return 0 ;; esac
    return 1
}

acl_opt() {
    case $1 in iqn.*|eui.*|naa.*) ACL_OPT=--initiator-name ;; *) ACL_OPT=-I ;; esac
}

# acl_apply bind|unbind TID LIST OTHERS: bind or unbind on TID each
# initiator of LIST that OTHERS lacks.
acl_apply() {
    for _a in $3; do
        in_list "$_a" "$4" && continue
        acl_opt "$_a"
        tgt --op "$1" --mode target --tid "$2" "$ACL_OPT" "$_a" ||
            { ERR="cannot $1 $_a on tid $2"; return 1; }
        CHANGED=1
    done
}

# sync_acl TID: tgtd's ACL of TID becomes W_INITS (bind first, then unbind).
sync_acl() {
    acl_apply bind "$1" "$W_INITS" "$T_ACL" &&
        acl_apply unbind "$1" "$T_ACL" "$W_INITS" || return 1
    T_ACL=$W_INITS
}

# acct_elsewhere USER TID: USER is bound to a target other than TID
# (ACCT_TID = that target).  tgtd's accounts are global: creating USER
# again would unbind it from there, and deleting it would too.
acct_elsewhere() {
    IFS=$NL
    for _l in $TABLE; do
        [ "${_l%%|*}" != "$2" ] || continue
        _r=${_l#*|*|*|*|}
        IFS=' '
        if in_list "$1" "${_r%%|*}"; then
            ACCT_TID=${_l%%|*}
            return 0
        fi
        IFS=$NL
    done
    IFS=' '
    return 1
}

# delete_acct USER TID: delete the account USER unless another target
# than TID uses it.
delete_acct() {
    acct_elsewhere "$1" "$2" && return 0
    tgt --op delete --mode account --user "$1" >/dev/null 2>&1
}

# sync_chap TID: the incoming account of TID becomes W_USER/W_SECRET.
# OLD_USER/OLD_SECRET: what was persisted (tgtd never shows secrets).
# ACCT_GONE=1 once an account was deleted: tgtd drops a deleted account
# from every target it was bound to, not only from TID.
sync_chap() {
    if [ -n "$W_USER" ] && acct_elsewhere "$W_USER" "$1"; then
        ERR="CHAP user $W_USER is bound to another target (tid $ACCT_TID)"
        return 1
    fi
    if [ "$T_ACCT" = "$W_USER" ]; then
        [ -z "$W_USER" ] && return 0
        [ "$OLD_USER" = "$W_USER" ] && [ "$OLD_SECRET" = "$W_SECRET" ] &&
            return 0
    fi
    if [ "$T_SESS" -gt 0 ]; then
        ERR="CHAP of $W_IQN differs but $T_SESS session(s) are connected: not changed"
        return 1
    fi
    for _u in $T_ACCT; do
        if acct_elsewhere "$_u" "$1"; then
            tgt --op unbind --mode account --tid "$1" --user "$_u" \
                >/dev/null 2>&1
        else
            tgt --op delete --mode account --user "$_u" >/dev/null 2>&1
        fi
        ACCT_GONE=1
    done
    [ -n "$W_USER" ] || { CHANGED=1; T_ACCT=; return 0; }
    # The secret is an argv word of tgtadm (tgtadm has no other way).  An
    # account left behind by a crash is replaced (tgtd keeps one per user).
    if ! tgt --op new --mode account --user "$W_USER" \
            --password "$W_SECRET" >/dev/null 2>&1; then
        tgt --op delete --mode account --user "$W_USER" >/dev/null 2>&1
        ACCT_GONE=1
        tgt --op new --mode account --user "$W_USER" \
            --password "$W_SECRET" ||
            { ERR="cannot create CHAP account $W_USER"; return 1; }
    fi
    tgt --op bind --mode account --tid "$1" --user "$W_USER" ||
        { ERR="cannot bind CHAP account $W_USER to tid $1"; return 1; }
    T_ACCT=$W_USER
    CHANGED=1
}

# tgt_unmaps: tgtadm (and so tgtd, of the same package) is 1.0.90 or
# later.  From 1.0.90 tgtd unmaps a block device with BLKDISCARD; before,
# it punches a hole with fallocate, which a zvol refuses: an UNMAP would be
# acknowledged and free nothing.  Asked once per run.
TGT_UNMAPS=
tgt_unmaps() {
    if [ -z "$TGT_UNMAPS" ]; then
        TGT_UNMAPS=no
        _v=$($C_SUDO "$C_TGTADM" -V 2>/dev/null 9>&-) || _v=
        _v=${_v%%[!0-9.]*}
        IFS=.
        # shellcheck disable=SC2086     # split on dots (set -f)
        set -- $_v
        IFS=' '
        if [ $# -ge 3 ] && is_digits "$1" && is_digits "$2" &&
                is_digits "$3" && [ ${#1} -le 4 ] && [ ${#2} -le 4 ] &&
                [ ${#3} -le 4 ] &&
                [ $(($1 * 100000000 + $2 * 10000 + $3)) -ge 100000090 ]; then
            TGT_UNMAPS=yes
        fi
    fi
    [ "$TGT_UNMAPS" = yes ]
}

add_lun() {
    tgt --op new --mode logicalunit --tid "$1" --lun 1 \
        --backing-store "$W_DEV" --bstype rdwr ||
        { ERR="cannot add LUN 1 ($W_DEV) to tid $1"; return 1; }
    tgt --op update --mode logicalunit --tid "$1" --lun 1 \
        --params "scsi_sn=$W_SERIAL" ||
        { ERR="cannot set serial of LUN 1 on tid $1"; return 1; }
    # Thin provisioning (UNMAP, WRITE SAME with unmap) only where tgtd can
    # free a zvol's blocks; "tgtadm --op new" takes no --params.
    if tgt_unmaps; then
        tgt --op update --mode logicalunit --tid "$1" --lun 1 \
            --params thin_provisioning=1 ||
            { ERR="cannot set thin provisioning of LUN 1 on tid $1"; return 1; }
    fi
    T_LUN=$W_DEV
    T_SN=$W_SERIAL
    CHANGED=1
}

# conns_of [INITIATOR]: CONNS = the sid:cid:initiator entries of T_CONNS
# that belong to INITIATOR (all of them without one).
conns_of() {
    CONNS=
    for _c in $T_CONNS; do
        [ -z "${1-}" ] || [ "${_c#*:*:}" = "$1" ] || continue
        CONNS="$CONNS $_c"
    done
}

# close_conns TID: ask tgtd to close the connections in CONNS.
close_conns() {
    for _c in $CONNS; do
        _r=${_c#*:}
        tgt --op delete --mode conn --tid "$1" --sid "${_c%%:*}" \
            --cid "${_r%%:*}" >/dev/null 2>&1
    done
}

# delete_tid TID IQN: normal delete, then at most eight forced ones, with
# 9.7 s of pauses in all (doc/wrapper-protocol.rst: the 25 s budget).
# tgtd refuses even a forced delete while commands are in flight, and an
# initiator doing I/O always has some, so each round first closes the
# target's connections (its ACL is already gone, so they cannot log in
# again) and then retries the forced delete while the last commands drain.
delete_tid() {
    tgt --op delete --mode target --tid "$1" 2>/dev/null && return 0
    for _pause in 0 0.2 0.5 1 1 2 2 3; do
        [ "$_pause" = 0 ] || sleep "$_pause" 9>&-
        load_table
        find_target "$2" && [ "$T_TID" = "$1" ] || return 0
        conns_of
        close_conns "$1"
        tgt --op delete --force --mode target --tid "$1" 2>/dev/null &&
            return 0
    done
    load_table
    ! tid_exists "$1"
}

# export_target: make tgtd serve W_* (creating only what is missing).
# W_TID gets the tid; CHANGED=1 when anything was done; 1 + ERR on failure.
export_target() {
    CHANGED=0
    ERR=
    _ft=0
    find_target "$W_IQN" || _ft=$?
    if [ $_ft = 2 ]; then
        ERR="tgtd's listing of $W_IQN is ambiguous"
        return 1
    elif [ $_ft = 0 ]; then
        if [ "$T_LUN" = - ]; then
            add_lun "$T_TID" || return 1
        elif [ "$T_LUN" != "$W_DEV" ]; then
            ERR="$W_IQN is exported from another backing store"
            return 1
        fi
    else
        alloc_tid "$W_TID"
        T_TID=$NEW_TID
        tgt --op new --mode target --tid "$T_TID" --targetname "$W_IQN" ||
            { ERR="cannot create target $W_IQN (tid $T_TID)"; return 1; }
        CHANGED=1
        if ! add_lun "$T_TID"; then
            # It has no ACL yet, so nobody can be logged in: one plain
            # delete, no forced retries (that keeps target-create inside
            # its time bound).  Should even that fail, the LUN-less target
            # admits nobody, and the next create adds the LUN to it.
            tgt --op delete --mode target --tid "$T_TID" >/dev/null 2>&1
            return 1
        fi
    fi
    W_TID=$T_TID
    sync_chap "$T_TID" || return 1
    sync_acl "$T_TID" || return 1
}

# ---------------------------------------------------------------- tgt verbs

# target_create IQN PARENT/VOL SERIAL [CHAPUSER]
target_create() {
    W_IQN=$1
    W_DATASET=$2
    W_SERIAL=$3
    W_USER=${4-}
    W_SECRET=
    [ -z "$W_USER" ] || W_SECRET=$_secret
    W_DEV=$C_ZVOL_ROOT/$W_DATASET
    # Wait before taking the lock, so one slow device node never holds up
    # every other export.
    wait_dev "$W_DEV" || fail "$W_DEV did not appear in $C_ZVOL_WAIT s"
    lock
    load_table
    W_TID=
    W_INITS=ALL
    OLD_USER=
    OLD_SECRET=
    if read_state "$W_IQN"; then
        W_TID=$S_TID
        OLD_USER=$S_USER
        OLD_SECRET=$S_SECRET
        [ "$S_DATASET" = "$W_DATASET" ] && W_INITS=$S_INITS
    fi
    export_target || fail "$ERR"
    write_state
    printf 'tid=%s\n' "$W_TID"
}

target_delete() {
    lock
    load_table
    read_state "$1"
    if find_target "$1"; then
        for _a in $T_ACL; do
            acl_opt "$_a"
            tgt --op unbind --mode target --tid "$T_TID" "$ACL_OPT" "$_a" \
                >/dev/null 2>&1
        done
        delete_tid "$T_TID" "$1" ||
            fail "target $1 (tid $T_TID) still exists after forced deletes"
        for _u in $T_ACCT; do
            delete_acct "$_u" "$T_TID"
        done
    fi
    if [ -n "$S_USER" ] && ! in_list "$S_USER" "$T_ACCT"; then
        delete_acct "$S_USER" "${T_TID:--}"
    fi
    rm -f "$C_STATEDIR/$1" 9>&- || fail "cannot remove $C_STATEDIR/$1"
}

# w_from_state: W_* (what to export) = the S_* read_state loaded.
w_from_state() {
    W_IQN=$S_IQN
    W_DATASET=$S_DATASET
    W_SERIAL=$S_SERIAL
    W_TID=$S_TID
    W_USER=$S_USER
    W_SECRET=$S_SECRET
    W_INITS=$S_INITS
}

# Load W_* for an ACL change: from the state file, else from tgtd.
acl_prepare() {
    _rc=0
    read_state "$1" || _rc=$?
    [ $_rc -ne 2 ] || fail "state file of $1 is invalid"
    PERSISTED=no
    W_INITS=
    if [ $_rc -eq 0 ]; then
        PERSISTED=yes
        w_from_state
    fi
    PRESENT=no
    if find_target "$1"; then
        PRESENT=yes
        [ $_rc -eq 0 ] || W_INITS=$T_ACL
        W_TID=$T_TID
    fi
}

acl_commit() {
    if [ $PRESENT = yes ]; then
        CHANGED=0
        sync_acl "$T_TID" || fail "$ERR"
    fi
    [ $PERSISTED = no ] || write_state
}

# acl_begin IQN INITIATOR_IQN: lock, load W_* of IQN; OTHERS = its
# allowed initiators but INITIATOR_IQN and ALL.
acl_begin() {
    lock
    load_table
    acl_prepare "$1"
    OTHERS=
    for _i in $W_INITS; do
        [ "$_i" = ALL ] || [ "$_i" = "$2" ] ||
            OTHERS="$OTHERS${OTHERS:+ }$_i"
    done
}

target_allow() {
    acl_begin "$@"
    [ $PRESENT = yes ] || [ $PERSISTED = yes ] || fail "no target $1"
    # The first allowed initiator replaces ALL.
    W_INITS="$OTHERS${OTHERS:+ }$2"
    acl_commit
}

target_deny() {
    acl_begin "$@"
    W_INITS=$OTHERS
    acl_commit
    [ $PRESENT = yes ] || return 0
    # tgtd checks its ACL only at login: close the denied initiator's
    # sessions now (it cannot log in again), as a fence for force detach.
    for _pause in 0.2 0.5 1 2 -; do
        find_target "$1" || return 0
        conns_of "$2"
        [ -n "$CONNS" ] || return 0
        [ "$_pause" != - ] || break
        close_conns "$T_TID"
        sleep "$_pause" 9>&-
        load_table
    done
    fail "$2 is still connected to $1"
}

target_resize() {
    lock
    load_table
    find_target "$1" || fail "no target $1"
    case $T_LUN in
        "$C_ZVOL_ROOT"/*) ;;
        *) fail "$1 has no LUN 1 on a zvol" ;;
    esac
    ds_kind "${T_LUN#"$C_ZVOL_ROOT"/}" && [ "$DS_KIND" = child ] ||
        fail "$1 is not exported from a zvol under a configured parent"
    dev_ready "$T_LUN" || fail "$T_LUN is missing"
    # tgtd re-opens the backing store (and so reads its new size) when
    # its path is set while the LU is offline; both happen within one
    # request, so initiators never see the LU offline, and LUN, serial
    # and SCSI id stay the same.
    tgt --op update --mode logicalunit --tid "$T_TID" --lun 1 \
        --params "online=0,path=$T_LUN" && return 0
    # Never leave the LU offline.
    tgt --op update --mode logicalunit --tid "$T_TID" --lun 1 \
        --params online=1 >/dev/null 2>&1
    fail "tgtd could not re-open $T_LUN"
}

# state_iqns: STATE_IQNS = the IQNs with a state file.
state_iqns() {
    STATE_IQNS=
    [ -d "$C_STATEDIR" ] || return 0
    own_statedir
    # Globbing only over the configured directory, never over user words.
    set +f
    for _f in "$C_STATEDIR"/iqn.* "$C_STATEDIR"/eui.* "$C_STATEDIR"/naa.*; do
        set -f
        [ -f "$_f" ] || [ -h "$_f" ] || continue
        _n=${_f##*/}
        fits iqn "$_n" && STATE_IQNS="$STATE_IQNS $_n"
    done
    set -f
    # One stat for all of them (read_state would stat each).
    STATE_TRUSTED=
    [ -n "$STATE_IQNS" ] || return 0
    _paths=
    for _n in $STATE_IQNS; do _paths="$_paths $C_STATEDIR/$_n"; done
    # shellcheck disable=SC2086     # a list of safe paths, split on purpose
    stat_paths $_paths
    for _n in $STATE_IQNS; do
        trusted_path "$C_STATEDIR/$_n" "$MY_UID" &&
            [ $(((TRUST_MODE >> 12) & 15)) = 8 ] &&
            [ $((TRUST_MODE & 63)) = 0 ] &&
            STATE_TRUSTED="$STATE_TRUSTED $_n"
    done
}

target_list() {
    load_table
    state_iqns
    # Informational: a block that is not trusted is left out (its IQN, if
    # persisted, shows as not in tgtd), and no tid is asked about.
    _listed=' '
    while IFS='|' read -r _tid _iqn _lun _sess _a _b _c _ok _rest; do
        [ -n "$_tid" ] && [ "$_ok" = 1 ] || continue
        _listed="$_listed$_iqn "
        _p=no
        in_list "$_iqn" "$STATE_IQNS" && _p=yes
        printf '%s tid=%s lun=%s persisted=%s sessions=%s\n' \
            "$_iqn" "$_tid" "$_lun" "$_p" "$_sess"
    done <<EOF
$TABLE
EOF
    for _i in $STATE_IQNS; do
        in_list "$_i" "$_listed" && continue
        printf '%s tid=- lun=- persisted=yes sessions=0\n' "$_i"
    done
}

# tgtd is listed once: the loop keeps TABLE in step with what it does
# itself (table_put), so N targets cost one listing, not N listings of a
# growing table.  It lists again only after what it cannot follow: a
# failed export, or an account deleted (that unbinds it everywhere).
target_restore() {
    lock
    load_table
    state_iqns
    SOFT_AMBIGUOUS=1    # one ambiguous target fails, not the whole run
    _failed=0
    for _ti in $STATE_IQNS; do
        if ! read_state "$_ti"; then
            printf '%s failed\n' "$_ti"
            log_event failed "$VERB: invalid state file $_ti"
            _failed=1
            continue
        fi
        w_from_state
        W_DEV=$C_ZVOL_ROOT/$W_DATASET
        OLD_USER=$S_USER
        OLD_SECRET=$S_SECRET
        ACCT_GONE=0
        _ft=0
        find_target "$W_IQN" || _ft=$?
        if [ $_ft = 2 ]; then
            ERR="tgtd's listing of it is ambiguous"     # tgtd untouched
        elif [ $_ft = 1 ] && ! wait_dev "$W_DEV"; then
            ERR="$W_DEV is missing"         # tgtd untouched
        elif export_target; then
            [ "$W_TID" = "$S_TID" ] || write_state
            if [ "$CHANGED" = 0 ]; then
                printf '%s ok\n' "$W_IQN"
            else
                printf '%s restored\n' "$W_IQN"
                if [ "$ACCT_GONE" = 1 ]; then
                    load_table
                else
                    table_put "$W_IQN"
                fi
            fi
            continue
        else
            load_table      # what a failed export left is not known
        fi
        printf '%s failed\n' "$W_IQN"
        log_event failed "$VERB: $W_IQN: $(printable "$ERR")"
        _failed=1
    done
    return $_failed
}

show_version() {
    printf 'zfswrapper %s\n' "$VERSION"
    "$C_ZFS" version 2>/dev/null || printf 'zfs unknown\n'
    _v=$($C_SUDO "$C_TGTADM" -V 2>/dev/null) || _v=unknown
    printf 'tgtadm %s\n' "$_v"
}

# zvol_stream PARENT/VOL: dd from (zvol-read) or to (zvol-write) its node.
zvol_stream() {
    _dev=$C_ZVOL_ROOT/$1
    # udev makes the node a moment after "zfs create" returns (a volume
    # created from an image is written at once): wait as target-create does.
    wait_dev "$_dev" || fail "$_dev is missing (waited $C_ZVOL_WAIT s)"
    if [ "$VERB" = zvol-read ]; then
        exec "$C_DD" if="$_dev" bs=1M status=none
    fi
    # nocreat: a zvol gone between the check and the open makes dd fail,
    # never write the image into a new regular file under /dev.
    exec "$C_DD" of="$_dev" bs=1M iflag=fullblock \
        conv=fsync,notrunc,nocreat status=none
}

# ------------------------------------------------------------ extent streams
# zvol-read-extents writes, zvol-write-extents reads (doc/wrapper-protocol.rst,
# "Extent streams"): records of one ASCII header line each,
#
#   D OFFSET LENGTH     LENGTH bytes of data follow the line
#   H OFFSET LENGTH     make the range read as zeros, freeing its space
#   Z OFFSET LENGTH     write zeros over the range (allocated, never freed)
#   E COUNT             the end: COUNT records came before it
#
# numbers in decimal without leading zeros, LENGTH at least 1, and every
# range inside the volume.  Only the data crosses the SSH channel.

# dev_facts DEV: DEV_SIZE = its size in bytes; DEV_GRAIN = the unit a
# discard frees (the zvol's volblocksize; 0: holes are written as zeros).
# A regular file (zvol_allow_files, for tests) is punched with fallocate.
dev_facts() {
    DEV_GRAIN=0
    if [ -f "$1" ]; then
        DEV_SIZE=$(stat -L -c %s -- "$1" 9>&-) || fail "cannot stat $1"
        DEV_GRAIN='file'
        return 0
    fi
    _node=$(readlink -f -- "$1" 9>&-) || fail "cannot resolve $1"
    _sys=/sys/class/block/${_node##*/}
    read -r _sectors <"$_sys/size" && is_digits "$_sectors" ||
        fail "cannot read the size of $1"
    DEV_SIZE=$((_sectors * 512))
    if read -r _g <"$_sys/queue/discard_granularity" && is_digits "$_g" &&
            [ "$_g" -gt 0 ] && [ -x "$C_BLKDISCARD" ]; then
        DEV_GRAIN=$_g
    fi
}

# is_number WORD: decimal digits without a leading zero (dash would read
# one as octal, dd as decimal), at most 18 of them.
is_number() {
    case $1 in 0) return 0 ;; 0*) return 1 ;; esac
    is_digits "$1"
}

# put_zeros DEV OFFSET LENGTH: write zeros (from /dev/zero, on the host).
put_zeros() {
    [ "$3" -gt 0 ] || return 0
    "$C_DD" if=/dev/zero of="$1" bs=1M iflag=count_bytes count="$3" \
        oflag=seek_bytes seek="$2" conv=notrunc,nocreat status=none 9>&-
}

# put_hole DEV OFFSET LENGTH: the range reads as zeros afterwards; the
# discard frees the whole grains in it, the partial grains at its edges
# are written with zeros.  A device that refuses the discard gets zeros.
put_hole() {
    if [ "$DEV_GRAIN" = file ]; then
        fallocate -p -o "$2" -l "$3" -- "$1" 9>&- && return 0
        put_zeros "$@"
        return
    fi
    [ "$DEV_GRAIN" != 0 ] || { put_zeros "$@"; return; }
    _a=$((($2 + DEV_GRAIN - 1) / DEV_GRAIN * DEV_GRAIN))
    _b=$((($2 + $3) / DEV_GRAIN * DEV_GRAIN))
    if [ "$_a" -ge "$_b" ]; then
        put_zeros "$@"
        return
    fi
    put_zeros "$1" "$2" $((_a - $2)) &&
        put_zeros "$1" "$_b" $(($2 + $3 - _b)) || return 1
    "$C_BLKDISCARD" -o "$_a" -l $((_b - _a)) -- "$1" 9>&- 2>/dev/null ||
        put_zeros "$1" "$_a" $((_b - _a))
}

# zvol_write_extents DEV: apply the records of stdin in order.  A record
# that is malformed or reaches past the volume fails the verb before it
# is applied; what the records before it wrote stays written.  Without
# its end record (a cut stream) the verb fails too.
zvol_write_extents() {
    dev_facts "$1"
    _n=0
    # dash's read takes one byte per system call, so it never reads past
    # the header line; dd then takes exactly LENGTH bytes (count_bytes).
    while IFS= read -r _line; do
        _what="record $((_n + 1))"
        # single spaces between words, none around them, no other bytes
        case $_line in
            ''|' '*|*' '|*'  '*|*[!A-Z0-9\ ]*)
                fail "$_what: malformed header" ;;
        esac
        _k=${_line%% *}
        _r=${_line#"$_k"}
        _r=${_r# }
        _o=${_r%% *}
        _r=${_r#"$_o"}
        _r=${_r# }
        _l=${_r%% *}
        _x=${_r#"$_l"}
        if [ "$_k" = E ] && [ -z "$_l$_x" ]; then
            [ "$_o" = "$_n" ] ||
                fail "end record counts ${_o:-nothing}, not the $_n records sent"
            sync -- "$1" 9>&- || fail "cannot flush $1"
            printf 'records=%s\n' "$_n"
            return 0
        fi
        case $_k in D|H|Z) ;; *) fail "$_what: malformed header" ;; esac
        [ -z "$_x" ] && is_number "$_o" && is_number "$_l" &&
            [ "$_l" -gt 0 ] || fail "$_what: malformed header"
        [ "$_o" -le "$DEV_SIZE" ] && [ "$_l" -le $((DEV_SIZE - _o)) ] ||
            fail "$_what: $_o+$_l is beyond the volume's $DEV_SIZE bytes"
        case $_k in
            D)  "$C_DD" of="$1" bs=1M iflag=fullblock,count_bytes \
                    count="$_l" oflag=seek_bytes seek="$_o" \
                    conv=notrunc,nocreat status=none 9>&- ;;
            H)  put_hole "$1" "$_o" "$_l" ;;
            Z)  put_zeros "$1" "$_o" "$_l" ;;
        esac || fail "$_what: cannot write $_k $_o $_l"
        _n=$((_n + 1))
    done
    fail "the stream ended without its end record (after $_n records)"
}

# EXTENTS_PL: read DEV and write its non-zero 64 KiB grains as D records
# (adjacent ones joined, at most 4 MiB a record), then "E COUNT".  The
# zvol's own holes read as zeros, so they never leave the host.
# shellcheck disable=SC2016     # a perl program: no shell expansion
EXTENTS_PL='
use strict; use warnings;
my $dev = $ARGV[0]; my $G = 65536; my $B = 16 * $G;
open(my $in, "<:raw", $dev) or die "cannot open $dev: $!\n";
binmode STDOUT;
my $zb = "\0" x $B; my $zg = "\0" x $G;
my ($off, $start, $run, $count) = (0, 0, "", 0);
sub put { return if $run eq ""; print "D $start ", length($run), "\n", $run
          or die "write: $!\n"; $count++; $run = ""; }
while (1) {
    my $n = sysread($in, my $buf, $B);
    die "cannot read $dev: $!\n" unless defined $n;
    last if $n == 0;
    if ($buf eq ($n == $B ? $zb : "\0" x $n)) { put(); $off += $n; next; }
    for (my $i = 0; $i < $n; $i += $G) {
        my $c = substr($buf, $i, $G);
        if ($c eq (length($c) == $G ? $zg : "\0" x length($c))) { put(); next; }
        $start = $off + $i if $run eq "";
        $run .= $c;
        put() if length($run) >= 4 * $B;
    }
    $off += $n;
}
put();
print "E $count\n" or die "write: $!\n";
close(STDOUT) or die "write: $!\n";
'

# SEND_PL ZFS SNAP: run "ZFS send SNAP" (plain: no -c, -e, -L, -w, so
# every block of data is a WRITE record carrying its uncompressed bytes)
# and turn the stream into the same records as EXTENTS_PL: the non-zero
# WRITE blocks of object 1 (a zvol's data) as D records (adjacent ones
# joined, at most 4 MiB a record), then "E COUNT".  Only the allocated
# blocks are read from disk: holes are FREE records, never read.
# The stream (include/sys/zfs_ioctl.h of OpenZFS): records of a fixed
# 312-byte header (u32 type, u32 payload length, a 296-byte union whose
# last 32 bytes are the running checksum) in the byte order the BEGIN
# record's magic shows, each followed by its payload.  The checksums are
# not verified: the stream comes from zfs through a local pipe.  Anything
# this program does not know (a compressed, embedded, by-reference or raw
# block of the zvol's data, a compound stream, an unknown record type)
# fails the verb before its end record, so the driver never takes a
# partial image for a whole one.  sysread/syswrite, no PerlIO buffers:
# under TCG every copy of the data counts (64 MiB through the guest:
# ~9.5 s with them, ~13 s with read/print, bare zfs send ~7.5 s).
# shellcheck disable=SC2016     # a perl program: no shell expansion
SEND_PL='
use strict; use warnings; no warnings "portable";
my ($zfs, $snap) = @ARGV; my $MAGIC = 0x2F5bacbac; my $R = 312;
my $MAX = 4 * 1048576;
open(my $in, "-|", $zfs, "send", $snap) or die "cannot run $zfs: $!\n";
binmode $in; binmode STDOUT;
sub take { my $n = shift; my $b = "";
    while (length($b) < $n) {
        my $got = sysread($in, $b, $n - length($b), length($b));
        die "cannot read the send stream: $!\n" unless defined $got;
        die "the send stream of $snap ended early\n" if $got == 0; }
    return $b; }
my ($start, $run, $count, %zero) = (0, "", 0);
sub out { my $o = 0; while ($o < length($_[0])) {
    my $w = syswrite(STDOUT, $_[0], length($_[0]) - $o, $o);
    die "write: $!\n" unless defined $w; $o += $w; } }
sub put { return if $run eq ""; out("D $start " . length($run) . "\n");
          out($run); $count++; $run = ""; }
my $h = take($R);
my $e = unpack("x8 Q<", $h) == $MAGIC ? "<"
      : unpack("x8 Q>", $h) == $MAGIC ? ">" : die "not a send stream\n";
my ($type, $plen, $magic, $vi) = unpack("L$e L$e Q$e Q$e", $h);
die "the stream does not begin with BEGIN\n" unless $type == 0;
die "a compound send stream\n" unless ($vi & 3) == 1;
die "a raw send stream\n" if ($vi >> 2) & (1 << 24);
take($plen) if $plen;
while (1) {
    $h = take($R);
    ($type) = unpack("L$e", $h);
    my $u = substr($h, 8);
    last if $type == 5;                                   # END
    if ($type == 2 || $type == 4 || $type == 9 || $type == 10) { next; }
    if ($type == 1) {                                     # OBJECT
        my ($bl, $raw) = unpack("x20 L$e x4 L$e", $u);
        take($raw ? $raw : ($bl + 7) & ~7) if $raw || $bl;
        next;
    }
    my ($obj) = unpack("Q$e", $u);
    if ($type == 3) {                                     # WRITE
        my ($off, $ls, $ct, $cs) = unpack("x16 Q$e Q$e x10 C x45 Q$e", $u);
        my $data = take($ct ? $cs : $ls);
        next unless $obj == 1;
        die "a compressed block of $snap at $off\n" if $ct;
        $zero{$ls} //= "\0" x $ls;
        if ($data eq $zero{$ls}) { next; }
        put() if $run ne "" &&
            ($off != $start + length($run) || length($run) >= $MAX);
        $start = $off if $run eq "";
        $run .= $data;
        next;
    }
    die "a $type record for the data of $snap\n" if $obj == 1;
    if ($type == 7) {                                     # SPILL
        my ($len, $cs) = unpack("x8 Q$e x16 Q$e", $u);
        take($cs ? $cs : $len);
    } elsif ($type == 8) {                                # WRITE_EMBEDDED
        my ($ps) = unpack("x44 L$e", $u);
        take(($ps + 7) & ~7);
    } elsif ($type != 6) {                                # WRITE_BYREF
        die "unknown record type $type in the send stream\n";
    }
}
close($in) or die "zfs send $snap failed (status $?)\n";
put();
out("E $count\n");
'

# The temporary snapshot of zvol-read-extents (destroyed at exit).
EXTENTS_SNAP=

drop_extents_snap() {
    [ -n "$EXTENTS_SNAP" ] || return 0
    # zfs send's hold or udev's probe of a snapdev node may last a moment
    for _i in 1 2 3 4 5 6 7 8 9 10; do
        "$C_ZFS" destroy "$EXTENTS_SNAP" 2>/dev/null 9>&- && return 0
        # (a signal during "zfs snapshot": perhaps it was never made)
        "$C_ZFS" list -H -o name -t snapshot "$EXTENTS_SNAP" \
            >/dev/null 2>&1 9>&- || return 0
        sleep 0.5
    done
    log_event failed "$VERB: could not destroy $EXTENTS_SNAP"
    printf 'zfswrapper: could not destroy %s\n' "$EXTENTS_SNAP" >&2
    return 1
}

# zvol_read_extents DEV PARENT/VOL: a zvol's records from a send stream of
# a temporary snapshot PARENT/VOL@zol-extents-PID, so only its allocated
# blocks are read (a full send: a clone's blocks in its origin are sent
# too).  When ZFS cannot take the snapshot (a thick zvol on a full pool,
# no "snapshot" permission) or DEV is a file (zvol_allow_files), the
# whole device is read instead (EXTENTS_PL).  The same records either way.
zvol_read_extents() {
    [ -x "$C_PERL" ] ||
        fail "zvol-read-extents needs perl ($C_PERL is missing)"
    if [ ! -f "$1" ]; then
        _snap=$2@zol-extents-$$
        trap 'drop_extents_snap' EXIT
        trap 'exit 129' HUP
        trap 'exit 130' INT
        trap 'exit 143' TERM
        # A reader gone makes writes fail (EPIPE) instead of killing the
        # shell before it destroys the snapshot (perl dies on the error,
        # zfs send on its own).
        trap '' PIPE
        # named before it is made: a signal right after "zfs snapshot"
        # still finds it to destroy
        EXTENTS_SNAP=$_snap
        if "$C_ZFS" snapshot "$_snap" 2>/dev/null 9>&-; then
            "$C_PERL" -e "$SEND_PL" -- "$C_ZFS" "$_snap" 9>&- ||
                fail "cannot stream the data of $2"
            drop_extents_snap || exit 1
            EXTENTS_SNAP=
            exit 0
        fi
        EXTENTS_SNAP=
        trap - EXIT HUP INT TERM PIPE
    fi
    exec "$C_PERL" -e "$EXTENTS_PL" -- "$1" 9>&-
}

# ---------------------------------------------------------------- streams
# zfs send and receive, in the only forms the key may use (the wrapper
# judged the words: every dataset is under a configured parent).

# The flags of every send: large blocks, embedded data and compressed
# records travel as they are on disk (OpenZFS 2.1 has all three; a pool
# without the feature simply has no such blocks).  Never -R, -p, -w,
# -b, -h, -S, -D or a bookmark: a stream carries one zvol's data only.
SEND_FLAGS='-L -e -c'

# Properties no received dataset may bring along.  A zvol has none of
# them (zfs warns and ignores the -x); they matter for a stream that is
# not a zvol's, which zvol_recv destroys as soon as the receive ends:
# until then it is unmounted (-u) and would mount under its parent.
RECV_EXCLUDE='-x mountpoint -x sharenfs -x sharesmb'

# The keys zfs send -nvt prints for a token of a plain zvol send.
TOKEN_KEYS=' object offset bytes toguid toname fromguid embedok compressok largeblockok '
MAX_TOKEN=1024

# zvol_send [-i PARENT/VOL@FROM] PARENT/VOL@SNAP: the stream to stdout.
zvol_send() {
    # shellcheck disable=SC2086     # fixed flags, split on purpose
    exec "$C_ZFS" send $SEND_FLAGS "$@" 9>&-
}

# read_token: TOKEN = one line of stdin, a resume token's bytes only.
read_token() {
    TOKEN=$(head -n 1 | head -c $((MAX_TOKEN + 1)) | tr '\000' '\001')
    [ -n "$TOKEN" ] || refuse "$VERB: no resume token on stdin"
    [ ${#TOKEN} -le $MAX_TOKEN ] ||
        refuse "$VERB: resume token longer than $MAX_TOKEN bytes"
    case $TOKEN in
        [0-9]-*) ;;
        *) refuse "$VERB: a resume token is N-HEX-HEX-HEX..." ;;
    esac
    case $TOKEN in *[!0-9a-f-]*)
        refuse "$VERB: byte outside a resume token's [0-9a-f-]" ;;
    esac
}

# zvol_send_resume: the rest of an interrupted stream, from the token on
# stdin.  zfs decodes the token first (send -nvt): it must name a
# snapshot under a configured parent and carry no key but those of a
# plain zvol send; anything else, or text zfs did not print as expected,
# is refused before any data is sent.
zvol_send_resume() {
    read_token
    _dec=$("$C_ZFS" send -nvt "$TOKEN" 2>&1 9>&-) ||
        fail "zfs cannot decode the token: $(printable "$_dec")"
    _to=
    _n=0
    IFS=$NL
    for _l in $_dec; do
        IFS=' '
        case $_l in
            '	'*' = '*) ;;
            *) continue ;;
        esac
        _l=${_l#	}
        _k=${_l%% = *}
        _v=${_l#* = }
        case $TOKEN_KEYS in *" $_k "*) ;; *)
            refuse "$VERB: the token carries $(printable "$_k")" ;;
        esac
        [ "$_k" != toname ] || { _to=$_v; _n=$((_n + 1)); }
    done
    IFS=' '
    [ "$_n" = 1 ] || refuse "$VERB: the token names no single snapshot"
    case $_to in *[!A-Za-z0-9_.:/@-]*) _to='?' ;; esac
    ds_kind "$_to" && [ "$DS_KIND" = snap ] ||
        refuse "$VERB: $(printable "$_to") is not PARENT/VOL@SNAP of a configured parent"
    exec "$C_ZFS" send -t "$TOKEN" 9>&-
}

# resume_token PARENT/VOL: TOKEN = its receive_resume_token ("-": none);
# status 1 if it does not exist.
resume_token() {
    TOKEN=$("$C_ZFS" get -H -p -o value receive_resume_token "$1" \
        2>/dev/null 9>&-)
}

# zvol_recv PARENT/VOL: stdin into a NEW zvol (or the rest of an
# interrupted receive into it: a later zvol-send-resume stream).  Never
# -F, -o, -d, -e or a snapshot name: zfs refuses a full stream into an
# existing dataset, and this check says so first.  -s keeps an
# interrupted receive resumable (zvol-recv-abort discards it).
zvol_recv() {
    if resume_token "$1" && [ "$TOKEN" = - ]; then
        fail "$1 exists: zvol-recv makes a new zvol only"
    fi
    # shellcheck disable=SC2086     # fixed flags, split on purpose
    "$C_ZFS" receive -s -u $RECV_EXCLUDE "$1" 9>&- || exit
    _t=$("$C_ZFS" get -H -p -o value type "$1" 2>/dev/null 9>&-)
    [ "$_t" = volume ] && return 0
    "$C_ZFS" destroy -r "$1" 9>&- ||
        fail "$1 is a received $(printable "$_t") and could not be destroyed"
    fail "the stream held a $(printable "$_t"), not a zvol: $1 destroyed"
}

# zvol_recv_incr PARENT/VOL: stdin, an incremental stream (or the rest of
# an interrupted one: a later zvol-send-resume stream), onto the EXISTING
# zvol PARENT/VOL, a replica (issue 20).  The same fixed flags as
# zvol_recv, never -F: zfs itself refuses a full stream into an existing
# dataset, a stream whose base is not the zvol's newest snapshot and a
# zvol changed since that snapshot, and nothing of the zvol is lost then.
zvol_recv_incr() {
    _t=$("$C_ZFS" get -H -p -o value type "$1" 2>/dev/null 9>&-) ||
        fail "$1 does not exist: zvol-recv-incr updates an existing zvol only"
    [ "$_t" = volume ] ||
        fail "$1 is a $(printable "$_t"), not a zvol: nothing received"
    # zfs's own message (why it refused the stream) goes to stderr first
    # shellcheck disable=SC2086     # fixed flags, split on purpose
    "$C_ZFS" receive -s -u $RECV_EXCLUDE "$1" 9>&- && return 0
    _rc=$?
    log_event failed "$VERB: zfs receive into $1 failed (exit $_rc)"
    printf 'zfswrapper: zvol-recv-incr: %s is unchanged or holds a resumable partial receive (zfs exit %s)\n' \
        "$1" "$_rc" >&2
    exit "$_rc"
}

# zvol_recv_abort PARENT/VOL: discard an interrupted receive into it
# (a new zvol disappears; zfs refuses when there is nothing to discard).
zvol_recv_abort() {
    exec "$C_ZFS" receive -A "$1" 9>&-
}

# zvol_sum PARENT/VOL: the BLAKE2b-512 of the whole device, read on the
# host, so that two zvols compare without their bytes crossing the network
# (b2sum: ~2.5x faster than sha256sum on a CPU without SHA instructions).
zvol_sum() {
    _dev=$C_ZVOL_ROOT/$1
    wait_dev "$_dev" || fail "$_dev is missing (waited $C_ZVOL_WAIT s)"
    _out=$(b2sum <"$_dev" 9>&-) || fail "cannot read $_dev"
    printf '%s\n' "${_out%% *}"
}

case $VERB in
    target-create) target_create "$@" ;;
    target-delete) target_delete "$@" ;;
    target-allow) target_allow "$@" ;;
    target-deny) target_deny "$@" ;;
    target-resize) target_resize "$@" ;;
    target-list) target_list ;;
    target-restore) target_restore ;;
    version) show_version ;;
    zvol-read|zvol-write) zvol_stream "$@" ;;
    zvol-read-extents|zvol-write-extents)
        _dev=$C_ZVOL_ROOT/$1
        wait_dev "$_dev" ||
            fail "$_dev is missing (waited $C_ZVOL_WAIT s)"
        if [ "$VERB" = zvol-read-extents ]; then
            zvol_read_extents "$_dev" "$1"
        else
            zvol_write_extents "$_dev"
        fi ;;
    zvol-send) zvol_send "$@" ;;
    zvol-send-resume) zvol_send_resume ;;
    zvol-recv) zvol_recv "$@" ;;
    zvol-recv-incr) zvol_recv_incr "$@" ;;
    zvol-recv-abort) zvol_recv_abort "$@" ;;
    zvol-sum) zvol_sum "$@" ;;
    *) fail "no verb $VERB here" ;;
esac
