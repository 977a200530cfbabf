package manifest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TS is a point in time that marshals to JSON as a number of seconds since
// the Unix epoch with microsecond precision, like Zeek's ts:
// 1700000000.123456. The zero TS marshals as 0 and 0 unmarshals to the zero
// TS. Unmarshalling parses the digits exactly (no float64 rounding).
type TS struct {
	time.Time
}

// MarshalJSON implements json.Marshaler.
func (t TS) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("0"), nil
	}
	return appendMicros(nil, t.UnixMicro()), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *TS) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	us, err := parseMicros(b)
	if err != nil {
		return fmt.Errorf("manifest: ts %q: %w", b, err)
	}
	if us == 0 {
		t.Time = time.Time{}
		return nil
	}
	t.Time = time.UnixMicro(us).UTC()
	return nil
}

// Duration is a time span that marshals to JSON as seconds with microsecond
// precision, like Zeek's interval: 1.500000.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return appendMicros(nil, time.Duration(d).Microseconds()), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	us, err := parseMicros(b)
	if err != nil {
		return fmt.Errorf("manifest: duration %q: %w", b, err)
	}
	*d = Duration(time.Duration(us) * time.Microsecond)
	return nil
}

// appendMicros formats us microseconds as seconds with six decimals.
func appendMicros(b []byte, us int64) []byte {
	neg := us < 0
	u := uint64(us)
	if neg {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/1e6, 10)
	b = append(b, '.')
	frac := strconv.AppendUint(make([]byte, 0, 6), u%1e6, 10)
	for range 6 - len(frac) {
		b = append(b, '0')
	}
	return append(b, frac...)
}

// parseMicros parses a JSON number of seconds into microseconds, exactly for
// up to six decimals (further digits are truncated). Exponent forms go
// through float64.
func parseMicros(b []byte) (int64, error) {
	if bytes.ContainsAny(b, "eE") {
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return 0, err
		}
		return int64(f * 1e6), nil
	}
	s := string(b)
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" {
		return 0, strconv.ErrSyntax
	}
	sec, err := strconv.ParseUint(intPart, 10, 63)
	if err != nil {
		return 0, err
	}
	if len(frac) > 6 {
		frac = frac[:6]
	}
	var us uint64
	if frac != "" {
		us, err = strconv.ParseUint(frac, 10, 32)
		if err != nil {
			return 0, err
		}
		for range 6 - len(frac) {
			us *= 10
		}
	}
	if sec > (1<<63-1-us)/1e6 {
		return 0, strconv.ErrRange
	}
	v := int64(sec*1e6 + us)
	if neg {
		v = -v
	}
	return v, nil
}
