package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/streamx/streamx/assembler"
	"github.com/streamx/streamx/capture"
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/filter"
	"github.com/streamx/streamx/flowtable"
	"github.com/streamx/streamx/live"
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
	Captures      []string      `arg:"" optional:"" name:"capture" help:"Capture files, read in order as one capture (pcap or pcapng, gzip'd or not; the format is told by content). - reads standard input. Or -i IFACE instead, to capture live."`
	Filter        string        `short:"f" placeholder:"EXPR" help:"Only packets matching this tcpdump-style expression, e.g. 'host 10.0.0.1 and tcp port 80', 'net 192.168.0.0/16 and not port 22', 'vlan 10'."`
	Strict        bool          `help:"Stop at the first damaged input instead of carrying on past it."`
	IdleTimeout   time.Duration `default:"10m" help:"A connection silent this long (capture time) is finished as EXPIRED."`
	ReorderWindow time.Duration `default:"30s" help:"How long (capture time) data waits behind a hole for the missing segment before the hole is declared a gap."`
	Linger        time.Duration `default:"5s" help:"A closed or reset connection is finished after this much quiet (capture time), like Zeek's tcp_close_delay; one still waiting for a missing segment waits twice --reorder-window."`
	MaxConns      int           `default:"1048576" help:"Connections tracked at once; beyond it the longest idle is finished (evicted) first."`
	MaxConnBuffer int           `default:"1024" help:"Out-of-order pages (1900 bytes each) held per direction."`
	MaxBuffer     int           `default:"32768" help:"Out-of-order pages held in total."`

	// live capture (package live)
	Interface     string        `short:"i" placeholder:"IFACE" group:"Live capture" help:"Capture live on this network interface instead of reading files (Linux; needs root or CAP_NET_RAW). Ends with --duration, --count or Ctrl-C; everything is written either way."`
	NoPromisc     bool          `group:"Live capture" help:"Do not put the interface in promiscuous mode."`
	Snaplen       int           `default:"262144" group:"Live capture" help:"Bytes kept of each packet (less than a whole packet leaves holes in the streams)."`
	RingSize      live.Size     `default:"32MiB" group:"Live capture" help:"Kernel packet ring (e.g. 256MiB): a larger one rides out longer bursts without drops."`
	Duration      time.Duration `placeholder:"D" group:"Live capture" help:"Stop after this long (e.g. 30s, 2h)."`
	Count         uint64        `placeholder:"N" group:"Live capture" help:"Stop after this many packets (captured, before --filter)."`
	Write         string        `short:"w" placeholder:"FILE" group:"Live capture" help:"Also save every captured packet (before --filter) to this pcap file, nanosecond timestamps; rotated files are FILE.1, FILE.2, ... Existing files are never overwritten."`
	RotateSize    live.Size     `placeholder:"SIZE" group:"Live capture" help:"-w: start the next file before one grows past SIZE (e.g. 100MB)."`
	RotateSeconds int           `placeholder:"N" group:"Live capture" help:"-w: start the next file every N seconds (of packet time)."`

	stderr io.Writer // for the live capture's opening line (AfterApply)
}

// AfterApply keeps the command's stderr for the live capture's opening
// line (kong calls it after parsing).
func (in *inputFlags) AfterApply(k *kong.Kong) error {
	in.stderr = k.Stderr
	return nil
}

// liveOnly names the live-capture flags given without -i.
func (in *inputFlags) liveOnly() []string {
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"--no-promisc", in.NoPromisc}, {"--snaplen", in.Snaplen != live.DefaultSnaplen},
		{"--ring-size", in.RingSize != live.DefaultRingSize}, {"--duration", in.Duration != 0},
		{"--count", in.Count != 0}, {"--write", in.Write != ""}, {"--rotate-size", in.RotateSize != 0},
		{"--rotate-seconds", in.RotateSeconds != 0},
	} {
		if f.set {
			set = append(set, f.name)
		}
	}
	return set
}

