package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// signRaceEnabled is set by verify_race_test.go: under the race detector
// sync.Pool drops items at random, so allocation counts mean nothing.
var signRaceEnabled bool

var (
	sigSecret      = Secret("whsec_RhAzxBWy9Mjy1ckyHXDFCu4ncs0FeYUjT3f1rIZF4x8=")
	sigOtherSecret = Secret("whsec_0nHlA3sVpWAeMNBMgpN1i3G0ICrSO9hQtX1FiQm6Vd4=")
	sigBody        = []byte(`{"delivery_id":"dlv_1","event":"task.updated","data":{"task":{"id":"task_42"}}}`)
)

// sigVerifyBoth runs the package-level Verify and a onplanaVerifier on the same input
// and requires them to agree.
func sigVerifyBoth(t *testing.T, body []byte, header string, secrets ...Secret) error {
	t.Helper()
	err := Verify(body, header, secrets...)
	v, verr := newOnplanaVerifier(secrets...)
	if verr != nil {
		require.ErrorIs(t, err, ErrNoSecret, "newOnplanaVerifier refused secrets that Verify accepted")
		return err
	}
	require.Equal(t, sigErrorKind(err), sigErrorKind(v.verifyBody(body, header)), "Verify and onplanaVerifier.Verify disagree")
	return err
}

// sigErrorKind names the sentinel err wraps, "" for nil.
func sigErrorKind(err error) string {
	if err == nil {
		return ""
	}
	for name, s := range sigSentinels {
		if errors.Is(err, s) {
			return name
		}
	}
	return "unexpected: " + err.Error()
}

