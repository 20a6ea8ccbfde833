#!/usr/bin/env bash
# load.sh — sessionkit against its peers under wrk, over loopback.
#
# Starts each server in turn on a free 127.0.0.1 port (a bare net/http
# handler, sessionkit in each mode and on each store, scs, gorilla/sessions,
# golang-jwt, and the tutorial's Express app), logs in once with curl, warms
# up, and runs wrk against the profile page with the login's cookie. Every
# round runs the whole list (odd rounds in order, even rounds reversed, so
# that drift on a noisy machine does not favour one end of the list); the
# table shows each server's median over the rounds and its ratio to the
# bare handler, taken within each round, then the median of those. Then the
# lost-update check: on each server, a fresh login and BURST concurrent
# views of the profile on that one session, then one more view, which
# shows the count.
#
# Usage, from anywhere:
#   bench/load.sh                                    # everything: ROUNDS x every server, then the lost-update check
#   SERVERS="bare sk-session-mem scs-mem" DURATION=5s ROUNDS=1 bench/load.sh
#   LOSTUPDATE_ONLY=1 bench/load.sh                  # only the lost-update check
#   SKIP_LOSTUPDATE=1 bench/load.sh                  # only the load
#
# Settings (environment): SERVERS (default: all, see ALL_SERVERS), DURATION
# (10s), WARMUP (2s), ROUNDS (3), THREADS (2), CONNECTIONS (32), BURST (200),
# REDIS (127.0.0.1:6379), POSTGRES_URL
# (postgres://postgres@127.0.0.1:5432/test?sslmode=disable), RESULTS (where
# the CSVs go; bench/results), KEEP_LOGS (set:
# keep every server's log in bench/results/logs-<time>/).
#
# Writes bench/results/load-<time>.csv and lostupdate-<time>.csv, copies
# them to latest-load.csv and latest-lostupdate.csv with the tables in
# latest.md, and, after a run of every server, redraws docs/benchmarks.svg.
# Installs wrk (and Node.js for Express) with apt-get when missing, and
# Express's packages with npm ci. Redis keys and PostgreSQL schemas it
# makes are removed at the end, as is its temporary directory.
set -euo pipefail

ALL_SERVERS="bare sk-session-mem sk-session-sqlite sk-session-redis sk-session-pg sk-cookie sk-jwt-hs256 sk-jwt-eddsa scs-mem scs-redis gorilla-cookie golang-jwt-hs256 golang-jwt-eddsa express express-jwt"
SERVERS=${SERVERS:-$ALL_SERVERS}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
BURST=${BURST:-200}
REDIS=${REDIS:-127.0.0.1:6379}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
LOSTUPDATE_ONLY=${LOSTUPDATE_ONLY:-}
SKIP_LOSTUPDATE=${SKIP_LOSTUPDATE:-}

USERNAME=bench
PASSWORD=password-bench

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
RESULTS=${RESULTS:-$BENCH/results}
RUN_ID=$(date -u +%Y%m%d-%H%M%S)
TAG=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
WORK=$(mktemp -d "${TMPDIR:-/tmp}/skbench.XXXXXX")

SERVER_PID=""
PG_SCHEMAS=()
USED_REDIS=""
SEQ=0

say() { printf '%s\n' "$*" >&2; }
die() { say "load.sh: $*"; exit 1; }

# --- cleanup ---------------------------------------------------------------

stop_server() {
	if [[ -n $SERVER_PID ]]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=""
	fi
}

