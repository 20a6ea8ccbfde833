#!/usr/bin/env bash
# load.sh — sessionkit against its peers under wrk, over loopback, in the
# scenarios of issue 18 ("Benchmarks that look like users").
#
# Starts each server in turn on a free 127.0.0.1 port (a bare net/http
# handler writing the same page with the same headers, sessionkit in each
# mode and on each store, scs, gorilla/sessions, golang-jwt, and the
# tutorial's Express app) and runs the scenarios of SCENARIO on it:
#
#   users       USERS distinct users, registered and logged in first; each
#               request carries the next user's cookies (lua/views.lua:
#               every wrk thread goes round the users from a place of its
#               own) and every view counts, a session write.
#   readmostly  the same users; 90% of the requests (READ_SHARE) go to a
#               page that reads the login without changing it, the rest
#               to the counting page. sessionkit's session mode has such a
#               page, /session/sessions (it also lists the user's logins);
#               cookie and JWT modes have none, and are not measured.
#   hot         one login shared by every connection: a tab storm, the
#               hardest case for conflicts (the measurement of issue 6).
#   logins      a login storm: one wrk posts the logins of USERS other
#               users (lua/logins.lua, LOGIN_CONNECTIONS connections; each
#               login hashes with argon2id) while a second wrk views the
#               pages of the logged-in users; both are reported.
#
# After users, readmostly and logins, every user's page is viewed once and
# its count compared with the views the script sent that user (the
# per-user lost-update check, bench/cmd/users check); after hot, the one
# count is compared with the views wrk had answered. Then, unless
# SKIP_LOSTUPDATE is set, the burst check: on each server a fresh login and
# BURST concurrent views of that one session, then one more view, which
# shows the count.
#
# Every round runs the whole list (odd rounds in order, even rounds
# reversed, so that drift on a noisy machine does not favour one end of the
# list); each server starts fresh (new store, new keys) once per round and
# runs every scenario of the round. The tables show each server's median
# over the rounds and its ratios to bare, scs-mem and scs-redis, each taken
# within a round, then the median of those.
#
# Usage, from anywhere:
#   bench/load.sh                                    # users and readmostly, every server, then the burst check
#   SCENARIO=all bench/load.sh                       # users, readmostly, hot and logins
#   SERVERS="bare sk-session-mem scs-mem" SCENARIO=hot DURATION=5s ROUNDS=1 bench/load.sh
#   USERS=10000 bench/load.sh                        # the scale run
#   LOSTUPDATE_ONLY=1 bench/load.sh                  # only the burst check
#
# Settings (environment): SCENARIO ("users readmostly"; any of users,
# readmostly, hot, logins, or all), USERS (200), SERVERS (default: all, see
# ALL_SERVERS), DURATION (10s), WARMUP (2s), ROUNDS (3), THREADS (2),
# CONNECTIONS (32), READ_SHARE (0.9), LOGIN_CONNECTIONS (8), BURST (200),
# SKIP_LOSTUPDATE, LOSTUPDATE_ONLY, REDIS (127.0.0.1:6379), POSTGRES_URL
# (postgres://postgres@127.0.0.1:5432/test?sslmode=disable), RESULTS (where
# the CSVs go; bench/results), CHART (1: redraw docs/benchmarks.svg from
# this run; by default only a run of every server does), KEEP_LOGS (set:
# keep every server's log in bench/results/logs-<time>/).
#
# sessionkit runs with the defaults of `sessionkit serve` but one:
# --max-concurrent-logins -1, since every login comes from this one address
# (and, on Redis and PostgreSQL, --kek: a key-encryption key file made for
# the run, which those stores require).
# Its registration throttle (50 per client address in 15 minutes) has no
# flag: bench/cmd/users registers from many loopback source addresses
# (127.1.x.y) instead.
#
# Writes bench/results/load-<time>.csv (every scenario but logins),
# logins-<time>.csv, lostupdate-<time>.csv and counts-<time>.csv (what
# each sessionkit request cost: store operations and verify-cache hits, per
# request, from its /metrics), copies them to latest-*.csv
# with the tables in latest.md, and redraws docs/benchmarks.svg (see
# CHART). Installs wrk (and Node.js for Express) with apt-get when missing,
# and Express's packages with npm ci. Redis keys and PostgreSQL schemas it
# makes are removed at the end, as is its temporary directory.
set -euo pipefail

