#!/usr/bin/env bash
# A one-node Slurm on this host for the sweep launcher's tests and for trying `runner sweep --launcher slurm` by hand.
#
#   tools/slurm_cluster.sh start  [--dir DIR]   install slurm-wlm + munge if missing, write the config, start the daemons,
#                                               wait until `sinfo` shows the node idle
#   tools/slurm_cluster.sh stop   [--dir DIR]   stop munged, slurmctld and slurmd by their pid files
#   tools/slurm_cluster.sh status [--dir DIR]   the daemons and `sinfo`
#   tools/slurm_cluster.sh env    [--dir DIR]   prints `export SLURM_CONF=...` (eval it to use sbatch/squeue by hand)
#
# Everything the cluster owns lives under DIR (default ${TMPDIR:-/tmp}/zoo-slurm): the config, a private munge key and
# socket, the controller's state, the node's spool, logs and pid files. It listens on 127.0.0.1 only, on ports that are
# not Slurm's defaults (ZOO_SLURM_PORT, default 16817, and the next one), so it cannot collide with a site Slurm.
# The daemons run as root (SlurmUser=root), as CI containers do; proctrack/linuxproc and task/none need no cgroups.
set -euo pipefail

cmd=${1:-}
shift || true
dir=${TMPDIR:-/tmp}/zoo-slurm
while [[ $# -gt 0 ]]; do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    *) echo "slurm_cluster.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
port=${ZOO_SLURM_PORT:-16817}
conf=$dir/etc/slurm.conf
export SLURM_CONF=$conf

die() { echo "slurm_cluster.sh: $*" >&2; exit 1; }

need_root_for_install() {
  [[ $(id -u) -eq 0 ]] || die "slurm-wlm/munge are not installed and installing them needs root (apt-get install slurm-wlm munge)"
}

install_if_missing() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then
    return
  fi
  need_root_for_install
  echo "installing slurm-wlm and munge (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || die "apt-get update failed"
  apt-get install -y -q --no-install-recommends slurm-wlm munge || die "apt-get install slurm-wlm munge failed"
  # Debian's postinst may start the packaged daemons on systemd hosts; ours use private ports, but stop theirs anyway
  # so that exactly one set of daemons runs on this host.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl stop slurmd slurmctld munge 2>/dev/null || true
  fi
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_config() {
  mkdir -p "$dir"/{etc,state,spool,log,run,munge}
  chmod 0700 "$dir/munge"
  if [[ ! -f $dir/munge/munge.key ]]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 0400 "$dir/munge/munge.key"
  fi
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # Half the RAM: a run asks for none explicitly; the node must simply not be drained for having "less than configured".
  mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) / 2 ))
  cat >"$conf" <<EOF
# Written by tools/slurm_cluster.sh: a one-node cluster on 127.0.0.1 for $host.
ClusterName=zoo
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
# Finished jobs stay visible to scontrol for 10 minutes: without accounting, that is where --wait reads task states.
MinJobAge=600
KillWait=5
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  install_if_missing
  if pid_alive "$dir/run/slurmctld.pid" && pid_alive "$dir/run/slurmd.pid" && pid_alive "$dir/run/munged.pid"; then
    echo "already running ($conf)"
    return
  fi
  stop >/dev/null 2>&1 || true
  # Another cluster of this script (another build folder's ctest, or one started by hand) on the same ports would
  # answer our sinfo with its own munge key; say so now rather than time out waiting for an idle node.
  local p
  for p in "$port" "$((port + 1))"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      die "127.0.0.1:$p is already in use (another Slurm, e.g. from another build folder: stop it with its own 'tools/slurm_cluster.sh stop --dir DIR', or set ZOO_SLURM_PORT to a free port pair)"
    fi
  done
  write_config
  # --force: munged refuses a socket folder under a world-writable /tmp without it; the key and socket are ours alone.
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" --pid-file="$dir/run/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed" \
    || die "munged did not start (see $dir/log/munged.log)"
  # -c: a clean start; the state folder is ours, and a previous run's jobs mean nothing now.
  slurmctld -c -f "$conf" || die "slurmctld did not start (see $dir/log/slurmctld.log)"
  slurmd -f "$conf" || die "slurmd did not start (see $dir/log/slurmd.log)"
  local host state=""
  host=$(hostname -s)
  for _ in $(seq 1 60); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    if [[ $state == idle ]]; then
      echo "slurm up: node $host idle, SLURM_CONF=$conf"
      return
    fi
    sleep 1
  done
  echo "--- slurmctld.log" >&2; tail -20 "$dir/log/slurmctld.log" >&2 || true
  echo "--- slurmd.log" >&2; tail -20 "$dir/log/slurmd.log" >&2 || true
  stop || true
  die "the node did not become idle within 60 s (sinfo said '${state:-nothing}')"
}

stop_one() {  # name pidfile
  local pidfile=$2 pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$1 ($pid) ignored SIGTERM for 10 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
  echo "stopped $1"
}

stop() {
  # Running jobs first, so that no array task outlives the cluster.
  if pid_alive "$dir/run/slurmctld.pid"; then scancel --full --quiet --user="$(id -un)" 2>/dev/null || true; sleep 1; fi
  stop_one slurmd "$dir/run/slurmd.pid"
  stop_one slurmctld "$dir/run/slurmctld.pid"
  stop_one munged "$dir/run/munged.pid"
}

status() {
  local name
  for name in munged slurmctld slurmd; do
    if pid_alive "$dir/run/$name.pid"; then echo "$name running (pid $(cat "$dir/run/$name.pid"))"; else echo "$name stopped"; fi
  done
  pid_alive "$dir/run/slurmctld.pid" && sinfo
  pid_alive "$dir/run/slurmctld.pid" && pid_alive "$dir/run/slurmd.pid" && pid_alive "$dir/run/munged.pid"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: tools/slurm_cluster.sh start|stop|status|env [--dir DIR]" >&2; exit 2 ;;
esac
