#!/bin/sh
# zfswrapper.sh - the only thing cinder-zol's SSH key may run on the ZFS host.
#
#   restrict,command="/usr/local/sbin/zfswrapper.sh -c /etc/cinder-zol/zfswrapper.conf" ssh-ed25519 AAAA...
#
# The command is in SSH_ORIGINAL_COMMAND (doc/wrapper-protocol.rst), split
# into words on single spaces only, globbing off.  It must fit a row of
# GRAMMAR below; then run() logs it and execs the binary with exactly those
# words.  Nothing is ever evaluated: no eval, no sh -c, no word reaches a
# shell again.  A refused command exits 126, one line "zfswrapper: refused:
# <reason>" on stderr, nothing run.  The wrapper's own verbs (target-*,
# zvol-read/-write[-extents], the zvol-send/-recv streams, zvol-sum,
# version) run in zfswrapper-helper.sh beside this file.
# POSIX sh (dash): coreutils, util-linux (flock, logger), mawk.  Processes
# cost time on a slow host, so the checks, the environment scrub and the
# file log use shell builtins only.

# shellcheck disable=SC2015
# (SC2015: "A && B || fail" is meant: fail when either A or B is false.)
set -f -u
umask 077
IFS=' '

# scrub_env: drop every exported variable (sshd's, and whatever AcceptEnv
# let in) so that the binaries run below see only PATH and LC_ALL.  Names
# come from the builtin "export -p"; a value with a newline can only add
# names to drop.  Costs one fork, where "env -i" per binary cost an exec.
# It runs before any variable is set, so none of ours can be dropped.  (An
# exported IFS stays exported, as dash keeps that flag on its own special
# variables, but it holds the wrapper's own blanks, never the caller's.)
scrub_env() {
    _drop=
    while IFS= read -r _l; do
        case $_l in 'export '*) ;; *) continue ;; esac
        _n=${_l#export }
        _n=${_n%%=*}
        case $_n in ''|[0-9]*|*[!A-Za-z0-9_]*) continue ;; esac
        _drop="$_drop $_n"
    done <<EOF
$(export -p)
EOF
    # shellcheck disable=SC2086     # a list of names, split on purpose
    unset $_drop
}

# The two values needed from sshd's environment wait in $1 and $2.  (Read
# by zfswrapper-helper.sh, whose environment the wrapper made, it drops
# its few names itself: one fork less.)
set -- "${SSH_ORIGINAL_COMMAND-}" "${SSH_CONNECTION-}" "$@"
[ "${3-}" = --helper ] || scrub_env
IFS=' '
PATH=/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
CMD=$1
SSH_FROM=$2
shift 2

VERSION=1.6.0
MAX_COMMAND=4096
MAX_WORD=128
NL='
'

# ------------------------------------------------------------- the grammar
# Every command the driver's key can run: "RUN VERB OPTIONS... :
# POSITIONALS...", one row per form.  RUN zfs, zpool, tgtadm: the command is
# "RUN VERB WORD..." and that binary runs with the words after RUN; RUN
# helper: the command is "VERB WORD..." (zfswrapper-helper.sh runs it).
# OPTIONS come first, in any order, each at most once: -x a flag, -x=KIND
# with an argument, "!" required, "*" may repeat.  POSITIONALS follow in
# order: KIND+ one or more, KIND? an optional last word, =WORD exactly
# WORD.  The kinds are in fits() (doc/wrapper-protocol.rst has this table
# and a legend; tests/unit/test_wrapper_table.py keeps them equal).
GRAMMAR='
zfs     create          -s -V=size! -b=size -o=prop*     : child
zfs     destroy         -r                               : child
zfs     destroy         -d!                              : snap
zfs     snapshot        -o=prop*                         : snap+
zfs     clone           -o=prop*                         : snap child
zfs     promote                                          : child
zfs     rollback                                         : snap
zfs     rename                                           : child child~
zfs     rename                                           : snap snap~
zfs     set                                              : prop+ child
zfs     set                                              : zolprop+ snap
zfs     get             -H! -p! -o=names!                : names dataset
zfs     list            -H! -p! -t=names -o=names!       : dataset
zfs     list            -H! -p! -r! -d=num! -t=names -o=names! : dataset
zpool   list            -H! -p! -o=names!                : pool
tgtadm  --lld           : =iscsi =--op =show =--mode =target
helper  target-create                                    : iqn child serial chapuser?
helper  target-delete                                    : iqn
helper  target-allow                                     : iqn iqn
helper  target-deny                                      : iqn iqn
helper  target-resize                                    : iqn
helper  target-list                                      :
helper  target-restore                                   :
helper  version                                          :
helper  zvol-read                                        : volume
helper  zvol-write                                       : volume
helper  zvol-read-extents                                : volume
helper  zvol-write-extents                               : volume
helper  zvol-send                                        : snap
helper  zvol-send       -i=snap!                         : snap~
helper  zvol-send-resume                                 :
helper  zvol-recv                                        : volume
helper  zvol-recv-incr                                   : volume
helper  zvol-recv-abort                                  : volume
helper  zvol-sum                                         : volume
'
# The native properties "prop" allows (zol_driver/zfs.py's NATIVE_PROPS).
NATIVE_PROPS=' volsize volblocksize compression checksum dedup sync logbias primarycache secondarycache copies refreservation reservation readonly snapdev '