ALL_SERVERS="bare sk-session-mem sk-session-sqlite sk-session-redis sk-session-pg sk-cookie sk-jwt-hs256 sk-jwt-eddsa scs-mem scs-redis gorilla-cookie golang-jwt-hs256 golang-jwt-eddsa express express-jwt"
ALL_SCENARIOS="users readmostly hot logins"
SERVERS=${SERVERS:-$ALL_SERVERS}
SCENARIO=${SCENARIO:-users readmostly}
[[ $SCENARIO != all ]] || SCENARIO=$ALL_SCENARIOS
USERS=${USERS:-200}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
READ_SHARE=${READ_SHARE:-0.9}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-8}
BURST=${BURST:-200}
REDIS=${REDIS:-127.0.0.1:6379}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
LOSTUPDATE_ONLY=${LOSTUPDATE_ONLY:-}
SKIP_LOSTUPDATE=${SKIP_LOSTUPDATE:-}
CHART=${CHART:-}

# The hot scenario's account; every server has it (sessionkit after a
# registration). The many users of the other scenarios are bench1 … and
# storm1 …, with the same password.
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

# --- settings and tools ----------------------------------------------------

apt_install() {
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	say "installing $* with apt-get"
	"${sudo[@]}" apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >&2
}

wants() { [[ " $SERVERS " == *" $1 "* ]]; }
wants_prefix() { [[ " $SERVERS " == *" $1"* ]]; }
scenario() { [[ " $SCENARIO " == *" $1 "* ]]; }
# many_users: a scenario of the list needs the USERS logged-in users.
many_users() { scenario users || scenario readmostly || scenario logins; }

for s in $SERVERS; do
	[[ " $ALL_SERVERS " == *" $s "* ]] || die "unknown server $s (known: $ALL_SERVERS)"
done
for s in $SCENARIO; do
	[[ " $ALL_SCENARIOS " == *" $s "* ]] || die "unknown scenario $s (known: $ALL_SCENARIOS, or all)"
