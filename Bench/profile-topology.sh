#!/usr/bin/env bash
# CPU per message per process and round trips per message per backing service of the distributed topology
# (issue 22), measured while Bench sends one-to-one at a fixed rate (an open loop: the messages of the window are known).
#
#   1. start the topology:  dotnet run -c Release --project AppHost -- --Limits:SendsPerSecond=1000000 \
#        --Limits:SendBurst=1000000 --Limits:FramesPerSecond=1000000 --Limits:FrameBurst=1000000
#   2. Bench/profile-topology.sh [rate msg/s, default 300] [window s, default 10] [url, default http://localhost:5080]
#
# CPU: utime+stime of each process (/proc/<pid>/stat) over the window. Round trips: TCP data segments sent by the
# clients to each backing service's port (`ss -tin`, data_segs_out), a request being one segment when it is small —
# counted per port, so per service: the Redis protocol and the Kafka mock share the stand-ins process but not a port.
set -euo pipefail
rate=${1:-300}; window=${2:-10}; url=${3:-http://localhost:5080}
here=$(cd "$(dirname "$0")/.." && pwd)
tick=$(getconf CLK_TCK)

pids_of() { pgrep -f "$1" || true; }
declare -A name
for p in $(pids_of 'AspireChat.Gateway'); do name[$p]=gateway; done
for p in $(pids_of 'AspireChat.DeliveryWorker'); do name[$p]=deliveryworker; done
for p in $(pids_of 'AspireChat.IdService'); do name[$p]=idservice; done
for p in $(pids_of 'AspireChat.PushService'); do name[$p]=pushservice; done
for p in $(pids_of 'AspireChat.StandIns'); do name[$p]="stand-ins (Kafka mock + Garnet)"; done
for p in $(pgrep -x postgres || true); do name[$p]=postgres; done
for p in $(pids_of 'Aspire.Dashboard'); do name[$p]=dashboard; done
for p in $(pids_of '/dcp '; pids_of 'dcpctrl'; pids_of 'dcpproc'); do name[$p]="dcp (orchestrator, proxies)"; done
for p in $(pids_of 'AspireChat.AppHost'); do name[$p]=apphost; done
[ ${#name[@]} -gt 2 ] || { echo "no topology running (start the AppHost first)" >&2; exit 1; }

# The backing services' ports: what the stand-ins process and postgres listen on.
ports() { ss -tlnpH | awk -v pid="pid=$1," '$0 ~ pid { n = split($4, a, ":"); print a[n] }' | sort -u; }
declare -A service
standins=$(pids_of 'AspireChat.StandIns' | head -1)
pgmain=$(pgrep -xo postgres || true)
for port in $( [ -n "$standins" ] && ports "$standins"); do
  if redis-cli -p "$port" PING >/dev/null 2>&1; then service[$port]=redis; else service[$port]=kafka; fi
done
for port in $( [ -n "$pgmain" ] && ports "$pgmain"); do service[$port]=postgres; done

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
segments() { # "port segments": data segments sent so far by the sockets whose peer is each port
  ss -tinH state established | awk '
    !/^[ \t]/ { n = split($NF, r, ":"); port = r[n]; next }
    match($0, /data_segs_out:[0-9]+/) { sum[port] += substr($0, RSTART + 14, RLENGTH - 14) }
    END { for (p in sum) print p, sum[p] }'
}

echo "Bench: one-to-one at $rate msg/s against $url; measuring $window s once it runs" >&2
(cd "$here" && dotnet run -c Release --no-build --project Bench -- one-to-one --target url --url "$url" --rate "$rate" \
   --duration "$((window + 12))s" --warmup 3s --peers none --no-live --no-markdown --out /tmp/profile-topology) > /tmp/profile-topology.log 2>&1 &
bench=$!
sleep 12
# Backends and pool connections open with the load: processes are listed again now.
for p in $(pgrep -x postgres || true); do name[$p]=postgres; done
declare -A c0 s0
for p in "${!name[@]}"; do c0[$p]=$(cpu "$p"); done
while read -r port n; do s0[$port]=$n; done < <(segments)
sleep "$window"
declare -A c1 s1
for p in "${!name[@]}"; do c1[$p]=$(cpu "$p"); done
while read -r port n; do s1[$port]=$n; done < <(segments)
wait "$bench" || true
messages=$((rate * window))

echo
echo "| process | cores | CPU ms per message |"
echo "|---|---:|---:|"
declare -A byname
for p in "${!name[@]}"; do
  d=$(( ${c1[$p]:-0} - ${c0[$p]:-0} )); byname[${name[$p]}]=$(( ${byname[${name[$p]}]:-0} + d ))
done
rows=$(for n in "${!byname[@]}"; do
  awk -v n="$n" -v d="${byname[$n]}" -v t="$tick" -v w="$window" -v m="$messages" 'BEGIN { printf "| %s | %.2f | %.3f |\n", n, d / t / w, d / t * 1000 / m }'
done | sort -t'|' -k4 -rn)
echo "$rows"
echo "$rows" | awk -F'|' '{ c += $3; ms += $4 } END { printf "| **all** | %.2f | %.3f |\n", c, ms }'
echo
echo "| backing service (port) | requests (TCP data segments) per message |"
echo "|---|---:|"
for port in "${!service[@]}"; do
  d=$(( ${s1[$port]:-0} - ${s0[$port]:-0} ))
  awk -v n="${service[$port]} ($port)" -v d="$d" -v m="$messages" 'BEGIN { printf "| %s | %.2f |\n", n, d / m }'
done
echo
echo "messages in the window: $messages ($rate msg/s × $window s); Bench's own report: /tmp/profile-topology.log"
grep -E "^│ AspireChat" /tmp/profile-topology.log || true
