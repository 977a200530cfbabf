package httpx

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/extractors"
)

// keepAlive builds the two directions of one keep-alive connection of n
// pairs, cycling through the given kinds of response bodies.
func keepAlive(b *testing.B, n int, kinds ...string) (reqs, resps []byte) {
	r := rand.New(rand.NewPCG(1, 1))
	text := func(size int) string {
		var s strings.Builder
		for s.Len() < size {
			fmt.Fprintf(&s, "line %d of some text that compresses a bit %x\n", s.Len(), r.Uint32())
		}
		return s.String()[:size]
	}
	binary := func(size int) string {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		return string(p)
	}
	var q, s strings.Builder
	for i := range n {
		q.WriteString(req(fmt.Sprintf("GET /obj/%d HTTP/1.1", i), "Host: bench.example", "User-Agent: bench/1.0",
			"Accept: */*", "Accept-Encoding: gzip, br", "Connection: keep-alive"))
		switch kinds[i%len(kinds)] {
		case "length": // 16 KiB binary, Content-Length
			body := binary(16 << 10)
			s.WriteString(rsp("HTTP/1.1 200 OK", "Content-Type: application/octet-stream", clen(body), "Server: bench") + body)
		case "chunked": // 24 KiB text, chunked in 4 KiB chunks
			body := text(24 << 10)
			s.WriteString(rsp("HTTP/1.1 200 OK", "Content-Type: text/plain", "Transfer-Encoding: chunked") + chunk(body, "", 4096, 4096, 4096, 4096, 4096))
		case "gzip": // 32 KiB text, gzip'd, chunked
			s.WriteString(codedResponse("gzip", encode(b, []byte(text(32<<10)), "gzip"), true))
		case "small": // a 304 and a tiny JSON body
			s.WriteString(rsp("HTTP/1.1 304 Not Modified", "ETag: \"abc\""))
			q.WriteString(req(fmt.Sprintf("GET /api/%d HTTP/1.1", i), "Host: bench.example"))
			s.WriteString(okType(`{"ok":true,"n":`+fmt.Sprint(i)+`}`, "application/json"))
		}
	}
	return []byte(q.String()), []byte(s.String())
}

// BenchmarkParse measures the extractor (parsing, pairing, dechunking,
// decoding, multipart/range logic) on one keep-alive connection, fed in
// 1448-byte segments as the engine would, into an in-memory sink that
// keeps no bytes: MB/s of wire bytes, both directions.
func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name  string
		kinds []string
	}{
		{"mixed", []string{"length", "chunked", "gzip", "small"}},
		{"identity", []string{"length", "chunked"}},
		{"gzip", []string{"gzip"}},
		{"small", []string{"small"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			reqs, resps := keepAlive(b, 64, bc.kinds...)
			b.SetBytes(int64(len(reqs) + len(resps)))
			b.ReportAllocs()
			const seg = 1448
			ts := time.Unix(1700000000, 0)
			for b.Loop() {
				p := New()
				p.logTo = func(*record) error { return nil }
				s := testSession()
				c := p.newConn(s, &extractors.Env{Options: extractors.Options{MaxDecodedSize: 1 << 30}}, &memFiles{})
				// requests first (pipelined), then the responses
				for o := 0; o < len(reqs); o += seg {
					c.Data(s, 0, reqs[o:min(o+seg, len(reqs))], int64(o), ts)
				}
				for o := 0; o < len(resps); o += seg {
					c.Data(s, 1, resps[o:min(o+seg, len(resps))], int64(o), ts)
				}
				c.End(s, 0, "fin", ts)
				c.End(s, 1, "fin", ts)
				c.Close(s)
			}
		})
	}
}
