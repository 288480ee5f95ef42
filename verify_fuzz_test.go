package webhook

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// The fuzz targets check two properties on any input: nothing panics, and
// nothing verifies unless the header really holds the MAC of the body under
// the verifier's secret (so a signature made with another secret never
// passes). They also check that the package function and the pooled
// verifier agree, and that every error wraps one of the exported sentinels.

var fuzzOtherSecret = Secret("whsec_a-different-secret-for-fuzzing")

// onlySentinels fails unless err is nil or wraps one of the allowed sentinels.
func onlySentinels(t *testing.T, err error, allowed ...error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range allowed {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error wraps no sentinel: %v", err)
}

func FuzzVerify(f *testing.F) {
	body := []byte(`{"event":"task.updated","data":{}}`)
	good, other := Sign(sigSecret, body), Sign(fuzzOtherSecret, body)
	for _, h := range []string{
		good, "sha256=" + good, strings.ToUpper(good), other, other + " " + good, good + "," + other,
		"", " ", "sha256=", "sha1=" + good, "v0=" + good, "v1," + good, good[:63], good[:62], good + "0",
		strings.Repeat(good+" ", MaxSignatures+1), strings.Repeat("=", 100), "sha256=sha256=" + good, "\x00\xff",
		"\n" + other, "\v" + strings.ToUpper(good), // whitespace Verify trims
	} {
		f.Add(body, h)
	}
	f.Add([]byte{}, Sign(sigSecret, nil))
	f.Add([]byte("\xff\xfe"), Sign(sigSecret, []byte("\xff\xfe")))

	v, err := newOnplanaVerifier(sigSecret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		err := Verify(body, header, sigSecret)
		onlySentinels(t, err, ErrMissingSignature, ErrMalformedSignature, ErrSignatureMismatch)
		if sigErrorKind(err) != sigErrorKind(v.verifyBody(body, header)) {
			t.Fatalf("Verify and onplanaVerifier.Verify disagree on %q", header)
		}
		if err == nil && !headerHoldsHex(header, Sign(sigSecret, body)) {
			t.Fatalf("accepted %q, which does not hold the body's MAC", header)
		}
		if Verify(body, header, fuzzOtherSecret) == nil && !headerHoldsHex(header, Sign(fuzzOtherSecret, body)) {
			t.Fatalf("other secret accepted %q, which does not hold its MAC", header)
		}
		if len(header) > MaxSignatureHeaderLength && err == nil {
			t.Fatalf("accepted a header of %d bytes", len(header))
		}
	})
}

// headerHoldsHex reports whether one entry of header, less an optional
// sha256= prefix, is mac in any letter case.
func headerHoldsHex(header, mac string) bool {
	// Any space separates, as Verify trims the header with strings.TrimSpace
	// (a leading newline or vertical tab included).
	for _, e := range strings.FieldsFunc(header, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		if len(e) > len(signaturePrefix) && strings.EqualFold(e[:len(signaturePrefix)], signaturePrefix) {
			e = e[len(signaturePrefix):]
		}
		if strings.EqualFold(e, mac) {
			return true
		}
	}
	return false
}

func FuzzVerifyStandard(f *testing.F) {
	other, err := SignStandard(Secret(base64.StdEncoding.EncodeToString([]byte(fuzzOtherSecret))), specID, time.Unix(1614265330, 0), []byte(specBody))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		specSignature, other, other + " " + specSignature, "v1a," + specSignature[3:], "v2," + specSignature[3:],
		"v1,", "v1", ",", "", "v1," + specSignature[3:43], specSignature + " v1,!!!", strings.Repeat(specSignature+" ", 9),
	} {
		f.Add([]byte(specBody), specID, specTimestamp, s)
	}
	f.Add([]byte(specBody), specID+".1", "1614265330", specSignature)
	f.Add([]byte(specBody), specID, "01614265330", specSignature)
	f.Add([]byte(specBody), specID, "1614265331", specSignature)
	f.Add([]byte(specBody), specID, "-1", specSignature)
	f.Add([]byte{}, "", "", "")

	v, err := newStandardVerifier(&standardConfig{Now: fixedClock(1614265330)}, specSecret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, id, timestamp, signature string) {
		err := v.verifyBody(body, id, timestamp, signature)
		onlySentinels(t, err, ErrMessageID, ErrTimestamp, ErrMissingSignature, ErrMalformedSignature, ErrSignatureMismatch)
		if err != nil {
			return
		}
		sec, ok := parseUnix(timestamp)
		if !ok {
			t.Fatalf("accepted timestamp %q", timestamp)
		}
		want, serr := SignStandard(specSecret, id, time.Unix(sec, 0), body)
		if serr != nil {
			t.Fatalf("accepted id %q that SignStandard refuses: %v", id, serr)
		}
		if !slices.Contains(strings.Fields(signature), want) {
			t.Fatalf("accepted %q, which does not hold %q", signature, want)
		}
	})
}

