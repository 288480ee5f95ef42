package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The Standard Webhooks specification's example, also the test vector of its
// reference libraries.
const (
	specSecret    = Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = "1614265330"
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// fixedClock returns a Now function stuck at Unix second sec.
func fixedClock(sec int64) func() time.Time {
	return func() time.Time { return time.Unix(sec, 0) }
}

func TestStandardVectors(t *testing.T) {
	t.Parallel()
	var vf struct {
		Vectors []struct {
			Name      string `json:"name"`
			Secret    Secret `json:"secret"`
			ID        string `json:"id"`
			Timestamp string `json:"timestamp"`
			Body      string `json:"body"`
			Signature string `json:"signature"`
			Now       int64  `json:"now"`
			Valid     bool   `json:"valid"`
			Error     string `json:"error"`
		} `json:"vectors"`
	}
	loadSigJSON(t, "testdata/standard-webhooks.json", &vf)
	require.NotEmpty(t, vf.Vectors)

	for _, v := range vf.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			sv, err := newStandardVerifier(&standardConfig{Now: fixedClock(v.Now)}, v.Secret)
			require.NoError(t, err)
			err = sv.verifyBody([]byte(v.Body), v.ID, v.Timestamp, v.Signature)
			if !v.Valid {
				want := sigSentinels[v.Error]
				require.NotNil(t, want, "unknown error name %q", v.Error)
				require.ErrorIs(t, err, want)
				return
			}
			require.NoError(t, err)
			if strings.Count(v.Signature, " ") == 0 {
				sec, perr := strconv.ParseInt(v.Timestamp, 10, 64)
				require.NoError(t, perr)
				sig, serr := SignStandard(v.Secret, v.ID, time.Unix(sec, 0), []byte(v.Body))
				require.NoError(t, serr)
				require.Equal(t, v.Signature, sig, "SignStandard")
			}
		})
	}
}

func TestSignStandardSpecVector(t *testing.T) {
	t.Parallel()
	sig, err := SignStandard(specSecret, specID, time.Unix(1614265330, 0), []byte(specBody))
	require.NoError(t, err)
	require.Equal(t, specSignature, sig)
	// The prefix is optional, as in the reference libraries.
	sig, err = SignStandard(specSecret[len(SecretPrefix):], specID, time.Unix(1614265330, 0), []byte(specBody))
	require.NoError(t, err)
	require.Equal(t, specSignature, sig)
}

