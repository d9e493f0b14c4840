#!/usr/bin/env bash
# Connection soak: raises the open-files limit for Bench and the Gateway it starts, then runs
#   bench soak --target process  (the Gateway as a child process, so its memory is its own)
# Every argument is passed on, e.g.  Bench/run-soak.sh --connections 19000 --hold 60s --sources 4
set -euo pipefail
cd "$(dirname "$0")/.."

# Each connection takes one descriptor in Bench and one in the Gateway (which inherits this limit).
# Raising the hard limit needs CAP_SYS_RESOURCE; without it, go as far as the hard limit allows.
if ! ulimit -n 1048576 2>/dev/null; then
  hard=$(ulimit -Hn)
  echo "run-soak: cannot raise the open-files limit to 1048576 (hard limit $hard, no CAP_SYS_RESOURCE); using $hard" >&2
  ulimit -n "$hard"
fi
echo "run-soak: open files limit $(ulimit -n); ephemeral ports $(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null | tr '\t' '-')" >&2

dotnet build -c Release Bench/Bench.csproj -nologo -v quiet
exec dotnet Bench/bin/Release/net10.0/AspireChat.Bench.dll soak --target process "$@"
