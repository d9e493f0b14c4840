#!/usr/bin/env bash
# The README's test command: ./test.sh [arguments for dotnet test, e.g. --filter FullyQualifiedName~Protocol]
#
# 1. Checks for what the tests start or load besides .NET: redis-server, the PostgreSQL 15+ server (initdb, postgres),
#    Chromium, and on Debian/Ubuntu the packages libsasl2-2 and ca-certificates.
# 2. Installs what is missing when it can: as root with apt-get on Debian/Ubuntu (apt-get update once, then one
#    apt-get install). Otherwise it prints the exact install line for this platform and exits 2 without running the tests.
# 3. Runs `dotnet test AspireChat.sln` with a TRX log and ends with one line, "N passed, N failed[, N skipped]";
#    exits non-zero when a test failed or the build did.
#
# CI=true: never asks before installing (as root on a terminal it asks once, answer Enter to go on).
# ASPIRECHAT_REDIS_SERVER, ASPIRECHAT_CHROMIUM, ASPIRECHAT_POSTGRES_BIN: the program (the bin folder for PostgreSQL)
#   when it is not where it is looked for; the tests read the same variables (Tests/Support/Prerequisites.cs).
# ASPIRECHAT_PREREQ_PATH: folders searched instead of PATH, and nothing else (not /usr/lib/postgresql): shows what
#   happens on a machine without a program, e.g. ASPIRECHAT_PREREQ_PATH=/nowhere ./test.sh
set -uo pipefail
cd "$(dirname "$0")"

case "${1:-}" in -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

postgres_minimum=15
search_path=${ASPIRECHAT_PREREQ_PATH-$PATH}

say() { echo "test.sh: $*" >&2; }

# The path of program $1 on the search path, or nothing.
find_program() { ( PATH=$search_path; command -v "$1" ) 2>/dev/null; }

have_redis() {
  if [ -n "${ASPIRECHAT_REDIS_SERVER:-}" ]; then [ -x "$ASPIRECHAT_REDIS_SERVER" ]; return; fi
  [ -n "$(find_program redis-server)" ]
}

have_chromium() {
  if [ -n "${ASPIRECHAT_CHROMIUM:-}" ]; then [ -x "$ASPIRECHAT_CHROMIUM" ]; return; fi
  [ -n "$(find_program chromium)" ] || [ -n "$(find_program chromium-browser)" ] && return 0
  [ -z "${ASPIRECHAT_PREREQ_PATH+set}" ] && [ -x /Applications/Chromium.app/Contents/MacOS/Chromium ]
}

# Folders that may hold the PostgreSQL server, best first (the order of Prerequisites.PostgresBinDirectory).
postgres_candidates() {
  if [ -n "${ASPIRECHAT_POSTGRES_BIN:-}" ]; then echo "$ASPIRECHAT_POSTGRES_BIN"; return; fi
  local pg_config initdb
  pg_config=$(find_program pg_config) && [ -n "$pg_config" ] && "$pg_config" --bindir 2>/dev/null
  if [ -z "${ASPIRECHAT_PREREQ_PATH+set}" ] && [ -d /usr/lib/postgresql ]; then
    ls -1 /usr/lib/postgresql | sort -rn | sed 's|^|/usr/lib/postgresql/|; s|$|/bin|'
  fi
  initdb=$(find_program initdb) && [ -n "$initdb" ] && dirname "$(readlink -f "$initdb" 2>/dev/null || echo "$initdb")"
  return 0
}

have_postgres() {
  local directory version
  while IFS= read -r directory; do
    [ -x "$directory/initdb" ] && [ -x "$directory/postgres" ] || continue
    version=$("$directory/postgres" --version 2>/dev/null | sed -n 's/.*(PostgreSQL) \([0-9]*\).*/\1/p')
    [ "${version:-0}" -ge "$postgres_minimum" ] && return 0
    say "PostgreSQL ${version:-of an unknown version} in $directory is too old: the tests need $postgres_minimum or later"
  done < <(postgres_candidates)
  return 1
}

debian_package_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

