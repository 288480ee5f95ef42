// Package rfc3339 parses RFC 3339 timestamps as [time.Time.UnmarshalText]
// does, faster for the shape that senders almost always use: a UTC time
// with an upper-case 'T' and 'Z' and at most nine digits of fraction, such
// as "2026-06-27T09:15:23Z" or "2026-06-27T09:15:23.123456789Z".
//
// For every input, [Parse] returns the same [time.Time], comparable with ==,
// and fails exactly when UnmarshalText fails, because any other input is
// handed to UnmarshalText itself.
package rfc3339

import "time"

// Parse parses b, the bytes of an RFC 3339 time without JSON quotes, exactly
// as (*time.Time).UnmarshalText does: the result equals, with ==, the time
// that UnmarshalText stores, and the error is nil exactly when UnmarshalText
// returns nil. A time of the form "2006-01-02T15:04:05Z" or
// "2006-01-02T15:04:05.999999999Z" (one to nine digits of fraction) is
// parsed without allocating and without a call to [time.Date]; any other
// input, including an invalid one, is parsed by UnmarshalText, whose error
// Parse returns.
func Parse(b []byte) (time.Time, error) {
	if t, ok := parseUTC(b); ok {
		return t, nil
	}
	var t time.Time
	err := t.UnmarshalText(b)
	return t, err
}

// daysInMonth holds the number of days of each month of a common year,
// indexed by month.
var daysInMonth = [13]uint{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// daysSinceMarch holds the number of days from 1 March to the first day of
// each month, indexed by month, counting January and February as the last
// months of the year that starts in March.
var daysSinceMarch = [13]uint{0, 306, 337, 0, 31, 61, 92, 122, 153, 184, 214, 245, 275}

// pow10 scales a fraction of n digits to nanoseconds: pow10[9-n].
var pow10 = [10]int{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// parseUTC parses b if it has the fast path's shape and every field is in
// the range the standard library accepts. Otherwise it reports false, and
// the standard library decides, so that its quirks (such as a comma before
// the fraction, or one-digit hours) need no copy here.
func parseUTC(b []byte) (time.Time, bool) {
	n := len(b)
	// The fraction, when present, has 1 to 9 digits: the standard library
	// truncates more rather than reject them, which is left to it.
	if n != len("2006-01-02T15:04:05Z") && (n < len("2006-01-02T15:04:05.9Z") || n > len("2006-01-02T15:04:05.999999999Z")) {
		return time.Time{}, false
	}
	// An array pointer spares the bounds checks of the fixed positions.
	p := (*[len("2006-01-02T15:04:05")]byte)(b)
	if p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' || b[n-1] != 'Z' {
		return time.Time{}, false
	}
	var bad uint
	year := num2(p[0], p[1], &bad)*100 + num2(p[2], p[3], &bad)
	month := num2(p[5], p[6], &bad)
	day := num2(p[8], p[9], &bad)
	hour := num2(p[11], p[12], &bad)
	minute := num2(p[14], p[15], &bad)
	sec := num2(p[17], p[18], &bad)
	if bad > 15 {
		return time.Time{}, false
	}

	// The standard library accepts years 0000 to 9999, year 0 included (a
	// leap year in the proleptic Gregorian calendar), and rejects second 60:
	// it has no leap seconds.
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	if dim := daysInMonth[month]; day > dim {
		leap := year%4 == 0 && (year%100 != 0 || year%400 == 0)
		if month != 2 || !leap || day != 29 {
			return time.Time{}, false
		}
	}

	var nsec int
	if n > len("2006-01-02T15:04:05Z") {
		if b[19] != '.' {
			return time.Time{}, false
		}
		for _, c := range b[len("2006-01-02T15:04:05.") : n-1] {
			d := c - '0'
			if d > 9 {
				return time.Time{}, false
			}
			nsec = nsec*10 + int(d)
		}
		nsec *= pow10[len("2006-01-02T15:04:05.999999999Z")-n]
	}

	// Days since 1970-01-01 from the civil date, with years that start in
	// March so that the leap day is the last day of its year and the days
	// before a month do not depend on the year. The year is moved on by one
	// 400-year cycle of 146097 days, which leaves the calendar unchanged, so
	// that the year before year 0 is not negative; then y/400 is c/4.
	y := year + 400
	if month <= 2 {
		y--
	}
	c := y / 100
	days := int64(365*y+y/4-c+c/4+daysSinceMarch[month]+day-1) - (719468 + 146097)

	unix := days*86400 + int64(hour*3600+minute*60+sec)
	// time.Unix and then UTC encode the time as time.Date in time.UTC does,
	// with a nil Location, so the results compare equal with ==.
	return time.Unix(unix, int64(nsec)).UTC(), true
}

// num2 returns the value of the decimal digits hi and lo. So that a time's
// digits need one test rather than one each, it ORs into bad each byte's
// distance from '0' plus 6: 6 to 15 for a digit, above 15 for anything else,
// so bad stays below 16 only while every byte is a digit.
func num2(hi, lo byte, bad *uint) uint {
	h, l := hi-'0', lo-'0'
	*bad |= (uint(h) + 6) | (uint(l) + 6)
	return uint(h)*10 + uint(l)
}
