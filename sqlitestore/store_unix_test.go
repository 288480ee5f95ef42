//go:build unix

package sqlitestore_test

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook/sqlitestore"
	"github.com/onplana/webhook/storetest"
)

// TestOpenCreatesPrivateFiles: under the usual umask 022, which leaves new
// files readable by every local user, the database file, its WAL and its
// shared-memory file are created 0600. Not parallel: the umask belongs to
// the process.
func TestOpenCreatesPrivateFiles(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)

	path := filepath.Join(t.TempDir(), "hooks.db")
	s := openStore(t, path)
	ids := storetest.NewIDGenerator(storetest.BaseTime)
	require.NoError(t, s.CreateSubscription(t.Context(), storetest.NewSubscription(ids, "org_1", "", "*")))
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		require.NoError(t, err, "%s exists while the store is open", filepath.Base(name))
		require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), filepath.Base(name))
	}
}

// TestOpenWarnsOfReadableFile: a database file others can read (as earlier
// versions created it) is opened, with a warning naming it.
func TestOpenWarnsOfReadableFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hooks.db")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	require.NoError(t, os.Chmod(path, 0o644))
	var logs bytes.Buffer
	s, err := sqlitestore.Open(path, &sqlitestore.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.Contains(t, logs.String(), "accessible to other users")
	require.Contains(t, logs.String(), path)
}
