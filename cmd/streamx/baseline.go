package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/streamx/streamx/analysis"
)

// analysisCmds are the traffic-analysis commands, added to the command
// line as one embedded group.
type analysisCmds struct {
	Stats    statsCmd    `cmd:"" help:"Answer an analyst's questions about a capture: hosts, conversations, services, TCP health, encryption, TLS servers and findings."`
	Baseline baselineCmd `cmd:"" help:"Record what normal traffic looks like (build), and compare another capture with it (diff)."`
}

type baselineCmd struct {
	Build baselineBuildCmd `cmd:"" help:"Record who talks to whom on which service, with counts and time span, into a baseline file."`
	Diff  baselineDiffCmd  `cmd:"" help:"List what a capture has that the baseline has not (host pairs, services, ports, protocols), what disappeared, and what grew far beyond its usual volume."`
}

type baselineBuildCmd struct {
	inputFlags
	Output string `short:"o" required:"" placeholder:"FILE" help:"Where to write the baseline (JSON); an existing file is not overwritten unless --force."`
	Force  bool   `help:"Overwrite the output file."`
}

func (c *baselineBuildCmd) Help() string {
	return `The baseline lists every flow: client, server, transport (tcp, udp, icmp...),
server port and service told by content (FTP data channels count as one
"ftp-data" flow per client and server, whatever their ports), with
connections, packets, bytes and first/last time; and the protocols seen.

Examples:
  streamx baseline build monday.pcap tuesday.pcap -o base.json
  streamx baseline diff base.json today.pcap`
}

func (c *baselineBuildCmd) Run(e *env) error {
	if !c.Force {
		if _, err := os.Lstat(c.Output); err == nil {
			return usageErr("%s exists (use --force to overwrite it)", c.Output)
		}
	}
	run, err := runAnalysis(e, &c.inputFlags, analysis.Options{Tables: true, Flows: true, KeepBroadcast: true}, true)
	if err != nil {
		return err
	}
	b := run.col.Baseline(c.Captures)
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return &exitError{exitOutput, err}
	}
	tmp := c.Output + ".part"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return &exitError{exitOutput, err}
	}
	if err := os.Rename(tmp, c.Output); err != nil {
		os.Remove(tmp)
		return &exitError{exitOutput, err}
	}
	fmt.Fprintf(e.stderr, "streamx: baseline of %d flows and %d protocols from %s to %s written to %s\n",
		len(b.Flows), len(b.Protocols), b.First.UTC().Format(time.RFC3339), b.Last.UTC().Format(time.RFC3339), filepath.Clean(c.Output))
	return finish(e, run.sum, run.err)
}

type baselineDiffCmd struct {
	Baseline string `arg:"" name:"baseline" help:"The baseline file (from 'baseline build')."`
	inputFlags
	JSON     bool          `help:"Print one JSON object for machines."`
	Factor   float64       `default:"10" help:"Grew: at least this many times the usual volume..."`
	MinBytes uint64        `default:"1048576" help:"...and at least this many bytes more than usual (or --min-conns connections more)."`
	MinConns int           `default:"50" help:"...or at least this many connections more than usual (with --factor times as many)."`
	MinSpan  time.Duration `default:"1h" help:"Usual volume is the baseline's scaled to this capture's duration; durations shorter than this count as this long (so short captures compare totals)."`
}

func (c *baselineDiffCmd) Run(e *env) error {
	f, err := os.Open(c.Baseline)
	if err != nil {
		return usageErr("%v", err)
	}
	base, err := analysis.ReadBaseline(f)
	f.Close()
	if err != nil {
		return usageErr("%s: %v", c.Baseline, err)
	}
	if c.Factor <= 1 {
		return usageErr("--factor must be more than 1")
	}
	run, err := runAnalysis(e, &c.inputFlags, analysis.Options{Tables: true, Flows: true, KeepBroadcast: true}, true)
	if err != nil {
		return err
	}
	cur := run.col.Baseline(c.Captures)
	d := analysis.Compare(base, cur, analysis.GrowthThresholds{Factor: c.Factor, MinBytes: c.MinBytes, MinConns: c.MinConns, MinSpan: c.MinSpan})
	if c.JSON {
		err = writeJSON(e.stdout, d)
	} else {
		err = analysis.WriteDiffText(e.stdout, d)
	}
	if err != nil {
		return &exitError{exitOutput, err}
	}
	return finish(e, run.sum, run.err)
}