VERB=-
CLIENT=no-ssh
if [ -n "$SSH_FROM" ]; then
    CLIENT=${SSH_FROM%% *}
    case $CLIENT in ''|*[!0-9A-Fa-f.:]*) CLIENT=unknown ;; esac
fi

# Configuration (the -c file overrides).  zvol_wait and lock_wait bound
# every export verb (doc/wrapper-protocol.rst, "How long a verb may take").
C_PARENTS=
C_ZFS=
C_ZPOOL=
C_TGTADM=
C_STATEDIR=/var/lib/cinder-zol/targets
C_LOCKFILE=
C_LOG=syslog
C_ZVOL_WAIT=10
C_LOCK_WAIT=10
C_DD=/bin/dd
C_PERL=/usr/bin/perl
C_BLKDISCARD=/sbin/blkdiscard
C_FLOCK=/usr/bin/flock
C_UDEVADM=
C_LOGGER=/usr/bin/logger
C_SUDO=
C_ZVOL_ROOT=/dev/zvol
C_ZVOL_ALLOW_FILES=no
MY_UID=

# ---------------------------------------------------------------- output

# printable TEXT: the first 200 bytes of TEXT, unsafe bytes shown as '?'.
printable() {
    printf '%s' "$1" | head -c 200 | tr -c 'A-Za-z0-9_.:/@=, -' '?'
}

