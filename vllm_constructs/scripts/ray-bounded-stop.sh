# vllm-constructs: the bounded stop of a Ray leader or worker script, included where that script has the line
# `# vllm-constructs: include ray-bounded-stop.sh` (see vllm_constructs.core.model.script). It expects
# `set -euo pipefail` and stop_timeout (whole seconds) to be set before it. The lines above the first blank line stay out of the rendered script.

# --- bounded stop of the children (scripts/ray-bounded-stop.sh, shared by the Ray leader and worker) ---
declare -A groups=()  # process group id -> what runs in it, for every group started and not yet ended
stop_since=""
# The signal a group leader gets first: SIGINT, on which `ray start` stops its Ray daemons at once. A shell
# started with SIGINT ignored (a background job of a non-interactive shell is) passes that on to its
# children, so they get SIGTERM instead, on which `ray start` stops them too.
first_signal=INT
if [ -r /proc/$$/status ]; then
  while read -r key value; do
    if [ "$key" = SigIgn: ] && (( 16#$value & 2 )); then first_signal=TERM; fi
  done </proc/$$/status
fi
# launch NAME CMD...: runs CMD in the background as a process group of its own (job control on for the
# fork only); its pid, also its group id, is in $!. With job control on, the job does not ignore SIGINT.
launch() { local name=$1; shift; set -m; "$@" </dev/null & set +m; groups[$!]=$name; }
# run NAME CMD...: launch and wait; a trapped signal interrupts the wait at once.
run() { launch "$@"; local pid=$! rc=0; wait "$pid" || rc=$?; kill -0 -- "-$pid" 2>/dev/null || unset "groups[$pid]"; return "$rc"; }
# stat_fields PID: from /proc/PID/stat, the command name in `comm`, the state in `state` and the session
# id in `session`; fails when the process is gone.
stat_fields() {
  local line=""
  read -r line 2>/dev/null <"/proc/$1/stat" || [ -n "$line" ] || return 1
  comm=${line#*(}; comm=${comm%)*}
  # shellcheck disable=SC2086 # after the command name: state ppid pgrp session ..., numbers and a letter
  set -- ${line##*) }
  state=$1 session=$4
}
comm="" state="" session=""
own_session=0  # 1 when this shell leads its session, as a container's first process does
if stat_fields $$ && [ "$session" = $$ ]; then own_session=1; fi
# survivors: what this script started that still runs, in `survivors` (pid, or -group for a whole group)
# and `survivor_names`: its process groups and, when it leads its session, every other process there
# (Ray starts its workers in process groups of their own).
survivors() {
  local pgid stat pid
  survivors=(); survivor_names=()
  for pgid in "${!groups[@]}"; do kill -0 -- "-$pgid" 2>/dev/null || unset "groups[$pgid]"; done
  if [ "$own_session" = 0 ]; then
    for pgid in "${!groups[@]}"; do survivors+=("-$pgid"); survivor_names+=("${groups[$pgid]} (process group $pgid)"); done
    return 0
  fi
  for stat in /proc/[0-9]*/stat; do
    pid=${stat#/proc/}; pid=${pid%/stat}
    if [ "$pid" = $$ ] || ! stat_fields "$pid"; then continue; fi
    if [ "$session" = $$ ] && [ "$state" != Z ]; then survivors+=("$pid"); survivor_names+=("$comm (pid $pid)"); fi
  done
}
# stop_children: the leader of a live group gets first_signal (SIGINT: `ray start` stops its Ray daemons
# on it); a group whose leader is gone gets SIGTERM (what `ray stop` sends to Ray daemons). Whatever of
# `survivors` still runs once RAY_STOP_TIMEOUT_SECONDS have passed gets SIGKILL. A stop that interrupts
# a stop keeps its deadline.
stop_children() {
  local pgid target
  if [ -z "$stop_since" ]; then
    stop_since=$SECONDS
    for pgid in "${!groups[@]}"; do
      if kill -0 "$pgid" 2>/dev/null; then kill -"$first_signal" "$pgid" 2>/dev/null || true; else kill -TERM -- "-$pgid" 2>/dev/null || true; fi
    done
  fi
  survivors
  while [ "${#survivors[@]}" -gt 0 ]; do
    if [ $(( SECONDS - stop_since )) -gt "$stop_timeout" ]; then
      echo "ERROR: still running ${stop_timeout}s after the stop began, killed with SIGKILL: ${survivor_names[*]}" >&2
      for target in "${survivors[@]}"; do kill -KILL -- "$target" 2>/dev/null || true; done
      groups=(); break
    fi
    sleep 0.2; survivors
  done
  stop_since=""
}
on_exit() { local status=$?; trap '' TERM INT; stop_children; exit "$status"; }
on_signal() { echo "received SIG$1: stopping Ray (SIGKILL after ${stop_timeout}s)" >&2; exit "$2"; }
trap on_exit EXIT
trap 'on_signal TERM 143' TERM
trap 'on_signal INT 130' INT
# --- end of the bounded stop ---
