package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/grep"
	"github.com/streamx/streamx/live"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// grepCmd searches the reassembled streams (and with --decoded the carved
// files) of a capture. It has its own copy of the capture flags because
// -i is --ignore-case here, as in grep; it reads files, not interfaces.
type grepCmd struct {
	Pattern string `arg:"" name:"pattern" help:"Go regular expression (RE2 syntax; ^ and $ match at line ends). With -e or -x, it is read as the first capture instead."`

	Captures      []string      `arg:"" optional:"" name:"capture" help:"Capture files, read in order as one capture (pcap or pcapng, gzip'd or not). - reads standard input."`
	Filter        string        `short:"f" placeholder:"EXPR" help:"Only packets matching this tcpdump-style expression, e.g. 'host 10.0.0.1 and tcp port 80'."`
	Strict        bool          `help:"Stop at the first damaged input instead of carrying on past it."`
	IdleTimeout   time.Duration `default:"10m" help:"A connection silent this long (capture time) is finished as EXPIRED."`
	ReorderWindow time.Duration `default:"30s" help:"How long (capture time) data waits behind a hole before the hole is declared a gap."`
	MaxConns      int           `default:"1048576" help:"Connections tracked at once."`
	MaxConnBuffer int           `default:"1024" help:"Out-of-order pages (1900 bytes each) held per direction."`
	MaxBuffer     int           `default:"32768" help:"Out-of-order pages held in total."`

	Regexp     []string `short:"e" placeholder:"RE" help:"A pattern (repeatable); any of them matches."`
	Hex        []string `short:"x" placeholder:"HEX" help:"Bytes in hex (repeatable), e.g. -x 4d5a9000; matched exactly, whatever -i says."`
	IgnoreCase bool     `short:"i" help:"Ignore case (regular expressions and fixed strings)."`
	Fixed      bool     `short:"F" help:"Patterns are fixed strings, not regular expressions."`
	Decoded    bool     `help:"Also search the files extract would carve (decoded HTTP bodies: chunked, gzip, deflate, br, zstd; multipart parts; FTP transfers): the extractors run into a temporary folder, removed at the end."`
	Proto      []string `placeholder:"SERVICE" help:"Only connections whose service, detected by content, is one of these: http, ftp, tls, ssh, smtp, pop3, imap, dns, telnet (repeatable or comma-separated). With --decoded, a file's protocol counts (FTP data is ftp)."`
	Side       string   `default:"both" enum:"client,server,both,orig,resp" help:"Search what the client (originator), the server (responder), or both sent."`

	JSON     bool   `help:"One JSON object per match (or per connection with -l/-c)."`
	List     bool   `short:"l" help:"Only list the connections (and files) with a match, once each."`
	Count    bool   `short:"c" help:"Count the matches per connection (connections without a match are left out)."`
	After    int    `short:"A" default:"-1" placeholder:"BYTES" help:"Bytes of context after a match (default: up to 80 for text, cut at the line end; 16 in a hex dump)."`
	Before   int    `short:"B" default:"-1" placeholder:"BYTES" help:"Bytes of context before a match (default as -A)."`
	Context  int    `short:"C" default:"-1" placeholder:"BYTES" help:"Bytes of context before and after."`
	HexDump  bool   `name:"hexdump" help:"Show every match as a hex and ASCII dump (the default for binary matches and -x)."`
	MaxMatch int    `default:"4096" help:"Longest match guaranteed to be found when it straddles segments or read buffers; the window kept per stream is this plus the context."`
	Color    string `default:"auto" enum:"auto,always,never" help:"Highlight matches. auto: on a terminal, unless NO_COLOR is set."`
	Quiet    bool   `short:"q" help:"No closing summary on stderr."`
}

