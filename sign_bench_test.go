package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/onplana/webhook/internal/benchcpu"
)

// The verification benchmarks run each implementation beside two baselines
// in the same process, so that BENCHMARKS.md can report ratios rather than
// machine-dependent times:
//
//   - naive: hmac.New + hex encoding per call, as most receivers write it;
//   - reused: one pre-keyed HMAC state, Reset between calls, compared with an
//     already decoded MAC (the floor: nothing but the hashing).
//
// Besides ns/op (wall time), each benchmark reports cpu-ns/op: the CPU time
// of the benchmark's OS thread per operation (Linux only). On a machine
// shared with other work, wall time counts the time the thread waited for a
// core; CPU time does not, so its ratios stay stable. Background GC work runs
// on other threads and is not counted, which flatters the allocating naive
// baseline, never our implementations. See BENCHMARKS.md for the command and
// the numbers.

var benchSizes = []struct {
	name string
	n    int
}{
	{"1KiB", 1 << 10},
	{"16KiB", 16 << 10},
	{"1MiB", 1 << 20},
}

func benchBody(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func BenchmarkVerify(b *testing.B) {
	key := NewSecret()
	for _, size := range benchSizes {
		body := benchBody(size.n)
		sig := Sign(key, body)
		mac, _ := hex.DecodeString(sig)

		b.Run("size="+size.name+"/impl=naive", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			benchcpu.Loop(b, func() {
				h := hmac.New(sha256.New, []byte(key))
				h.Write(body)
				if !hmac.Equal([]byte(hex.EncodeToString(h.Sum(nil))), []byte(sig)) {
					b.Fatal("mismatch")
				}
			})
		})
		b.Run("size="+size.name+"/impl=reused", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			h := hmac.New(sha256.New, []byte(key))
			var sum [sha256.Size]byte
			benchcpu.Loop(b, func() {
				h.Reset()
				h.Write(body)
				if !hmac.Equal(h.Sum(sum[:0]), mac) {
					b.Fatal("mismatch")
				}
			})
		})
		b.Run("size="+size.name+"/impl=Receiver", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			v, err := newOnplanaVerifier(key)
			if err != nil {
				b.Fatal(err)
			}
			benchcpu.Loop(b, func() {
				if err := v.verifyBody(body, sig); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("size="+size.name+"/impl=Verify", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			benchcpu.Loop(b, func() {
				if err := Verify(body, sig, key); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkVerifyStandard(b *testing.B) {
	secret := NewSecret()
	key, err := standardKey(secret)
	if err != nil {
		b.Fatal(err)
	}
	const id = "dlv_01jfz3m8k2v7q9w4x6y8z0a1b2"
	now := time.Unix(1782551723, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	for _, size := range benchSizes[:2] {
		body := benchBody(size.n)
		sig, err := SignStandard(secret, id, now, body)
		if err != nil {
			b.Fatal(err)
		}
		// naive is what the reference Go library does per call.
		b.Run("size="+size.name+"/impl=naive", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			benchcpu.Loop(b, func() {
				h := hmac.New(sha256.New, []byte(key))
				h.Write([]byte(fmt.Sprintf("%s.%s.%s", id, ts, body)))
				want := "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil))
				if !hmac.Equal([]byte(want), []byte(sig)) {
					b.Fatal("mismatch")
				}
			})
		})
		b.Run("size="+size.name+"/impl=Receiver", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			v, err := newStandardVerifier(&standardConfig{Now: func() time.Time { return now }}, secret)
			if err != nil {
				b.Fatal(err)
			}
			benchcpu.Loop(b, func() {
				if err := v.verifyBody(body, id, ts, sig); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkSign(b *testing.B) {
	secrets := []Secret{NewSecret(), NewSecret()}
	body := benchBody(1 << 10)
	at := time.Unix(1782551723, 0)
	b.Run("impl=Sign/size=1KiB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		key := secrets[0]
		benchcpu.Loop(b, func() {
			Sign(key, body)
		})
	})
	for _, scheme := range []Scheme{SchemeOnplana, SchemeStandard} {
		b.Run("impl=SignRequest/scheme="+string(scheme)+"/secrets=2/size=1KiB", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			s := Signer{Scheme: scheme}
			h := make(map[string][]string, 4)
			benchcpu.Loop(b, func() {
				if err := s.SignRequest(h, secrets, "dlv_1", EventTaskUpdated, at, body); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
