package sink

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkSinkWrite measures the sequential path: 64 KiB writes, hashed
// (MD5 + SHA-256) as they go, a file closed (linked, manifest line) every
// 16 MiB.
func BenchmarkSinkWrite(b *testing.B) {
	dir := b.TempDir()
	s, err := New(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := pattern(64<<10, 9)
	const perFile = 256
	b.SetBytes(int64(len(p)))
	b.ResetTimer()
	var f *File
	for i := range b.N {
		if f == nil {
			if f, err = s.Create(meta("bench.bin")); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := f.Write(p); err != nil {
			b.Fatal(err)
		}
		if i%perFile == perFile-1 || i == b.N-1 {
			en, err := f.Close(Complete, "")
			if err != nil {
				b.Fatal(err)
			}
			f = nil
			b.StopTimer()
			os.Remove(filepath.Join(dir, filepath.FromSlash(en.Extracted)))
			b.StartTimer()
		}
	}
}