func (c *grepCmd) Help() string {
	return `Searches what was said, not packets: each direction of each TCP connection
is reassembled (reordered, retransmissions dropped) and searched as one
stream, so a match split across segments is found. Missing bytes are a hole:
no match spans one. With --decoded, HTTP bodies are also searched after
dechunking and decompression, and every carved file as a whole (offsets are
then offsets in the file).

Each match: the connection (uid and stream number as 'streamx flows' lists
them), originator -> responder, who sent the bytes (client/server), the
stream offset, and the line around the match (non-printable bytes escaped as
\xNN) or, for binary data, a hex and ASCII dump. Context (-A/-B/-C) is in
bytes. Matches are at most --max-match bytes long; they do not overlap.

Exit status: 0 whether or not anything matched (use -c, -l or --json);
1 damaged input; 2 bad usage.

Examples:
  streamx grep -i 'pass(word)?' capture.pcap
  streamx grep -F -e hunter2 -e letmein --side client capture.pcap
  streamx grep -x 4d5a9000 --decoded --proto http capture.pcap
  streamx grep --decoded -l 'confidential' capture.pcap`
}

// grepConn is what is known of a connection, for printing.
type grepConn struct {
	UID     string
	Stream  uint64
	Orig    string
	Resp    string
	Service string
	count   int
}

type grepRun struct {
	c       *grepCmd
	m       *grep.Matcher
	out     *bufio.Writer
	color   bool
	pats    []string
	protos  map[string]bool
	conns   map[string]*grepConn
	order   []string // uids in first-match order, for -l and -c
	matches int
	err     error
}

func (c *grepCmd) patterns() ([]grep.Pattern, []string, error) {
	var ps []grep.Pattern
	var shown []string
	kind := grep.Regexp
	if c.Fixed {
		kind = grep.Fixed
	}
	if len(c.Regexp) > 0 || len(c.Hex) > 0 {
		// grep's rule: with -e the first argument is not a pattern.
		if c.Pattern != "" {
			c.Captures = append([]string{c.Pattern}, c.Captures...)
			c.Pattern = ""
		}
	} else {
		c.Regexp = []string{c.Pattern}
	}
	for _, r := range c.Regexp {
		ps = append(ps, grep.Pattern{Kind: kind, Text: r})
		shown = append(shown, r)
	}
	for _, x := range c.Hex {
		ps = append(ps, grep.Pattern{Kind: grep.Hex, Text: x})
		shown = append(shown, "hex:"+x)
	}
	return ps, shown, nil
}

func (c *grepCmd) inputs() inputFlags {
	return inputFlags{Captures: c.Captures, Filter: c.Filter, Strict: c.Strict, IdleTimeout: c.IdleTimeout,
		ReorderWindow: c.ReorderWindow, MaxConns: c.MaxConns, MaxConnBuffer: c.MaxConnBuffer, MaxBuffer: c.MaxBuffer,
		Snaplen: live.DefaultSnaplen, RingSize: live.DefaultRingSize}
}

var grepServices = []string{"http", "ftp", "tls", "ssh", "smtp", "pop3", "imap", "dns", "telnet"}

