package sink

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	// maxNameBytes caps a file name on disk (before the ".part" suffix,
	// which keeps the temporary name under NAME_MAX = 255 as well).
	maxNameBytes = 200
	// maxExtBytes is the longest extension (dot included) kept when a name
	// is shortened or suffixed; a longer one is treated as part of the stem.
	maxExtBytes = 16
	partSuffix  = ".part"
)

// SafeName turns a file name taken from the wire into a single, harmless
// path element, or "" when nothing usable is left (the sink then generates
// "<fuid>.<sniffed extension>", or "<fuid>.bin").
//
// Steps, in order:
//  1. invalid UTF-8 bytes become '_';
//  2. control characters (C0, DEL, C1) are dropped; Unicode line/paragraph
//     separators and bidirectional controls (U+202E etc., which make
//     "gpj.exe" display as "exe.jpg") become '_';
//  3. the name is normalised to NFC;
//  4. only the last path element is kept, splitting on both '/' and '\'
//     (trailing separators are ignored: "a/" gives "a");
//  5. the characters < > : " | ? * become '_';
//  6. leading and trailing dots and spaces are stripped; "", "." and ".."
//     give "";
//  7. Windows device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9, also with
//     superscript digits, CONIN$, CONOUT$), whatever the case and the
//     extension, get a '_' prefix: "con.txt" gives "_con.txt";
//  8. the result is cut to 200 bytes on a UTF-8 boundary, keeping an
//     extension of up to 16 bytes;
//  9. a final ".part" (any case) becomes "_part", so that a name ending in
//     ".part" always means a file the sink has not finished.
//
// The result is valid UTF-8, NFC, at most 200 bytes, and contains no '/',
// '\', NUL or control character. It is not unique: the sink adds "-1",
// "-2"... when a name is already taken.
func SafeName(wire string) string {
	var b strings.Builder
	b.Grow(len(wire))
	for i := 0; i < len(wire); {
		r, size := utf8.DecodeRuneInString(wire[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteByte('_')
		case unicode.IsControl(r):
			// dropped
		case isBidiOrSeparator(r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	s := norm.NFC.String(b.String())

	s = strings.TrimRight(s, `/\`)
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`<>:"|?*`, r) {
			return '_'
		}
		return r
	}, s)
	s = strings.Trim(s, ". ")
	if s == "" {
		return ""
	}
	if isReserved(s) {
		s = "_" + s
	}
	s = capName(s, maxNameBytes)
	if n := len(s) - len(partSuffix); n > 0 && strings.EqualFold(s[n:], partSuffix) {
		s = s[:n] + "_" + s[n+1:]
	}
	return s
}

func isBidiOrSeparator(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f',
		r >= '\u202a' && r <= '\u202e',
		r >= '\u2066' && r <= '\u2069',
		r == '\u2028', r == '\u2029':
		return true
	}
	return false
}

// isReserved reports whether Windows treats name as a device: its part
// before the first dot, trailing spaces removed, is a device name.
func isReserved(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.ToUpper(strings.TrimRight(stem, " "))
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(stem) >= 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) {
		switch stem[3:] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}

// splitExt splits name into stem and extension (with its dot). The
// extension is the text from the last dot, if the stem before it is not
// empty and the extension is 2..maxExtBytes bytes long.
func splitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || len(name)-i < 2 || len(name)-i > maxExtBytes {
		return name, ""
	}
	return name[:i], name[i:]
}

// capName cuts name to at most max bytes on a UTF-8 boundary, keeping its
// extension.
func capName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	stem, ext := splitExt(name)
	stem = strings.TrimRight(cutUTF8(stem, max-len(ext)), ". ")
	if stem == "" { // cannot happen for a SafeName, but keep it a name
		return cutUTF8(name, max)
	}
	return norm.NFC.String(stem + ext)
}

// cutUTF8 returns the longest prefix of s of at most n bytes that ends on
// a rune boundary.
func cutUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// candidate is the n-th name tried for stem+ext: "stem.ext", "stem-1.ext",
// "stem-2.ext"..., shortened to maxNameBytes.
func candidate(stem, ext string, n int) string {
	suffix := ""
	if n > 0 {
		suffix = "-" + strconv.Itoa(n)
	}
	room := maxNameBytes - len(suffix) - len(ext)
	if len(stem) > room {
		stem = strings.TrimRight(cutUTF8(stem, room), ". ")
	}
	return stem + suffix + ext
}

func nfc(s string) string { return norm.NFC.String(s) }