done
[[ -n $LOSTUPDATE_ONLY || -n ${SCENARIO// /} ]] || die "SCENARIO is empty"
((CONNECTIONS >= THREADS)) || die "wrk needs at least as many connections ($CONNECTIONS) as threads ($THREADS)"
((ROUNDS >= 1 && BURST >= 1 && USERS >= 1 && LOGIN_CONNECTIONS >= 1)) || die "ROUNDS, BURST, USERS and LOGIN_CONNECTIONS must be at least 1"
awk -v s="$READ_SHARE" 'BEGIN { exit !(s > 0 && s < 1) }' || die "READ_SHARE must be between 0 and 1"

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
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi
	if [[ ! -f $BENCH/express/node_modules/.package-lock.json || $BENCH/express/package-lock.json -nt $BENCH/express/node_modules/.package-lock.json ]]; then
		say "npm ci in bench/express"
		(cd "$BENCH/express" && npm ci --no-audit --no-fund --loglevel=error) >&2
	fi
fi
[[ -n $SERVERS ]] || die "no server left to run"

say "building sessionkit and the bench tools"
(cd "$ROOT" && go build -o "$WORK/sessionkit" ./cmd/sessionkit)
(cd "$BENCH" && for tool in peer burst users report chart; do go build -o "$WORK/$tool" "./cmd/$tool"; done)

# sessionkit runs with the defaults "sessionkit serve" gives a user; no
# SESSIONKIT_* variable of the caller's may change them.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^SESSIONKIT_' || true)

# A store that instances share (Redis, PostgreSQL) keeps its keys
# encrypted under a key-encryption key from elsewhere: one file for the run.
KEK=$WORK/kek
"$WORK/sessionkit" keys new-kek "$KEK" >/dev/null

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

# describe NAME sets the server's paths: LOGIN_PATH, PROFILE_PATH (the
# counting page), READ_PATH (the page that reads the login without
# changing it; empty when there is none, NO_READ saying why), and REGISTER
# (1 when the hot scenario's account must be registered first).
describe() {
	REGISTER="" READ_PATH="" NO_READ=""
	case $1 in
	sk-session-*) LOGIN_PATH=/session/login PROFILE_PATH=/session/profile READ_PATH=/session/sessions REGISTER=1 ;;
	sk-cookie)
		LOGIN_PATH=/cookie/login PROFILE_PATH=/cookie/profile REGISTER=1
		NO_READ="none: cookie mode has no page that reads the login without rewriting the count"
		;;
	sk-jwt-*)
		LOGIN_PATH=/jwt/login PROFILE_PATH=/jwt/profile REGISTER=1
		NO_READ="none: JWT mode has no such page (GET /api/me wants a Bearer token)"
		;;
	express-jwt) LOGIN_PATH=/jwt/login PROFILE_PATH=/jwt/profile READ_PATH=/jwt/profile/read ;;
	*) LOGIN_PATH=/login PROFILE_PATH=/profile READ_PATH=/profile/read ;;
	esac
}

# sealed NAME: the count lives in the client's cookie.
sealed() { [[ $1 == sk-cookie || $1 == gorilla-cookie ]]; }

# start NAME starts a fresh server (new store, new keys) and waits until it
# answers; it sets SERVER_PID, BASE and LOG. A port taken between the check
# and the bind gets another try.
start() {
	for _ in 1 2 3; do
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
	# Every login of the bench comes from 127.0.0.1 (or 127.1.x.y):
	# sessionkit's bound on concurrent logins per address would refuse
	# the login storm and the parallel logins of the users.
	local sk=("$WORK/sessionkit" serve --addr "127.0.0.1:$port" --max-concurrent-logins -1)
	case $name in
	sk-session-mem | sk-cookie | sk-jwt-eddsa) "${sk[@]}" --store memory: >"$LOG" 2>&1 & ;;
	sk-jwt-hs256) "${sk[@]}" --store memory: --token-algorithm HS256 >"$LOG" 2>&1 & ;;
	sk-session-sqlite) "${sk[@]}" --store "sqlite:$WORK/sk-$SEQ.db" >"$LOG" 2>&1 & ;;
	sk-session-redis)
		USED_REDIS=1
		"${sk[@]}" --store "redis://$REDIS/0?prefix=skbench-$TAG-sk$SEQ:" --kek "file:$KEK" >"$LOG" 2>&1 &
		;;
	sk-session-pg)
		local schema=skbench_${TAG}_$SEQ
		PG_SCHEMAS+=("$schema")
		"${sk[@]}" --store "$POSTGRES_URL&schema=$schema" --kek "file:$KEK" >"$LOG" 2>&1 &
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

# --- the hot scenario's one login ------------------------------------------

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
	[[ -n $COOKIE ]] || die "$name: the login set no cookie"
	COOKIE_HEADER=(-H "Cookie: $COOKIE")
}

# view prints the profile page's status and the count it shows (-1 if none),
# and leaves the body in $WORK/page.
view() {
	local code count
	code=$(curl -s -o "$WORK/page" -w '%{http_code}' "${COOKIE_HEADER[@]}" "$BASE$PROFILE_PATH")
	count=$(grep -o 'with the count: [0-9]*' "$WORK/page" | grep -o '[0-9]*$' || echo -1)
	echo "$code $count"
}

# --- many users ------------------------------------------------------------