# utc_now: UTC_NOW = the time as YYYY-MM-DDTHH:MM:SSZ, from /proc/stat's
# boot time plus /proc/uptime (no process started); "-" if unreadable.
utc_now() {
    UTC_NOW=-
    _bt=
    while read -r _k _v _r; do
        [ "$_k" != btime ] || { _bt=$_v; break; }
    done </proc/stat
    read -r _up _r </proc/uptime && is_digits "$_bt" &&
        is_digits "${_up%.*}" || return 0
    _s=$((_bt + ${_up%.*}))
    # days since 1970-01-01 -> civil date (proleptic Gregorian calendar)
    _z=$((_s / 86400 + 719468))
    _era=$((_z / 146097))
    _doe=$((_z - _era * 146097))
    _yoe=$(((_doe - _doe / 1460 + _doe / 36524 - _doe / 146096) / 365))
    _doy=$((_doe - (365 * _yoe + _yoe / 4 - _yoe / 100)))
    _mp=$(((5 * _doy + 2) / 153))
    _d=$((_doy - (153 * _mp + 2) / 5 + 1))
    _m=$((_mp < 10 ? _mp + 3 : _mp - 9))
    _y=$((_yoe + _era * 400 + (_m <= 2)))
    _t=$((_s % 86400))
    # two digits each: 100 added, its leading 1 dropped
    set -- $((_m + 100)) $((_d + 100)) $((_t / 3600 + 100)) \
        $((_t % 3600 / 60 + 100)) $((_t % 60 + 100))
    UTC_NOW=$_y-${1#1}-${2#1}T${3#1}:${4#1}:${5#1}Z
}

# log_event allowed|refused|failed TEXT (TEXT holds safe bytes only).
# syslog: logger runs in the background (the wrapper does not wait for
# it) once /dev/log is known to be there; a file: one builtin append.
log_event() {
    _msg="$1 from $CLIENT: $2"
    if [ "$C_LOG" = syslog ]; then
        [ -S /dev/log ] || return 1
        _prio=auth.info
        [ "$1" = allowed ] || _prio=auth.warning
        "$C_LOGGER" -t zfswrapper -p "$_prio" -- "$_msg" \
            </dev/null >/dev/null 2>&1 9>&- &
    else
        utc_now
        { printf '%s zfswrapper[%s]: %s\n' "$UTC_NOW" "$$" "$_msg" \
            >>"$C_LOG"; } 2>/dev/null
    fi
}

# refuse REASON: nothing is run; exit 126.
refuse() {
    log_event refused "$1: $(printable "$CMD")"
    printf 'zfswrapper: refused: %s\n' "$1" >&2
    exit 126
}

# fail MESSAGE: an allowed wrapper verb could not do its job; exit 1.
fail() {
    log_event failed "$VERB: $1"
    printf 'zfswrapper: %s\n' "$1" >&2
    exit 1
}

# ------------------------------------------------------------ word kinds

is_digits() {
    case $1 in ''|*[!0-9]*) return 1 ;; esac
    [ ${#1} -le 18 ]
}

# One dataset path segment: [A-Za-z0-9_.:-], not starting with - or .
is_seg() {
    case $1 in ''|[-.]*|*[!A-Za-z0-9_.:-]*) return 1 ;; esac
}

# ds_kind WORD: DS_KIND = parent, child or snap (DS_PARENT = PARENT,
# DS_VOL = PARENT/VOL), or status 1 when WORD is not PARENT, PARENT/VOL or
# PARENT/VOL@SNAP of a configured parent.
ds_kind() {
    DS_KIND=parent
    DS_VOL=
    for DS_PARENT in $C_PARENTS; do
        [ "$1" != "$DS_PARENT" ] || return 0
        case $1 in "$DS_PARENT"/*) ;; *) continue ;; esac
        _rest=${1#"$DS_PARENT"/}
        DS_VOL=$DS_PARENT/${_rest%%@*}
        DS_KIND=child
        case $_rest in *@*) DS_KIND=snap ;; esac
        is_seg "${_rest%%@*}" && { [ $DS_KIND = child ] ||
            is_seg "${_rest#*@}"; }
        return
    done
    return 1
}

# fits KIND WORD: WORD is of KIND (GRAMMAR's legend; chapsecret: 12-255
# bytes of [A-Za-z0-9_.:@+/-]); else status 1 and WHY says why.
fits() {
    WHY="$2 is no $1"
    case $1 in
        size|num) is_digits "$2" ;;
        names) case $2 in ''|,*|*,|*,,*|*[!a-z0-9_:,]*) return 1 ;; esac ;;
        prop) fits_prop "$2" ;;
        zolprop) case $2 in zol:*) fits_prop "$2" ;; *) return 1 ;; esac ;;
        iqn)
            case $2 in
                iqn.[0-9][0-9][0-9][0-9]-[0-9][0-9].?*|eui.?*|naa.?*) ;;
                *) return 1 ;;
            esac
            case $2 in *[!A-Za-z0-9.:_-]*) return 1 ;; esac ;;
        serial) is_seg "$2" && [ ${#2} -le 36 ] ;;
        chapuser) is_seg "$2" && [ ${#2} -le 64 ] && NEED_SECRET=yes ;;
        chapsecret)
            WHY="bad CHAP secret"
            case $2 in ''|-*|*[!A-Za-z0-9_.:@+/-]*) return 1 ;; esac
            [ ${#2} -ge 12 ] && [ ${#2} -le 255 ] ;;
        pool)
            WHY="pool $2 holds no configured parent"
            for _p in $C_PARENTS; do
                [ "$2" != "${_p%%/*}" ] || return 0
            done
            return 1 ;;
        =*) [ "$2" = "${1#=}" ] ;;
        *) fits_dataset "$@" ;;
    esac
}

# fits_prop PROP=VALUE: one that create/clone/snapshot/set may pass.
fits_prop() {
    case $1 in ?*=?*) ;; *) return 1 ;; esac
    _val=${1#*=}
    case $_val in -*|*=*|*[!A-Za-z0-9_.:/@,-]*) return 1 ;; esac
    _prop=${1%%=*}
    case $_prop in
        zol:*) case ${_prop#zol:} in ''|*[!a-z0-9_]*) return 1 ;; esac ;;
        *)
            case $NATIVE_PROPS in *" $_prop "*) ;; *) return 1 ;; esac
            case $_val in *[!A-Za-z0-9_.-]*) return 1 ;; esac ;;
    esac
}

# fits_dataset KIND WORD: the dataset kinds.  child~ and snap~ compare
# with DS_* of the word before; a run of snap+ with G_PARENT and G_VOLS
# (RUN_I: the word's place in the run).
fits_dataset() {
    _pp=$DS_PARENT
    _pv=$DS_VOL
    ds_kind "$2" || DS_KIND=none
    case $1:$DS_KIND in
        dataset:none) _what='PARENT[/VOL[@SNAP]]' ;;
        snap*:snap|dataset:*|child*:child|volume:child) _what= ;;
        snap*) _what=PARENT/VOL@SNAP ;;
        *) _what=PARENT/VOL ;;
    esac
    WHY="$2 is not $_what of a configured parent"
    [ -z "$_what" ] || return 1
    WHY=
    case $1 in
        child~) [ "$DS_PARENT" = "$_pp" ] || WHY="a volume keeps its parent" ;;
        snap~) [ "$DS_VOL" = "$_pv" ] || WHY="a snapshot keeps its volume" ;;
        volume) case ${2##*/} in zol-deleted-*|zol-revert-*)
            WHY="$2 is the driver's internal zvol" ;; esac ;;
        snap)
            [ "$RUN_I" != 0 ] || { G_PARENT=$DS_PARENT; G_VOLS=' '; }
            [ "$DS_PARENT" = "$G_PARENT" ] ||
                WHY="all snapshots must be under one parent"
            case $G_VOLS in *" $DS_VOL "*) WHY="$DS_VOL is named twice" ;; esac
            G_VOLS="$G_VOLS$DS_VOL " ;;
    esac
    [ -z "$WHY" ]
}

