// Command verify checks streamx's extract output against the truth that
// streamx-gencap writes for its benchmark capture, and compares two output
// folders (for the --workers runs of bench/run.sh). Standard library only.
//
//	go run ./bench/verify -truth bench/work/truth-1G.json -out DIR [-transcripts]
//	go run ./bench/verify -same DIR1 DIR2
//
// Truth mode. Every truth file (an HTTP message body, decoded, or an FTP
// transfer) must have a manifest.jsonl entry on the same connection
// (client and server address:port, which streamx writes as id.orig_* and
// id.resp_*), from the same side (is_orig = client-to-server), with the
// same sha256 and size and state "complete", and the file at "extracted"
// must hash to that sha256. Entries are matched by content, never by uid
// or fuid (their format is streamx's business). Manifest entries left over
// are listed, except FTP_SESSION logs, which the generator does not count as
// files. Every truth connection must be in flows.jsonl with the generator's
// payload byte counts. With -transcripts, the transcripts/ files of every
// truth connection must hold exactly client_bytes (.orig) and server_bytes
// (.resp) bytes (an empty side may have no file), and their content is
// checked where the truth says enough: an FTP data connection's stream is
// the file; an HTTP connection's streams are parsed as HTTP/1.1 and every
// message body is hashed against the truth (wire_sha256: de-chunked, still
// gzip-encoded).
//
// The last line is "verify: N/N files byte-exact, M/M connections" and the
// exit status 0 when everything matches; otherwise the failures are listed
// by cause, a few examples each, and the exit status is 1 (2: usage or I/O).
//
// Same mode: the two folders must hold the same files with the same bytes,
// except report.html (ignored) and summary.json, whose top-level
// elapsed_seconds value is ignored (nothing else of it). Prints IDENTICAL
// or the first differences; exit status 0 when identical, 1 otherwise.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
)

func main() {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	truthPath := fs.String("truth", "", "truth JSON written by streamx-gencap -truth")
	out := fs.String("out", "", "streamx extract output folder")
	transcripts := fs.Bool("transcripts", false, "also check the transcripts of every truth connection")
	same := fs.Bool("same", false, "compare the two output folders given as arguments")
	examples := fs.Int("examples", 3, "examples shown per failure cause (truth mode), differences shown (same mode: 10 unless set)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: verify -truth TRUTH.json -out DIR [-transcripts]\n       verify -same DIR1 DIR2")
		fs.PrintDefaults()
	}
	fs.Parse(os.Args[1:])
	switch {
	case *same:
		if fs.NArg() != 2 || *truthPath != "" || *out != "" {
			fs.Usage()
			os.Exit(2)
		}
		shown := 10
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "examples" {
				shown = *examples
			}
		})
		os.Exit(sameMode(fs.Arg(0), fs.Arg(1), shown))
	case *truthPath != "" && *out != "" && fs.NArg() == 0:
		os.Exit(truthMode(*truthPath, *out, *transcripts, *examples))
	default:
		fs.Usage()
		os.Exit(2)
	}
}

// parallel runs f(0..n-1) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