# make_users NAME registers and logs in the USERS users bench1 … on the
# running server, writing their cookies to $USERS_FILE, and, for the
# login storm, registers storm1 … (names in $STORM_FILE). Each user's count
# starts at zero ($BASELINE_FILE). The register path is /register
# everywhere; the bare handler accepts any name there and at its login.
make_users() {
	local name=$1 started=$SECONDS
	describe "$name"
	USERS_FILE=$WORK/users-$SEQ.tsv
	STORM_FILE=$WORK/storm-$SEQ.tsv
	BASELINE_FILE=$WORK/counts-$SEQ.txt
	rm -f "$BASELINE_FILE"
	if scenario users || scenario readmostly || scenario logins; then
		"$WORK/users" login -base "$BASE" -register /register -login "$LOGIN_PATH" -page "$PROFILE_PATH" \
			-prefix bench -n "$USERS" -o "$USERS_FILE" || die "$name: could not make the users"
	fi
	if scenario logins; then
		# Source addresses of their own: the registration throttle counts
		# per address, over every registration of the run on this server.
		"$WORK/users" login -base "$BASE" -register /register -prefix storm -n "$USERS" \
			-first-address $(((USERS + 39) / 40 + 1)) -o "$STORM_FILE" || die "$name: could not register the login storm's users"
	fi
	say "$name: $USERS users logged in ($((SECONDS - started)) s)"
}

# views DURATION OUTFILE [READ_PATH SHARE] runs wrk with lua/views.lua
# against the running server: each request with the next user's cookies.
views() {
	local duration=$1 out=$2
	shift 2
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency -s "$BENCH/lua/views.lua" "$BASE$PROFILE_PATH" \
		-- "$USERS_FILE" "$THREADS" "$PROFILE_PATH" "$@" >"$out"
}