func (c *grepCmd) Run(e *env) error {
	ps, shown, err := c.patterns()
	if err != nil {
		return err
	}
	before, after := 80, 80
	if c.HexDump || len(c.Hex) > 0 {
		before, after = 16, 16
	}
	if c.Context >= 0 {
		before, after = c.Context, c.Context
	}
	if c.Before >= 0 {
		before = c.Before
	}
	if c.After >= 0 {
		after = c.After
	}
	if c.MaxMatch < 1 {
		return usageErr("--max-match must be at least 1")
	}
	m, err := grep.New(ps, grep.Options{IgnoreCase: c.IgnoreCase, MaxMatch: c.MaxMatch, Before: before, After: after})
	if err != nil {
		return usageErr("%v", err)
	}
	protos := map[string]bool{}
	for _, p := range c.Proto {
		for _, q := range strings.Split(p, ",") {
			q = strings.ToLower(strings.TrimSpace(q))
			if !slices.Contains(grepServices, q) {
				return usageErr("--proto %q: one of %s", q, strings.Join(grepServices, ", "))
			}
			protos[q] = true
		}
	}
	in := c.inputs()
	cfg, err := in.config()
	if err != nil {
		return err
	}
	color := false
	if f, ok := e.stdout.(*os.File); ok && c.Color == "auto" {
		color = e.isTTY(f) && os.Getenv("NO_COLOR") == ""
	}
	if c.Color == "always" {
		color = true
	}
	g := &grepRun{c: c, m: m, out: bufio.NewWriterSize(e.stdout, 64<<10), color: color, pats: shown,
		protos: protos, conns: map[string]*grepConn{}}

	newGrep := func(s *engine.Session) engine.Handler { return g.newConn(s) }
	var tmp string
	var man *manifest.Writer
	var sk *sink.Sink
	var logs *extractors.Logs
	var xprotos []extractors.Protocol
	if c.Decoded {
		// The simplest correct design: run the real extractors into a
		// temporary folder and search the files its manifest lists.
		if tmp, err = os.MkdirTemp("", "streamx-grep-"); err != nil {
			return &exitError{exitOutput, err}
		}
		defer os.RemoveAll(tmp)
		if man, err = manifest.NewWriter(filepath.Join(tmp, "manifest.jsonl")); err != nil {
			return &exitError{exitOutput, err}
		}
		defer man.Close()
		// FUIDs made as extract makes them (from the engine's clock), so
		// that a match names the file extract would name
		var clock func() uint64
		if sk, err = sink.New(tmp, sink.Options{Manifest: man, Clock: func() uint64 { return clock() }}); err != nil {
			return &exitError{exitOutput, err}
		}
		logs = extractors.NewLogs(tmp)
		defer logs.Close()
		env := &extractors.Env{Dir: tmp, Sink: sk, Logs: logs, Expect: &extractors.Expectations{Max: 4096},
			Options: extractors.Options{MaxDecodedSize: 1 << 30, MaxExpectations: 4096}}
		xprotos = protocols()
		mux := extractors.NewMux(env, xprotos...)
		mux.Transcript = newGrep
		cfg.Workers = 1
		cfg.Shard = func(_ int, clk func() uint64) engine.Hooks {
			clock = clk
			return engine.Hooks{NewHandler: mux.NewHandler, Opened: mux.Opened}
		}
	} else {
		cfg.NewHandler = newGrep
	}
	cfg.Progress = progress(e)
	sum, runErr := engine.Run(e.ctx, cfg)
	if c.Decoded && (runErr == nil || isInputFault(runErr)) {
		var closeErr error
		for _, p := range xprotos {
			if cl, ok := p.(io.Closer); ok {
				closeErr = errors.Join(closeErr, cl.Close())
			}
		}
		closeErr = errors.Join(closeErr, sk.Close(), man.Close())
		if closeErr != nil {
			return &exitError{exitOutput, closeErr}
		}
		if err := g.searchFiles(tmp); err != nil {
			return &exitError{exitOutput, err}
		}
	}
	g.finish()
	if err := errors.Join(g.err, g.out.Flush()); err != nil {
		return &exitError{exitOutput, err}
	}
	if !c.Quiet {
		writeSummary(e.stderr, sum, func(w io.Writer) {
			fmt.Fprintf(w, "  grep: %d matches in %d connections\n", g.matches, len(g.order))
		})
	}
	return finish(e, sum, runErr)
}

func (g *grepRun) side(dir int) bool {
	switch g.c.Side {
	case "client", "orig":
		return dir == 0
	case "server", "resp":
		return dir == 1
	}
	return true
}

func (g *grepRun) conn(s *engine.Session) *grepConn {
	cn := s.Conn
	gc := g.conns[cn.UID]
	if gc == nil {
		gc = &grepConn{UID: cn.UID, Stream: cn.Stream, Orig: cn.Orig.String(), Resp: cn.Resp.String()}
		g.conns[cn.UID] = gc
	}
	gc.Service = s.Service
	return gc
}

// grepHandler searches both directions of one connection.
type grepHandler struct {
	g  *grepRun
	gc *grepConn
	st [2]*grep.Stream
	// held are matches found before the service was known, when --proto
	// needs it; bounded by maxHeld.
	held    []heldMatch
	decided bool
	want    bool
}

