package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/streamx/streamx/assembler"
	"github.com/streamx/streamx/capture"
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/filter"
	"github.com/streamx/streamx/flowtable"
)

// env is what every command gets: where to write, and the run's context
// (cancelled on SIGINT/SIGTERM).
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	isTTY  func(f *os.File) bool
}

func newEnv() *env {
	return &env{ctx: context.Background(), stdout: os.Stdout, stderr: os.Stderr, isTTY: isTerminal}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// inputFlags are shared by every command that reads captures.
type inputFlags struct {
	Captures      []string      `arg:"" name:"capture" help:"Capture files, read in order as one capture (pcap or pcapng, gzip'd or not; the format is told by content). - reads standard input."`
	Filter        string        `short:"f" placeholder:"EXPR" help:"Only packets matching this tcpdump-style expression, e.g. 'host 10.0.0.1 and tcp port 80', 'net 192.168.0.0/16 and not port 22', 'vlan 10'."`
	Strict        bool          `help:"Stop at the first damaged input instead of carrying on past it."`
	IdleTimeout   time.Duration `default:"10m" help:"A connection silent this long (capture time) is finished as EXPIRED."`
	ReorderWindow time.Duration `default:"30s" help:"How long (capture time) data waits behind a hole for the missing segment before the hole is declared a gap."`
	MaxConns      int           `default:"1048576" help:"Connections tracked at once; beyond it the longest idle is finished (evicted) first."`
	MaxConnBuffer int           `default:"1024" help:"Out-of-order pages (1900 bytes each) held per direction."`
	MaxBuffer     int           `default:"32768" help:"Out-of-order pages held in total."`
}

func (in *inputFlags) config() (engine.Config, error) {
	var cfg engine.Config
	if strings.TrimSpace(in.Filter) != "" {
		f, err := filter.Parse(in.Filter)
		if err != nil {
			return cfg, usageErr("%v", err)
		}
		cfg.Filter = f
	}
	for _, name := range in.Captures {
		if name == "-" {
			continue
		}
		st, err := os.Stat(name)
		if err != nil {
			return cfg, &exitError{exitDamaged, fmt.Errorf("cannot read capture: %w", err)}
		}
		if st.IsDir() {
			return cfg, usageErr("%s is a directory, not a capture file", name)
		}
	}
	cfg.Inputs = in.Captures
	cfg.Strict = in.Strict
	cfg.Flow = flowtable.Options{IdleTimeout: in.IdleTimeout, MaxConns: in.MaxConns, Linger: 2 * in.ReorderWindow}
	cfg.Asm = assembler.Options{MaxPagesPerConn: in.MaxConnBuffer, MaxPagesTotal: in.MaxBuffer, ReorderWindow: in.ReorderWindow}
	return cfg, nil
}

// progress draws a one-line progress bar on stderr when it is a terminal.
func progress(e *env) func(read, total int64) {
	f, ok := e.stderr.(*os.File)
	if !ok || !e.isTTY(f) {
		return nil
	}
	start := time.Now()
	return func(read, total int64) {
		el := time.Since(start).Seconds()
		rate := 0.0
		if el > 0 {
			rate = float64(read) / el / 1e6
		}
		if total > 0 {
			pct := float64(read) * 100 / float64(total)
			if pct > 100 {
				pct = 100
			}
			w := int(pct / 5)
			fmt.Fprintf(f, "\r[%-20s] %5.1f%%  %d MB  %.0f MB/s ", strings.Repeat("#", w), pct, read>>20, rate)
		} else {
			fmt.Fprintf(f, "\r%d MB  %.0f MB/s ", read>>20, rate)
		}
		if read >= total && total > 0 {
			fmt.Fprint(f, "\r\x1b[K")
		}
	}
}

// finish turns a run's outcome into the command's error: damage in the
// input is exit 1 after everything was written.
func finish(e *env, sum *engine.Summary, err error) error {
	if err != nil {
		if isFault(err) {
			return &exitError{exitDamaged, fmt.Errorf("stopped at damaged input (--strict): %w", err)}
		}
		return &exitError{exitOutput, err}
	}
	if sum.Interrupted {
		return &exitError{exitSignal, fmt.Errorf("interrupted: open connections were flushed and written as they stood")}
	}
	if sum.Damaged() {
		return &exitError{exitDamaged, fmt.Errorf("%d input fault(s); everything before each fault was processed (see above)", len(sum.Faults))}
	}
	return nil
}

// writeSummary prints the closing summary for people.
func writeSummary(w io.Writer, sum *engine.Summary, extra func(w io.Writer)) {
	fmt.Fprintf(w, "streamx: read %d packets (%d bytes) from %d file(s)", sum.Packets, sum.Bytes, len(sum.Files))
	if !sum.First.IsZero() {
		fmt.Fprintf(w, ", %s to %s", sum.First.UTC().Format(time.RFC3339Nano), sum.Last.UTC().Format(time.RFC3339Nano))
	}
	fmt.Fprintln(w)
	for _, f := range sum.Files {
		gz := ""
		if f.Gzip {
			gz = ", gzip"
		}
		fmt.Fprintf(w, "  %s: %s%s, %d packets", f.Name, f.Format, gz, f.Packets)
		if f.Err != "" {
			fmt.Fprintf(w, "; DAMAGED: %s", f.Err)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  decoded: %d TCP, %d UDP, %d ICMP, %d other IP", sum.TCP, sum.UDP, sum.ICMP, sum.Other)
	if sum.Filtered > 0 {
		fmt.Fprintf(w, "; %d filtered out", sum.Filtered)
	}
	fmt.Fprintln(w)
	var skipped []string
	sum.Decode.Each(func(name string, n uint64) {
		if name != "ok" {
			skipped = append(skipped, fmt.Sprintf("%s %d", name, n))
		}
	})
	for lt, n := range sum.BadLinkTypes {
		skipped = append(skipped, fmt.Sprintf("link type %s: %d", lt, n))
	}
	if len(skipped) > 0 {
		fmt.Fprintf(w, "  not decoded: %s\n", strings.Join(skipped, ", "))
	}
	a := sum.Assembler
	fmt.Fprintf(w, "  TCP connections: %d (%d directions with data, %d picked up mid-stream", sum.Conns, a.Streams, a.Midstream)
	if sum.Evicted > 0 {
		fmt.Fprintf(w, ", %d evicted at --max-conns", sum.Evicted)
	}
	fmt.Fprintf(w, "); %d gaps, %d bytes missing\n", a.Gaps, a.GapBytes)
	if extra != nil {
		extra(w)
	}
}

func isFault(err error) bool {
	var f *capture.Fault
	return errors.As(err, &f)
}