cleanup() {
	local status=$?
	stop_server
	if [[ -n $USED_REDIS ]]; then
		redis_cli --scan --pattern "skbench-$TAG-*" | xargs -r -n 500 "${REDIS_CLI[@]}" unlink >/dev/null || say "could not delete the Redis keys skbench-$TAG-*"
	fi
	local schema
	for schema in "${PG_SCHEMAS[@]}"; do
		psql "$POSTGRES_URL" -qX -c "DROP SCHEMA IF EXISTS \"$schema\" CASCADE" >/dev/null 2>&1 || say "could not drop schema $schema"
	done
	rm -rf "$WORK"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -----------------------------------------------------------------

apt_install() {
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	say "installing $* with apt-get"
	"${sudo[@]}" apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >&2
}

wants() { [[ " $SERVERS " == *" $1 "* ]]; }
wants_prefix() { [[ " $SERVERS " == *" $1"* ]]; }

for s in $SERVERS; do
	[[ " $ALL_SERVERS " == *" $s "* ]] || die "unknown server $s (known: $ALL_SERVERS)"
done
((CONNECTIONS >= THREADS)) || die "wrk needs at least as many connections ($CONNECTIONS) as threads ($THREADS)"
((ROUNDS >= 1 && BURST >= 1)) || die "ROUNDS and BURST must be at least 1"

command -v curl >/dev/null || apt_install curl
command -v wrk >/dev/null || apt_install wrk
command -v go >/dev/null || die "go is not on PATH"

REDIS_HOST=${REDIS%:*}
REDIS_PORT=${REDIS##*:}
REDIS_CLI=(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT")
redis_cli() { "${REDIS_CLI[@]}" "$@"; }

drop_servers() { # drop_servers REASON NAME... — remove servers from the list
	local reason=$1 name kept=""
	shift
	for s in $SERVERS; do
		local drop=""
		for name in "$@"; do [[ $s == "$name" ]] && drop=1; done
		if [[ -n $drop ]]; then say "skipping $s: $reason"; else kept+="$s "; fi
	done
	SERVERS=${kept% }
}

if wants sk-session-redis || wants scs-redis; then
	command -v redis-cli >/dev/null || apt_install redis-tools
	if [[ $(redis_cli ping 2>/dev/null) != PONG ]]; then
		drop_servers "Redis at $REDIS does not answer" sk-session-redis scs-redis
	fi
fi
if wants sk-session-pg; then
	command -v psql >/dev/null || apt_install postgresql-client
	psql "$POSTGRES_URL" -qXtA -c 'select 1' >/dev/null 2>&1 || drop_servers "PostgreSQL at $POSTGRES_URL does not answer" sk-session-pg
fi
if wants_prefix express; then
	command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
	if [[ ! -f $BENCH/express/node_modules/.package-lock.json || $BENCH/express/package-lock.json -nt $BENCH/express/node_modules/.package-lock.json ]]; then
		say "npm ci in bench/express"
		(cd "$BENCH/express" && npm ci --no-audit --no-fund --loglevel=error) >&2
	fi
fi
[[ -n $SERVERS ]] || die "no server left to run"

say "building sessionkit and the bench tools"
(cd "$ROOT" && go build -o "$WORK/sessionkit" ./cmd/sessionkit)
(cd "$BENCH" && go build -o "$WORK/peer" ./cmd/peer && go build -o "$WORK/burst" ./cmd/burst && go build -o "$WORK/report" ./cmd/report && go build -o "$WORK/chart" ./cmd/chart)

# sessionkit runs with the defaults "sessionkit serve" gives a user; no
# SESSIONKIT_* variable of the caller's may change them.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^SESSIONKIT_' || true)

# --- servers ---------------------------------------------------------------

# free_port prints a port nothing listens on, below the kernel's range of
# ephemeral ports (which the clients' own sockets take).
free_port() {
	local low p
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % (low - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# keep_log NAME copies the server's log to bench/results/logs-<time>/ when
# KEEP_LOGS is set.
keep_log() {
	[[ -n ${KEEP_LOGS:-} ]] || return 0
	mkdir -p "$RESULTS/logs-$RUN_ID"
	cp "$LOG" "$RESULTS/logs-$RUN_ID/$(basename "$LOG")"
}

# describe NAME sets the server's paths: LOGIN_PATH, PROFILE_PATH, and
# REGISTER (1 when the account must be registered first).
describe() {
	REGISTER=""
	case $1 in
	sk-session-*) LOGIN_PATH=/session/login PROFILE_PATH=/session/profile REGISTER=1 ;;
	sk-cookie) LOGIN_PATH=/cookie/login PROFILE_PATH=/cookie/profile REGISTER=1 ;;
	sk-jwt-*) LOGIN_PATH=/jwt/login PROFILE_PATH=/jwt/profile REGISTER=1 ;;
	express-jwt) LOGIN_PATH=/jwt/login PROFILE_PATH=/jwt/profile ;;
	*) LOGIN_PATH=/login PROFILE_PATH=/profile ;;
	esac
}

