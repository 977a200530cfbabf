package sink

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestSafeName(t *testing.T) {
	long := strings.Repeat("x", 296) + ".txt"
	longUTF8 := strings.Repeat("é", 150) + ".pdf" // 304 bytes
	longExt := strings.Repeat("a", 250) + ".averyveryverylongextension"
	tests := []struct {
		wire, want string
	}{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{"/etc/passwd", "passwd"},
		{`..\..\win.ini`, "win.ini"},
		{`C:\Users\bob\file.doc`, "file.doc"},
		{"dir/sub\\mixed/name.txt", "name.txt"},
		{"a\x00b", "ab"},
		{"a\x01\x1f\x7fb\u0085\u009fc", "abc"},
		{"evil\nname.txt", "evilname.txt"},
		{"line1\r\nline2", "line1line2"},
		{"tab\there", "tabhere"},
		{`a<b>c:d"e|f?g*h`, "a_b_c_d_e_f_g_h"},
		{"\xff\xfeabc", "__abc"},
		{"ok\xc3", "ok_"},
		{"a/", "a"},
		{"a//", "a"},
		{"dir/..", ""},
		{"..", ""},
		{".", ""},
		{"....", ""},
		{"", ""},
		{"/", ""},
		{" . ", ""},
		{"\x00\x01", ""},
		{" .hidden. ", "hidden"},
		{"file.txt.", "file.txt"},
		{"file.txt ", "file.txt"},
		{"CON", "_CON"},
		{"con.txt", "_con.txt"},
		{"Con.tar.gz", "_Con.tar.gz"},
		{"LPT1.log", "_LPT1.log"},
		{"lpt9", "_lpt9"},
		{"COM0", "_COM0"},
		{"com¹.txt", "_com¹.txt"},
		{"nul .txt", "_nul .txt"},
		{"aux", "_aux"},
		{"PRN.", "_PRN"},
		{"conin$", "_conin$"},
		{"CONSOLE.txt", "CONSOLE.txt"},
		{"COM10", "COM10"},
		{"LPT", "LPT"},
		{"cafe\u0301.txt", "caf\u00e9.txt"}, // NFD in, NFC out
		{"evil\u202egpj.exe", "evil_gpj.exe"},
		{"a\u2028b", "a_b"},
		{long, strings.Repeat("x", 196) + ".txt"},
		{longUTF8, strings.Repeat("é", 98) + ".pdf"},
		{longExt, strings.Repeat("a", 200)},
		{"日本語のファイル.txt", "日本語のファイル.txt"},
		{"x.part", "x_part"},
		{"x.PaRt", "x_PaRt"},
		{".part", "part"},
		{"x.part.", "x_part"},
		{"x.parts", "x.parts"},
	}
	for _, tt := range tests {
		got := SafeName(tt.wire)
		if got != tt.want {
			t.Errorf("SafeName(%q) = %q, want %q", tt.wire, got, tt.want)
		}
		checkSafe(t, tt.wire, got)
	}
}

// checkSafe asserts the invariants every SafeName result has.
func checkSafe(t *testing.T, wire, got string) {
	t.Helper()
	if got == "" {
		return
	}
	if len(got) > maxNameBytes {
		t.Errorf("SafeName(%q): %d bytes", wire, len(got))
	}
	if !utf8.ValidString(got) {
		t.Errorf("SafeName(%q) = %q: invalid UTF-8", wire, got)
	}
	if !norm.NFC.IsNormalString(got) {
		t.Errorf("SafeName(%q) = %q: not NFC", wire, got)
	}
	if got == "." || got == ".." || strings.ContainsAny(got, "/\\\x00<>:\"|?*") {
		t.Errorf("SafeName(%q) = %q: not a harmless single element", wire, got)
	}
	if strings.IndexFunc(got, unicode.IsControl) >= 0 {
		t.Errorf("SafeName(%q) = %q: control character", wire, got)
	}
	if strings.Trim(got, ". ") != got {
		t.Errorf("SafeName(%q) = %q: leading/trailing dot or space", wire, got)
	}
	if strings.HasSuffix(strings.ToLower(got), partSuffix) {
		t.Errorf("SafeName(%q) = %q: ends in .part", wire, got)
	}
	if isReserved(got) {
		t.Errorf("SafeName(%q) = %q: Windows device name", wire, got)
	}
	if SafeName(got) != got {
		t.Errorf("SafeName(%q) = %q: not idempotent (%q)", wire, got, SafeName(got))
	}
}

func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "a\x00b", "CON.txt", "\xff", "cafe\u0301", strings.Repeat("é", 200) + ".x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, wire string) {
		checkSafe(t, wire, SafeName(wire))
	})
}

func TestCandidate(t *testing.T) {
	tests := []struct {
		stem, ext string
		n         int
		want      string
	}{
		{"report", ".pdf", 0, "report.pdf"},
		{"report", ".pdf", 1, "report-1.pdf"},
		{"README", "", 12, "README-12"},
		{strings.Repeat("y", 200), ".txt", 3, strings.Repeat("y", 194) + "-3.txt"},
	}
	for _, tt := range tests {
		got := candidate(tt.stem, tt.ext, tt.n)
		if got != tt.want {
			t.Errorf("candidate(%q, %q, %d) = %q, want %q", tt.stem, tt.ext, tt.n, got, tt.want)
		}
		if len(got) > maxNameBytes {
			t.Errorf("candidate too long: %d", len(got))
		}
	}
}
