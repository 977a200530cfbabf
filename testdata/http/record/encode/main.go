// Command encode writes the coded forms of the original files for the
// codings capture: NAME.gz, NAME.zz (zlib), NAME.deflate (raw deflate),
// NAME.br, NAME.zst, and NAME.gz.br (gzip, then brotli). The encoders are
// the Go ones (compress/*, andybalholm/brotli, klauspost/compress/zstd);
// curl, with its own decoders (zlib, libbrotli, libzstd), checks them.
//
// Usage: go run ./testdata/http/record/encode FILE...
package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"os"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

func main() {
	for _, name := range os.Args[1:] {
		orig, err := os.ReadFile(name)
		if err != nil {
			fail(err)
		}
		gz := enc(orig, func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
		write(name+".gz", gz)
		write(name+".zz", enc(orig, func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) }))
		write(name+".deflate", enc(orig, func(w io.Writer) io.WriteCloser {
			f, _ := flate.NewWriter(w, flate.BestCompression)
			return f
		}))
		br := func(w io.Writer) io.WriteCloser { return brotli.NewWriterLevel(w, 6) }
		write(name+".br", enc(orig, br))
		write(name+".gz.br", enc(gz, br))
		z, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		write(name+".zst", z.EncodeAll(orig, nil))
	}
}

func enc(p []byte, mk func(io.Writer) io.WriteCloser) []byte {
	var b bytes.Buffer
	w := mk(&b)
	w.Write(p)
	if err := w.Close(); err != nil {
		fail(err)
	}
	return b.Bytes()
}

func write(name string, p []byte) {
	if err := os.WriteFile(name, p, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "encode:", err)
	os.Exit(1)
}