// openLive checks the live-capture flags and starts the capture.
func (in *inputFlags) openLive() (*live.Source, error) {
	switch {
	case in.Snaplen < 1 || in.Snaplen > live.DefaultSnaplen:
		return nil, usageErr("--snaplen must be 1 to %d", live.DefaultSnaplen)
	case in.Duration < 0 || in.RotateSize < 0 || in.RotateSeconds < 0:
		return nil, usageErr("--duration, --rotate-size and --rotate-seconds cannot be negative")
	case in.Write == "" && (in.RotateSize != 0 || in.RotateSeconds != 0):
		return nil, usageErr("--rotate-size and --rotate-seconds rotate the -w file: give -w FILE")
	case in.Write == "-":
		return nil, usageErr("-w needs a file name")
	}
	src, err := live.Open(in.Interface, live.Options{Promisc: !in.NoPromisc, Snaplen: in.Snaplen,
		RingSize: int64(in.RingSize), Duration: in.Duration, Count: in.Count, Write: in.Write,
		RotateSize: int64(in.RotateSize), RotateEvery: time.Duration(in.RotateSeconds) * time.Second})
	var noIf *live.NoInterfaceError
	switch {
	case errors.As(err, &noIf):
		return nil, usageErr("%v", err)
	case errors.Is(err, fs.ErrExist):
		return nil, usageErr("-w: %v", err)
	case errors.As(err, new(*live.WriteError)):
		return nil, &exitError{exitOutput, err}
	case err != nil:
		return nil, &exitError{exitDamaged, err}
	}
	w := in.stderr
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "streamx: %s\n", src.Describe())
	return src, nil
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
	switch {
	case in.Interface != "" && len(in.Captures) > 0:
		return cfg, usageErr("give capture files or -i IFACE, not both")
	case in.Interface == "" && len(in.Captures) == 0:
		return cfg, usageErr("nothing to read: give capture files (- for standard input), or -i IFACE to capture live")
	case in.Interface == "" && len(in.liveOnly()) > 0:
		return cfg, usageErr("%s: only for live capture (-i IFACE)", strings.Join(in.liveOnly(), ", "))
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
	cfg.Flow = flowtable.Options{IdleTimeout: in.IdleTimeout, MaxConns: in.MaxConns, Linger: in.Linger, LingerHeld: 2 * in.ReorderWindow}
	cfg.Asm = assembler.Options{MaxPagesPerConn: in.MaxConnBuffer, MaxPagesTotal: in.MaxBuffer, ReorderWindow: in.ReorderWindow}
	if in.Interface != "" {
		src, err := in.openLive()
		if err != nil {
			return cfg, err
		}
		cfg.Sources = []engine.NamedSource{{Name: src.Name(), Format: src.Format(), Source: src}}
	}
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
	for _, f := range sum.Faults {
		if errors.As(f, new(*live.WriteError)) {
			return &exitError{exitOutput, fmt.Errorf("-w: %w; the capture stopped there, what was captured before was processed", f)}
		}
	}
	if sum.Damaged() {
		return &exitError{exitDamaged, fmt.Errorf("%d input fault(s); everything before each fault was processed (see above)", len(sum.Faults))}
	}
	return nil
}

// writeSummary prints the closing summary for people.
func writeSummary(w io.Writer, sum *engine.Summary, extra func(w io.Writer)) {
	from := fmt.Sprintf("%d file(s)", len(sum.Files))
	isLive := len(sum.Files) == 1 && strings.HasPrefix(sum.Files[0].Format, "live")
	if isLive {
		from = "interface " + sum.Files[0].Name
	}
	fmt.Fprintf(w, "streamx: read %d packets (%d bytes) from %s", sum.Packets, sum.Bytes, from)
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
	if isLive || sum.Received > 0 || sum.Dropped > 0 {
		fmt.Fprintf(w, "  kernel: %d packets received, %d dropped", sum.Received, sum.Dropped)
		if sum.Dropped > 0 {
			fmt.Fprintf(w, " (%.2f%%: the streams have holes there; a larger --ring-size helps)", float64(sum.Dropped)*100/float64(sum.Received))
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