// parseUnix is an independent strict parser of a webhook-timestamp.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 18 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n int64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// FuzzSignatureHeader fuzzes both header parsers alone: bounded output, no
// panic, every decoded signature present in the header.
func FuzzSignatureHeader(f *testing.F) {
	good := Sign(sigSecret, []byte("x"))
	for _, h := range []string{
		good, "sha256=" + good, good + " " + good, specSignature, specSignature + " v2,abc", "v1,", "sha256=",
		strings.Repeat("v1,"+specSignature[3:]+" ", 10), strings.Repeat(",", 5000), "\t\r\n", "=,=,=",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		var sigs [MaxSignatures][sha256.Size]byte
		n, err := parseSignatureHeader(header, &sigs)
		checkParsed(t, header, n, err)
		want, wantErr := referenceParse(header)
		if n != len(want) || sigErrorKind(err) != sigErrorKind(wantErr) {
			t.Fatalf("parsed %q to %d signatures, %v; the reference parser to %d, %v", header, n, err, len(want), wantErr)
		}
		for i := range n {
			if !slices.Equal(sigs[i][:], want[i]) {
				t.Fatalf("signature %d of %q: %x, want %x", i, header, sigs[i], want[i])
			}
		}
		n, err = parseStandardHeader(header, &sigs)
		checkParsed(t, header, n, err)
		for i := range n {
			if !strings.Contains(header, "v1,"+base64.StdEncoding.EncodeToString(sigs[i][:])) {
				t.Fatalf("decoded %x, not in %q", sigs[i], header)
			}
		}
	})
}

// referenceParse is a plain, allocating restatement of the Onplana header
// grammar that parseSignatureHeader's fast path must agree with.
func referenceParse(header string) (sigs [][]byte, err error) {
	if len(header) > MaxSignatureHeaderLength {
		return nil, ErrMalformedSignature
	}
	fields := strings.FieldsFunc(strings.TrimSpace(header), func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	switch {
	case len(fields) == 0:
		return nil, ErrMissingSignature
	case len(fields) > MaxSignatures:
		return nil, ErrMalformedSignature
	}
	for _, f := range fields {
		var e error
		if i := strings.IndexByte(f, '='); i >= 0 {
			if !strings.EqualFold(f[:i+1], "sha256=") {
				e = ErrMalformedSignature
			}
			f = f[i+1:]
		}
		if e == nil && f == "" {
			e = ErrMissingSignature
		}
		if e == nil {
			b, derr := hex.DecodeString(f)
			if derr != nil || len(b) != sha256.Size {
				e = ErrMalformedSignature
			} else {
				sigs = append(sigs, b)
			}
		}
		if e != nil && err == nil {
			err = e
		}
	}
	return sigs, err
}

func checkParsed(t *testing.T, header string, n int, err error) {
	t.Helper()
	onlySentinels(t, err, ErrMissingSignature, ErrMalformedSignature, ErrSignatureMismatch)
	switch {
	case n < 0 || n > MaxSignatures:
		t.Fatalf("%d signatures decoded", n)
	case n == 0 && err == nil:
		t.Fatal("nothing decoded and no error")
	case len(header) > MaxSignatureHeaderLength && n != 0:
		t.Fatalf("decoded %d signatures from a header of %d bytes", n, len(header))
	}
}
