package webhook

// EventTypes exposes the ordered list of types to the external tests.
var EventTypes = eventTypes

// ReopenMemoryStore gives s the key ring keys, as reopening a durable
// store's data with another key ring does, so that storetest.RunEncryption
// can check a MemoryStore over data sealed under other keys.
func ReopenMemoryStore(s *MemoryStore, keys *KeyRing) *MemoryStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
	return s
}