func TestVerify(t *testing.T) {
	t.Parallel()
	good := Sign(sigSecret, sigBody)
	bad := Sign(sigOtherSecret, sigBody)
	sha1MAC := hmac.New(sha1.New, []byte(sigSecret))
	sha1MAC.Write(sigBody)

	tests := []struct {
		name    string
		body    []byte
		header  string
		secrets []Secret
		want    error
	}{
		{name: "valid", header: good},
		{name: "surrounding whitespace", header: " \t" + good + "\r\n "},
		{name: "sha256= prefix", header: "sha256=" + good},
		{name: "SHA256= prefix in capitals", header: "SHA256=" + good},
		{name: "uppercase hex", header: strings.ToUpper(good)},
		{name: "rotation: bad then good", header: bad + " " + good},
		{name: "rotation: good then bad", header: good + " " + bad},
		{name: "rotation: comma-separated", header: bad + "," + good},
		{name: "rotation: bad, bad", header: bad + " " + bad, want: ErrSignatureMismatch},
		{name: "rotation: receiver holds old and new secret", header: bad, secrets: []Secret{sigSecret, sigOtherSecret}},
		{name: "known scheme beside an unknown one", header: "sha1=" + hex.EncodeToString(sha1MAC.Sum(nil)) + " sha256=" + good},
		{name: "eight entries, last one good", header: strings.Repeat(bad+" ", MaxSignatures-1) + good},
		{name: "nine entries, first one good", header: good + strings.Repeat(" "+bad, MaxSignatures), want: ErrMalformedSignature},
		{name: "thousands of entries", header: strings.Repeat("a ", 2000), want: ErrMalformedSignature},
		{name: "thousands of commas", header: good + strings.Repeat(",", 4000), want: nil},
		{name: "header over the length cap", header: good + strings.Repeat(" ", MaxSignatureHeaderLength), want: ErrMalformedSignature},
		{name: "huge header", header: strings.Repeat(good, 1<<12), want: ErrMalformedSignature},
		{name: "wrong secret", header: bad, want: ErrSignatureMismatch},
		{name: "one byte of body changed", body: bytes.Replace(sigBody, []byte("42"), []byte("43"), 1), header: good, want: ErrSignatureMismatch},
		{name: "whitespace added to body", body: append(append([]byte(nil), sigBody...), '\n'), header: good, want: ErrSignatureMismatch},
		{name: "empty body", body: []byte{}, header: good, want: ErrSignatureMismatch},
		{name: "one flipped hex digit", header: "0" + good[1:], want: ErrSignatureMismatch},
		{name: "truncated", header: good[:62], want: ErrMalformedSignature},
		{name: "odd length", header: good[:63], want: ErrMalformedSignature},
		{name: "one digit", header: "a", want: ErrMalformedSignature},
		{name: "non-hex", header: good[:63] + "z", want: ErrMalformedSignature},
		{name: "non-ASCII", header: good[:60] + "日本", want: ErrMalformedSignature},
		{name: "NUL bytes", header: strings.Repeat("\x00", 64), want: ErrMalformedSignature},
		{name: "empty", header: "", want: ErrMissingSignature},
		{name: "blank", header: " \t\r\n", want: ErrMissingSignature},
		{name: "separators only", header: " , ,\t", want: ErrMissingSignature},
		{name: "leading commas", header: ",," + good},
		{name: "bare prefix", header: "sha256=", want: ErrMissingSignature},
		{name: "short prefix", header: "sha2", want: ErrMalformedSignature},
		{name: "sha1 scheme", header: "sha1=" + hex.EncodeToString(sha1MAC.Sum(nil)), want: ErrMalformedSignature},
		{name: "sha1 prefix on a valid sha256 MAC", header: "sha1=" + good, want: ErrMalformedSignature},
		{name: "v0 scheme", header: "v0=" + good, want: ErrMalformedSignature},
		{name: "Standard v1 entry", header: "v1," + base64.StdEncoding.EncodeToString(mustHex(good)), want: ErrMalformedSignature},
		{name: "v1, before a valid hex entry", header: "v1," + good}, // comma separates: the hex entry stands alone
		{name: "equals sign only", header: "=", want: ErrMalformedSignature},
		{name: "no secrets", header: good, secrets: []Secret{}, want: ErrNoSecret},
		{name: "nil secret", header: good, secrets: []Secret{""}, want: ErrNoSecret},
		{name: "empty secret among good ones", header: good, secrets: []Secret{sigSecret, ""}, want: ErrNoSecret},
		{name: "short secret", header: Sign("secret", sigBody), secrets: []Secret{"secret"}, want: ErrNoSecret},
		{name: "secret of MinSecretLength bytes", header: Sign("0123456789abcdef", sigBody), secrets: []Secret{"0123456789abcdef"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := tt.body
			if body == nil {
				body = sigBody
			}
			secrets := tt.secrets
			if secrets == nil {
				secrets = []Secret{sigSecret}
			}
			err := sigVerifyBoth(t, body, tt.header, secrets...)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, sigErrorKind(tt.want), sigErrorKind(err), "wraps more than one sentinel")
			require.NotContains(t, err.Error(), string(sigSecret), "error leaks the secret")
			if len(tt.header) > 80 {
				require.NotContains(t, err.Error(), tt.header[:80], "error repeats the header")
			}
		})
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestVerifierRotation(t *testing.T) {
	t.Parallel()
	oldSig := Sign(sigOtherSecret, sigBody)
	during, err := newOnplanaVerifier(sigSecret, sigOtherSecret)
	require.NoError(t, err)
	require.NoError(t, during.verifyBody(sigBody, oldSig), "old secret works during the overlap")
	after, err := newOnplanaVerifier(sigSecret)
	require.NoError(t, err)
	require.ErrorIs(t, after.verifyBody(sigBody, oldSig), ErrSignatureMismatch, "old secret works after removal")
}

func TestVerifierVerifyHeader(t *testing.T) {
	t.Parallel()
	current, previous, other := Sign(sigSecret, sigBody), Sign(sigOtherSecret, sigBody), Sign("whsec_a-third-secret-never-given", sigBody)
	holdsOld, err := newOnplanaVerifier(sigOtherSecret)
	require.NoError(t, err)
	tests := []struct {
		name    string
		header  http.Header
		wantErr error
	}{
		{"match in the previous header", http.Header{"X-Onplana-Signature": {current}, "X-Onplana-Signature-Previous": {previous}}, nil},
		{"match among several previous", http.Header{"X-Onplana-Signature": {current}, "X-Onplana-Signature-Previous": {other + " " + previous}}, nil},
		{"only the previous header", http.Header{"X-Onplana-Signature-Previous": {previous}}, nil},
		{"match in the signature header", http.Header{"X-Onplana-Signature": {previous}}, nil},
		{"no match", http.Header{"X-Onplana-Signature": {current}, "X-Onplana-Signature-Previous": {other}}, ErrSignatureMismatch},
		{"no headers", http.Header{}, ErrMissingSignature},
		{"blank headers", http.Header{"X-Onplana-Signature": {" "}, "X-Onplana-Signature-Previous": {""}}, ErrMissingSignature},
		{"previous header repeated", http.Header{"X-Onplana-Signature": {current}, "X-Onplana-Signature-Previous": {other, previous}}, ErrMalformedSignature},
		{"signature header repeated", http.Header{"X-Onplana-Signature": {current, previous}}, ErrMalformedSignature},
		// The entries of both headers count together against MaxSignatures.
		{"over MaxSignatures in all", http.Header{"X-Onplana-Signature": {current}, "X-Onplana-Signature-Previous": {strings.Repeat(other+" ", MaxSignatures-1) + previous}}, ErrMalformedSignature},
		{"MaxSignatures in all", http.Header{"X-Onplana-Signature": {current}, "X-Onplana-Signature-Previous": {strings.Repeat(other+" ", MaxSignatures-2) + previous}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := holdsOld.verifyHeaderOf(sigBody, tt.header)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestVerifierZeroValue(t *testing.T) {
	t.Parallel()
	var zero onplanaVerifier
	require.ErrorIs(t, zero.verifyBody(sigBody, Sign(sigSecret, sigBody)), ErrNoSecret)
	var nilVerifier *onplanaVerifier
	require.ErrorIs(t, nilVerifier.verifyBody(sigBody, Sign(sigSecret, sigBody)), ErrNoSecret)
	_, err := newOnplanaVerifier()
	require.ErrorIs(t, err, ErrNoSecret)
	_, err = newOnplanaVerifier(sigSecret, "short")
	require.ErrorIs(t, err, ErrNoSecret)
}

func TestVerifierConcurrent(t *testing.T) {
	t.Parallel()
	v, err := newOnplanaVerifier(sigSecret, sigOtherSecret)
	require.NoError(t, err)
	const goroutines, rounds = 8, 200
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				body := []byte(strings.Repeat("x", g*rounds+i))
				secret := sigSecret
				if i%2 == 1 {
					secret = sigOtherSecret
				}
				if err := v.verifyBody(body, Sign(secret, body)); err != nil {
					errs <- err
					return
				}
				if err := v.verifyBody(body, Sign("whsec_a-third-secret-never-given", body)); err == nil {
					errs <- errors.New("accepted a signature made with another secret")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestVerifierDoesNotAllocate(t *testing.T) {
	if signRaceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	v, err := newOnplanaVerifier(sigSecret, sigOtherSecret)
	require.NoError(t, err)
	body := bytes.Repeat([]byte("a"), 1024)
	good, bad := Sign(sigOtherSecret, body), Sign("whsec_a-third-secret-never-given", body)
	for _, header := range []string{good, "sha256=" + good, bad + " " + good} {
		allocs := testing.AllocsPerRun(100, func() {
			if err := v.verifyBody(body, header); err != nil {
				panic(err)
			}
		})
		require.Zero(t, allocs, "header %q", header)
	}
	h := http.Header{DefaultSignatureHeader: {bad}, DefaultPreviousSignatureHeader: {good}}
	allocs := testing.AllocsPerRun(100, func() {
		if err := v.verifyHeaderOf(body, h); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs, "VerifyHeader")
}

// TestMACComparisonIsConstantTime guards R5: MACs are compared only with
// hmac.Equal. A Go SDK once replaced it with bytes.Equal, which returns at the
// first differing byte and lets an attacker forge a MAC byte by byte; no
// functional test notices that change, so this one reads the source.
func TestMACComparisonIsConstantTime(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	hmacEqual := 0
	for _, file := range []string{"verify.go", "standard.go"} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if pkg, ok := n.X.(*ast.Ident); ok {
					switch pkg.Name + "." + n.Sel.Name {
					case "hmac.Equal":
						hmacEqual++
					case "bytes.Equal", "bytes.Compare", "reflect.DeepEqual", "slices.Equal":
						t.Errorf("%s: %s.%s compares in variable time", fset.Position(n.Pos()), pkg.Name, n.Sel.Name)
					}
				}
			case *ast.BinaryExpr:
				// == on strings or arrays would short-circuit too; the MACs are
				// [32]byte and hex/base64 strings, never compared this way.
				if n.Op == token.EQL || n.Op == token.NEQ {
					for _, side := range []ast.Expr{n.X, n.Y} {
						if id, ok := side.(*ast.Ident); ok && (id.Name == "mac" || id.Name == "sigs" || id.Name == "sum") {
							t.Errorf("%s: %s compared with %s", fset.Position(n.Pos()), id.Name, n.Op)
						}
					}
				}
			}
			return true
		})
	}
	require.Equal(t, 1, hmacEqual, "all MAC comparisons go through anyEqual's single hmac.Equal")
}

// TestVerifyHotPathDoesNotAllocate checks the steps of onplanaVerifier.Verify but
// the pool, so that it also runs under the race detector, where the tests
// above skip.
func TestVerifyHotPathDoesNotAllocate(t *testing.T) {
	st := newMACPool([]byte(sigSecret)).get()
	body := bytes.Repeat([]byte("a"), 1024)
	header := Sign(sigOtherSecret, body) + " sha256=" + Sign(sigSecret, body)
	allocs := testing.AllocsPerRun(100, func() {
		var sigs [MaxSignatures][sha256.Size]byte
		n, err := parseSignatureHeader(header, &sigs)
		if n != 2 || err != nil {
			panic("parse")
		}
		st.h.Reset()
		st.h.Write(body)
		if !anyEqual(st.h.Sum(st.sum[:0]), &sigs, n) {
			panic("mismatch")
		}
	})
	require.Zero(t, allocs)
}

func TestParseSignatureHeader(t *testing.T) {
	t.Parallel()
	good := Sign(sigSecret, sigBody)
	mac, err := hex.DecodeString(good)
	require.NoError(t, err)
	var sigs [MaxSignatures][sha256.Size]byte

	n, err := parseSignatureHeader(" sha256="+good+", ,"+strings.ToUpper(good)+"\tsha1=00 ", &sigs)
	require.Equal(t, 2, n)
	require.ErrorIs(t, err, ErrMalformedSignature, "the sha1 entry is reported")
	require.Equal(t, mac, sigs[0][:])
	require.Equal(t, mac, sigs[1][:])

	n, err = parseSignatureHeader(strings.Repeat(good+" ", MaxSignatures), &sigs)
	require.NoError(t, err)
	require.Equal(t, MaxSignatures, n)
}
