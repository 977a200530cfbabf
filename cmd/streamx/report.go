package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/streamx/streamx/report"
)

// reportCmd rebuilds DIR/report.html from an existing output folder.
type reportCmd struct {
	Dir           string   `arg:"" name:"dir" help:"Output folder written by streamx extract."`
	Output        string   `short:"o" placeholder:"FILE" help:"Where to write the page (default DIR/report.html). Its links to files are relative, made from FILE's folder to DIR."`
	MaxTranscript byteSize `default:"64KiB" help:"Payload bytes of one conversation inlined in the page; the rest is linked (e.g. 16KiB, 1MiB)."`
	MaxTotal      byteSize `default:"16MiB" help:"Bytes of conversation text inlined in all (a byte shown as hex costs about 5); later conversations are linked only."`
	Rows          int      `default:"500" help:"Connections listed as plain HTML rows (the page's script pages through all of them)."`
}

func (c *reportCmd) Help() string {
	return `Writes one self-contained HTML page: summary and findings, charts, the
connections (each opens its conversation), carved files with previews, FTP
sessions, HTTP requests, TLS servers, hosts and services, and every other
*.jsonl log in the folder. It loads nothing from the network; links to files
are relative, so keep the page with its folder.

Examples:
  streamx report out/case42
  streamx report out/case42 -o /tmp/case42.html --max-transcript 1MiB`
}

func (c *reportCmd) Run(e *env) error {
	st, err := os.Stat(c.Dir)
	if err != nil || !st.IsDir() {
		return usageErr("%s is not an output folder", c.Dir)
	}
	_, err1 := os.Stat(filepath.Join(c.Dir, "flows.jsonl"))
	_, err2 := os.Stat(filepath.Join(c.Dir, "summary.json"))
	if err1 != nil && err2 != nil {
		return usageErr("%s is not an output folder of streamx extract (no flows.jsonl, no summary.json)", c.Dir)
	}
	out := c.Output
	if out == "" {
		out = filepath.Join(c.Dir, "report.html")
	}
	opts := report.Options{MaxTranscript: int64(c.MaxTranscript), MaxTotal: int64(c.MaxTotal), Rows: c.Rows}
	if err := report.WriteFile(c.Dir, out, true, opts); err != nil {
		return &exitError{exitOutput, fmt.Errorf("report: %w", err)}
	}
	fmt.Fprintf(e.stderr, "streamx: wrote %s\n", out)
	return nil
}

// byteSize is a flag holding a byte count: 65536, 64KiB, 64K, 1MiB, 1M, 2GiB.
type byteSize int64

// Decode implements kong.MapperValue.
func (b *byteSize) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("size", &s); err != nil {
		return err
	}
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q (want e.g. 65536, 64KiB, 1MiB)", s)
	}
	return n * mult, nil
}

// writeReport writes DIR/report.html at the end of an extract run, after
// closing the logs it reads (closers; closing twice is harmless). An
// existing report.html (--force into an old folder) is left alone.
func (c *extractCmd) writeReport(e *env, closers ...interface{ Close() error }) error {
	for _, cl := range closers {
		if err := cl.Close(); err != nil {
			return err
		}
	}
	out := filepath.Join(c.Output, "report.html")
	if _, err := os.Lstat(out); err == nil {
		fmt.Fprintf(e.stderr, "streamx: %s exists and was not overwritten; streamx report %s rebuilds it\n", out, c.Output)
		return nil
	}
	opts := report.Options{MaxTranscript: int64(c.ReportMaxTranscript)}
	if err := report.WriteFile(c.Output, out, false, opts); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if !c.Quiet {
		fmt.Fprintf(e.stderr, "  report: %s\n", out)
	}
	return nil
}