# check_users NAME WRKFILE... views every user's page once and sets
# EXPECTED and COUNTED (empty when the count is in the cookie), BAD (users
# whose page did not answer 200 with their name) and PAGE_BYTES; see
# bench/cmd/users. The read-only page is checked too when READ is set.
check_users() {
	local name=$1 over
	shift
	local flags=(-base "$BASE" -page "$PROFILE_PATH" -cookies "$USERS_FILE" -baseline "$BASELINE_FILE")
	[[ -z ${READ:-} ]] || flags+=(-read "$READ")
	! sealed "$name" || flags+=(-sealed)
	read -r EXPECTED COUNTED over BAD PAGE_BYTES < <("$WORK/users" check "${flags[@]}" "$@") || die "$name: the users' check failed"
	[[ $EXPECTED != - ]] || EXPECTED="" COUNTED=""
	if [[ $over != - ]] && ((over > 0)); then
		say "WARNING: $name: $over views counted that were never sent"
	fi
	if ((BAD > 0)); then
		say "WARNING: $name: $BAD users' pages did not answer 200 with their name after the load"
	fi
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

# load_row SCENARIO ROUND NAME RPS P50 P99 REQUESTS NON2XX SOCKERR RESP
# BODY EXPECTED COUNTED USERS PAGES appends a row to the load CSV (PAGES
# quoted: it is free text).
load_row() {
	printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"%s"\n' "$@" >>"$LOAD_CSV"
}

# run_views SCENARIO NAME ROUND: the users scenario, or readmostly with a
# share of the requests on the read-only page.
run_views() {
	local sc=$1 name=$2 round=$3 pages=$PROFILE_PATH
	local share_args=()
	READ=""
	if [[ $sc == readmostly ]]; then
		if [[ -z $READ_PATH ]]; then
			load_row "$sc" "$round" "$name" "" "" "" "" "" "" "" "" "" "" "$USERS" "$NO_READ"
			say "$(printf 'round %s/%s %-11s %-18s not measured: %s' "$round" "$ROUNDS" "$sc" "$name" "$NO_READ")"
			return
		fi
		READ=$READ_PATH
		share_args=("$READ_PATH" "$READ_SHARE")
		pages="$PROFILE_PATH + $(awk -v s="$READ_SHARE" 'BEGIN { printf "%g", s * 100 }')% $READ_PATH"
	fi
	views "$WARMUP" "$WORK/warm" "${share_args[@]}"
	server_counts "$name" "$WORK/counts-before"
	views "$DURATION" "$WORK/wrk" "${share_args[@]}"
	server_counts "$name" "$WORK/counts-after"
	local rps p50 p99 requests non2xx sockerr resp
	read -r rps p50 p99 requests non2xx sockerr resp < <(parse_wrk "$WORK/wrk") || die "$name: could not read wrk's output"
	counts_rows "$sc" "$round" "$name" "$requests" "$WORK/counts-before" "$WORK/counts-after"
	check_users "$name" "$WORK/warm" "$WORK/wrk"
	non2xx=$((non2xx + BAD))
	load_row "$sc" "$round" "$name" "$rps" "$p50" "$p99" "$requests" "$non2xx" "$sockerr" "$resp" "$PAGE_BYTES" "$EXPECTED" "$COUNTED" "$USERS" "$pages"
	report_line "$sc" "$round" "$name" "$rps" "$p50" "$p99" "$non2xx" "$sockerr" "$EXPECTED" "$COUNTED"
}

# server_counts NAME FILE writes sessionkit's counters that explain what a
# request cost, from its /metrics, as "counter value" lines: each store
# operation (session_get, user_get, session_save, ...) and the access-token
# verify cache's hits and misses. Other servers have none: FILE is empty.
server_counts() {
	: >"$2"
	[[ $1 == sk-* ]] || return 0
	curl -s --max-time 5 "$BASE/metrics" | awk '
	function label(name,   v) {
		if (!match($0, name "=\"[^\"]*\"")) return ""
		v = substr($0, RSTART + length(name) + 2, RLENGTH - length(name) - 3)
		return v
	}
	/^sessionkit_store_operations_total\{/ { n[label("operation")] += $NF }
	/^sessionkit_token_verify_cache_total\{/ { n["verify_cache_" label("result")] += $NF }
	END { for (k in n) print k, n[k] }' >"$2" || true
}

# counts_rows SCENARIO ROUND NAME REQUESTS BEFORE AFTER appends to the
# counts CSV, for each counter that moved during the measured views, how
# many times per request it did, and says the store operations and the
# verify cache's hit rate.
counts_rows() {
	local sc=$1 round=$2 name=$3 requests=$4
	[[ -s $6 ]] && ((requests > 0)) || return 0
	awk -v sc="$sc" -v round="$round" -v name="$name" -v req="$requests" '
	NR == FNR { before[$1] = $2; next }
	{ d = $2 - before[$1]; if (d > 0) { per[$1] = d / req; total[$1] = d } }
	END {
		line = ""
		for (k in per) {
			printf "%s,%s,%s,%s,%d,%.4f\n", sc, round, name, k, total[k], per[k] >> CSV
			if (k !~ /^verify_cache_/) line = line sprintf(" %s %.2f", k, per[k])
		}
		hits = total["verify_cache_hit"] + 0; misses = total["verify_cache_miss"] + 0
		if (hits + misses > 0) line = line sprintf("; verify cache hits %.1f%%", 100 * hits / (hits + misses))
		printf "%s %s: per request:%s\n", sc, name, line > "/dev/stderr"
	}' CSV="$COUNTS_CSV" "$5" "$6"
}

# report_line SCENARIO ROUND NAME RPS P50 P99 NON2XX SOCKERR EXPECTED
# COUNTED says how a measurement went.
report_line() {
	local lost="n/a"
	[[ -z $9 ]] || lost=$(($9 > ${10} ? $9 - ${10} : 0))
	say "$(printf 'round %s/%s %-11s %-18s %10s req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx/3xx %s  socket errors %s  lost %s' \
		"$2" "$ROUNDS" "$1" "$3" "$4" "$5" "$6" "$7" "$8" "$lost")"
}

# run_hot NAME ROUND: one login on every connection.
run_hot() {
	local name=$1 round=$2 code check final
	login "$name"
	read -r code check < <(view)
	[[ $code == 200 && $check == 1 ]] || die "$name: the first profile view answered $code with count $check"
	local body_bytes
	body_bytes=$(wc -c <"$WORK/page")

	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --latency "${COOKIE_HEADER[@]}" "$BASE$PROFILE_PATH" >"$WORK/warm"
	local warm
	warm=$(parse_wrk "$WORK/warm") || die "$name: could not read wrk's warm-up output"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${COOKIE_HEADER[@]}" "$BASE$PROFILE_PATH" >"$WORK/wrk"
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
	load_row hot "$round" "$name" "$rps" "$p50" "$p99" "$requests" "$non2xx" "$sockerr" "$resp" "$body_bytes" "$expected" "$counted" 1 "$PROFILE_PATH"
	report_line hot "$round" "$name" "$rps" "$p50" "$p99" "$non2xx" "$sockerr" "$expected" "$counted"
}

# run_logins NAME ROUND: the login storm, while the users view their pages.
run_logins() {
	local name=$1 round=$2
	if [[ $name == express* ]]; then
		say "round $round/$ROUNDS logins      $name: not measured (no argon2id in Node 20: its logins compare plain passwords)"
		return
	fi
	READ=""
	views "$WARMUP" "$WORK/warm"
	views "$DURATION" "$WORK/wrk" &
	local viewer=$!
	wrk -t1 -c"$LOGIN_CONNECTIONS" -d"$DURATION" --latency -s "$BENCH/lua/logins.lua" "$BASE$LOGIN_PATH" \
		-- "$STORM_FILE" 1 "$LOGIN_PATH" >"$WORK/logins"
	wait "$viewer" || die "$name: wrk viewing the pages failed"
	local lrps lp50 lp99 logins lnon lsock vrps vp50 vp99 nviews vnon vsock
	read -r lrps lp50 lp99 logins lnon lsock _ < <(parse_wrk "$WORK/logins") || die "$name: could not read the login wrk's output"
	read -r vrps vp50 vp99 nviews vnon vsock _ < <(parse_wrk "$WORK/wrk") || die "$name: could not read the view wrk's output"
	check_users "$name" "$WORK/warm" "$WORK/wrk"
	vnon=$((vnon + BAD))
	printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$round" "$name" "$lrps" "$lp50" "$lp99" "$logins" "$lnon" "$lsock" \
		"$vrps" "$vp50" "$vp99" "$nviews" "$vnon" "$vsock" "$EXPECTED" "$COUNTED" "$USERS" >>"$LOGINS_CSV"
	say "$(printf 'round %s/%s %-11s %-18s %8s logins/s (p99 %.0f ms, non-2xx/3xx %s)  %10s views/s (p99 %.2f ms, non-2xx/3xx %s)' \
		"$round" "$ROUNDS" logins "$name" "$lrps" "$lp99" "$lnon" "$vrps" "$vp99" "$vnon")"
}

# measure NAME ROUND starts the server once and runs every scenario of
# the list on it.
measure() {
	local name=$1 round=$2 sc
	start "$name"
	describe "$name"
	! many_users || make_users "$name"
	for sc in $SCENARIO; do
		describe "$name"
		case $sc in
		users | readmostly) run_views "$sc" "$name" "$round" ;;
		hot) run_hot "$name" "$round" ;;
		logins) run_logins "$name" "$round" ;;
		esac
	done
	keep_log "$name"
	stop_server
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
	local commit
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[[ -z $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] || commit+=" with uncommitted changes"
	echo "- run: $RUN_ID (UTC), commit $commit, servers: $SERVERS"
	echo "- machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(free -g | awk '/^Mem:/ {print $2 " GiB"}'), $(uname -sr)"
	echo "- $(go version | sed 's/^go version //'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
	if wants_prefix express; then echo "- node $(node --version), express $(cd "$BENCH/express" && node -p 'require("express/package.json").version'), express-session $(cd "$BENCH/express" && node -p 'require("express-session/package.json").version')"; fi
	if wants sk-session-redis || wants scs-redis; then echo "- Redis $(redis_cli info server | sed -n 's/^redis_version://p' | tr -d '\r')"; fi
	if wants sk-session-pg; then echo "- PostgreSQL $(psql "$POSTGRES_URL" -qXtA -c 'show server_version')"; fi
	if [[ -z $LOSTUPDATE_ONLY ]]; then
		echo "- scenarios: $SCENARIO; $USERS users; wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (after a $WARMUP warm-up), $ROUNDS round(s)"
		if scenario readmostly; then echo "- readmostly: $READ_SHARE of the requests on the read-only page"; fi
		if scenario logins; then echo "- logins: wrk -t1 -c$LOGIN_CONNECTIONS posting logins of $USERS other users, beside the views"; fi
	fi
	if [[ -z $SKIP_LOSTUPDATE ]]; then echo "- lost-update burst: $BURST"; fi
	echo "- sessionkit: \`sessionkit serve --max-concurrent-logins -1\` (and --kek on Redis and PostgreSQL), otherwise its defaults (log level info, text, to a file), one fresh store per server and round"
}

mkdir -p "$RESULTS"
LOAD_CSV=$RESULTS/load-$RUN_ID.csv
LOGINS_CSV=$RESULTS/logins-$RUN_ID.csv
LOST_CSV=$RESULTS/lostupdate-$RUN_ID.csv
COUNTS_CSV=$RESULTS/counts-$RUN_ID.csv
MD=$WORK/tables.md
machine >"$MD"
cat "$MD" >&2

report_args=()
if [[ -z $LOSTUPDATE_ONLY ]]; then
	echo "scenario,round,server,rps,p50_ms,p99_ms,requests,non2xx,socket_errors,resp_bytes,body_bytes,views_expected,views_counted,users,pages" >"$LOAD_CSV"
	echo "scenario,round,server,counter,during_views,per_request" >"$COUNTS_CSV"
	if scenario logins; then
		echo "round,server,logins_rps,login_p50_ms,login_p99_ms,logins,login_non2xx,login_socket_errors,views_rps,views_p50_ms,views_p99_ms,views,views_non2xx,views_socket_errors,views_expected,views_counted,users" >"$LOGINS_CSV"
	fi
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
	cp "$COUNTS_CSV" "$RESULTS/latest-counts.csv"
	report_args+=(-load "$LOAD_CSV")
	if scenario logins; then
		cp "$LOGINS_CSV" "$RESULTS/latest-logins.csv"
		report_args+=(-logins "$LOGINS_CSV")
	fi
fi

if [[ -z $SKIP_LOSTUPDATE ]]; then
	echo "server,sent,ok,got,statuses" >"$LOST_CSV"
	for s in $SERVERS; do burst "$s"; done
	cp "$LOST_CSV" "$RESULTS/latest-lostupdate.csv"
	report_args+=(-lost "$LOST_CSV")
fi

{ echo; "$WORK/report" "${report_args[@]}"; } >>"$MD"
cp "$MD" "$RESULTS/latest.md"
if [[ -z $LOSTUPDATE_ONLY ]] && wants bare && [[ -n $CHART || $SERVERS == "$ALL_SERVERS" ]] &&
	{ scenario users || scenario readmostly || scenario hot; }; then
	"$WORK/chart" -load "$LOAD_CSV" -o "$ROOT/docs/benchmarks.svg"
	say "chart: docs/benchmarks.svg"
fi
echo
cat "$MD"
