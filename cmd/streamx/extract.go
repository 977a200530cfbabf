package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/extractors/content"
	"github.com/streamx/streamx/extractors/transcripts"
	"github.com/streamx/streamx/flowlog"
	"github.com/streamx/streamx/internal/fdpool"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
	"github.com/streamx/streamx/transcript"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

type extractCmd struct {
	inputFlags
	Output           string `short:"o" required:"" placeholder:"DIR" help:"Output folder; created if missing. Must be empty unless --force."`
	Force            bool   `help:"Write into a non-empty output folder (existing files are never overwritten)."`
	NoTranscripts    bool   `help:"Do not write transcripts (raw per-direction files and the combined text)."`
	TranscriptFormat string `default:"ascii" enum:"ascii,hex" help:"Format of the combined transcript: ascii (non-printables escaped) or hex."`
	TranscriptBinary string `default:"summary" enum:"summary,full" help:"Binary data in the ascii transcript: summary (its first 64 bytes and where the rest is in the raw file) or full (every byte escaped)."`
	MaxOpenFiles     int    `default:"1024" help:"Output files held open at once (transcripts and carved files share them, workers share them out); the least recently written is closed and reopened later."`
	Workers          int    `default:"0" placeholder:"N" help:"Goroutines sharing the connections, spread by address pair (0: one per CPU core). The output is the same for any N."`
	MaxFileSize      int64  `default:"0" help:"Carved files larger than this many bytes are cut and marked truncated (0: no limit)."`
	RedactPasswords  bool   `help:"Mask passwords (FTP PASS, HTTP Basic) in the logs."`
	KeepEncoded      bool   `help:"HTTP: also keep each body as sent (compressed), beside the decoded file."`
	MaxDecodedSize   int64  `default:"1073741824" help:"HTTP: a decoded (decompressed) body is cut at this many bytes and marked truncated (decompression bombs)."`
	MaxExpectations  int    `default:"4096" help:"FTP: data-channel expectations pending at once; the oldest is dropped beyond it."`
	Quiet            bool   `short:"q" help:"No closing summary on stderr."`

	NoReport            bool     `help:"Do not write report.html."`
	ReportMaxTranscript byteSize `default:"64KiB" help:"report.html: payload bytes of one conversation inlined in the page (e.g. 16KiB, 1MiB); the rest is linked."`
}

func (c *extractCmd) Help() string {
	return `Writes into DIR:
  flows.jsonl       one line per TCP connection (Zeek conn.log field names)
  manifest.jsonl    one line per carved file (path, size, hashes, type, state, holes)
  transcripts/      per connection: <id>_<orig>-<resp>.orig and .resp, the bytes
                    each side sent (byte-faithful, holes where bytes are missing),
                    and .txt, both sides interleaved for people
  summary.json      what was read, decoded, skipped and written
  report.html       one self-contained page of all of it (streamx report DIR rebuilds it)

Examples:
  streamx extract capture.pcap -o out/
  streamx extract -f 'host 10.1.2.3' day1.pcapng day2.pcapng -o case42/`
}

