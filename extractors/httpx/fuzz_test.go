package httpx

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/extractors"
)

// The fuzz input is a list of operations on one connection:
//
//	op byte b: dir = b&1, kind = b>>1&3
//	  kind 0: data, length = next byte + 1, then the bytes
//	  kind 1: data, length = next 2 bytes (big endian) + 1, then the bytes
//	  kind 2: gap, n = next byte + 1 (b&0x80: next 4 bytes + 1)
//	  kind 3: end of direction dir
//
// then Close.

func encodeScript(script []ev) []byte {
	var out []byte
	for _, e := range script {
		switch {
		case e.isEnd:
			out = append(out, byte(e.dir)|3<<1)
		case e.isGap:
			out = append(out, byte(e.dir)|2<<1|0x80)
			out = binary.BigEndian.AppendUint32(out, uint32(e.gap-1))
		default:
			for d := e.data; len(d) > 0; {
				n := min(len(d), 1<<16)
				out = append(out, byte(e.dir)|1<<1)
				out = binary.BigEndian.AppendUint16(out, uint16(n-1))
				out = append(out, d[:n]...)
				d = d[n:]
			}
		}
	}
	return out
}

func decodeScript(in []byte) []ev {
	var s []ev
	for len(in) > 0 {
		b := in[0]
		in = in[1:]
		dir := int(b & 1)
		switch b >> 1 & 3 {
		case 0, 1:
			var n int
			if b>>1&3 == 0 {
				if len(in) < 1 {
					return s
				}
				n, in = int(in[0])+1, in[1:]
			} else {
				if len(in) < 2 {
					return s
				}
				n, in = int(binary.BigEndian.Uint16(in))+1, in[2:]
			}
			n = min(n, len(in))
			s = append(s, D(dir, string(in[:n])))
			in = in[n:]
		case 2:
			if b&0x80 != 0 {
				if len(in) < 4 {
					return s
				}
				s = append(s, G(dir, int64(binary.BigEndian.Uint32(in))+1))
				in = in[4:]
			} else {
				if len(in) < 1 {
					return s
				}
				s = append(s, G(dir, int64(in[0])+1))
				in = in[1:]
			}
		case 3:
			s = append(s, E(dir, [...]string{"fin", "rst", "end-of-input", "idle-timeout"}[b>>3&3]))
		}
	}
	return s
}

func fuzzSeeds(f testing.TB) [][]ev {
	gz := encode(f, []byte(strings.Repeat("fuzz me ", 100)), "gzip")
	br := encode(f, []byte("brotli body"), "br")
	zs := encode(f, []byte("zstd body"), "zstd")
	mp := "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nAAA\r\n--B--\r\n"
	return [][]ev{
		{D(0, get("/a")+get("/b")), D(1, ok("one")+rsp("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")+chunk("two", "X: y\r\n", 1))},
		{D(0, req("HEAD /h HTTP/1.1", "Host: h")), D(1, rsp("HTTP/1.1 200 OK", "Content-Length: 9"))},
		{D(0, get("/g")), D(1, codedResponse("gzip", gz, true)), E(1, "fin")},
		{D(0, get("/g")), D(1, codedResponse("br", br, false)+codedResponse("zstd", zs, false))},
		{D(0, get("/g")), D(1, codedResponse("gzip, deflate", encode(f, []byte("x"), "gzip", "deflate-raw"), false))},
		{D(0, post("/u", "multipart/form-data; boundary=B", mp)), D(1, rsp("HTTP/1.1 100 Continue")+ok("k"))},
		{D(0, get("/r")), D(1, rsp("HTTP/1.1 206 Partial Content", "Content-Range: bytes 2-3/4", "Content-Length: 2")+"cd")},
		{D(1, ok("early")), D(0, get("/late")), G(1, 3), D(1, ok("x"))},
		{D(0, req("GET /old HTTP/1.0")), D(1, rsp("HTTP/1.0 200 OK")+"until close"), E(1, "fin")},
		{D(0, req("CONNECT a:443 HTTP/1.1", "Host: a")), D(1, rsp("HTTP/1.1 200 OK")), D(0, "\x16\x03\x01")},
		{D(0, "GET/ HTTP/1.1\r\n\r\n"), D(1, rsp("HTTP/1.1 400 Bad", "Content-Length: 1")+"x")},
		{D(0, get("/a")), D(1, rsp("HTTP/1.1 200 OK", "Content-Length: 10")+"01"), G(1, 100), D(1, "HTTP/1.1 200 OK\r\n\r\n")},
	}
}

