package grep

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

type got struct {
	pat int
	off int64
	s   string
}

func collect(t *testing.T, m *Matcher, pieces ...[]byte) []got {
	t.Helper()
	var out []got
	st := m.NewStream(func(x Match) { out = append(out, got{x.Pattern, x.Off, string(x.Data)}) })
	for _, p := range pieces {
		st.Write(p)
	}
	st.Flush()
	return out
}

// reference is FindAllIndex on the whole input, empty matches left out.
func reference(re string, data []byte) []got {
	var out []got
	for _, l := range regexp.MustCompile("(?m)"+re).FindAllIndex(data, -1) {
		if l[1] > l[0] {
			out = append(out, got{0, int64(l[0]), string(data[l[0]:l[1]])})
		}
	}
	return out
}

func TestEverySplitPoint(t *testing.T) {
	data := []byte("USER anonymous\r\nPASS hunter2\r\nGET /login?password=hunter2 HTTP/1.1\r\nHost: x\r\n\r\npassword\npass word\n")
	for _, tc := range []struct {
		re  string
		opt Options
	}{
		{"hunter2", Options{}},
		{"pass(word)?", Options{}},
		{"^PASS .*$", Options{}},
		{`\bword\b`, Options{}},
		{"(?i)host: [a-z]+", Options{}},
		{"a+", Options{MaxMatch: 8}},
		{"PASS|GET", Options{MaxMatch: 8, Chunk: 3}},
		{`\r\n\r\n`, Options{MaxMatch: 4, Chunk: 1}},
	} {
		m, err := New([]Pattern{{Regexp, tc.re}}, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		want := reference(tc.re, data)
		if len(want) == 0 {
			t.Fatalf("%q: reference found nothing", tc.re)
		}
		for i := 0; i <= len(data); i++ {
			for j := i; j <= len(data); j += 7 {
				g := collect(t, m, data[:i], data[i:j], data[j:])
				if fmt.Sprint(g) != fmt.Sprint(want) {
					t.Fatalf("%q split at %d,%d:\n got %v\nwant %v", tc.re, i, j, g, want)
				}
			}
		}
	}
}

func TestRandomAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab\n xAB")
	for _, re := range []string{"ab", "a[ab]*b", "^b", "x$", `\bab\b`, "b(a|x)b?", "(?i)ab"} {
		m, err := New([]Pattern{{Regexp, re}}, Options{MaxMatch: 64, Chunk: 5})
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 200; n++ {
			data := make([]byte, r.IntN(60))
			for i := range data {
				data[i] = alphabet[r.IntN(len(alphabet))]
			}
			want := reference(re, data)
			var pieces [][]byte
			rest := data
			for len(rest) > 0 {
				k := r.IntN(len(rest) + 1)
				pieces = append(pieces, rest[:k])
				rest = rest[k:]
			}
			if g := collect(t, m, pieces...); fmt.Sprint(g) != fmt.Sprint(want) {
				t.Fatalf("%q on %q in %q:\n got %v\nwant %v", re, data, pieces, g, want)
			}
		}
	}
}