type heldMatch struct {
	dir int
	m   grep.Match // slices copied
}

const maxHeld = 1000

func (g *grepRun) newConn(s *engine.Session) engine.Handler {
	h := &grepHandler{g: g, gc: g.conn(s)}
	for dir := range 2 {
		if g.side(dir) {
			h.st[dir] = g.m.NewStream(func(m grep.Match) { h.found(s, dir, m) })
		}
	}
	return h
}

// decide says whether the connection passes --proto; undecided while the
// service is unknown and the connection goes on.
func (h *grepHandler) decide(s *engine.Session, final bool) {
	if h.decided {
		return
	}
	if len(h.g.protos) == 0 {
		h.decided, h.want = true, true
		return
	}
	if s.Service == "" && !final && len(h.held) < maxHeld {
		return
	}
	h.decided, h.want = true, h.g.protos[s.Service]
	h.gc.Service = s.Service
	if h.want {
		for _, x := range h.held {
			h.g.emitStream(h.gc, x.dir, x.m)
		}
	}
	h.held = nil
}

func (h *grepHandler) found(s *engine.Session, dir int, m grep.Match) {
	h.gc.Service = s.Service
	h.decide(s, false)
	switch {
	case !h.decided:
		m.Data, m.Before, m.After = bytes.Clone(m.Data), bytes.Clone(m.Before), bytes.Clone(m.After)
		h.held = append(h.held, heldMatch{dir, m})
	case h.want:
		h.g.emitStream(h.gc, dir, m)
	}
}

func (h *grepHandler) Data(s *engine.Session, dir int, data []byte, off int64, ts time.Time) {
	st := h.st[dir]
	if st == nil {
		return
	}
	if off != st.Offset() {
		st.Reset(off)
	}
	st.Write(data)
}

func (h *grepHandler) Gap(s *engine.Session, dir int, off, n int64, ts time.Time) {
	if st := h.st[dir]; st != nil {
		st.Reset(off + n)
	}
}

func (h *grepHandler) End(s *engine.Session, dir int, reason string, ts time.Time) {
	if st := h.st[dir]; st != nil {
		st.Flush()
	}
}

func (h *grepHandler) Close(s *engine.Session) {
	for _, st := range h.st {
		if st != nil {
			st.Flush()
		}
	}
	h.gc.Service = s.Service
	h.decide(s, true)
	if h.g.err != nil {
		s.Fail(h.g.err)
	}
}

// grepJSON is one line of --json output.
type grepJSON struct {
	UID      string `json:"uid"`
	Stream   uint64 `json:"stream"`
	Orig     string `json:"orig"`
	Resp     string `json:"resp"`
	Service  string `json:"service,omitempty"`
	Dir      string `json:"dir,omitempty"`  // orig or resp
	Side     string `json:"side,omitempty"` // client or server
	Offset   *int64 `json:"offset,omitempty"`
	FUID     string `json:"fuid,omitempty"`
	File     string `json:"file,omitempty"`     // path in the extract folder layout
	Filename string `json:"filename,omitempty"` // name on the wire
	Pattern  string `json:"pattern,omitempty"`
	Match    string `json:"match,omitempty"` // when valid UTF-8
	MatchHex string `json:"match_hex,omitempty"`
	Before   string `json:"before_hex,omitempty"`
	After    string `json:"after_hex,omitempty"`
	Count    int    `json:"count,omitempty"`
}

func (g *grepRun) record(gc *grepConn) {
	if gc.count == 0 {
		g.order = append(g.order, gc.UID)
	}
	gc.count++
	g.matches++
}

func dirNames(dir int) (string, string) {
	if dir == 0 {
		return "orig", "client"
	}
	return "resp", "server"
}

