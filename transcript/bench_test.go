package transcript

import (
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchChunk is the size of the chunks the assembler hands on (one
// segment's payload).
const benchChunk = 1448

func benchTextData() []byte {
	rng := rand.New(rand.NewPCG(5, 6))
	words := strings.Fields("GET /index.html HTTP/1.1 Host: www.example.com User-Agent: Mozilla/5.0 Accept: */* " +
		"the quick brown fox jumps over the lazy dog {\"id\":12345,\"name\":\"value\"} <div class=\"x\">text</div>")
	var b []byte
	for len(b) < 1<<20 {
		b = append(b, words[rng.IntN(len(words))]...)
		switch rng.IntN(10) {
		case 0:
			b = append(b, "\r\n"...)
		case 1:
			b = append(b, '\t')
		default:
			b = append(b, ' ')
		}
	}
	return b[:1<<20]
}

func benchBinaryData() []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func benchRender(b *testing.B, f Format, full bool, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd := New(io.Discard, f, false, o, r)
		rd.FullBinary = full
		for off := 0; off < len(data); off += benchChunk {
			end := min(off+benchChunk, len(data))
			rd.Data((off/benchChunk/8)&1, data[off:end], int64(off), ts)
		}
		rd.Flush()
	}
}

func BenchmarkRender(b *testing.B) {
	text, bin := benchTextData(), benchBinaryData()
	b.Run("ascii-text", func(b *testing.B) { benchRender(b, ASCII, false, text) })
	b.Run("ascii-binary", func(b *testing.B) { benchRender(b, ASCII, false, bin) })
	b.Run("ascii-binary-full", func(b *testing.B) { benchRender(b, ASCII, true, bin) })
	b.Run("hex", func(b *testing.B) { benchRender(b, Hex, false, text) })
}

// BenchmarkBinary classifies every chunk of a 1 MiB stream (as Data
// does), so the branch predictor cannot learn one chunk.
func BenchmarkBinary(b *testing.B) {
	for _, c := range []struct {
		name string
		data []byte
	}{{"text", benchTextData()}, {"binary", benchBinaryData()}} {
		b.Run(c.name, func(b *testing.B) {
			var n int64
			for off := 0; off < len(c.data); off += benchChunk {
				n += int64(min(256, len(c.data)-off))
			}
			b.SetBytes(n) // the bytes looked at
			for b.Loop() {
				for off := 0; off < len(c.data); off += benchChunk {
					Binary(c.data[off:min(off+benchChunk, len(c.data))])
				}
			}
		})
	}
}
