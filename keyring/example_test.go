package keyring_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/keyring"
)

// A key ring from one environment variable: the first key seals, the
// others only open, during a rotation.
func ExampleParse() {
	newKey, oldKey := make([]byte, keyring.KeySize), make([]byte, keyring.KeySize)
	rand.Read(newKey)
	rand.Read(oldKey)
	env := "2026-06:" + base64.StdEncoding.EncodeToString(newKey) + "," + // os.Getenv("WEBHOOK_SECRET_KEYS")
		"2025-12:" + base64.StdEncoding.EncodeToString(oldKey)

	keys, err := keyring.Parse(env)
	if err != nil {
		log.Fatal(err)
	}
	store := webhook.NewMemoryStoreWithKeys(keys) // or pgstore.Config.Keys, sqlitestore.Config.Keys
	_ = store
	fmt.Println("seals with", keys.Current(), "and still opens 2025-12:", keys.Has("2025-12"))
	// Output: seals with 2026-06 and still opens 2025-12: true
}
