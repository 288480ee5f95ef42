package rfc3339

import (
	"fmt"
	"testing"
	"time"
)

// check fails t unless Parse(in) and UnmarshalText agree: both succeed or
// both fail, with results equal under ==.
func check(t testing.TB, in []byte) {
	t.Helper()
	got, gotErr := Parse(in)
	var want time.Time
	wantErr := want.UnmarshalText(in)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("Parse(%q) error %v, UnmarshalText error %v", in, gotErr, wantErr)
	}
	if got == want {
		return
	}
	// Each parse of an offset that is not Local's makes its own FixedZone,
	// so two parses of the same input differ in their Location pointer
	// alone. UTC and Local are shared, and must compare equal.
	gl, wl := got.Location(), want.Location()
	if gl == time.UTC || gl == time.Local || wl == time.UTC || wl == time.Local {
		t.Fatalf("Parse(%q) = %#v, UnmarshalText gives %#v", in, got, want)
	}
	gotName, gotOffset := got.Zone()
	wantName, wantOffset := want.Zone()
	if gotName != wantName || gotOffset != wantOffset || got.UTC() != want.UTC() {
		t.Fatalf("Parse(%q) = %v (%q %d), UnmarshalText gives %v (%q %d)", in, got, gotName, gotOffset, want, wantName, wantOffset)
	}
}

// cases are inputs for the table test and the fuzz corpus. fast says
// whether parseUTC should accept the input itself; the others are left to
// the standard library, valid or not.
var cases = []struct {
	in   string
	fast bool
}{
	{"2026-06-27T09:15:23Z", true},
	{"2026-06-27T09:15:23.1Z", true},
	{"2026-06-27T09:15:23.12Z", true},
	{"2026-06-27T09:15:23.123Z", true},
	{"2026-06-27T09:15:23.1234Z", true},
	{"2026-06-27T09:15:23.12345Z", true},
	{"2026-06-27T09:15:23.123456Z", true},
	{"2026-06-27T09:15:23.1234567Z", true},
	{"2026-06-27T09:15:23.12345678Z", true},
	{"2026-06-27T09:15:23.123456789Z", true},
	{"2026-06-27T09:15:23.0Z", true},
	{"2026-06-27T09:15:23.000000000Z", true},
	{"2026-06-27T09:15:23.999999999Z", true},
	{"2026-06-27T09:15:23.000000001Z", true},
	{"2026-06-27T23:59:59Z", true},
	{"2026-06-27T00:00:00Z", true},
	{"1970-01-01T00:00:00Z", true},
	{"1969-12-31T23:59:59.999999999Z", true},
	{"0001-01-01T00:00:00Z", true}, // the zero Time
	{"0000-01-01T00:00:00Z", true}, // year 0 is accepted
	{"0000-02-29T00:00:00Z", true}, // and is a leap year
	{"0000-12-31T23:59:59.999999999Z", true},
	{"9999-12-31T23:59:59.999999999Z", true},
	{"2024-02-29T12:00:00Z", true},
	{"2000-02-29T12:00:00Z", true},
	{"1600-02-29T12:00:00Z", true},
	{"1900-02-28T12:00:00Z", true},
	{"2100-02-28T12:00:00Z", true},
	{"2023-02-28T12:00:00Z", true},
	{"2026-01-31T00:00:00Z", true},
	{"2026-03-01T00:00:00Z", true},
	{"2026-04-30T00:00:00Z", true},
	{"2026-12-31T00:00:00Z", true},

	// Valid, but not the fast path's shape.
	{"2026-06-27T09:15:23.1234567890Z", false}, // truncated to 9 digits
	{"2026-06-27T09:15:23.12345678901234567890123456789Z", false},
	{"2026-06-27T09:15:23,5Z", false}, // a comma before the fraction
	{"2026-06-27T9:15:23Z", false},    // a one-digit hour
	{"2026-06-27T09:15:23+02:00", false},
	{"2026-06-27T09:15:23.5-07:00", false},
	{"2026-06-27T09:15:23+00:00", false},
	{"2026-06-27T09:15:23-00:00", false},
	{"2026-06-27T09:15:23+23:59", false},
	{"2026-06-27T09:15:23+24:00", false}, // an out-of-range offset
	{"2026-06-27T09:15:23+23:60", false},

	// Invalid.
	{"2023-02-29T12:00:00Z", false},
	{"2100-02-29T12:00:00Z", false},
	{"1900-02-29T12:00:00Z", false},
	{"2024-02-30T12:00:00Z", false},
	{"2026-00-27T09:15:23Z", false},
	{"2026-13-27T09:15:23Z", false},
	{"2026-06-00T09:15:23Z", false},
	{"2026-06-31T09:15:23Z", false},
	{"2026-01-32T09:15:23Z", false},
	{"2026-04-31T09:15:23Z", false},
	{"2026-06-27T24:00:00Z", false},
	{"2026-06-27T09:60:23Z", false},
	{"2026-06-27T09:15:60Z", false}, // no leap seconds
	{"2026-06-27T23:59:60Z", false},
	{"2026-06-27t09:15:23Z", false},
	{"2026-06-27T09:15:23z", false},
	{"2026-06-27t09:15:23z", false},
	{"2026-06-27T09:15:23.z", false},
	{"2026-06-27T09:15:23.Z", false},
	{"2026-06-27T09:15:23.12345a789Z", false},
	{"2026-06-27T09:15:23.-1Z", false},
	{"2026-06-27T09:15:23", false},
	{"2026-06-27T09:15:23ZZ", false},
	{"2026-06-27T09:15:23Z ", false},
	{" 2026-06-27T09:15:23Z", false},
	{"x2026-06-27T09:15:23Z", false},
	{"2026-06-27T09:15:23Zx", false},
	{"2026-06-27T09:15:23.5Zx", false},
	{`"2026-06-27T09:15:23Z"`, false},
	{"2026-06-27 09:15:23Z", false},
	{"2026/06/27T09:15:23Z", false},
	{"2026-06-27T09-15-23Z", false},
	{"2026-06-27T09:15:23+02", false},
	{"2026-06-27", false},
	{"-001-01-01T00:00:00Z", false},
	{"+2026-06-27T09:15:23Z", false},
	{"10000-01-01T00:00:00Z", false},
	{"2026-6-27T09:15:23Z", false},
	{"::::-::-::T::::::::Z", false},
	{"////-//-//T//://://Z", false},
	{"", false},
	{"Z", false},
}

