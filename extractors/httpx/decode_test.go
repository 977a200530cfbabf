package httpx

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/streamx/streamx/extractors"
)

// encode applies codings in order (as a server lists them in
// Content-Encoding: first applied first).
func encode(t testing.TB, body []byte, codings ...string) []byte {
	t.Helper()
	for _, c := range codings {
		var b bytes.Buffer
		switch c {
		case "gzip", "x-gzip":
			w := gzip.NewWriter(&b)
			w.Write(body)
			w.Close()
		case "deflate": // zlib-wrapped, as RFC 9110 says
			w := zlib.NewWriter(&b)
			w.Write(body)
			w.Close()
		case "deflate-raw":
			w, _ := flate.NewWriter(&b, flate.BestCompression)
			w.Write(body)
			w.Close()
		case "br":
			w := brotli.NewWriter(&b)
			w.Write(body)
			w.Close()
		case "zstd":
			w, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
			b.Write(w.EncodeAll(body, nil))
			w.Close()
		default:
			t.Fatalf("coding %s", c)
		}
		body = b.Bytes()
	}
	return body
}

func codedResponse(ce string, body []byte, chunked bool) string {
	if chunked {
		return rsp("HTTP/1.1 200 OK", "Content-Encoding: "+ce, "Transfer-Encoding: chunked") + chunk(string(body), "", 7, 100, 1000)
	}
	return rsp("HTTP/1.1 200 OK", "Content-Encoding: "+ce, clen(string(body))) + string(body)
}

