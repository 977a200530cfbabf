package transcript

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
	"unicode/utf8"
)

// script is a conversation of mixed content (text with CR, LF, CRLF split
// across chunks, tabs, UTF-8, escapes, binary runs, gaps, ends), chunked
// at random sizes, rendered by each format and option: the digests below
// were taken from the renderer before it was optimised, so any change in
// its output shows.
func renderScript(f Format, color, full bool, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 99))
	var out bytes.Buffer
	rd := New(&out, f, color, netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("[2001:db8::2]:80"))
	rd.FullBinary = full
	rd.RawNames = [2]string{"a.orig", "a.resp"}
	t := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	var off [2]int64
	off[1] = 1<<32 - 300 // offsets past 8 hex digits
	pieces := []string{"GET / HTTP/1.1\r\n", "Host: x\r\n\r\n", "\r", "\n", "\t", "abc def ", "héllo wörld ", "\x1b[2J", "\x00", "\x7f",
		"\xff\xfe", "日本語", "a\rb", "\r\r\n", "                                ", "0123456789abcdefghijklmnopqrstuvwxyz"}
	for range 400 {
		dir := rng.IntN(2)
		var data []byte
		switch k := rng.IntN(20); {
		case k < 12: // text
			for n := rng.IntN(40); n > 0; n-- {
				data = append(data, pieces[rng.IntN(len(pieces))]...)
			}
		case k < 17: // binary
			data = make([]byte, rng.IntN(3000))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
		case k < 18:
			n := int64(1 + rng.IntN(5000))
			rd.Gap(dir, off[dir], n, t)
			off[dir] += n
			continue
		case k < 19:
			rd.Comment("comment %d %q", rng.IntN(100), "x\ty")
			continue
		default:
			rd.End(dir, "fin", t)
			continue
		}
		// chunk it
		for len(data) > 0 {
			n := min(len(data), 1+rng.IntN(1500))
			rd.Data(dir, data[:n], off[dir], t)
			off[dir] += int64(n)
			data = data[n:]
		}
		t = t.Add(time.Duration(rng.IntN(1e9)))
	}
	rd.Flush()
	return out.Bytes()
}

func TestRenderDigests(t *testing.T) {
	want := map[string]string{
		"ascii":       "b7aac343b8d62298d69f64ff30603a562377a46a87afebade8d3bb44b04e2834",
		"ascii-color": "633894ca798f74ca606909ffc7812cab9dcbc5475c6a32583e23f00efd257668",
		"ascii-full":  "a5e07ad85b9fa99ae64bbfcc1cce8627dac17fcd4cb0faf7b4a13f865a7aeea5",
		"hex":         "d2050c1f633e7bf68e92aff63e2c64d0e5dee374063f82f92c2106aa1bc91020",
		"hex-color":   "650713b369460ad6ead1f505cb90045b8ea1ba328b901989dc9ed5c15b6a0151",
		"raw":         "525320e07f9ae9a01a85212df78125771af64604baabe29e18d5253dd7823abb",
	}
	for _, c := range []struct {
		name        string
		f           Format
		color, full bool
	}{
		{"ascii", ASCII, false, false},
		{"ascii-color", ASCII, true, false},
		{"ascii-full", ASCII, false, true},
		{"hex", Hex, false, false},
		{"hex-color", Hex, true, false},
		{"raw", Raw, false, false},
	} {
		h := sha256.New()
		for seed := range uint64(20) {
			h.Write(renderScript(c.f, c.color, c.full, seed))
		}
		got := hex.EncodeToString(h.Sum(nil))
		if got != want[c.name] {
			t.Errorf("%s: digest %s, want %s", c.name, got, want[c.name])
		}
	}
}

// binaryRef is Binary as first written (one branch per byte).
func binaryRef(data []byte) bool {
	if len(data) > 256 {
		data = data[:256]
	}
	var ctrl, high int
	for _, c := range data {
		switch {
		case c >= 0x80:
			high++
		case c != '\t' && c != '\n' && c != '\r' && (c < 0x20 || c == 0x7f):
			ctrl++
		}
	}
	return ctrl*20 > len(data) || (high*3 > len(data) && !utf8.Valid(data))
}

func TestBinaryMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200000 {
		n := rng.IntN(300)
		b := make([]byte, n)
		// mixes of text, control and high bytes in varying proportions
		pc, ph := rng.IntN(20), rng.IntN(60)
		for i := range b {
			switch k := rng.IntN(100); {
			case k < pc:
				b[i] = byte(rng.IntN(0x20))
			case k < pc+ph:
				b[i] = byte(0x80 + rng.IntN(0x80))
			default:
				b[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		if Binary(b) != binaryRef(b) {
			t.Fatalf("Binary(%q) = %v, reference %v", b, Binary(b), binaryRef(b))
		}
	}
}

func FuzzBinary(f *testing.F) {
	f.Add([]byte("hello\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if Binary(b) != binaryRef(b) {
			t.Fatalf("Binary(%q) = %v, reference %v", b, Binary(b), binaryRef(b))
		}
	})
}

func TestNotPrint8(t *testing.T) {
	// every pair of bytes side by side, at every place in the word
	for c := range 256 {
		for d := range 256 {
			for pos := range 7 {
				var b [8]byte
				for i := range b {
					b[i] = 'a'
				}
				b[pos], b[pos+1] = byte(c), byte(d)
				var want uint64
				for i, x := range b {
					if class[x] != clPrint {
						want |= 0x80 << (8 * i)
					}
				}
				if m := notPrint8(binary.LittleEndian.Uint64(b[:])); m != want {
					t.Fatalf("%q: mask %#x, want %#x", b, m, want)
				}
			}
		}
	}
}

func TestAppendOffset(t *testing.T) {
	for _, v := range []int64{0, 1, 15, 16, 0xfffffff, 0xffffffff, 0x100000000, 0x123456789abcdef0, 1<<63 - 1, -1, -16, -1 << 63} {
		if got, want := string(appendOffset([]byte("x"), v)), fmt.Sprintf("x%08x", v); got != want {
			t.Errorf("appendOffset(%d) = %q, want %q", v, got, want)
		}
	}
}