func TestStandardVerifier(t *testing.T) {
	t.Parallel()
	const now = 1614265330
	other := NewSecret()
	otherSig, err := SignStandard(other, specID, time.Unix(now, 0), []byte(specBody))
	require.NoError(t, err)

	tests := []struct {
		name      string
		cfg       standardConfig
		id        string
		timestamp string
		body      string
		signature string
		want      error
	}{
		{name: "valid"},
		{name: "R7: replay one second past the tolerance", cfg: standardConfig{Now: fixedClock(now + 301)}, want: ErrTimestamp},
		{name: "R7: an hour-old replay", cfg: standardConfig{Now: fixedClock(now + 3600)}, want: ErrTimestamp},
		{name: "R7: custom tolerance", cfg: standardConfig{Now: fixedClock(now + 11), Tolerance: 10 * time.Second}, want: ErrTimestamp},
		{name: "R7: within custom tolerance", cfg: standardConfig{Now: fixedClock(now + 10), Tolerance: 10 * time.Second}},
		{name: "R8: dated in the future", cfg: standardConfig{Now: fixedClock(now - 301)}, want: ErrTimestamp},
		{name: "R8: at the future edge", cfg: standardConfig{Now: fixedClock(now - 300)}},
		{name: "R9: timestamp swapped, signature kept", timestamp: strconv.Itoa(now - 1), want: ErrSignatureMismatch},
		{name: "R10: id swapped, signature kept", id: "msg_p5jXN8AQM9LWM0D4loKWxJeX", want: ErrSignatureMismatch},
		{name: "R10: id shifted into the timestamp", id: "msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330", timestamp: "2432232314", want: ErrMessageID},
		{name: "R11: bad then good", signature: otherSig + " " + specSignature},
		{name: "R11: good then bad", signature: specSignature + " " + otherSig},
		{name: "R11: bad, bad", signature: otherSig + " " + otherSig, want: ErrSignatureMismatch},
		{name: "R12: v1a entry with the right MAC", signature: "v1a," + specSignature[3:], want: ErrSignatureMismatch},
		{name: "R12: v2 entry with the right MAC", signature: "v2," + specSignature[3:], want: ErrSignatureMismatch},
		{name: "R12: v0 entry", signature: "v0," + specSignature[3:], want: ErrSignatureMismatch},
		{name: "R12: hex of the right MAC", signature: "v1," + strings.Repeat("ab", 32), want: ErrMalformedSignature},
		{name: "R3: missing signature", signature: "-", want: ErrMissingSignature},
		{name: "R3: empty v1 entry", signature: "v1,", want: ErrMissingSignature},
		{name: "R3: blank", signature: "   ", want: ErrMissingSignature},
		{name: "entry without a version", signature: specSignature[3:], want: ErrMalformedSignature},
		{name: "truncated base64", signature: specSignature[:len(specSignature)-2], want: ErrMalformedSignature},
		{name: "base64 without padding", signature: strings.TrimSuffix(specSignature, "="), want: ErrMalformedSignature},
		{name: "URL-safe base64", signature: "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=", want: ErrMalformedSignature},
		{name: "non-canonical trailing bits", signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", want: ErrMalformedSignature},
		{name: "broken entry beside a good one", signature: "v1,!!! " + specSignature},
		{name: "eight entries, last good", signature: strings.Repeat(otherSig+" ", MaxSignatures-1) + specSignature},
		{name: "nine entries", signature: specSignature + strings.Repeat(" v2,x", MaxSignatures), want: ErrMalformedSignature},
		{name: "thousands of entries", signature: strings.Repeat("v1,a ", 800), want: ErrMalformedSignature},
		{name: "header over the cap", signature: specSignature + strings.Repeat(" ", MaxSignatureHeaderLength), want: ErrMalformedSignature},
		{name: "body changed", body: `{"test": 2432232315}`, want: ErrSignatureMismatch},
		{name: "missing id", id: "-", want: ErrMessageID},
		{name: "id with space", id: "msg 1", want: ErrMessageID},
		{name: "id over the cap", id: strings.Repeat("m", MaxMessageIDLength+1), want: ErrMessageID},
		{name: "missing timestamp", timestamp: "-", want: ErrTimestamp},
		{name: "timestamp with sign", timestamp: "+1614265330", want: ErrTimestamp},
		{name: "timestamp with leading zero", timestamp: "01614265330", want: ErrTimestamp},
		{name: "timestamp in milliseconds", timestamp: "1614265330000", want: ErrTimestamp},
		{name: "timestamp with fraction", timestamp: "1614265330.5", want: ErrTimestamp},
		{name: "timestamp overflowing int64", timestamp: "99999999999999999999", want: ErrTimestamp},
		{name: "timestamp with spaces", timestamp: " 1614265330", want: ErrTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			if cfg.Now == nil {
				cfg.Now = fixedClock(now)
			}
			pick := func(v, def string) string {
				switch v {
				case "":
					return def
				case "-":
					return ""
				}
				return v
			}
			v, err := newStandardVerifier(&cfg, specSecret)
			require.NoError(t, err)
			err = v.verifyBody([]byte(pick(tt.body, specBody)), pick(tt.id, specID), pick(tt.timestamp, specTimestamp), pick(tt.signature, specSignature))
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, sigErrorKind(tt.want), sigErrorKind(err), "wraps more than one sentinel")
		})
	}
}

// TestStandardRetryIsResigned: a retry keeps its id and gets a fresh
// timestamp and signature; the first attempt's headers expire on their own.
func TestStandardRetryIsResigned(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	body := []byte(`{"delivery_id":"dlv_1"}`)
	first, retry := time.Unix(1782551723, 0), time.Unix(1782551723+3600, 0)
	h1, h2 := http.Header{}, http.Header{}
	s := Signer{Scheme: SchemeStandard}
	require.NoError(t, s.SignRequest(h1, []Secret{secret}, "dlv_1", EventPing, first, body))
	require.NoError(t, s.SignRequest(h2, []Secret{secret}, "dlv_1", EventPing, retry, body))
	require.Equal(t, h1.Get(StandardIDHeader), h2.Get(StandardIDHeader))
	require.NotEqual(t, h1.Get(StandardSignatureHeader), h2.Get(StandardSignatureHeader))

	atRetry, err := newStandardVerifier(&standardConfig{Now: func() time.Time { return retry }}, secret)
	require.NoError(t, err)
	require.NoError(t, atRetry.verifyHeaderOf(body, h2))
	require.ErrorIs(t, atRetry.verifyHeaderOf(body, h1), ErrTimestamp)
}

func TestNewStandardVerifierErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     *standardConfig
		secrets []Secret
		field   string
		want    error
	}{
		{name: "no secrets", want: ErrNoSecret},
		{name: "empty secret", secrets: []Secret{""}, want: ErrNoSecret},
		{name: "prefix only", secrets: []Secret{"whsec_"}, want: ErrNoSecret},
		{name: "not base64", secrets: []Secret{"whsec_!!!!"}, want: ErrNoSecret},
		{name: "short key", secrets: []Secret{"whsec_c2hvcnQ="}, want: ErrNoSecret},
		{name: "bad secret after a good one", secrets: []Secret{specSecret, "whsec_!!!!"}, want: ErrNoSecret},
		{name: "negative tolerance", cfg: &standardConfig{Tolerance: -time.Second}, secrets: []Secret{specSecret}, field: "Tolerance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := newStandardVerifier(tt.cfg, tt.secrets...)
			require.Nil(t, v)
			if tt.field != "" {
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tt.field, ve.Field)
				return
			}
			require.ErrorIs(t, err, tt.want)
			for _, s := range tt.secrets {
				if len(s) > len(SecretPrefix) {
					require.NotContains(t, err.Error(), string(s)[len(SecretPrefix):], "error leaks the secret")
				}
			}
		})
	}

	var zero standardVerifier
	require.ErrorIs(t, zero.verifyBody([]byte(specBody), specID, specTimestamp, specSignature), ErrNoSecret)
	var nilVerifier *standardVerifier
	require.ErrorIs(t, nilVerifier.verifyBody([]byte(specBody), specID, specTimestamp, specSignature), ErrNoSecret)
}

func TestVerifyStandardUsesTheClock(t *testing.T) {
	t.Parallel()
	// The spec vector is from 2021: far outside the tolerance today.
	err := VerifyStandard([]byte(specBody), specID, specTimestamp, specSignature, specSecret)
	require.ErrorIs(t, err, ErrTimestamp)

	now := time.Now()
	sig, err := SignStandard(specSecret, specID, now, []byte(specBody))
	require.NoError(t, err)
	require.NoError(t, VerifyStandard([]byte(specBody), specID, strconv.FormatInt(now.Unix(), 10), sig, specSecret))
	require.ErrorIs(t, VerifyStandard([]byte(specBody), specID, strconv.FormatInt(now.Unix(), 10), sig), ErrNoSecret)
}

func TestStandardVerifyHeader(t *testing.T) {
	t.Parallel()
	v, err := newStandardVerifier(&standardConfig{Now: fixedClock(1614265330)}, specSecret)
	require.NoError(t, err)
	h := http.Header{}
	h.Set(StandardIDHeader, specID)
	h.Set(StandardTimestampHeader, specTimestamp)
	h.Set(StandardSignatureHeader, specSignature)
	require.NoError(t, v.verifyHeaderOf([]byte(specBody), h))

	tests := []struct {
		name   string
		header string
		want   error
	}{
		{name: "id sent twice", header: StandardIDHeader, want: ErrMessageID},
		{name: "timestamp sent twice", header: StandardTimestampHeader, want: ErrTimestamp},
		{name: "signature sent twice", header: StandardSignatureHeader, want: ErrMalformedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dup := h.Clone()
			dup.Add(tt.header, dup.Get(tt.header))
			require.ErrorIs(t, v.verifyHeaderOf([]byte(specBody), dup), tt.want)
		})
	}
	missing := h.Clone()
	missing.Del(StandardSignatureHeader)
	require.ErrorIs(t, v.verifyHeaderOf([]byte(specBody), missing), ErrMissingSignature)
}

func TestSignStandardRejectsBadInput(t *testing.T) {
	t.Parallel()
	at := time.Unix(1614265330, 0)
	_, err := SignStandard("whsec_!!!!", specID, at, nil)
	require.ErrorIs(t, err, ErrNoSecret)
	_, err = SignStandard(specSecret, "a.b", at, nil)
	require.ErrorIs(t, err, ErrMessageID)
	_, err = SignStandard(specSecret, "", at, nil)
	require.ErrorIs(t, err, ErrMessageID)
	_, err = SignStandard(specSecret, specID, time.Unix(-1, 0), nil)
	require.ErrorIs(t, err, ErrTimestamp)
}

func TestStandardVerifierDoesNotAllocate(t *testing.T) {
	if signRaceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	v, err := newStandardVerifier(&standardConfig{Now: fixedClock(1614265330)}, NewSecret(), specSecret)
	require.NoError(t, err)
	body := []byte(specBody)
	allocs := testing.AllocsPerRun(100, func() {
		if err := v.verifyBody(body, specID, specTimestamp, specSignature); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}
