package webhook_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"

	"github.com/onplana/webhook"
)

// A key ring from one environment variable: the first key encrypts, the
// others only decrypt, during a rotation.
func ExampleParseKeyRing() {
	newKey, oldKey := make([]byte, webhook.KeySize), make([]byte, webhook.KeySize)
	rand.Read(newKey)
	rand.Read(oldKey)
	env := "2026-06:" + base64.StdEncoding.EncodeToString(newKey) + "," + // os.Getenv("WEBHOOK_SECRET_KEYS")
		"2025-12:" + base64.StdEncoding.EncodeToString(oldKey)

	keys, err := webhook.ParseKeyRing(env)
	if err != nil {
		log.Fatal(err)
	}
	store := webhook.NewMemoryStoreWithKeys(keys) // or pgstore.Config.Keys, sqlitestore.Config.Keys
	_ = store
	fmt.Println("encrypts with", keys.Current(), "and still opens 2025-12:", keys.Has("2025-12"))
	// Output: encrypts with 2026-06 and still opens 2025-12: true
}
