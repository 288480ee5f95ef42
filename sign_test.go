package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sigVectorFile is the shape of testdata/signatures.json.
type sigVectorFile struct {
	Vectors []struct {
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		Body      string `json:"body"`
		Signature string `json:"signature"`
		Header    string `json:"header,omitempty"`
	} `json:"vectors"`
	Rejections []struct {
		Name   string `json:"name"`
		Secret string `json:"secret"`
		Body   string `json:"body"`
		Header string `json:"header"`
		Error  string `json:"error"`
	} `json:"rejections"`
}

// sigSentinels maps the error names used in the vector files to the errors.
var sigSentinels = map[string]error{
	"ErrMissingSignature":   ErrMissingSignature,
	"ErrMalformedSignature": ErrMalformedSignature,
	"ErrSignatureMismatch":  ErrSignatureMismatch,
	"ErrNoSecret":           ErrNoSecret,
	"ErrTimestamp":          ErrTimestamp,
	"ErrMessageID":          ErrMessageID,
}

func loadSigJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func TestSignatureVectors(t *testing.T) {
	t.Parallel()
	var vf sigVectorFile
	loadSigJSON(t, "testdata/signatures.json", &vf)
	require.GreaterOrEqual(t, len(vf.Vectors), 8)

	for _, v := range vf.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			secret, body := Secret(v.Secret), []byte(v.Body)
			require.Equal(t, v.Signature, Sign(secret, body), "Sign")
			header := v.Header
			if header == "" {
				header = v.Signature
			}
			require.NoError(t, Verify(body, header, secret), "Verify")
			vr, err := newOnplanaVerifier(secret)
			require.NoError(t, err)
			require.NoError(t, vr.verifyBody(body, header), "onplanaVerifier.Verify")
		})
	}
	for _, r := range vf.Rejections {
		t.Run("reject/"+r.Name, func(t *testing.T) {
			t.Parallel()
			want := sigSentinels[r.Error]
			require.NotNil(t, want, "unknown error name %q", r.Error)
			err := Verify([]byte(r.Body), r.Header, Secret(r.Secret))
			require.ErrorIs(t, err, want, "Verify")
			vr, verr := newOnplanaVerifier(Secret(r.Secret))
			require.NoError(t, verr)
			require.ErrorIs(t, vr.verifyBody([]byte(r.Body), r.Header), want, "onplanaVerifier.Verify")
		})
	}
}

func TestSignIsHexHMACOfRawBytes(t *testing.T) {
	t.Parallel()
	// The GitHub documentation's example, an outside known answer.
	got := Sign("It's a Secret to Everybody", []byte("Hello, World!"))
	require.Equal(t, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", got)
	// Signing the same logical JSON with other bytes gives another signature.
	key := NewSecret()
	require.NotEqual(t, Sign(key, []byte(`{"a":1,"b":2}`)), Sign(key, []byte(`{"b":2,"a":1}`)))
	require.NotEqual(t, Sign(key, []byte(`{"a":1}`)), Sign(key, []byte(`{"a": 1}`)))
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	seen := make(map[Secret]bool)
	for range 100 {
		s := NewSecret()
		require.True(t, strings.HasPrefix(string(s), SecretPrefix))
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(string(s), SecretPrefix))
		require.NoError(t, err)
		require.Len(t, raw, 32)
		require.False(t, seen[s], "NewSecret repeated a secret")
		seen[s] = true
	}

	s := NewSecret()
	for _, format := range []string{"%v", "%s", "%+v", "%#v", "%q"} {
		require.NotContains(t, fmt.Sprintf(format, s), string(s)[len(SecretPrefix):], format)
	}
	// Usable by both schemes.
	body := []byte(`{"event":"webhook.ping"}`)
	require.NoError(t, Verify(body, Sign(s, body), s))
	now := time.Unix(1782551723, 0)
	sig, err := SignStandard(s, "msg_1", now, body)
	require.NoError(t, err)
	v, err := newStandardVerifier(&standardConfig{Now: func() time.Time { return now }}, s)
	require.NoError(t, err)
	require.NoError(t, v.verifyBody(body, "msg_1", "1782551723", sig))
}