# ------------------------------------------------------------- judging

# check_words WORD...: the command line has safe bytes only, single
# spaces, and bounded lengths.
check_words() {
    [ -n "$CMD" ] || refuse "no command (interactive logins are not allowed)"
    [ ${#CMD} -le $MAX_COMMAND ] ||
        refuse "command longer than $MAX_COMMAND bytes"
    case $CMD in
        *[!A-Za-z0-9_.:/@=,\ -]*) refuse "byte outside the safe set" ;;
        ' '*|*' '|*'  '*) refuse "empty word (words are split on single spaces)" ;;
    esac
    for _w in "$@"; do
        [ ${#_w} -le $MAX_WORD ] || refuse "word longer than $MAX_WORD bytes"
        case $_w in
            *//*) refuse "'//' in a word" ;;
            .|..|./*|../*|*/.|*/..|*/./*|*/../*)
                refuse "'.' or '..' path segment" ;;
        esac
    done
}

# try_row SPEC SKIP WORD...: the WORDs after the first SKIP fit SPEC (a
# row's "OPTIONS : POSITIONALS"); else status 1, WHY, and AT = how many
# words fitted before the one that did not.
try_row() {
    _opts=${1%%:*}
    _kinds=${1#*:}
    shift $(($2 + 2))
    _all=$#
    AT=0
    RUN_I=0
    SEEN=' '
    NEED_SECRET=
    DS_PARENT=
    DS_VOL=
    while [ $# -gt 0 ]; do
        case $_opts in *-*) ;; *) break ;; esac   # no options: positionals
        case $1 in -*) ;; *) break ;; esac
        _spec=
        for _t in $_opts; do
            [ "${_t%%[=!*]*}" = "$1" ] && { _spec=$_t; break; }
        done
        WHY="option $1 not allowed"
        [ -n "$_spec" ] || return 1
        WHY="option $1 given twice"
        case $_spec in *'*') ;; *)
            case $SEEN in *" $1 "*) return 1 ;; esac ;;
        esac
        SEEN="$SEEN$1 "
        case $_spec in *=*)
            WHY="option $1 needs an argument"
            [ $# -ge 2 ] || return 1
            _k=${_spec#*=}
            _k=${_k%!}
            fits "${_k%\*}" "$2" || { WHY="$1: $WHY"; return 1; }
            shift ;;
        esac
        shift
        AT=$((_all - $#))
    done
    for _t in $_opts; do
        case $_t in *!) ;; *) continue ;; esac
        WHY="option ${_t%%[=!*]*} is required"
        case $SEEN in *" ${_t%%[=!*]*} "*) ;; *) return 1 ;; esac
    done
    _left=0
    for _k in $_kinds; do _left=$((_left + 1)); done
    for _k in $_kinds; do
        _left=$((_left - 1))
        _n=1
        case $_k in
            *\?) _k=${_k%\?}; [ $# -gt 0 ] || continue ;;
            *+) _k=${_k%+}; _n=$(($# - _left)) ;;
        esac
        WHY="too few words (wanted:$_kinds)"
        [ "$_n" -ge 1 ] && [ $# -ge "$_n" ] || return 1
        RUN_I=0
        while [ $RUN_I -lt "$_n" ]; do
            fits "$_k" "$1" || return 1
            shift
            RUN_I=$((RUN_I + 1))
            AT=$((_all - $#))
        done
    done
    WHY="unexpected word ${1-}"
    [ $# -eq 0 ]
}

# row_fields RUN VERB SPEC...: one GRAMMAR row into R_RUN, R_VERB, R_SPEC.
row_fields() {
    R_RUN=$1
    R_VERB=$2
    shift 2
    R_SPEC="$*"
}

# judge WORD...: refuse unless the command fits a row of GRAMMAR (R_RUN:
# its RUN).  If no row of its verb fits, the reason given is that of the
# row that fitted the most words.
judge() {
    _best=-1
    _why=
    _bin=no
    IFS=$NL
    for _row in $GRAMMAR; do
        IFS=' '
        # shellcheck disable=SC2086     # a row's words (set -f)
        row_fields $_row
        if [ "$R_RUN" = helper ]; then
            [ "$R_VERB" = "$1" ] || continue
            VERB=$1
            try_row "$R_SPEC" 1 "$@" && return 0
        else
            [ "$R_RUN" = "$1" ] || continue
            _bin=yes
            [ "$R_VERB" = "${2-}" ] || continue
            VERB="$1 $2"
            try_row "$R_SPEC" 2 "$@" && return 0
        fi
        [ "$AT" -le "$_best" ] || { _best=$AT; _why=$WHY; }
    done
    IFS=' '
    [ "$_best" -lt 0 ] || refuse "$VERB: $_why"
    [ $_bin = no ] || [ $# -ge 2 ] || refuse "$1: no subcommand"
    [ $_bin = no ] || refuse "$1: subcommand $2 not allowed"
    refuse "command $1 not allowed"
}

# read_secret: SECRET = the CHAP secret, one line of stdin (target-create).
# dash's read drops NUL bytes, and would set another secret than was
# sent: tr turns a NUL into a byte that is refused below.
read_secret() {
    SECRET=$(head -n 1 | head -c 300 | tr '\000' '\001')
    [ -n "$SECRET" ] || refuse "$VERB: no CHAP secret on stdin"
    fits chapsecret "$SECRET" ||
        refuse "$VERB: CHAP secret must be 12-255 bytes of [A-Za-z0-9_.:@+/-]"
}

# helper_run CONFIG: RUN = zfswrapper-helper.sh beside the wrapper (or, if
# not there and the wrapper is a symlink, beside the file it names), with
# the environment it expects: the marker ZFSWRAPPER (this version), the
# client for its log lines and the CHAP secret (never in an argv).
helper_run() {
    HELPER=${0%/*}/zfswrapper-helper.sh
    if [ ! -x "$HELPER" ] && [ -h "$0" ]; then
        _self=$(readlink -f -- "$0")
        HELPER=${_self%/*}/zfswrapper-helper.sh
    fi
    is_abs_path "$HELPER" && [ -x "$HELPER" ] || fail "no helper $HELPER"
    export ZFSWRAPPER="$VERSION" ZFSWRAPPER_CLIENT="$CLIENT" \
        ZFSWRAPPER_SECRET="${SECRET-}"
    RUN="$HELPER -c $1"
}

# run WORD...: the one way out of an allowed command: log it, then exec
# RUN (the binary and its fixed words) with the WORDs.  Without a log,
# nothing runs.
run() {
    log_event allowed "$CMD" ||
        { printf 'zfswrapper: refused: cannot write the log\n' >&2; exit 126; }
    # shellcheck disable=SC2086     # RUN: absolute paths and -n, split
    exec $RUN "$@"
}

# ---------------------------------------------------------------- config

config_error() {
    C_LOG=syslog        # never a log path that failed the checks
    log_event refused "bad configuration: $1"
    printf 'zfswrapper: refused: bad configuration: %s\n' "$1" >&2
    exit 126
}

is_abs_path() {
    case $1 in /*) ;; *) return 1 ;; esac
    case $1 in *//*|*/./*|*/../*|*/.|*/..|*[!A-Za-z0-9_./-]*) return 1 ;; esac
}

# my_uid: MY_UID = the effective uid (read from /proc, no fork).
my_uid() {
    while IFS=' 	' read -r _k _r _e _rest; do
        [ "$_k" = Uid: ] && { MY_UID=$_e; break; }
    done </proc/self/status
    is_digits "$MY_UID" || config_error "cannot read the effective uid"
}

# stat_paths PATH...: STATS = one "uid mode-hex path" line per PATH, from
# one stat(1) that never follows a symlink (paths hold safe bytes only).
stat_paths() {
    # A path that is gone has no line (and so is not trusted).
    STATS=$(stat -c '%u %f %n' -- "$@" 2>/dev/null 9>&-)
}

# trusted_path PATH OWNER: PATH is none of "a symlink, not owned by OWNER
# (a uid), writable by group or others".  A directory writable by others
# passes only when it is root's and sticky (as /tmp): there nobody but the
# owner of an entry can rename or remove it.  TRUST_WHY says why not.
# Looks PATH up in STATS (stat_paths); TRUST_MODE = its st_mode.
trusted_path() {
    TRUST_WHY=
    IFS=$NL
    for _s in $STATS; do
        [ "${_s#* * }" = "$1" ] || continue
        IFS=' '
        _uid=${_s%% *}
        _m=${_s#* }
        _m=$((0x${_m%% *}))
        # shellcheck disable=SC2034     # read by zfswrapper-helper.sh
        TRUST_MODE=$_m
        _t=$(((_m >> 12) & 15))
        if [ $_t = 10 ]; then
            TRUST_WHY="$1 is a symlink"
        elif [ "$_uid" != "$2" ]; then
            TRUST_WHY="$1 is not owned by uid $2"
        elif [ $((_m & 18)) != 0 ] && ! { [ $_t = 4 ] &&
                [ "$_uid" = 0 ] && [ $((_m & 512)) != 0 ]; }; then
            TRUST_WHY="$1 is writable by group or others"
        fi
        [ -z "$TRUST_WHY" ]
        return
    done
    IFS=' '
    TRUST_WHY="cannot stat $1"
    return 1
}

# load_config FILE: the C_* values.  Whoever can change the config (or
# rename a directory above it) owns the wrapper: it and every directory
# above it must be root's and not writable by anyone else; run as another
# user, the wrapper's own user must not be able to write it either.
load_config() {
    _conf=$1
    is_abs_path "$_conf" || config_error "-c needs an absolute path"
    [ -f "$_conf" ] && [ -r "$_conf" ] || config_error "cannot read $_conf"
    my_uid
    _paths=$_conf
    _d=$_conf
    while [ -n "$_d" ]; do
        _d=${_d%/*}
        _paths="$_paths ${_d:-/}"
    done
    # shellcheck disable=SC2086     # a list of safe paths, split on purpose
    stat_paths $_paths
    for _p in $_paths; do
        trusted_path "$_p" 0 || config_error "$TRUST_WHY"
    done
    if [ -w "$_conf" ] && [ "$MY_UID" != 0 ]; then
        config_error "$_conf is writable by the wrapper's own user"
    fi
    CONF_KEYS=' '
    while IFS= read -r _line || [ -n "$_line" ]; do
        _line=${_line%%#*}
        IFS=' 	'
        # shellcheck disable=SC2086     # split into words (set -f)
        set -- ${_line%%=*}
        _nkey=$#
        _key=${1-}
        # shellcheck disable=SC2086     # split into words (set -f)
        set -- ${_line#*=}
        IFS=' '
        _val="$*"
        case $_line:$_nkey in
            *=*:1) ;;
            *=*:*) config_error "bad key in $_conf" ;;
            *:0) continue ;;
            *) config_error "line without '=' in $_conf" ;;
        esac
        case $CONF_KEYS in *" $_key "*) config_error "$_key given twice" ;; esac
        CONF_KEYS="$CONF_KEYS$_key "
        case $_key in
            parents) C_PARENTS=$_val ;;
            zfs) C_ZFS=$_val ;;
            zpool) C_ZPOOL=$_val ;;
            tgtadm) C_TGTADM=$_val ;;
            statedir) C_STATEDIR=$_val ;;
            lockfile) C_LOCKFILE=$_val ;;
            log) C_LOG=$_val ;;
            zvol_wait) C_ZVOL_WAIT=$_val ;;
            lock_wait) C_LOCK_WAIT=$_val ;;
            dd) C_DD=$_val ;;
            perl) C_PERL=$_val ;;
            blkdiscard) C_BLKDISCARD=$_val ;;
            flock) C_FLOCK=$_val ;;
            udevadm) C_UDEVADM=$_val ;;
            logger) C_LOGGER=$_val ;;
            sudo) C_SUDO=$_val ;;
            zvol_root) C_ZVOL_ROOT=$_val ;;
            zvol_allow_files) C_ZVOL_ALLOW_FILES=$_val ;;
            *) config_error "unknown key $(printable "$_key")" ;;
        esac
    done <"$_conf"
    check_config
}

# check_exe KEY VALUE: an absolute path of an executable.
check_exe() {
    [ -n "$2" ] || config_error "$1 is not set"
    is_abs_path "$2" && [ -x "$2" ] ||
        config_error "$1 is not an absolute path of an executable"
}

check_config() {
    [ -n "$C_PARENTS" ] || config_error "parents is empty"
    for _p in $C_PARENTS; do
        case $_p in /*|*/|*//*) config_error "bad parent $(printable "$_p")" ;; esac
        IFS=/
        for _s in $_p; do
            is_seg "$_s" || config_error "bad parent $(printable "$_p")"
        done
        IFS=' '
        case $_p in
            */*) ;;
            *) config_error "parent $_p is a pool's root dataset" ;;
        esac
        for _q in $C_PARENTS; do
            case $_q in "$_p"/*) config_error "parent $_q is inside $_p" ;; esac
        done
    done
    check_exe zfs "$C_ZFS"
    check_exe zpool "$C_ZPOOL"
    check_exe tgtadm "$C_TGTADM"
    check_exe dd "$C_DD"
    # perl (zvol-read-extents) and blkdiscard (zvol-write-extents' holes)
    # are checked when a verb needs them: without them the other verbs work.
    for _v in "$C_PERL" "$C_BLKDISCARD"; do
        is_abs_path "$_v" || config_error "not an absolute path: $(printable "$_v")"
    done
    check_exe flock "$C_FLOCK"
    check_exe logger "$C_LOGGER"
    # Optional binaries: checked as the others when the config names them.
    case $CONF_KEYS in
        *' udevadm '*) check_exe udevadm "$C_UDEVADM" ;;
        *) [ -x /bin/udevadm ] && C_UDEVADM=/bin/udevadm ;;
    esac
    if [ -n "$C_SUDO" ]; then
        check_exe sudo "$C_SUDO"
        C_SUDO="$C_SUDO -n"
    fi
    C_LOCKFILE=${C_LOCKFILE:-$C_STATEDIR/.lock}
    for _v in "$C_STATEDIR" "$C_LOCKFILE" "$C_ZVOL_ROOT"; do
        is_abs_path "$_v" || config_error "not an absolute path: $(printable "$_v")"
    done
    [ "$C_LOG" = syslog ] || is_abs_path "$C_LOG" ||
        config_error "log is neither syslog nor an absolute path"
    is_digits "$C_ZVOL_WAIT" && is_digits "$C_LOCK_WAIT" ||
        config_error "zvol_wait and lock_wait are whole seconds"
    case $C_ZVOL_ALLOW_FILES in yes|no) ;; *)
        config_error "zvol_allow_files is yes or no" ;;
    esac
}

# ---------------------------------------------------------------- main

main() {
    if [ $# -ne 2 ] || [ "$1" != -c ]; then
        printf 'zfswrapper: refused: usage: zfswrapper.sh -c CONFIG\n' >&2
        exit 126
    fi
    load_config "$2"
    # shellcheck disable=SC2086     # the argv: split on single spaces (set -f)
    set -- $CMD
    check_words "$@"
    judge "$@"
    [ -z "$NEED_SECRET" ] || read_secret
    case $R_RUN in
        zfs) RUN=$C_ZFS; shift ;;
        zpool) RUN=$C_ZPOOL; shift ;;
        tgtadm) RUN="$C_SUDO $C_TGTADM"; shift ;;
        helper) helper_run "$_conf" ;;
    esac
    run "$@"
}

# zfswrapper-helper.sh reads this file for its functions, with --helper
# as the first argument: then nothing of main runs.
[ "${1-}" = --helper ] || main "$@"