// fileStates renders files without their content. A decoded file cut by
// a decode error is left out: how much a streaming decompressor emits
// before it notices corruption depends on how its input was cut (the body
// as sent, kept beside it, does not).
func (r *run) fileStates() []string {
	var out []string
	for _, f := range r.files.files {
		if f.entry.Reason == "decode-error" {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s/%s %d", f.meta.Name, f.entry.State, f.entry.Reason, f.size))
	}
	return out
}

// FuzzParser: any bytes, any cuts and gaps, both directions: no panic, no
// misuse of the sink, every file closed, every decoder joined, buffers
// within their bounds, and the same outcome when the data is cut finer.
func FuzzParser(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(encodeScript(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		script := decodeScript(in)
		opts := extractors.Options{MaxDecodedSize: 1 << 20, KeepEncoded: len(in) > 0 && in[0]&0x40 != 0}
		whole := fuzzRun(t, script, splitters(0)[0], opts)
		fine := fuzzRun(t, script, splitters(1)[2], opts)
		if whole.p.stats.Held == 0 {
			// (a held response forced on by the hold bound may be cut
			// at another byte: only compare runs that held nothing)
			if a, b := strings.Join(whole.logSummary(), "\n"), strings.Join(fine.logSummary(), "\n"); a != b {
				t.Errorf("log differs with finer cuts:\n%s\n---\n%s", a, b)
			}
			if a, b := strings.Join(whole.fileStates(), "\n"), strings.Join(fine.fileStates(), "\n"); a != b {
				t.Errorf("files differ with finer cuts:\n%s\n---\n%s", a, b)
			}
		}
	})
}

func fuzzRun(t *testing.T, script []ev, sp splitter, opts extractors.Options) *run {
	p := New()
	r := &run{p: p, files: &memFiles{}}
	p.logTo = func(rec *record) error { r.logs = append(r.logs, rec); return nil }
	s := testSession()
	c := p.newConn(s, &extractors.Env{Options: opts}, r.files)
	var off [2]int64
	ts := time.Unix(1700000000, 0)
	for _, e := range script {
		switch {
		case e.isEnd:
			c.End(s, e.dir, e.end, ts)
		case e.isGap:
			c.Gap(s, e.dir, off[e.dir], e.gap, ts)
			off[e.dir] += e.gap
		default:
			data := []byte(e.data)
			for _, n := range sp.cut(len(data)) {
				c.Data(s, e.dir, data[:n], off[e.dir], ts)
				off[e.dir] += int64(n)
				data = data[n:]
			}
		}
		for _, ps := range c.ps {
			if len(ps.line) > maxLine+1 || ps.queued > maxHold {
				t.Fatalf("parser buffers: line %d, queued %d", len(ps.line), ps.queued)
			}
		}
		if p.mpBytes > maxMultipartTotal {
			t.Fatalf("multipart buffers %d", p.mpBytes)
		}
	}
	c.Close(s)
	if len(r.files.misuse) > 0 {
		t.Fatalf("sink misuse: %v", r.files.misuse)
	}
	for _, f := range r.files.files {
		if !f.closed {
			t.Fatalf("file %s (%q) left open", f.fuid, f.meta.Name)
		}
	}
	if p.liveDecoders != 0 {
		t.Fatalf("%d decoders not joined", p.liveDecoders)
	}
	if p.mpBytes != 0 || p.heldBytes != 0 || p.codedCopies != 0 {
		t.Fatalf("buffers still counted after close: multipart %d, held %d, coded copies %d", p.mpBytes, p.heldBytes, p.codedCopies)
	}
	return r
}

// TestFuzzSeeds runs the seeds as a regular test, and checks no goroutine
// outlives them.
func TestFuzzSeeds(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, s := range fuzzSeeds(t) {
		in := encodeScript(s)
		if got := decodeScript(in); len(got) != len(s) && len(s) > 0 {
			// data events longer than 64 KiB become several
			t.Logf("%d events decode as %d", len(s), len(got))
		}
		fuzzRun(t, decodeScript(in), splitters(0)[0], extractors.Options{MaxDecodedSize: 1 << 20})
	}
	runtime.GC()
	if after := runtime.NumGoroutine(); after > before+1 {
		t.Errorf("goroutines %d -> %d", before, after)
	}
}
