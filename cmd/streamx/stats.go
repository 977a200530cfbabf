package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/streamx/streamx/analysis"
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/sink"
)

// trafficAnalysis connects an analysis.Collector to a run
// (Collector.Attach: the TLS extractor reports to it, the plain-text login
// observers join the Mux); main's engine hooks feed it. After the run, the
// FTP and HTTP logs the run wrote are read back into it: those extractors'
// records reach the analysis through their JSON lines (the field names
// are the contract), not through their Go types.
type trafficAnalysis struct {
	col *analysis.Collector
}

// newTrafficAnalysis returns the analysis; Attach its collector to every Mux.
func newTrafficAnalysis(opts analysis.Options) *trafficAnalysis {
	return &trafficAnalysis{col: analysis.New(opts)}
}

// readLogs reads back the protocol logs this run wrote into dir (only
// those logs knows it created: a log left in dir by an earlier run is
// never read).
func (a *trafficAnalysis) readLogs(dir string, logs *extractors.Logs) error {
	for _, name := range logs.Names() {
		if name != "ftp" && name != "http" {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name+".jsonl"))
		if err != nil {
			return err
		}
		err = a.col.ReadLog(name, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// finishExtract, at the end of `extract`, writes notices.jsonl beside the
// other logs. A run stopped by an output error writes nothing more.
func (a *trafficAnalysis) finishExtract(dir string, logs *extractors.Logs, runErr error) (*analysis.Report, error) {
	if runErr != nil && !isInputFault(runErr) {
		return nil, nil
	}
	if err := a.readLogs(dir, logs); err != nil {
		return nil, err
	}
	r := a.col.Finish()
	for i := range r.Notices {
		if err := logs.Write("notices", &r.Notices[i]); err != nil {
			return r, err
		}
	}
	return r, nil
}

// noticeSummary is the closing summary's line about findings.
func noticeSummary(w io.Writer, r *analysis.Report) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "  findings: %d notices", len(r.Notices))
	var parts []string
	for _, n := range analysis.Notes {
		if c := r.NoticeCounts[n]; c > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n, c))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	if r.TLSServers == nil {
		// extract does not build the tables: tls.jsonl has the handshakes
		fmt.Fprintln(w)
		return
	}
	tlsConns := 0
	for _, t := range r.TLSServers {
		tlsConns += t.Conns
	}
	fmt.Fprintf(w, "; TLS handshakes read: %d\n", tlsConns)
}

type statsCmd struct {
	inputFlags
	JSON            bool          `help:"Print one JSON object for machines instead of the tables."`
	Top             int           `default:"10" help:"Rows of the host, conversation and service tables (0: all)."`
	KeepBroadcast   bool          `help:"Keep broadcast and multicast traffic in the host and conversation tables."`
	Connections     bool          `help:"Also list every TCP connection with its encryption class."`
	RedactPasswords bool          `help:"Mask passwords in the findings."`
	ScanPorts       int           `default:"15" help:"A source whose failed connection attempts reach this many ports of one host within --scan-window is a port scan."`
	ScanHosts       int           `default:"25" help:"A source whose failed connection attempts reach this many hosts within --scan-window is an address scan."`
	ScanWindow      time.Duration `default:"5m" help:"Time window of the scan thresholds (capture time)."`
	BruteForce      int           `default:"10" help:"This many failed logins from one source against one service within --brute-window is brute forcing."`
	BruteWindow     time.Duration `default:"15m" help:"Time window of the brute-force threshold (capture time)."`
}

func (c *statsCmd) Help() string {
	return `Answers the questions an analyst asks of a capture, from one pass:
  overview     time span; packets and bytes by protocol (TCP, UDP, ICMP, other)
  hosts        the busiest addresses (as tshark -z endpoints,ip)
  conversations the busiest TCP and UDP conversations (as tshark -z conv,tcp)
  services     per server port, the protocol the content shows next to the one
               the port suggests; a mismatch is flagged
  TCP health   handshakes completed, never answered (S0), rejected (REJ),
               resets by side, retransmissions, zero windows, missing bytes
  encryption   per connection: encrypted (TLS, SSH, after STARTTLS or AUTH TLS),
               plaintext, unknown; the TLS servers with name, version, cipher
  findings     the notices 'extract' writes to notices.jsonl (see the README)

Nothing is written where you can see it: the extractors the findings need
run into a private temporary folder, removed at the end.

Examples:
  streamx stats capture.pcap
  streamx stats --json -f 'not port 53' day1.pcapng day2.pcapng | jq .notices`
}

