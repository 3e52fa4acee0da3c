#!/usr/bin/env bash
# A one-node Slurm cluster on loopback (munged, slurmctld, slurmd started directly as daemons, no systemd, no cgroups,
# no accounting database), for seldpipe's Slurm integration tests and CI. Needs root and Debian's packages, which
# `start` installs when missing.
#
#   bash scripts/slurm-cluster.sh start    # install if needed, configure, start; returns once the node is idle
#   bash scripts/slurm-cluster.sh status   # exit 0 when the cluster answers and its node can run jobs
#   bash scripts/slurm-cluster.sh stop
#
# Every command is idempotent. The config goes to /etc/slurm/slurm.conf (where the Slurm clients look by default); a
# slurm.conf this script did not write is never overwritten (`start` exits 3 instead).
set -euo pipefail

readonly CONF=/etc/slurm/slurm.conf
readonly MARKER='# written by seldpipe scripts/slurm-cluster.sh'
readonly NODE=localhost
readonly LOG_DIR=/var/log/slurm
readonly CTLD_PID=/run/slurmctld.pid
readonly SLURMD_PID=/run/slurmd.pid
readonly MUNGE_PID=/run/munge/munged.pid
readonly READY_TIMEOUT_S=90

die() { echo "slurm-cluster: $*" >&2; exit 1; }
say() { echo "slurm-cluster: $*"; }

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    && command -v sbatch >/dev/null; then
    return
  fi
  [[ $(id -u) == 0 ]] || die "the Slurm packages are missing and installing them needs root"
  say "installing slurmctld, slurmd, munge and slurm-client (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmd slurmctld munge slurm-client >/dev/null
}

write_config() {
  if [[ -f $CONF ]] && ! grep -qF "$MARKER" "$CONF"; then
    echo "slurm-cluster: $CONF exists and was not written by this script; refusing to overwrite a real cluster's configuration" >&2
    exit 3
  fi
  # The node's real CPUs, sockets and memory, as slurmd itself detects them, so it registers without being drained.
  local hardware
  hardware=$(slurmd -C | head -1 | sed -E 's/^NodeName=[^ ]+ //')
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd "$LOG_DIR"
  local tmp="$CONF.tmp.$$"
  cat >"$tmp" <<EOF
$MARKER
ClusterName=seldpipe
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
# Containers have no writable cgroup tree: track job processes by /proc and bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No database: finished jobs stay visible to scontrol for MinJobAge seconds and are appended to a text file.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
MinJobAge=3600
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName=$NODE NodeAddr=127.0.0.1 $hardware State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  if [[ -f $CONF ]] && cmp -s "$tmp" "$CONF"; then rm -f "$tmp"; else mv "$tmp" "$CONF"; fi
}

start_munge() {
  if pid_alive "$MUNGE_PID" && munge -n </dev/null | unmunge >/dev/null 2>&1; then return; fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  if [[ ! -s /etc/munge/munge.key ]]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  rm -f "$MUNGE_PID" /run/munge/munge.socket.2*
  runuser -u munge -- munged --pid-file="$MUNGE_PID" 9>&-
  for _ in $(seq 50); do
    munge -n </dev/null | unmunge >/dev/null 2>&1 && return
    sleep 0.1
  done
  die "munged did not start (see /var/log/munge/munged.log)"
}

start_daemons() {
  if ! pid_alive "$CTLD_PID"; then
    rm -f "$CTLD_PID"
    slurmctld 9>&-
  fi
  if ! pid_alive "$SLURMD_PID"; then
    rm -f "$SLURMD_PID"
    slurmd -N "$NODE" 9>&-
  fi
}

node_state() { sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -1; }

wait_ready() {
  local state=""
  for _ in $(seq $((READY_TIMEOUT_S * 2))); do
    state=$(node_state || true)
    case $state in
      idle | mixed | allocated | completing) return 0 ;;
      drain* | down* | fail*)
        scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
  done
  die "node $NODE is not ready after ${READY_TIMEOUT_S}s (state '${state:-unknown}'); see $LOG_DIR/slurmctld.log and $LOG_DIR/slurmd.log"
}

start() {
  install_packages
  write_config
  start_munge
  # A daemon left from an older config would keep it: restart when the config changed since it started.
  if pid_alive "$CTLD_PID" && [[ $CONF -nt $CTLD_PID ]]; then stop_daemons; fi
  start_daemons
  wait_ready
  say "running: node $NODE is $(node_state)"
}

stop_pid() {
  local pidfile=$1 name=$2
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  local pid
  pid=$(cat "$pidfile")
  kill "$pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  say "$name did not stop on SIGTERM; killing it"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

stop_daemons() {
  stop_pid "$SLURMD_PID" slurmd
  stop_pid "$CTLD_PID" slurmctld
}

stop() {
  stop_daemons
  stop_pid "$MUNGE_PID" munged
  say "stopped"
}

status() {
  local ok=0
  for d in "$MUNGE_PID:munged" "$CTLD_PID:slurmctld" "$SLURMD_PID:slurmd"; do
    if pid_alive "${d%%:*}"; then echo "${d#*:}: running (pid $(cat "${d%%:*}"))"; else echo "${d#*:}: stopped"; ok=1; fi
  done
  local state
  state=$(node_state || true)
  echo "node $NODE: ${state:-unknown}"
  case $state in idle | mixed | allocated | completing) ;; *) ok=1 ;; esac
  return $ok
}

# Test files start the cluster concurrently: one start or stop at a time (daemons are started without this fd).
exec 9>/run/seldpipe-slurm-cluster.lock
flock 9

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
