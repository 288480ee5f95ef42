// Package pgtest gives tests a private PostgreSQL database.
//
// Tests that need PostgreSQL call NewSchemaPool, NewPool or NewDatabase. They
// connect to the server named by the environment variable
// WEBHOOK_TEST_POSTGRES_DSN (.ci/run starts a throwaway server and sets it)
// and skip, naming the variable, when it is unset. Each call creates fresh
// state, dropped when the test ends, so tests can run in parallel:
// NewSchemaPool a schema (fast; LISTEN/NOTIFY channels and advisory locks
// are still shared with other tests), NewPool and NewDatabase a whole
// database (slower; nothing shared).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvDSN is the environment variable holding the DSN of the test server.
const EnvDSN = "WEBHOOK_TEST_POSTGRES_DSN"

// Environment variables of the database-restart test: a server of its own
// (stopping the shared one would break the other tests), its data directory
// and a pg_ctl to stop and start it. .ci/postgres.sh sets all three.
const (
	EnvRestartDSN = "WEBHOOK_TEST_RESTART_POSTGRES_DSN"
	EnvPGCtl      = "WEBHOOK_TEST_PG_CTL"
	EnvPGData     = "WEBHOOK_TEST_PGDATA"
)

// Restartable describes a PostgreSQL server a test may stop and start.
type Restartable struct {
	DSN    string // its maintenance database
	PGCtl  string // the pg_ctl to run
	PGData string // its data directory
}

// RestartableServer returns the server of the restart test, or skips t,
// naming the variables, when they are not all set.
func RestartableServer(t testing.TB) Restartable {
	t.Helper()
	r := Restartable{DSN: os.Getenv(EnvRestartDSN), PGCtl: os.Getenv(EnvPGCtl), PGData: os.Getenv(EnvPGData)}
	if r.DSN == "" || r.PGCtl == "" || r.PGData == "" {
		t.Skip("PostgreSQL restart test skipped: set " + EnvRestartDSN + ", " + EnvPGCtl + " and " + EnvPGData +
			" (for example by running .ci/postgres.sh)")
	}
	return r
}

// DSN returns the DSN of the test server, or skips t when EnvDSN is unset.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		t.Skip("PostgreSQL tests skipped: set " + EnvDSN + " (for example by running .ci/postgres.sh)")
	}
	return dsn
}

// NewDatabase creates an empty database on the test server and returns its
// DSN. The database is dropped, with its connections, when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return NewDatabaseOn(t, DSN(t))
}

// NewDatabaseOn creates an empty database on the server of the DSN base and
// returns its DSN; it is dropped, with its connections, when the test ends.
func NewDatabaseOn(t testing.TB, base string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var b [6]byte
	rand.Read(b[:])
	name := "webhook_t_" + hex.EncodeToString(b[:])

	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})

	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		// A keyword/value DSN: a later dbname overrides the earlier one.
		return base + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

// NewSchemaPool returns a pool on the test server's database whose
// connections use a fresh schema as their search_path, so that unqualified
// tables are private to the test. The schema is dropped, and the pool
// closed, when the test ends.
func NewSchemaPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return NewSchemaPoolConfig(t, nil)
}

// NewSchemaPoolConfig is NewSchemaPool with edit applied to the pool's
// configuration first (a tracer, say); edit may be nil.
func NewSchemaPoolConfig(t testing.TB, edit func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	base := DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var b [6]byte
	rand.Read(b[:])
	name := "webhook_t_" + hex.EncodeToString(b[:])
	cfg, err := pgxpool.ParseConfig(base)
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", EnvDSN, err)
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvDSN, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("pgtest: drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			t.Logf("pgtest: drop schema %s: %v", name, err)
		}
	})
	cfg.ConnConfig.RuntimeParams["search_path"] = name
	if edit != nil {
		edit(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewPool returns a pool on a fresh database (see NewDatabase), closed when
// the test ends, before the database is dropped.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