// misspelled are fast-path inputs with one byte replaced by another that
// makes them invalid: a digit by a non-digit ('/' and ':' are the bytes
// either side of the digits), a separator by a digit or another byte.
func misspelled() []string {
	var out []string
	for _, s := range []string{"2026-06-27T09:15:23Z", "2026-06-27T09:15:23.123456789Z"} {
		for i := range len(s) {
			subs := []byte{'/', ':', 'x', ' ', 0, 0xff}
			if s[i] < '0' || s[i] > '9' {
				subs = []byte{'0', '9', 'x', ' ', s[i] | 0x20, s[i] + 1}
			}
			for _, c := range subs {
				if c == s[i] {
					continue
				}
				b := []byte(s)
				b[i] = c
				out = append(out, string(b))
			}
		}
	}
	return out
}

func TestParse(t *testing.T) {
	for _, tc := range cases {
		check(t, []byte(tc.in))
		if _, ok := parseUTC([]byte(tc.in)); ok != tc.fast {
			t.Errorf("parseUTC(%q) ok = %t, want %t", tc.in, ok, tc.fast)
		}
	}
	for _, s := range misspelled() {
		check(t, []byte(s))
		if _, ok := parseUTC([]byte(s)); ok {
			t.Errorf("parseUTC(%q) ok", s)
		}
	}
}

// TestParseEveryDay compares every day of the years 0000 to 9999, and days
// 29 to 31 of every month whether or not they exist, each at a different
// time of day and with 0 to 9 digits of fraction.
func TestParseEveryDay(t *testing.T) {
	step := 1
	if testing.Short() {
		step = 97
	}
	buf := []byte("0000-00-00T00:00:00.000000000")
	var in []byte
	i := 0
	for year := 0; year <= 9999; year += step {
		for month := 1; month <= 12; month++ {
			for day := 1; day <= 31; day++ {
				i++
				put(buf[0:4], year)
				put(buf[5:7], month)
				put(buf[8:10], day)
				put(buf[11:13], i%24)
				put(buf[14:16], i*7%60)
				put(buf[17:19], i*13%60)
				put(buf[20:29], i*7919%1e9)
				n := len("2006-01-02T15:04:05")
				if digits := i % 10; digits > 0 {
					n += 1 + digits
				}
				in = append(append(in[:0], buf[:n]...), 'Z')
				check(t, in)
			}
		}
	}
}

// TestParseEverySecond compares every time of day, and hour 24, minute 60
// and second 60.
func TestParseEverySecond(t *testing.T) {
	buf := []byte("2024-02-29T00:00:00Z")
	for hour := 0; hour <= 24; hour++ {
		for minute := 0; minute <= 60; minute++ {
			for sec := 0; sec <= 60; sec++ {
				put(buf[11:13], hour)
				put(buf[14:16], minute)
				put(buf[17:19], sec)
				check(t, buf)
			}
		}
	}
}

// put writes the low len(b) decimal digits of v into b.
func put(b []byte, v int) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

func TestParseAllocs(t *testing.T) {
	for _, s := range []string{"2026-06-27T09:15:23Z", "2026-06-27T09:15:23.123456789Z"} {
		b := []byte(s)
		if n := testing.AllocsPerRun(100, func() { Parse(b) }); n != 0 {
			t.Errorf("Parse(%q) allocates %v times", s, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range cases {
		f.Add([]byte(tc.in))
	}
	for _, s := range misspelled() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		check(t, in)
	})
}

func BenchmarkParse(b *testing.B) {
	for _, in := range []string{"2026-06-27T09:15:23Z", "2026-06-27T09:15:23.123456789Z"} {
		s := []byte(in)
		b.Run(fmt.Sprintf("in=%s/impl=rfc3339", in), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(s); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("in=%s/impl=stdlib", in), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var t time.Time
				if err := t.UnmarshalText(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
