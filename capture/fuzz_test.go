package capture_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/streamx/streamx/capture"
	"github.com/streamx/streamx/internal/testcap"
)

// FuzzReader: any file: no panic, no endless loop; it ends in EOF or an
// error after a bounded number of packets.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"handshake-normal", "pcap-ns", "sll"} {
		b, err := os.ReadFile(testcap.Synthetic(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := capture.NewReader(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		for n := 0; ; n++ {
			if n > len(b) {
				t.Fatal("more packets than bytes")
			}
			if _, _, err := r.Next(); err != nil {
				if err != io.EOF {
					return
				}
				return
			}
		}
	})
}