func (g *grepRun) emitStream(gc *grepConn, dir int, m grep.Match) {
	g.record(gc)
	if g.c.List || g.c.Count {
		return
	}
	d, side := dirNames(dir)
	if g.c.JSON {
		off := m.Off
		g.writeJSON(g.matchJSON(gc, d, side, &off, m))
		return
	}
	head := fmt.Sprintf("%s stream %d %s -> %s %s offset %d", gc.UID, gc.Stream, gc.Orig, gc.Resp, side, m.Off)
	g.writeText(head, m)
}

func (g *grepRun) matchJSON(gc *grepConn, d, side string, off *int64, m grep.Match) *grepJSON {
	j := &grepJSON{UID: gc.UID, Stream: gc.Stream, Orig: gc.Orig, Resp: gc.Resp, Service: gc.Service, Dir: d, Side: side,
		Offset: off, Pattern: g.pats[m.Pattern], MatchHex: hex.EncodeToString(m.Data),
		Before: hex.EncodeToString(m.Before), After: hex.EncodeToString(m.After)}
	if utf8.Valid(m.Data) {
		j.Match = string(m.Data)
	}
	return j
}

func (g *grepRun) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		g.err = errors.Join(g.err, err)
		return
	}
	g.out.Write(append(b, '\n'))
}

// isText says whether b reads as text: no control bytes but tab, CR, LF.
func isText(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 || r < 0x20 && r != '\t' && r != '\r' && r != '\n' || r == 0x7f {
			return false
		}
		b = b[n:]
	}
	return true
}

func (g *grepRun) hl(s string) string {
	if !g.color {
		return s
	}
	return "\x1b[1;31m" + s + "\x1b[0m"
}

// writeText prints one match: the line around it, or a hex dump.
func (g *grepRun) writeText(head string, m grep.Match) {
	if g.c.HexDump || g.pats[m.Pattern] != "" && strings.HasPrefix(g.pats[m.Pattern], "hex:") || !isText(m.Data) {
		fmt.Fprintf(g.out, "%s:\n", head)
		g.hexDump(m)
		return
	}
	before, after := m.Before, m.After
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	if i := bytes.IndexAny(after, "\r\n"); i >= 0 {
		after = after[:i]
	}
	fmt.Fprintf(g.out, "%s: %s%s%s\n", head, escape(before), g.hl(escape(m.Data)), escape(after))
}