func TestHexAndFixed(t *testing.T) {
	pe := []byte("xxMZ\x90\x00\x03\x00MZ\x90\x00tail.*")
	m, err := New([]Pattern{{Hex, "4d5a9000"}, {Fixed, "tail.*"}, {Hex, "0x90 00"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "[{0 2 MZ\x90\x00} {2 4 \x90\x00} {0 8 MZ\x90\x00} {2 10 \x90\x00} {1 12 tail.*}]"
	for i := 0; i <= len(pe); i++ {
		if g := fmt.Sprint(collect(t, m, pe[:i], pe[i:])); g != want {
			t.Fatalf("split at %d: got %q want %q", i, g, want)
		}
	}
	for _, bad := range []string{"4d5", "zz", ""} {
		if _, err := New([]Pattern{{Hex, bad}}, Options{}); err == nil {
			t.Errorf("hex %q: no error", bad)
		}
	}
}

func TestIgnoreCase(t *testing.T) {
	m, err := New([]Pattern{{Fixed, "PassWord"}, {Regexp, "user [a-z]+"}}, Options{IgnoreCase: true})
	if err != nil {
		t.Fatal(err)
	}
	g := fmt.Sprint(collect(t, m, []byte("PASSWORD pass"), []byte("word USER Bob")))
	if want := "[{0 0 PASSWORD} {0 9 password} {1 18 USER Bob}]"; g != want {
		t.Fatalf("got %s want %s", g, want)
	}
	// -i leaves hex alone.
	m, _ = New([]Pattern{{Hex, "4d5a"}}, Options{IgnoreCase: true})
	if g := collect(t, m, []byte("mz MZ")); len(g) != 1 || g[0].off != 3 {
		t.Fatalf("hex with -i: %v", g)
	}
}

func TestMaxMatch(t *testing.T) {
	m, err := New([]Pattern{{Regexp, "<[^>]*>"}}, Options{MaxMatch: 16, Chunk: 8})
	if err != nil {
		t.Fatal(err)
	}
	short := "<0123456789abc>"                      // 15 bytes: found whole
	data := []byte(short + strings.Repeat("-", 40)) // split anywhere
	for i := 0; i <= len(data); i++ {
		if g := collect(t, m, data[:i], data[i:]); len(g) != 1 || g[0].s != short {
			t.Fatalf("split at %d: %v", i, g)
		}
	}
	// A match longer than MaxMatch fed in small pieces is not found whole.
	long := []byte("<" + strings.Repeat("x", 100) + ">")
	for _, g := range collect(t, m, long[:50], long[50:]) {
		if len(g.s) > 16+8+1 {
			t.Fatalf("match longer than the window: %d bytes", len(g.s))
		}
	}
	if _, err := New([]Pattern{{Fixed, strings.Repeat("a", 20)}}, Options{MaxMatch: 16}); err == nil {
		t.Fatal("fixed string longer than MaxMatch accepted")
	}
}

func TestContext(t *testing.T) {
	m, _ := New([]Pattern{{Fixed, "PASS"}}, Options{Before: 5, After: 4, Chunk: 2})
	var b, a []string
	st := m.NewStream(func(x Match) { b = append(b, string(x.Before)); a = append(a, string(x.After)) })
	st.Write([]byte("USER bob\r\nPASS secret\r\nPASS"))
	st.Flush()
	if fmt.Sprint(b, a) != fmt.Sprint([]string{"bob\r\n", "ret\r\n"}, []string{" sec", ""}) {
		t.Fatalf("before %q after %q", b, a)
	}
}

func TestHoleResets(t *testing.T) {
	m, _ := New([]Pattern{{Fixed, "hunter2"}}, Options{})
	var offs []int64
	st := m.NewStream(func(x Match) { offs = append(offs, x.Off) })
	st.Write([]byte("xxhunt"))
	st.Reset(100) // 94 bytes missing: no match across the hole
	st.Write([]byte("er2 hunter2"))
	st.Flush()
	if fmt.Sprint(offs) != "[104]" {
		t.Fatalf("offsets %v", offs)
	}
}

func TestMemoryBound(t *testing.T) {
	m, _ := New([]Pattern{{Regexp, "needle[0-9]"}, {Hex, "deadbeef"}}, Options{MaxMatch: 256, Before: 32, After: 32, Chunk: 4096})
	n := 0
	st := m.NewStream(func(Match) { n++ })
	capacity := st.Cap()
	block := bytes.Repeat([]byte("haystack "), 1<<15) // 288 KiB per Write
	copy(block[1000:], "needle7")
	for i := 0; i < 400; i++ { // ~115 MB
		st.Write(block)
		if st.Buffered() > 4096+256+64+2 || st.Cap() != capacity {
			t.Fatalf("window holds %d bytes (cap %d, was %d)", st.Buffered(), st.Cap(), capacity)
		}
	}
	st.Flush()
	if n != 400 {
		t.Fatalf("%d matches, want 400", n)
	}
}
