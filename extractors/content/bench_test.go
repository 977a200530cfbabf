package content

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamx/streamx/manifest"
)

// benchCorpus writes a run's output folder like the generated benchmark
// capture's: mostly random binary files, then plain text and JSON, sizes
// from a few hundred bytes to a few hundred KiB (the scan reads 64 KiB).
func benchCorpus(b *testing.B) (dir string, headBytes int64) {
	b.Helper()
	dir = b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "files", "http"), 0o755); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the quick brown fox jumps over a lazy dog and then some more words " +
		"about streams packets connections servers clients objects documents dimensions sending " +
		"invoice shipping address description setting starting ending")
	mf, err := os.Create(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer mf.Close()
	enc := json.NewEncoder(mf)
	for i := range 300 {
		size := 200 + rng.IntN(4000)
		if rng.IntN(8) == 0 {
			size = 16<<10 + rng.IntN(256<<10)
		}
		var data []byte
		mime := "application/octet-stream"
		switch k := rng.IntN(100); {
		case k < 56:
			data = make([]byte, size)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
		case k < 93:
			mime = "text/plain; charset=utf-8"
			for len(data) < size {
				data = append(data, words[rng.IntN(len(words))]...)
				if rng.IntN(12) == 0 {
					data = append(data, ".\n"...)
				} else {
					data = append(data, ' ')
				}
			}
		default:
			mime = "application/json"
			for len(data) < size {
				data = fmt.Appendf(data, `{"id":%d,"name":%q,"value":%d},`+"\n", rng.IntN(1e6), words[rng.IntN(len(words))], rng.IntN(1e9))
			}
		}
		name := fmt.Sprintf("files/http/%07d.bin", i)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
		headBytes += int64(min(len(data), headSize))
		e := manifest.Entry{FUID: fmt.Sprintf("F%06d", i), UID: "C000001", Source: "HTTP", Filename: fmt.Sprintf("%07d.bin", i),
			MIMEType: mime, DeclaredMIMEType: mime, Extracted: name}
		if err := enc.Encode(&e); err != nil {
			b.Fatal(err)
		}
	}
	return dir, headBytes
}

// BenchmarkScan: the scan after a run over its carved files; bytes are the
// heads looked at.
func BenchmarkScan(b *testing.B) {
	dir, n := benchCorpus(b)
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Scan(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// benchText is 64 KiB of text with no script keywords (the common case:
// every keyword is looked for over the whole head).
func benchText() []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("The quick brown fox jumps over a lazy dog; Streams, packets, connections (servers and clients) " +
		"send Objects, Documents and Dimensions: set-up, start, end. <div class=\"x\">window.location</div>")
	var b []byte
	for len(b) < headSize {
		b = append(b, words[rng.IntN(len(words))]...)
		b = append(b, ' ')
	}
	return b[:headSize]
}

func BenchmarkSniffText(b *testing.B) {
	head := benchText()
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		if k := Sniff(head, nil, int64(len(head))); k.Class != "" {
			b.Fatal(k)
		}
	}
}