func TestSignerOnplana(t *testing.T) {
	t.Parallel()
	current, previous, older := NewSecret(), NewSecret(), NewSecret()
	body := []byte(`{"delivery_id":"dlv_1","event":"task.created","data":{}}`)

	h := http.Header{}
	err := Signer{}.SignRequest(h, []Secret{current, previous, older}, "dlv_1", EventTaskCreated, time.Now(), body)
	require.NoError(t, err)
	require.Equal(t, "task.created", h.Get(DefaultEventHeader))
	require.Equal(t, []string{Sign(current, body)}, h.Values(DefaultSignatureHeader),
		"exactly one value, the newest secret's, whatever the rotation state")
	prev := h.Get(DefaultPreviousSignatureHeader)
	require.Equal(t, Sign(previous, body)+" "+Sign(older, body), prev, "older secrets, newest first, space-separated")
	require.Empty(t, h.Get(StandardIDHeader), "the Onplana scheme writes no Standard headers")

	// A receiver holding any of the secrets verifies with both headers
	// (S14); one holding neither does not.
	for _, s := range []Secret{current, previous, older} {
		v, err := newOnplanaVerifier(s)
		require.NoError(t, err)
		require.NoError(t, v.verifyHeaderOf(body, h))
		require.NoError(t, Verify(body, h.Get(DefaultSignatureHeader)+" "+prev, s))
	}
	v, err := newOnplanaVerifier(NewSecret())
	require.NoError(t, err)
	require.ErrorIs(t, v.verifyHeaderOf(body, h), ErrSignatureMismatch)

	// With one secret there is no previous-signatures header, even if the
	// header map held one before.
	require.NoError(t, Signer{}.SignRequest(h, []Secret{current}, "dlv_1", EventTaskCreated, time.Now(), body))
	require.Equal(t, []string{Sign(current, body)}, h.Values(DefaultSignatureHeader))
	require.Empty(t, h.Values(DefaultPreviousSignatureHeader))

	// Custom header names (a product embedding the SDK under its own brand).
	h = http.Header{}
	s := Signer{EventHeader: "X-Acme-Event", SignatureHeader: "X-Acme-Signature", PreviousSignatureHeader: "X-Acme-Signature-Old"}
	require.NoError(t, s.SignRequest(h, []Secret{current, previous}, "dlv_1", EventTaskCreated, time.Now(), body))
	require.Equal(t, "task.created", h.Get("X-Acme-Event"))
	require.Equal(t, Sign(current, body), h.Get("X-Acme-Signature"))
	require.Equal(t, Sign(previous, body), h.Get("X-Acme-Signature-Old"))
	require.Empty(t, h.Get(DefaultSignatureHeader))
	require.Empty(t, h.Get(DefaultPreviousSignatureHeader))
}

func TestSignerStandard(t *testing.T) {
	t.Parallel()
	current, previous := NewSecret(), NewSecret()
	body := []byte(`{"delivery_id":"dlv_1","event":"task.created","data":{}}`)
	at := time.Unix(1782551723, 999_000_000) // sub-second part is dropped

	h := http.Header{}
	err := Signer{Scheme: SchemeStandard}.SignRequest(h, []Secret{current, previous}, "dlv_1", EventTaskCreated, at, body)
	require.NoError(t, err)
	require.Equal(t, "dlv_1", h.Get(StandardIDHeader))
	require.Equal(t, "1782551723", h.Get(StandardTimestampHeader))
	require.Equal(t, "task.created", h.Get(DefaultEventHeader))
	entries := strings.Split(h.Get(StandardSignatureHeader), " ")
	require.Len(t, entries, 2)
	for i, s := range []Secret{current, previous} {
		want, err := SignStandard(s, "dlv_1", at, body)
		require.NoError(t, err)
		require.Equal(t, want, entries[i])
	}

	now := func() time.Time { return at }
	for _, s := range []Secret{current, previous} {
		v, err := newStandardVerifier(&standardConfig{Now: now}, s)
		require.NoError(t, err)
		require.NoError(t, v.verifyHeaderOf(body, h))
	}
	v, err := newStandardVerifier(&standardConfig{Now: now}, NewSecret())
	require.NoError(t, err)
	require.ErrorIs(t, v.verifyHeaderOf(body, h), ErrSignatureMismatch)
}

