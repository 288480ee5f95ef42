#!/usr/bin/env bash
# postgres.sh runs a throwaway PostgreSQL server for the pgstore tests.
#
# Two ways to use it:
#
#   .ci/postgres.sh go test ./pgstore/...    # start, run the command, stop
#
#   . .ci/postgres.sh                         # from another bash script: start
#   trap webhook_pg_stop EXIT                 # and stop when that script exits
#
# It initdb's a cluster into a fresh temporary directory, owned by an
# unprivileged user when run as root (PostgreSQL refuses to run as root),
# listens on 127.0.0.1 only, on a free port, with trust authentication (the
# server is reachable only from this machine and lives only for the run),
# creates the database webhook_test and exports:
#
#   WEBHOOK_TEST_POSTGRES_DSN  the DSN the tests connect with
#   WEBHOOK_TEST_PG_CTL        a pg_ctl wrapper that runs as the server's user,
#                              for the database-restart test
#   WEBHOOK_TEST_PGDATA        the cluster's data directory, for the same test
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

webhook_pg_start() {
	local bindir user tmp port tries
	bindir=$(webhook_pg_bindir) || return 1
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/webhook-pg.XXXXXX") || return 1
	chmod 755 "$tmp"
	WEBHOOK_PG_TMP=$tmp
	WEBHOOK_PG_STARTED=

	# Run the server as an unprivileged user when we are root.
	user=$(id -un)
	if [ "$(id -u)" = 0 ]; then
		user=webhookpg
		if ! id "$user" >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin "$user" || return 1
		fi
	fi
	WEBHOOK_PG_USER=$user

	# pg_ctl wrapper: the server's files belong to $user, so every pg_ctl call
	# (ours and the restart test's) must run as that user.
	if [ "$(id -u)" = 0 ]; then
		cat >"$tmp/pg_ctl" <<EOF
#!/bin/sh
exec runuser -u $user -- "$bindir/pg_ctl" "\$@"
EOF
	else
		cat >"$tmp/pg_ctl" <<EOF
#!/bin/sh
exec "$bindir/pg_ctl" "\$@"
EOF
	fi
	chmod 755 "$tmp/pg_ctl"

	mkdir -p "$tmp/data" "$tmp/sock" "$tmp/log"
	[ "$(id -u)" = 0 ] && chown "$user" "$tmp/data" "$tmp/sock" "$tmp/log"
	local as=()
	[ "$(id -u)" = 0 ] && as=(runuser -u "$user" --)
	"${as[@]}" "$bindir/initdb" -D "$tmp/data" -U postgres --auth=trust \
		--encoding=UTF8 --locale=C >"$tmp/initdb.log" 2>&1 || {
		cat "$tmp/initdb.log" >&2
		return 1
	}
	# Settings for a test server: enough connections for parallel tests (each
	# test opens its own pool), short statement logs off, sockets in $tmp.
	cat >>"$tmp/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$tmp/sock'
max_connections = 300
shared_buffers = 128MB
log_min_messages = warning
logging_collector = on
log_directory = '$tmp/log'
EOF

	for tries in 1 2 3 4 5; do
		port=$(webhook_pg_free_port) || return 1
		if "$tmp/pg_ctl" -D "$tmp/data" -o "-p $port" -l "$tmp/log/server.log" -w -t 30 start >/dev/null; then
			break
		fi
		port=
	done
	if [ -z "$port" ]; then
		echo "postgres.sh: could not start postgres; log:" >&2
		cat "$tmp/log/server.log" >&2
		return 1
	fi
	WEBHOOK_PG_STARTED=1
	# Pin the port so the restart test's plain `pg_ctl start` reuses it.
	echo "port = $port" >>"$tmp/data/postgresql.conf"

	local psql="$bindir/psql"
	[ -x "$psql" ] || psql=psql
	"$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt \
		-c "CREATE DATABASE webhook_test" >/dev/null || return 1

	export WEBHOOK_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/webhook_test?sslmode=disable"
	export WEBHOOK_TEST_PG_CTL="$tmp/pg_ctl"
	export WEBHOOK_TEST_PGDATA="$tmp/data"
	echo "postgres.sh: PostgreSQL on 127.0.0.1:$port (data $tmp/data)" >&2
}

webhook_pg_stop() {
	[ -n "${WEBHOOK_PG_TMP:-}" ] || return 0
	if [ -n "${WEBHOOK_PG_STARTED:-}" ]; then
		"$WEBHOOK_PG_TMP/pg_ctl" -D "$WEBHOOK_PG_TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$WEBHOOK_PG_TMP"
	WEBHOOK_PG_TMP=
	unset WEBHOOK_TEST_POSTGRES_DSN WEBHOOK_TEST_PG_CTL WEBHOOK_TEST_PGDATA
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	# Executed: start, run the command (or wait for a signal), stop.
	set -u
	trap webhook_pg_stop EXIT
	webhook_pg_start || exit 1
	trap 'exit 130' INT TERM
	if [ $# -gt 0 ]; then
		"$@"
		exit $?
	fi
	echo "WEBHOOK_TEST_POSTGRES_DSN=$WEBHOOK_TEST_POSTGRES_DSN"
	echo "WEBHOOK_TEST_PG_CTL=$WEBHOOK_TEST_PG_CTL"
	echo "WEBHOOK_TEST_PGDATA=$WEBHOOK_TEST_PGDATA"
	echo "postgres.sh: running until interrupted" >&2
	while :; do sleep 3600 & wait $!; done
else
	webhook_pg_start
fi