// escape makes bytes safe on a terminal: printable UTF-8 stays, the rest is \xNN.
func escape(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1, r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0,
			r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			for _, c := range b[:n] {
				fmt.Fprintf(&sb, "\\x%02x", c)
			}
		case r == '\\':
			sb.WriteString(`\\`)
		default:
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

// hexDump prints Before+Data+After, 16 bytes a row, with the stream
// offsets; the match's bytes are highlighted (or bracketed in the ASCII
// column without colour).
func (g *grepRun) hexDump(m grep.Match) {
	all := slices.Concat(m.Before, m.Data, m.After)
	start := m.Off - int64(len(m.Before))
	ms, me := len(m.Before), len(m.Before)+len(m.Data)
	for row := 0; row < len(all); row += 16 {
		var hx, asc strings.Builder
		for i := row; i < row+16; i++ {
			if i >= len(all) {
				hx.WriteString("   ")
				continue
			}
			in := i >= ms && i < me
			h := fmt.Sprintf("%02x", all[i])
			a := "."
			if all[i] >= 0x20 && all[i] < 0x7f {
				a = string(all[i])
			}
			if in {
				h, a = g.hl(h), g.hl(a)
				if !g.color {
					h = strings.ToUpper(h)
				}
			}
			hx.WriteString(h + " ")
			asc.WriteString(a)
		}
		mark := " "
		if row < me && row+16 > ms {
			mark = "*"
		}
		fmt.Fprintf(g.out, "  %s%10d  %s |%s|\n", mark, start+int64(row), hx.String(), asc.String())
	}
}

// searchFiles searches every carved file listed in dir/manifest.jsonl.
func (g *grepRun) searchFiles(dir string) error {
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	buf := make([]byte, 256<<10)
	for sc.Scan() {
		var en manifest.Entry
		if err := json.Unmarshal(sc.Bytes(), &en); err != nil {
			return fmt.Errorf("%s/manifest.jsonl: %w", dir, err)
		}
		if err := g.searchFile(dir, &en, buf); err != nil {
			return err
		}
	}
	return sc.Err()
}

// fileService is the --proto name of a file's protocol.
func fileService(src string) string {
	s := strings.ToLower(src)
	if i := strings.IndexAny(s, "_-"); i >= 0 {
		s = s[:i]
	}
	return s
}

func (g *grepRun) searchFile(dir string, en *manifest.Entry, buf []byte) error {
	if strings.HasSuffix(en.Source, "_SESSION") {
		// A document the extractor wrote (the FTP session log), not a
		// file from the wire: its bytes were searched in the stream.
		return nil
	}
	d, side := dirNames(1)
	if en.IsOrig {
		d, side = dirNames(0)
	}
	if !g.side(map[bool]int{true: 0, false: 1}[en.IsOrig]) {
		return nil
	}
	svc := fileService(en.Source)
	if len(g.protos) > 0 && !g.protos[svc] {
		return nil
	}
	gc := g.conns[en.UID]
	if gc == nil {
		n, _ := strconv.ParseUint(strings.TrimPrefix(en.UID, "C"), 10, 64)
		gc = &grepConn{UID: en.UID, Stream: n, Orig: fmt.Sprintf("%s:%d", en.OrigH, en.OrigP), Resp: fmt.Sprintf("%s:%d", en.RespH, en.RespP)}
		g.conns[en.UID] = gc
	}
	if gc.Service == "" {
		gc.Service = svc
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(en.Extracted)))
	if err != nil {
		return err
	}
	defer f.Close()
	st := g.m.NewStream(func(m grep.Match) {
		g.record(gc)
		if g.c.List || g.c.Count {
			return
		}
		if g.c.JSON {
			j := g.matchJSON(gc, d, side, nil, m)
			off := m.Off
			j.Offset, j.FUID, j.File, j.Filename = &off, en.FUID, en.Extracted, en.Filename
			g.writeJSON(j)
			return
		}
		head := fmt.Sprintf("%s stream %d %s -> %s %s file %s (%s, %q) offset %d", gc.UID, gc.Stream, gc.Orig, gc.Resp,
			side, en.Extracted, en.FUID, en.Filename, m.Off)
		g.writeText(head, m)
	})
	holes := en.Holes
	var off int64
	for {
		n, err := f.Read(buf)
		chunk := buf[:n]
		for len(chunk) > 0 {
			// A hole reads back as zeros: no match spans or lies in one.
			if len(holes) > 0 && off+int64(len(chunk)) > holes[0].Offset {
				k := max(holes[0].Offset-off, 0)
				st.Write(chunk[:k])
				skip := min(holes[0].Offset+holes[0].Length-off, int64(len(chunk)))
				chunk, off = chunk[skip:], off+skip
				if off >= holes[0].Offset+holes[0].Length {
					st.Reset(off)
					holes = holes[1:]
				}
				continue
			}
			st.Write(chunk)
			off += int64(len(chunk))
			chunk = nil
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	st.Flush()
	return nil
}

// finish prints the -l and -c lists.
func (g *grepRun) finish() {
	if !g.c.List && !g.c.Count {
		return
	}
	for _, uid := range g.order {
		gc := g.conns[uid]
		if g.c.JSON {
			j := &grepJSON{UID: gc.UID, Stream: gc.Stream, Orig: gc.Orig, Resp: gc.Resp, Service: gc.Service}
			if g.c.Count {
				j.Count = gc.count
			}
			g.writeJSON(j)
			continue
		}
		line := fmt.Sprintf("%s stream %d %s -> %s %s", gc.UID, gc.Stream, gc.Orig, gc.Resp, gc.Service)
		if g.c.Count {
			line += fmt.Sprintf(": %d", gc.count)
		}
		fmt.Fprintln(g.out, strings.TrimRight(line, " "))
	}
}