func TestSignerRejectsBadInput(t *testing.T) {
	t.Parallel()
	type args struct {
		signer  Signer
		secrets []Secret
		id      string
		typ     EventType
		at      time.Time
	}
	nine := make([]Secret, MaxSignatures+1)
	for i := range nine {
		nine[i] = NewSecret()
	}
	tests := []struct {
		name   string
		mutate func(a *args)
		field  string // the *ValidationError's Field, or "" to check want
		want   error
	}{
		{name: "no secrets", mutate: func(a *args) { a.secrets = nil }, want: ErrNoSecret},
		{name: "empty secret", mutate: func(a *args) { a.secrets = []Secret{""} }, want: ErrNoSecret},
		{name: "short secret after a good one", mutate: func(a *args) { a.secrets = append(a.secrets, "short") }, want: ErrNoSecret},
		{name: "too many secrets", mutate: func(a *args) { a.secrets = nine }, field: "Secrets"},
		{name: "unknown scheme", mutate: func(a *args) { a.signer.Scheme = "sha1" }, field: "Scheme"},
		{name: "event header with space", mutate: func(a *args) { a.signer.EventHeader = "X Event" }, field: "EventHeader"},
		{name: "event header with newline", mutate: func(a *args) { a.signer.EventHeader = "X-Event\r\nX-Evil" }, field: "EventHeader"},
		{name: "signature header with colon", mutate: func(a *args) { a.signer.SignatureHeader = "X-Sig:" }, field: "SignatureHeader"},
		{name: "same header twice", mutate: func(a *args) { a.signer.EventHeader = "x-onplana-signature" }, field: "EventHeader"},
		{name: "previous header invalid", mutate: func(a *args) { a.signer.PreviousSignatureHeader = "X Prev" }, field: "PreviousSignatureHeader"},
		{name: "previous header same as signature header", mutate: func(a *args) { a.signer.PreviousSignatureHeader = "x-onplana-signature" }, field: "PreviousSignatureHeader"},
		{name: "previous header same as event header", mutate: func(a *args) { a.signer.EventHeader = "X-Onplana-Signature-Previous" }, field: "EventHeader"},
		{name: "empty event type", mutate: func(a *args) { a.typ = "" }, field: "EventType"},
		{name: "event type with newline", mutate: func(a *args) { a.typ = "task.created\r\nX-Evil: 1" }, field: "EventType"},
		{name: "standard: event header collides", mutate: func(a *args) {
			a.signer = Signer{Scheme: SchemeStandard, EventHeader: "Webhook-Id"}
		}, field: "EventHeader"},
		{name: "standard: id with dot", mutate: func(a *args) { a.signer.Scheme, a.id = SchemeStandard, "dlv.1" }, want: ErrMessageID},
		{name: "standard: empty id", mutate: func(a *args) { a.signer.Scheme, a.id = SchemeStandard, "" }, want: ErrMessageID},
		{name: "standard: zero time", mutate: func(a *args) { a.signer.Scheme, a.at = SchemeStandard, time.Time{} }, want: ErrTimestamp},
		{name: "standard: secret not base64", mutate: func(a *args) {
			a.signer.Scheme, a.secrets = SchemeStandard, []Secret{"whsec_not base64!"}
		}, want: ErrNoSecret},
		{name: "standard: secret too short", mutate: func(a *args) {
			a.signer.Scheme, a.secrets = SchemeStandard, []Secret{"whsec_c2hvcnQ="}
		}, want: ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := args{secrets: []Secret{NewSecret()}, id: "dlv_1", typ: EventTaskCreated, at: time.Unix(1782551723, 0)}
			tt.mutate(&a)
			h := http.Header{"Keep": {"me"}}
			err := a.signer.SignRequest(h, a.secrets, a.id, a.typ, a.at, []byte(`{}`))
			require.Error(t, err)
			if tt.field != "" {
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tt.field, ve.Field)
			} else {
				require.ErrorIs(t, err, tt.want)
			}
			require.Equal(t, http.Header{"Keep": {"me"}}, h, "header changed on error")
		})
	}

	err := Signer{}.SignRequest(nil, []Secret{NewSecret()}, "dlv_1", EventTaskCreated, time.Now(), nil)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "Header", ve.Field)
}