func (c *extractCmd) Run(e *env) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if err := prepareOutput(c.Output, c.Force); err != nil {
		return err
	}
	outErr := func(err error) error { return &exitError{exitOutput, err} }
	tdir := filepath.Join(c.Output, "transcripts")
	if !c.NoTranscripts {
		if err := os.Mkdir(tdir, 0o755); err != nil && !os.IsExist(err) {
			return outErr(err)
		}
		if st, err := os.Lstat(tdir); err != nil || !st.IsDir() {
			return outErr(fmt.Errorf("%s is not a directory", tdir))
		}
	}
	man, err := manifest.NewWriter(filepath.Join(c.Output, "manifest.jsonl"))
	if err != nil {
		return outErr(err)
	}
	defer man.Close()
	flows, err := manifest.NewWriter(filepath.Join(c.Output, "flows.jsonl"))
	if err != nil {
		return outErr(err)
	}
	defer flows.Close()
	tf, _ := transcript.ParseFormat(c.TranscriptFormat)
	logs := extractors.NewLogs(c.Output)
	defer logs.Close()
	an := newExtractAnalysis()
	// One set of consumers per worker: a sink, a transcript writer, the
	// extractors and their expectations; the logs, the manifest, flows.jsonl
	// and the analysis are shared. The open-file budget is split.
	nw := c.workers()
	type shard struct {
		sk     *sink.Sink
		pool   *fdpool.Pool
		tw     *transcripts.Writer
		protos []extractors.Protocol
	}
	shards := make([]*shard, nw)
	var openErr error
	var written atomic.Int64
	perOpen := max(2, c.MaxOpenFiles/2/nw)
	cfg.Workers = nw
	cfg.Packet = an.col.Packet
	cfg.Shard = func(i int, clock func() uint64) engine.Hooks {
		sk, err := sink.New(c.Output, sink.Options{MaxOpenFiles: perOpen, MaxFileSize: c.MaxFileSize, Manifest: man, Clock: clock})
		if err != nil {
			openErr = errors.Join(openErr, err)
			return engine.Hooks{}
		}
		sh := &shard{sk: sk, pool: fdpool.New(perOpen), protos: protocols()}
		sh.tw = &transcripts.Writer{Dir: tdir, Format: tf, Pool: sh.pool, FullBinary: c.TranscriptBinary == "full"}
		shards[i] = sh
		env := &extractors.Env{Dir: c.Output, Sink: sk, Logs: logs, Expect: &extractors.Expectations{Max: c.MaxExpectations},
			Options: extractors.Options{RedactPasswords: c.RedactPasswords, KeepEncoded: c.KeepEncoded,
				MaxDecodedSize: c.MaxDecodedSize, MaxExpectations: c.MaxExpectations}}
		mux := extractors.NewMux(env, sh.protos...)
		an.col.Attach(mux)
		if !c.NoTranscripts {
			mux.Transcript = func(s *engine.Session) engine.Handler { return sh.tw.Open(s) }
		}
		return engine.Hooks{NewHandler: mux.NewHandler, Opened: mux.Opened, Closed: func(s *engine.Session) {
			an.col.Closed(s)
			rec := flowlog.FromSession(s)
			if t, ok := extractors.TranscriptOf(s).(*transcripts.Conn); ok && t.Paths.Text != "" {
				rec.Transcript = "transcripts/" + t.Paths.Text
			}
			if err := flows.Write(&rec); err != nil {
				s.Fail(err)
			}
			written.Add(1)
		}}
	}
	cfg.Progress = progress(e)
	start := time.Now()
	sum, runErr := engine.Run(e.ctx, cfg)
	if openErr != nil {
		return outErr(openErr)
	}
	var closeErr error
	tw := &transcripts.Writer{}
	var st sink.Stats
	for _, sh := range shards {
		if runErr != nil && !isInputFault(runErr) {
			// Output failed: leave unfinished files as .part, visibly unfinished.
			sh.pool.Abandon()
		} else {
			// Protocols that hold files across connections (HTTP 206 pieces)
			// finish them now, before the sink closes what is left.
			for _, p := range sh.protos {
				if cl, ok := p.(io.Closer); ok {
					closeErr = errors.Join(closeErr, cl.Close())
				}
			}
			closeErr = errors.Join(closeErr, sh.pool.Close(), sh.sk.Close())
		}
		tw.Files += sh.tw.Files
		tw.Bytes += sh.tw.Bytes
		st.Add(sh.sk.Stats())
	}
	// The JSON-lines files are written as things finish, which depends on
	// timing when there are several workers: sorted at the end (by time,
	// then the whole line), they are the same for any number of workers.
	completed := runErr == nil || isInputFault(runErr)
	if completed {
		closeErr = errors.Join(closeErr, man.Close(), flows.Close(),
			manifest.SortFile(filepath.Join(c.Output, "manifest.jsonl")),
			manifest.SortFile(filepath.Join(c.Output, "flows.jsonl")),
			flowlog.RenumberStreams(filepath.Join(c.Output, "flows.jsonl")))
	}
	notices, err := an.finishExtract(c.Output, logs, runErr)
	if err != nil && closeErr == nil {
		closeErr = err
	}
	if completed { // content findings (extractors/content): executables, disguised files
		if _, err := content.WriteNotices(c.Output, logs); err != nil && closeErr == nil {
			closeErr = err
		}
		if err := logs.Close(); err != nil && closeErr == nil {
			closeErr = err
		}
		for _, name := range logs.Names() {
			if err := manifest.SortFile(filepath.Join(c.Output, name+".jsonl")); err != nil && closeErr == nil {
				closeErr = err
			}
		}
	}
	elapsed := time.Since(start)
	if err := writeSummaryJSON(filepath.Join(c.Output, "summary.json"), sum, int(written.Load()), tw, elapsed); err != nil && closeErr == nil {
		closeErr = err
	}
	if !c.Quiet {
		writeSummary(e.stderr, sum, func(w io.Writer) {
			fmt.Fprintf(w, "  wrote %s: %d flows, %d transcript files (%d bytes), %d carved files (%d truncated), in %.2fs\n",
				c.Output, written.Load(), tw.Files, tw.Bytes, st.Files, st.Truncated, elapsed.Seconds())
			noticeSummary(w, notices)
		})
	}
	if closeErr == nil && !c.NoReport && (runErr == nil || isInputFault(runErr)) {
		closeErr = c.writeReport(e, man, flows, logs)
	}
	if closeErr != nil {
		return outErr(closeErr)
	}
	return finish(e, sum, runErr)
}

