#!/usr/bin/env bash
# postgres.sh runs throwaway PostgreSQL servers for the pgstore tests.
#
# Two ways to use it:
#
#   .ci/postgres.sh go test ./pgstore/...    # start, run the command, stop
#
#   source .ci/postgres.sh                    # from another bash script: start
#   trap webhook_pg_stop EXIT                 # and stop when that script exits
#
# It initdb's two clusters into a fresh temporary directory, owned by an
# unprivileged user when run as root (PostgreSQL refuses to run as root).
# Both listen on 127.0.0.1 only, each on a free port, with trust
# authentication (they are reachable only from this machine and live only
# for the run). It exports:
#
#   WEBHOOK_TEST_POSTGRES_DSN          the main server's database webhook_test;
#                                      tests create their own databases or
#                                      schemas in it and run in parallel
#   WEBHOOK_TEST_RESTART_POSTGRES_DSN  a second server, used only by the test
#                                      that stops and restarts PostgreSQL under
#                                      a running dispatcher (stopping the main
#                                      server would break the other tests)
#   WEBHOOK_TEST_PGDATA                that second server's data directory
#   WEBHOOK_TEST_PG_CTL                a pg_ctl that runs as the servers' user
#
# The binaries come from PATH, else from /usr/lib/postgresql/*/bin; install
# them with `apt-get install -y postgresql` if neither has them.

webhook_pg_bindir() {
	local d
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(readlink -f "$(command -v pg_ctl)")"
		return 0
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done
	echo "postgres.sh: initdb/pg_ctl not found; apt-get install -y postgresql" >&2
	return 1
}

# webhook_pg_free_port prints a TCP port nothing on 127.0.0.1 listens on.
webhook_pg_free_port() {
	local port i
	for i in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# webhook_pg_cluster NAME creates and starts a cluster in $WEBHOOK_PG_TMP/NAME
# and prints its port.
webhook_pg_cluster() {
	local name=$1 dir="$WEBHOOK_PG_TMP/$1" port tries
	mkdir -p "$dir/data" "$dir/sock" "$dir/log"
	if [ "$(id -u)" = 0 ]; then
		chown "$WEBHOOK_PG_USER" "$dir/data" "$dir/sock" "$dir/log"
		runuser -u "$WEBHOOK_PG_USER" -- "$WEBHOOK_PG_BIN/initdb" -D "$dir/data" -U postgres \
			--auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1
	else
		"$WEBHOOK_PG_BIN/initdb" -D "$dir/data" -U postgres \
			--auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1
	fi || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	# A test server: enough connections for parallel tests (each opens its
	# own pool), sockets and logs inside $dir. Durability settings are
	# PostgreSQL's defaults (synchronous_commit and fsync on), as a user's
	# server has them: the tests and benchmarks measure what users get.
	cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
max_connections = 300
shared_buffers = 128MB
log_min_messages = warning
logging_collector = on
log_directory = '$dir/log'
EOF
	for tries in 1 2 3 4 5; do
		port=$(webhook_pg_free_port) || return 1
		if "$WEBHOOK_PG_TMP/pg_ctl" -D "$dir/data" -o "-p $port" -w -t 30 start >"$dir/start.log" 2>&1; then
			# Pin the port so that a plain `pg_ctl start` (the restart
			# test) comes back on it.
			echo "port = $port" >>"$dir/data/postgresql.conf"
			echo "$port"
			return 0
		fi
	done
	echo "postgres.sh: could not start the $name server:" >&2
	cat "$dir/start.log" "$dir"/log/* >&2 2>/dev/null
	return 1
}

webhook_pg_start() {
	local port psql
	WEBHOOK_PG_BIN=$(webhook_pg_bindir) || return 1
	WEBHOOK_PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/webhook-pg.XXXXXX") || return 1
	chmod 755 "$WEBHOOK_PG_TMP"

	# Run the servers as an unprivileged user when we are root.
	WEBHOOK_PG_USER=$(id -un)
	if [ "$(id -u)" = 0 ]; then
		WEBHOOK_PG_USER=webhookpg
		if ! id "$WEBHOOK_PG_USER" >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin "$WEBHOOK_PG_USER" || return 1
		fi
		cat >"$WEBHOOK_PG_TMP/pg_ctl" <<EOF
#!/bin/sh
exec runuser -u $WEBHOOK_PG_USER -- "$WEBHOOK_PG_BIN/pg_ctl" "\$@"
EOF
	else
		cat >"$WEBHOOK_PG_TMP/pg_ctl" <<EOF
#!/bin/sh
exec "$WEBHOOK_PG_BIN/pg_ctl" "\$@"
EOF
	fi
	chmod 755 "$WEBHOOK_PG_TMP/pg_ctl"

	psql="$WEBHOOK_PG_BIN/psql"
	[ -x "$psql" ] || psql=psql

	port=$(webhook_pg_cluster main) || return 1
	"$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt \
		-c "CREATE DATABASE webhook_test" >/dev/null || return 1
	export WEBHOOK_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/webhook_test?sslmode=disable"
	echo "postgres.sh: PostgreSQL on 127.0.0.1:$port" >&2

	port=$(webhook_pg_cluster restart) || return 1
	export WEBHOOK_TEST_RESTART_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	export WEBHOOK_TEST_PGDATA="$WEBHOOK_PG_TMP/restart/data"
	export WEBHOOK_TEST_PG_CTL="$WEBHOOK_PG_TMP/pg_ctl"
	echo "postgres.sh: PostgreSQL for the restart test on 127.0.0.1:$port" >&2
}

webhook_pg_stop() {
	local data
	[ -n "${WEBHOOK_PG_TMP:-}" ] || return 0
	for data in "$WEBHOOK_PG_TMP"/*/data; do
		if [ -f "$data/postmaster.pid" ]; then
			"$WEBHOOK_PG_TMP/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
		fi
	done
	rm -rf "$WEBHOOK_PG_TMP"
	WEBHOOK_PG_TMP=
	unset WEBHOOK_TEST_POSTGRES_DSN WEBHOOK_TEST_RESTART_POSTGRES_DSN WEBHOOK_TEST_PG_CTL WEBHOOK_TEST_PGDATA
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	# Executed: start, run the command (or wait for a signal), stop.
	set -u
	trap webhook_pg_stop EXIT
	trap 'exit 130' INT TERM
	webhook_pg_start || exit 1
	if [ $# -gt 0 ]; then
		"$@"
		exit $?
	fi
	echo "WEBHOOK_TEST_POSTGRES_DSN=$WEBHOOK_TEST_POSTGRES_DSN"
	echo "WEBHOOK_TEST_RESTART_POSTGRES_DSN=$WEBHOOK_TEST_RESTART_POSTGRES_DSN"
	echo "WEBHOOK_TEST_PG_CTL=$WEBHOOK_TEST_PG_CTL"
	echo "WEBHOOK_TEST_PGDATA=$WEBHOOK_TEST_PGDATA"
	echo "postgres.sh: running until interrupted" >&2
	while :; do sleep 3600 & wait $!; done
else
	webhook_pg_start
fi