// TestSignatureVectorsNode checks the vector files, and fresh output of Sign
// and Signer.SignRequest, with testdata/node/verify.js: the receiver snippet
// of the Onplana guide and an independent Standard Webhooks verifier, run by
// Node.js.
func TestSignatureVectorsNode(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found in PATH: skipping the cross-check with the Node.js receiver snippet (testdata/node/verify.js)")
	}

	// Fresh vectors: every golden payload (and a few odd bodies) signed by
	// this package, as a delivery during a rotation sends them.
	bodies := map[string]string{
		"empty":   "",
		"unicode": `{"event":"comment.created","data":{"comment":{"body":"Grüße – 計画 🚀"}}}`,
		"spaces":  "{ \"event\" : \"webhook.ping\" ,\n\t\"data\" : { } }\n",
		"large":   `{"data":"` + strings.Repeat("x", 256<<10) + `"}`,
	}
	golden, err := filepath.Glob("testdata/events/*.json")
	require.NoError(t, err)
	for _, path := range golden {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		bodies[filepath.Base(path)] = string(b)
	}
	type onplanaVector struct {
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		Body      string `json:"body"`
		Signature string `json:"signature"`
		Header    string `json:"header"`
	}
	type standardVector struct {
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Body      string `json:"body"`
		Signature string `json:"signature"`
		Now       int64  `json:"now"`
		Valid     bool   `json:"valid"`
	}
	var onplana, rejections []onplanaVector
	var standard []standardVector
	at := time.Unix(1782551723, 0)
	for name, body := range bodies {
		current, previous := NewSecret(), NewSecret()
		h := http.Header{}
		require.NoError(t, Signer{}.SignRequest(h, []Secret{current, previous}, "dlv_1", EventPing, at, []byte(body)))
		// During a rotation the guide's snippet, unchanged, verifies
		// X-Onplana-Signature with the current secret, and the previous
		// header's entry with the previous one; the previous secret
		// against X-Onplana-Signature is a rejection.
		onplana = append(onplana,
			onplanaVector{Name: "fresh/" + name, Secret: string(current), Body: body,
				Signature: Sign(current, []byte(body)), Header: h.Get(DefaultSignatureHeader)},
			onplanaVector{Name: "fresh previous/" + name, Secret: string(previous), Body: body,
				Signature: Sign(previous, []byte(body)), Header: h.Get(DefaultPreviousSignatureHeader)})
		rejections = append(rejections, onplanaVector{Name: "fresh, previous secret/" + name, Secret: string(previous), Body: body,
			Header: h.Get(DefaultSignatureHeader)})
		h = http.Header{}
		require.NoError(t, Signer{Scheme: SchemeStandard}.SignRequest(h, []Secret{current, previous}, "dlv_1", EventPing, at, []byte(body)))
		for _, s := range []Secret{current, previous} {
			standard = append(standard, standardVector{Name: "fresh/" + name, Secret: string(s), ID: h.Get(StandardIDHeader),
				Timestamp: h.Get(StandardTimestampHeader), Body: body, Signature: h.Get(StandardSignatureHeader), Now: at.Unix(), Valid: true})
		}
	}
	dir := t.TempDir()
	write := func(name string, v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o600))
		return path
	}
	freshOnplana := write("onplana.json", map[string]any{"vectors": onplana, "rejections": rejections})
	freshStandard := write("standard.json", map[string]any{"vectors": standard})

	runs := []struct{ name, scheme, file string }{
		{"signatures.json", "onplana", "testdata/signatures.json"},
		{"standard-webhooks.json", "standard", "testdata/standard-webhooks.json"},
		{"fresh Sign output", "onplana", freshOnplana},
		{"fresh SignStandard output", "standard", freshStandard},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, node, "testdata/node/verify.js", r.scheme, r.file).CombinedOutput()
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				t.Fatalf("node disagrees:\n%s", out)
			}
			require.NoError(t, err, "running node: %s", out)
			require.Contains(t, string(out), "vectors agree")
		})
	}
}
