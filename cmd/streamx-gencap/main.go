// Command streamx-gencap writes the deterministic synthetic captures of
// internal/pcapgen.
//
//	go run ./cmd/streamx-gencap -cases testdata/synthetic
//	go run ./cmd/streamx-gencap -bench /tmp/bench.pcap -size 1G -seed 1 -truth /tmp/bench.json
//
// -cases (re)writes DIR/<case>/capture.pcap and README.md for every test
// case and DIR/README.md. -bench writes a mixed HTTP/FTP capture of about
// -size bytes; -truth writes the list of files it carries as JSON.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/streamx/streamx/internal/pcapgen"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "streamx-gencap:", err)
		os.Exit(1)
	}
}

func run(args []string, log io.Writer) error {
	fs := flag.NewFlagSet("streamx-gencap", flag.ContinueOnError)
	fs.SetOutput(log)
	casesDir := fs.String("cases", "", "write the test cases into `DIR` (DIR/<case>/capture.pcap, README.md)")
	only := fs.String("case", "", "with -cases: write only the case with this `name`")
	benchFile := fs.String("bench", "", "write the benchmark capture to `FILE`")
	size := fs.String("size", "1G", "benchmark capture size (k, M, G suffixes: powers of 1024)")
	seed := fs.Uint64("seed", 1, "benchmark PRNG seed")
	truthFile := fs.String("truth", "", "write the benchmark truth (files on the wire) as JSON to `FILE`")
	step := fs.Duration("step", 10*time.Microsecond, "benchmark clock step per packet")
	nanos := fs.Bool("ns", false, "benchmark: nanosecond-resolution pcap")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *casesDir == "" && *benchFile == "" {
		fs.Usage()
		return errors.New("need -cases DIR or -bench FILE")
	}
	if *casesDir != "" {
		cases := pcapgen.Cases()
		sel := cases
		if *only != "" {
			sel = nil
			for _, c := range cases {
				if c.Name == *only {
					sel = append(sel, c)
				}
			}
			if len(sel) == 0 {
				return fmt.Errorf("no case named %q", *only)
			}
		}
		if err := pcapgen.WriteCases(*casesDir, sel); err != nil {
			return err
		}
		// The index always lists every case.
		if err := os.WriteFile(filepath.Join(*casesDir, "README.md"), pcapgen.IndexREADME(cases), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %d cases to %s\n", len(sel), *casesDir)
	}
	if *benchFile != "" {
		target, err := pcapgen.ParseSize(*size)
		if err != nil {
			return err
		}
		return bench(*benchFile, *truthFile, target, *seed, *step, *nanos, log)
	}
	return nil
}

func bench(file, truthFile string, target int64, seed uint64, step time.Duration, nanos bool, log io.Writer) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	w, err := pcapgen.NewWriter(f, pcapgen.Options{Step: step, Nanosecond: nanos})
	if err != nil {
		return err
	}
	truth, err := pcapgen.Bench(w, target, seed)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(log, "wrote %s: %d bytes, %d packets, %d connections, %d files in %.2fs (%.0f MB/s)\n",
		file, truth.Bytes, truth.Packets, len(truth.Conns), len(truth.Files), el.Seconds(),
		float64(truth.Bytes)/1e6/el.Seconds())
	if truthFile != "" {
		tf, err := os.Create(truthFile)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(tf)
		if err := truth.WriteJSON(bw); err != nil {
			tf.Close()
			return err
		}
		if err := bw.Flush(); err != nil {
			tf.Close()
			return err
		}
		if err := tf.Close(); err != nil {
			return err
		}
	}
	return nil
}