os=$(uname -s)
distribution=$( [ -r /etc/os-release ] && . /etc/os-release && echo "${ID:-} ${ID_LIKE:-}" )
debian_like=no
case " $distribution " in *" debian "*|*" ubuntu "*) command -v apt-get >/dev/null 2>&1 && debian_like=yes ;; esac
chromium_package=chromium
case " $distribution " in *" ubuntu "*) chromium_package=chromium-browser ;; esac

# Fills `missing` (what, for people) and `packages` (Debian packages that bring it).
check() {
  missing=() packages=()
  have_redis || { missing+=("redis-server"); packages+=(redis-server); }
  have_postgres || { missing+=("PostgreSQL $postgres_minimum+ server"); packages+=(postgresql); }
  have_chromium || { missing+=("Chromium"); packages+=("$chromium_package"); }
  if [ "$debian_like" = yes ]; then
    # librdkafka (inside Confluent.Kafka) links libsasl2; NuGet restore and the TLS tests need the CA bundle.
    local package
    for package in libsasl2-2 ca-certificates; do
      debian_package_installed "$package" || { missing+=("$package"); packages+=("$package"); }
    done
  fi
}

# Prints what is missing and the exact line that installs it on this platform.
print_install_line() {
  local line=${missing[0]} item
  for item in "${missing[@]:1}"; do line+=", $item"; done
  say "the tests need what this machine does not have: $line"
  case "$os" in
    Darwin)
      local brew=() casks=() item
      for item in "${packages[@]}"; do
        case "$item" in
          redis-server) brew+=(redis) ;;
          postgresql) brew+=(postgresql@16) ;;
          chromium*) casks+=(chromium) ;;
        esac
      done
      line=""
      [ ${#brew[@]} -gt 0 ] && line="brew install ${brew[*]}"
      [ ${#casks[@]} -gt 0 ] && line="${line:+$line && }brew install --cask ${casks[*]}"
      say "install with Homebrew, then run ./test.sh again:"
      echo "  $line" >&2
      case " ${brew[*]:-} " in *" postgresql@16 "*)
        say "postgresql@16 is not on PATH: export ASPIRECHAT_POSTGRES_BIN=\"\$(brew --prefix postgresql@16)/bin\"" ;; esac
      ;;
    MINGW*|MSYS*|CYGWIN*)
      say "redis-server and the PostgreSQL test fixture need Linux: run ./test.sh in WSL (Ubuntu: wsl --install -d Ubuntu),"
      say "where it installs them itself as root, or run there:"
      echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages[*]/#chromium/chromium-browser}" >&2
      ;;
    *)
      if [ "$debian_like" = yes ]; then
        say "install them, then run ./test.sh again (as root, ./test.sh installs them itself):"
        echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages[*]}" >&2
      else
        say "install them with your distribution's packages, then run ./test.sh again; the Debian packages are:"
        echo "  ${packages[*]}" >&2
        say "e.g. Fedora: sudo dnf install -y redis postgresql-server chromium"
      fi
      ;;
  esac
}

if ! command -v dotnet >/dev/null 2>&1; then
  say "the .NET SDK 10 is not installed (dotnet is not on PATH): https://dot.net"
  exit 2
fi

check
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$debian_like" != yes ] || [ "$(id -u)" != 0 ]; then
    print_install_line
    exit 2
  fi
  if [ -t 0 ] && [ "${CI:-}" != true ]; then
    read -r -p "test.sh: install ${packages[*]} with apt-get now? [Y/n] " answer
    case "$answer" in [nN]*) print_install_line; exit 2 ;; esac
  fi
  say "installing ${packages[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }; then
    say "apt-get could not install ${packages[*]}"
    exit 2
  fi
  check
  if [ ${#missing[@]} -gt 0 ]; then
    say "still missing after apt-get install: ${missing[*]}"
    exit 2
  fi
fi

results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

# A TRX log, so the counts below come from the test runner itself.
dotnet test AspireChat.sln --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@" 2>&1 | tee artifacts/test.log
rc=${PIPESTATUS[0]}

passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  # Skipped tests are counted as total - executed (the TRX notExecuted counter stays 0 for them).
  skipped=$((skipped + $(get total) - $(get executed)))
done

if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build or the runner itself failed: count that as a failure rather than report green.
  failed=1
fi

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