# sealed NAME: the count lives in the client's cookie.
sealed() { [[ $1 == sk-cookie || $1 == gorilla-cookie ]]; }

# start NAME starts a fresh server (new store, new keys) and waits until it
# answers; it sets SERVER_PID, BASE and LOG. A port taken between the check
# and the bind gets another try.
start() {
	local try
	for try in 1 2 3; do
		if launch "$1"; then
			return 0
		fi
		grep -qi 'address already in use' "$LOG" || break
		say "$1: port taken, trying another"
	done
	tail -n 20 "$LOG" >&2 || true
	die "$1 exited at start"
}

# launch NAME starts the server once; it fails if the server exits before
# it answers.
launch() {
	local name=$1 port
	SEQ=$((SEQ + 1))
	port=$(free_port)
	BASE=http://127.0.0.1:$port
	LOG=$WORK/$name-$SEQ.log
	local sk=("$WORK/sessionkit" serve --addr "127.0.0.1:$port")
	case $name in
	sk-session-mem | sk-cookie | sk-jwt-eddsa) "${sk[@]}" --store memory: >"$LOG" 2>&1 & ;;
	sk-jwt-hs256) "${sk[@]}" --store memory: --token-algorithm HS256 >"$LOG" 2>&1 & ;;
	sk-session-sqlite) "${sk[@]}" --store "sqlite:$WORK/sk-$SEQ.db" >"$LOG" 2>&1 & ;;
	sk-session-redis)
		USED_REDIS=1
		"${sk[@]}" --store "redis://$REDIS/0?prefix=skbench-$TAG-sk$SEQ:" >"$LOG" 2>&1 &
		;;
	sk-session-pg)
		local schema=skbench_${TAG}_$SEQ
		PG_SCHEMAS+=("$schema")
		"${sk[@]}" --store "$POSTGRES_URL&schema=$schema" >"$LOG" 2>&1 &
		;;
	scs-redis)
		USED_REDIS=1
		"$WORK/peer" -kind "$name" -addr "127.0.0.1:$port" -redis "$REDIS" -redis-prefix "skbench-$TAG-scs$SEQ:" >"$LOG" 2>&1 &
		;;
	express | express-jwt) (cd "$BENCH/express" && PORT=$port exec node app.js) >"$LOG" 2>&1 & ;;
	*) "$WORK/peer" -kind "$name" -addr "127.0.0.1:$port" >"$LOG" 2>&1 & ;;
	esac
	SERVER_PID=$!
	for _ in $(seq 300); do
		if curl -s -o /dev/null --max-time 1 "$BASE/"; then
			return 0
		fi
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			wait "$SERVER_PID" 2>/dev/null || true
			SERVER_PID=""
			return 1
		fi
		sleep 0.1
	done
	die "$name did not answer on $BASE within 30 s"
}

# post URL: posts the test account's form with the jar, prints the status.
post() {
	curl -s -o /dev/null -w '%{http_code}' -b "$JAR" -c "$JAR" \
		--data-urlencode "username=$USERNAME" --data-urlencode "password=$PASSWORD" "$1"
}

