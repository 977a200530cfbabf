// Command floor measures the read-and-decode floor: read every packet of a
// capture and decode it with streamx's decoder, nothing else. Its MB/s is
// the ceiling any streamx command can reach on that capture.
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/streamx/streamx/capture"
	"github.com/streamx/streamx/decode"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor CAPTURE")
		os.Exit(2)
	}
	start := time.Now()
	r, err := capture.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dec := decode.NewDecoder()
	var p decode.Packet
	var n, tcp uint64
	for {
		data, cp, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		n++
		if dec.Decode(data, cp.LinkType, cp.CI.Timestamp, &p) == decode.OK && p.Proto == decode.ProtoTCP {
			tcp++
		}
	}
	el := time.Since(start).Seconds()
	st, _ := os.Stat(os.Args[1])
	fmt.Printf("%d packets (%d TCP) in %.3fs: %.0f MB/s\n", n, tcp, el, float64(st.Size())/el/1e6)
}
