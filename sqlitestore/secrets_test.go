package sqlitestore_test

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/keyring"
	"github.com/onplana/webhook/sqlitestore"
	"github.com/onplana/webhook/storetest"
)

// reopener returns a function that opens the database file at path with a
// key ring, closing the store it opened before; the last one is closed when
// the test ends.
func reopener(t *testing.T, path string) func(keys *keyring.Ring) (*sqlitestore.Store, error) {
	var s *sqlitestore.Store
	closeLast := func() {
		if s != nil {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			s = nil
		}
	}
	t.Cleanup(closeLast)
	return func(keys *keyring.Ring) (*sqlitestore.Store, error) {
		closeLast()
		var err error
		s, err = sqlitestore.Open(path, &sqlitestore.Config{Keys: keys, Logger: slog.New(slog.DiscardHandler)})
		return s, err
	}
}

func TestEncryption(t *testing.T) {
	t.Parallel()
	storetest.RunEncryption(t, func(t *testing.T) storetest.OpenFunc {
		open := reopener(t, filepath.Join(t.TempDir(), "hooks.db"))
		return func(keys *keyring.Ring) (webhook.Store, error) {
			s, err := open(keys)
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	})
}

// TestSecretsNotInFiles greps the database file and its WAL, as they are on
// disk while the store is open, for every form of the signing secrets.
func TestSecretsNotInFiles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hooks.db")
	open := reopener(t, path)
	storetest.RunSecretsAtRest(t, func(keys *keyring.Ring) webhook.Store {
		s, err := open(keys)
		require.NoError(t, err)
		return s
	}, func() []byte {
		var all []byte
		for _, name := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(name)
			if !errors.Is(err, fs.ErrNotExist) {
				require.NoError(t, err)
			}
			all = append(all, b...)
		}
		return all
	})
}

// TestOpenSaysSecretsAreInClear: without a key ring, Open logs once that
// signing secrets are stored in clear; with one it does not.
func TestOpenSaysSecretsAreInClear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys *keyring.Ring
		want bool
	}{
		{"no key ring", nil, true},
		{"key ring", storetest.NewKeyRing("k1", map[string][]byte{"k1": storetest.NewKey()}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "hooks.db"), &sqlitestore.Config{
				Keys: tt.keys, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			require.NoError(t, err)
			require.NoError(t, s.Close())
			require.Equal(t, tt.want, bytes.Contains(logs.Bytes(), []byte("signing secrets are stored in clear")), logs.String())
		})
	}
}