func (c *statsCmd) Run(e *env) error {
	if c.Top < 0 {
		return usageErr("--top must be 0 or more")
	}
	opts := analysis.Options{Tables: true, Connections: c.Connections, KeepBroadcast: c.KeepBroadcast, Top: c.Top,
		Thresholds: analysis.Thresholds{ScanPorts: c.ScanPorts, ScanHosts: c.ScanHosts, ScanWindow: c.ScanWindow,
			BruteForce: c.BruteForce, BruteWindow: c.BruteWindow}}
	run, err := runAnalysis(e, &c.inputFlags, opts, c.RedactPasswords)
	if err != nil {
		return err
	}
	r := run.col.Finish()
	r.Capture = captureInfo(c.Captures, run.sum)
	if !c.Connections {
		r.Connections = nil
	}
	if c.JSON {
		if err := writeJSON(e.stdout, r); err != nil {
			return &exitError{exitOutput, err}
		}
	} else if err := analysis.WriteText(e.stdout, r); err != nil {
		return &exitError{exitOutput, err}
	}
	return finish(e, run.sum, run.err)
}

// analysisRun is what runAnalysis gives back: the fed Collector, the run's
// summary, and the run's own outcome (an input fault, for finish to report
// once the output is printed).
type analysisRun struct {
	col *analysis.Collector
	sum *engine.Summary
	err error
}

// runAnalysis runs the engine and the extractors the analysis needs over
// the inputs, into a private temporary folder removed before it returns
// (the FTP and HTTP extractors need a file sink and write their logs
// there; nothing else is kept). Its error is a failure that leaves nothing
// to print.
func runAnalysis(e *env, in *inputFlags, opts analysis.Options, redact bool) (*analysisRun, error) {
	cfg, err := in.config()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "streamx-analysis-")
	if err != nil {
		return nil, &exitError{exitOutput, err}
	}
	defer os.RemoveAll(tmp)
	sk, err := sink.New(tmp, sink.Options{MaxOpenFiles: 64})
	if err != nil {
		return nil, &exitError{exitOutput, err}
	}
	logs := extractors.NewLogs(tmp)
	env := &extractors.Env{Dir: tmp, Sink: sk, Logs: logs, Expect: &extractors.Expectations{Max: 4096},
		Options: extractors.Options{RedactPasswords: redact, MaxDecodedSize: 1 << 30, MaxExpectations: 4096}}
	protos := protocols()
	mux := extractors.NewMux(env, protos...)
	an := newTrafficAnalysis(opts)
	an.col.Attach(mux)
	cfg.NewHandler = mux.NewHandler
	cfg.Opened = mux.Opened
	cfg.Packet = an.col.Packet
	cfg.Closed = an.col.Closed
	cfg.Progress = progress(e)
	sum, runErr := engine.Run(e.ctx, cfg)
	var closeErr error
	for _, p := range protos {
		if cl, ok := p.(io.Closer); ok {
			closeErr = errors.Join(closeErr, cl.Close())
		}
	}
	closeErr = errors.Join(closeErr, sk.Close(), logs.Close())
	if runErr != nil && !isInputFault(runErr) {
		return nil, finish(e, sum, runErr)
	}
	if closeErr != nil {
		return nil, &exitError{exitOutput, closeErr}
	}
	if err := an.readLogs(tmp, logs); err != nil {
		return nil, &exitError{exitOutput, err}
	}
	return &analysisRun{col: an.col, sum: sum, err: runErr}, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// captureInfo turns the run summary into the report's capture section.
func captureInfo(files []string, sum *engine.Summary) *analysis.CaptureInfo {
	ci := &analysis.CaptureInfo{Files: slices.Clone(files), Packets: sum.Packets, Bytes: sum.Bytes, Filtered: sum.Filtered}
	sum.Decode.Each(func(name string, n uint64) {
		if name == "ok" {
			return
		}
		if ci.NotDecoded == nil {
			ci.NotDecoded = map[string]uint64{}
		}
		ci.NotDecoded[name] = n
	})
	for lt, n := range sum.BadLinkTypes {
		if ci.NotDecoded == nil {
			ci.NotDecoded = map[string]uint64{}
		}
		ci.NotDecoded["link type "+lt] = n
	}
	for _, f := range sum.Faults {
		ci.Faults = append(ci.Faults, f.Error())
	}
	return ci
}

// newExtractAnalysis is the traffic analysis `extract` runs: the findings
// only (notices.jsonl), with the default thresholds.
func newExtractAnalysis() *trafficAnalysis {
	return newTrafficAnalysis(analysis.Options{})
}