# login NAME logs in once (registering first on sessionkit) and sets
# COOKIE, the Cookie header a browser would send to the profile page.
login() {
	local name=$1 code
	describe "$name"
	JAR=$WORK/jar-$SEQ
	if [[ -n $REGISTER ]]; then
		code=$(post "$BASE/register")
		[[ $code == 303 ]] || die "$name: register answered $code"
	fi
	code=$(post "$BASE$LOGIN_PATH")
	[[ $code == 303 ]] || die "$name: login answered $code"
	# The jar's cookies whose path covers the profile page.
	COOKIE=$(awk -v path="$PROFILE_PATH" 'BEGIN { FS = "\t"; sep = "" }
		/^#HttpOnly_/ { sub(/^#HttpOnly_/, "") }
		/^#/ || NF < 7 { next }
		index(path, $3) == 1 { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$JAR")
	[[ -n $COOKIE || $name == bare ]] || die "$name: the login set no cookie"
	COOKIE_HEADER=()
	[[ -z $COOKIE ]] || COOKIE_HEADER=(-H "Cookie: $COOKIE")
}

# view prints the profile page's status and the count it shows (-1 if none),
# and leaves the body in $WORK/page.
view() {
	local code count
	code=$(curl -s -o "$WORK/page" -w '%{http_code}' "${COOKIE_HEADER[@]}" "$BASE$PROFILE_PATH")
	count=$(grep -o 'with the count: [0-9]*' "$WORK/page" | grep -o '[0-9]*$' || echo -1)
	echo "$code $count"
}

# --- wrk -------------------------------------------------------------------

# parse_wrk FILE prints: req/s, p50 ms, p99 ms, requests, non-2xx/3xx,
# socket errors, bytes read per response.
parse_wrk() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		if (v ~ /s$/) return v * 1000
		return v
	}
	function bytes(v) {
		if (v ~ /GB$/) return v * 1073741824
		if (v ~ /MB$/) return v * 1048576
		if (v ~ /KB$/) return v * 1024
		return v + 0
	}
	/Requests\/sec:/ { rps = $2 }
	/^[ \t]+50%/ { p50 = ms($2) }
	/^[ \t]+99%/ { p99 = ms($2) }
	/ requests in / { requests = $1; read = bytes($5) }
	/Non-2xx or 3xx responses:/ { non2xx = $5 }
	/Socket errors:/ { gsub(/,/, ""); sockerr = $4 + $6 + $8 + $10 }
	END {
		if (rps == "" || requests == "") exit 1
		printf "%s %.3f %.3f %d %d %d %.1f\n", rps, p50, p99, requests, non2xx + 0, sockerr + 0, (requests > 0 ? read / requests : 0)
	}' "$1"
}

run_wrk() { # run_wrk DURATION OUTFILE
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" --latency "${COOKIE_HEADER[@]}" "$BASE$PROFILE_PATH" >"$2"
}

# measure NAME ROUND runs one server once and appends its CSV row.
measure() {
	local name=$1 round=$2 code check final
	start "$name"
	login "$name"
	read -r code check < <(view)
	[[ $code == 200 && $check == 1 ]] || die "$name: the first profile view answered $code with count $check"
	local body_bytes
	body_bytes=$(wc -c <"$WORK/page")

	run_wrk "$WARMUP" "$WORK/warm"
	local warm
	warm=$(parse_wrk "$WORK/warm") || die "$name: could not read wrk's warm-up output"
	run_wrk "$DURATION" "$WORK/wrk"
	local rps p50 p99 requests non2xx sockerr resp
	read -r rps p50 p99 requests non2xx sockerr resp < <(parse_wrk "$WORK/wrk") || die "$name: could not read wrk's output"

	# Every view answered 2xx/3xx must have counted; refused ones need not.
	# (A 3xx would be a redirect to the login page: it shows as views lost.)
	local expected="" counted=""
	read -r code final < <(view)
	if ! sealed "$name"; then
		expected=$((1 + $(awk '{print $4 - $5}' <<<"$warm") + requests - non2xx))
		counted=$((final - 1))
	fi
	if [[ $code != 200 ]]; then
		say "WARNING: $name: after the load the profile answered $code; its numbers are suspect"
		non2xx=$((non2xx + 1))
	fi
	keep_log "$name"
	stop_server
	printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$round" "$name" "$rps" "$p50" "$p99" "$requests" "$non2xx" "$sockerr" "$resp" "$body_bytes" "$expected" "$counted" >>"$LOAD_CSV"
	say "$(printf 'round %s/%s %-18s %10s req/s  p50 %7.2f ms  p99 %7.2f ms  errors %s' "$round" "$ROUNDS" "$name" "$rps" "$p50" "$p99" "$((non2xx + sockerr))")"
}