func isInputFault(err error) bool { return isFault(err) }

// workers is --workers, 0 meaning one per core.
func (c *extractCmd) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return max(1, runtime.GOMAXPROCS(0))
}

// prepareOutput makes DIR, or checks that it is empty.
func prepareOutput(dir string, force bool) error {
	st, err := os.Lstat(dir)
	switch {
	case os.IsNotExist(err):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return &exitError{exitOutput, err}
		}
		return nil
	case err != nil:
		return &exitError{exitOutput, err}
	case !st.IsDir():
		return usageErr("output %s exists and is not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return &exitError{exitOutput, err}
	}
	if len(ents) > 0 && !force {
		return usageErr("output folder %s is not empty (use --force to write into it anyway; nothing in it is overwritten)", dir)
	}
	return nil
}

type summaryJSON struct {
	Files      []engine.FileSummary `json:"files"`
	Packets    uint64               `json:"packets"`
	Bytes      uint64               `json:"bytes"`
	First      manifest.TS          `json:"first_ts"`
	Last       manifest.TS          `json:"last_ts"`
	Decode     map[string]uint64    `json:"decode"`
	BadLinks   map[string]uint64    `json:"unsupported_link_types,omitempty"`
	Filtered   uint64               `json:"filtered"`
	TCP        uint64               `json:"tcp_packets"`
	UDP        uint64               `json:"udp_packets"`
	ICMP       uint64               `json:"icmp_packets"`
	Other      uint64               `json:"other_ip_packets"`
	Conns      uint64               `json:"connections"`
	Evicted    uint64               `json:"evicted"`
	Midstream  uint64               `json:"midstream_directions"`
	Gaps       uint64               `json:"gaps"`
	GapBytes   uint64               `json:"missing_bytes"`
	Faults     []string             `json:"faults,omitempty"`
	Flows      int                  `json:"flows_written"`
	TFiles     int                  `json:"transcript_files"`
	TBytes     int64                `json:"transcript_bytes"`
	Interrupt  bool                 `json:"interrupted,omitempty"`
	KernelRcv  uint64               `json:"kernel_received,omitempty"`
	KernelDrop uint64               `json:"kernel_dropped,omitempty"`
	ElapsedSec float64              `json:"elapsed_seconds"`
}

func writeSummaryJSON(path string, sum *engine.Summary, flows int, tw *transcripts.Writer, el time.Duration) error {
	s := summaryJSON{Files: sum.Files, Packets: sum.Packets, Bytes: sum.Bytes,
		First: manifest.TS{Time: sum.First}, Last: manifest.TS{Time: sum.Last},
		Decode: map[string]uint64{}, BadLinks: sum.BadLinkTypes, Filtered: sum.Filtered,
		TCP: sum.TCP, UDP: sum.UDP, ICMP: sum.ICMP, Other: sum.Other, Conns: sum.Conns, Evicted: sum.Evicted,
		Midstream: sum.Assembler.Midstream, Gaps: sum.Assembler.Gaps, GapBytes: sum.Assembler.GapBytes,
		Flows: flows, TFiles: tw.Files, TBytes: tw.Bytes, Interrupt: sum.Interrupted, ElapsedSec: el.Seconds(),
		KernelRcv: sum.Received, KernelDrop: sum.Dropped}
	sum.Decode.Each(func(name string, n uint64) { s.Decode[name] = n })
	for _, f := range sum.Faults {
		s.Faults = append(s.Faults, f.Error())
	}
	b, err := json.MarshalIndent(&s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