func TestDecoding(t *testing.T) {
	text := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200))
	plain := fmt.Sprintf("%q", text)
	var cases []scriptCase
	for _, tc := range []struct {
		name, header string
		codings      []string
		chunked      bool
	}{
		{"gzip", "gzip", []string{"gzip"}, false},
		{"x-gzip-chunked", "x-gzip", []string{"gzip"}, true},
		{"deflate-zlib", "deflate", []string{"deflate"}, false},
		{"deflate-raw", "deflate", []string{"deflate-raw"}, true},
		{"br", "br", []string{"br"}, false},
		{"zstd", "zstd", []string{"zstd"}, true},
		{"gzip-then-deflate", "gzip, deflate", []string{"gzip", "deflate-raw"}, false},
		{"three-layers-and-identity", "identity, gzip, identity, br, zstd", []string{"gzip", "br", "zstd"}, true},
	} {
		wire := encode(t, text, tc.codings...)
		cases = append(cases, scriptCase{
			name:   tc.name,
			script: []ev{D(0, get("/f.txt")), D(1, codedResponse(tc.header, wire, tc.chunked)+ok("next")), E(1, "fin")},
			files:  []string{"f.txt complete " + plain, `- complete "next"`},
			logs:   []string{"1 GET /f.txt 200 complete", "2 - - 200 unsolicited [unsolicited]"},
			seeds:  2,
		})
	}
	runCases(t, cases)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestDecodingFailures(t *testing.T) {
	text := make([]byte, 0, 64<<10) // 64 KiB of hex digits: compresses about 2:1
	for r := rand.New(rand.NewPCG(1, 2)); len(text) < cap(text); {
		text = fmt.Appendf(text, "%016x", r.Uint64())
	}
	gz := encode(t, text, "gzip")
	bomb := encode(t, make([]byte, 10<<20), "gzip")
	cases := []scriptCase{
		{
			// Declared gzip, sent plain: kept as sent, under the plain
			// name, marked.
			name:   "not-really-gzip",
			script: []ev{D(0, get("/p.html")), D(1, codedResponse("gzip", []byte("<html>plain</html>"), false))},
			files:  []string{`p.html complete "<html>plain</html>"`},
			logs:   []string{"1 GET /p.html 200 complete [decode-error]"},
			check: func(t *testing.T, r *run) {
				if e := r.files.files[0].meta.Extra; e["decode_error"] == nil {
					t.Errorf("extra %v", e)
				}
			},
		},
		{
			name:   "unsupported-coding",
			script: []ev{D(0, get("/z")), D(1, codedResponse("compress", []byte("\x1f\x9d\x90abc"), false))},
			files:  []string{`z complete "\x1f\x9d\x90abc"`},
			logs:   []string{"1 GET /z 200 complete [decode-error]"},
		},
		{
			// The coded stream stops before its end while the body is
			// whole: what decoded is kept (truncated), and the body as sent.
			name:     "truncated-stream",
			script:   []ev{D(0, get("/t.txt")), D(1, codedResponse("gzip", gz[:len(gz)/2], false))},
			logs:     []string{"1 GET /t.txt 200 complete [decode-error]"},
			rawFiles: true,
			check: func(t *testing.T, r *run) {
				fs := r.files.files
				if len(fs) != 2 {
					t.Fatalf("files %v", r.fileSummary())
				}
				dec, raw := fs[0], fs[1]
				if dec.entry.State != "truncated" || dec.entry.Reason != "decode-error" || !bytes.HasPrefix(text, dec.data) || len(dec.data) == 0 {
					t.Errorf("decoded: %s/%s %d bytes", dec.entry.State, dec.entry.Reason, len(dec.data))
				}
				if raw.entry.State != "complete" || !bytes.Equal(raw.data, gz[:len(gz)/2]) || raw.meta.Extra["decode_error"] == nil || raw.meta.Name != "t.txt" {
					t.Errorf("as sent: %s %q %d bytes %v", raw.entry.State, raw.meta.Name, len(raw.data), raw.meta.Extra)
				}
			},
		},
		{
			// A hole in a coded body: the decoded file ends there, the
			// body is kept as sent with the hole at its offset.
			name: "gap-in-coded-body",
			script: []ev{D(0, get("/g.txt")+get("/n")), D(1, rsp("HTTP/1.1 200 OK", "Content-Encoding: gzip", clen(string(gz)))+string(gz[:len(gz)/2])),
				G(1, 10), D(1, string(gz[len(gz)/2+10:])+ok("n"))},
			logs:     []string{"1 GET /g.txt 200 truncated [gap]", "2 GET /n 200 complete"},
			rawFiles: true,
			check: func(t *testing.T, r *run) {
				fs := r.files.files
				if len(fs) != 3 {
					t.Fatalf("files %v", r.fileSummary())
				}
				dec, raw := fs[0], fs[1]
				if dec.entry.Reason != "gap" || !bytes.HasPrefix(text, dec.data) {
					t.Errorf("decoded: %s/%s", dec.entry.State, dec.entry.Reason)
				}
				want := append(append(append([]byte(nil), gz[:len(gz)/2]...), make([]byte, 10)...), gz[len(gz)/2+10:]...)
				if raw.entry.State != "truncated" || !bytes.Equal(raw.data, want) || raw.meta.Extra["not_decoded"] != "gap" {
					t.Errorf("as sent: %s/%s %d bytes, extra %v", raw.entry.State, raw.entry.Reason, len(raw.data), raw.meta.Extra)
				}
			},
		},
		{
			// 10 MiB of zeros in 10 KiB of gzip, bounded at 1 MiB.
			name:     "decompression-bomb",
			script:   []ev{D(0, get("/bomb")+get("/after")), D(1, codedResponse("gzip", bomb, true)+ok("after"))},
			opts:     extractors.Options{MaxDecodedSize: 1 << 20},
			logs:     []string{"1 GET /bomb 200 complete [decoded-size-limit]", "2 GET /after 200 complete"},
			rawFiles: true,
			seeds:    1,
			check: func(t *testing.T, r *run) {
				fs := r.files.files
				if len(fs) != 2 || len(fs[0].data) != 1<<20 || fs[0].entry.Reason != "decoded-size-limit" || string(fs[1].data) != "after" {
					t.Fatalf("files: %d, %d bytes, %s", len(fs), len(fs[0].data), fs[0].entry.Reason)
				}
			},
		},
		{
			name:     "keep-encoded",
			script:   []ev{D(0, get("/k.txt")), D(1, codedResponse("gzip", gz, true))},
			opts:     extractors.Options{KeepEncoded: true},
			logs:     []string{"1 GET /k.txt 200 complete"},
			rawFiles: true,
			check: func(t *testing.T, r *run) {
				fs := r.files.files
				if len(fs) != 2 {
					t.Fatalf("files %v", r.fileSummary())
				}
				raw, dec := fs[0], fs[1]
				if raw.meta.Name != "k.txt.gz" || raw.entry.SHA256 != sha(gz) || raw.meta.Extra["encoded"] != true {
					t.Errorf("as sent: %q %s", raw.meta.Name, raw.entry.State)
				}
				if dec.meta.Name != "k.txt" || dec.entry.SHA256 != sha(text) {
					t.Errorf("decoded: %q %s", dec.meta.Name, dec.entry.State)
				}
				if l := r.logs[0]; len(l.RespFUIDs) != 2 {
					t.Errorf("resp_fuids %v", l.RespFUIDs)
				}
			},
		},
		{
			name: "concatenated-members-and-trailing-garbage",
			script: []ev{D(0, get("/c")), D(1, codedResponse("gzip",
				append(append(encode(t, []byte("one "), "gzip"), encode(t, []byte("two"), "gzip")...), "junk!"...), false))},
			files: []string{`c complete "one two"`},
			logs:  []string{"1 GET /c 200 complete [trailing-data]"},
		},
	}
	runCases(t, cases)
}

// TestDecoderJoined: every decoder's coroutine is joined, whatever way its
// body ends.
func TestDecoderJoined(t *testing.T) {
	before := runtime.NumGoroutine()
	var text []byte
	for r := rand.New(rand.NewPCG(3, 4)); len(text) < 100000; {
		text = fmt.Appendf(text, "%016x", r.Uint64())
	}
	gz := encode(t, text, "gzip")
	for i := 0; i < 50; i++ {
		scripts := [][]ev{
			{D(0, get("/a")), D(1, codedResponse("gzip", gz, false))},
			{D(0, get("/a")), D(1, codedResponse("gzip", gz[:len(gz)/3], false))},
			{D(0, get("/a")), D(1, codedResponse("br", gz, false))},
			{D(0, get("/a")), D(1, codedResponse("gzip", gz, true)[:300]), G(1, 5)},
		}
		for _, s := range scripts {
			runScript(nil, s, splitters(0)[0], extractors.Options{MaxDecodedSize: 1000})
		}
	}
	runtime.GC()
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Errorf("goroutines: %d before, %d after", before, after)
	}
}