# burst NAME runs the lost-update check on a fresh server and appends its
# CSV row.
burst() {
	local name=$1 statuses ok got
	start "$name"
	login "$name"
	{ read -r statuses && read -r ok && read -r got; } < <("$WORK/burst" -url "$BASE$PROFILE_PATH" -cookie "$COOKIE" -n "$BURST") ||
		die "$name: the burst failed"
	keep_log "$name"
	stop_server
	printf '%s,%s,%s,%s,%s\n' "$name" "$BURST" "$ok" "$got" "$statuses" >>"$LOST_CSV"
	say "$(printf 'lost-update %-18s answers %-22s expected %s got %s' "$name" "$statuses" "$((ok + 1))" "$got")"
}

# --- the run ---------------------------------------------------------------

machine() {
	echo "- run: $RUN_ID (UTC), servers: $SERVERS"
	echo "- machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(free -g | awk '/^Mem:/ {print $2 " GiB"}'), $(uname -sr)"
	echo "- $(go version | sed 's/^go version //'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
	if wants_prefix express; then echo "- node $(node --version), express $(cd "$BENCH/express" && node -p 'require("express/package.json").version'), express-session $(cd "$BENCH/express" && node -p 'require("express-session/package.json").version')"; fi
	if wants sk-session-redis || wants scs-redis; then echo "- Redis $(redis_cli info server | sed -n 's/^redis_version://p' | tr -d '\r')"; fi
	if wants sk-session-pg; then echo "- PostgreSQL $(psql "$POSTGRES_URL" -qXtA -c 'show server_version')"; fi
	echo "- load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (after a $WARMUP warm-up), $ROUNDS round(s); lost-update burst: $BURST"
	echo "- sessionkit: \`sessionkit serve\` defaults (log level info, text, to a file), one fresh store per run"
}

mkdir -p "$RESULTS"
LOAD_CSV=$RESULTS/load-$RUN_ID.csv
LOST_CSV=$RESULTS/lostupdate-$RUN_ID.csv
MD=$WORK/tables.md
machine >"$MD"
cat "$MD" >&2

if [[ -z $LOSTUPDATE_ONLY ]]; then
	(IFS=,; echo "round,server,rps,p50_ms,p99_ms,requests,non2xx,socket_errors,resp_bytes,body_bytes,views_expected,views_counted") >"$LOAD_CSV"
	read -r -a list <<<"$SERVERS"
	for ((round = 1; round <= ROUNDS; round++)); do
		order=("${list[@]}")
		if ((round % 2 == 0)); then
			order=()
			for ((i = ${#list[@]} - 1; i >= 0; i--)); do order+=("${list[i]}"); done
		fi
		for s in "${order[@]}"; do measure "$s" "$round"; done
	done
	cp "$LOAD_CSV" "$RESULTS/latest-load.csv"
	{ echo; "$WORK/report" -load "$LOAD_CSV"; } >>"$MD"
fi

if [[ -z $SKIP_LOSTUPDATE ]]; then
	echo "server,sent,ok,got,statuses" >"$LOST_CSV"
	for s in $SERVERS; do burst "$s"; done
	cp "$LOST_CSV" "$RESULTS/latest-lostupdate.csv"
	{ echo; "$WORK/report" -lost "$LOST_CSV"; } >>"$MD"
fi

cp "$MD" "$RESULTS/latest.md"
if [[ -z $LOSTUPDATE_ONLY && $SERVERS == "$ALL_SERVERS" ]]; then
	"$WORK/chart" -load "$LOAD_CSV" -o "$ROOT/docs/benchmarks.svg"
	say "chart: docs/benchmarks.svg"
fi
echo
cat "$MD"
