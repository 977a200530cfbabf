package analysis

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/detect"
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/extractors/plainauth"
	"github.com/streamx/streamx/extractors/tls"
	"github.com/streamx/streamx/flowlog"
	"github.com/streamx/streamx/manifest"
)

// Options are the analyst's choices.
type Options struct {
	// Tables keeps what the stats tables and the baseline need: hosts,
	// conversations, services, the encryption summary, TLS servers, flows.
	// Without it (extract) only the findings are worked out.
	Tables bool
	// Connections keeps every TCP connection's encryption class
	// (Report.Connections; stats --connections). Needs Tables.
	Connections bool
	// Flows keeps the traffic per client, server, port and service that
	// Baseline needs. Needs Tables.
	Flows bool
	// KeepBroadcast keeps broadcast and multicast traffic in the host and
	// conversation tables (it is always in the protocol totals).
	KeepBroadcast bool
	// Top is the number of rows of the host, conversation and service
	// tables; 0 means every row.
	Top int
	// Thresholds of the findings that count (zero values: the defaults).
	Thresholds Thresholds
}

// Thresholds decide when repeated events become a finding.
type Thresholds struct {
	// ScanPorts: a source whose failed connection attempts reach this many
	// distinct ports of one host within ScanWindow is scanning it (Zeek's
	// Scan::port_scan_threshold, 15).
	ScanPorts int
	// ScanHosts: a source whose failed attempts reach this many distinct
	// hosts within ScanWindow is scanning addresses (Zeek's
	// Scan::addr_scan_threshold, 25).
	ScanHosts  int
	ScanWindow time.Duration // 5 minutes
	// BruteForce: this many failed logins from one source against one
	// server's service within BruteWindow is brute forcing (10 in 15
	// minutes).
	BruteForce  int
	BruteWindow time.Duration
	// ChallengeWindow: a 401 to a request without credentials, followed
	// within this time by the same client sending credentials to the same
	// server for the same URI, is an authentication challenge, not a
	// denial (5 seconds).
	ChallengeWindow time.Duration
	// NoAnswerWait: an unanswered connection attempt is reported only if
	// the originator retransmitted its SYN or the capture went on this long
	// after it (3 seconds), so a SYN at the very end of a capture is not
	// called unanswered.
	NoAnswerWait time.Duration
}

// DefaultThresholds are the documented defaults.
var DefaultThresholds = Thresholds{ScanPorts: 15, ScanHosts: 25, ScanWindow: 5 * time.Minute,
	BruteForce: 10, BruteWindow: 15 * time.Minute, ChallengeWindow: 5 * time.Second, NoAnswerWait: 3 * time.Second}

func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds
	if t.ScanPorts > 0 {
		d.ScanPorts = t.ScanPorts
	}
	if t.ScanHosts > 0 {
		d.ScanHosts = t.ScanHosts
	}
	if t.ScanWindow > 0 {
		d.ScanWindow = t.ScanWindow
	}
	if t.BruteForce > 0 {
		d.BruteForce = t.BruteForce
	}
	if t.BruteWindow > 0 {
		d.BruteWindow = t.BruteWindow
	}
	if t.ChallengeWindow > 0 {
		d.ChallengeWindow = t.ChallengeWindow
	}
	if t.NoAnswerWait > 0 {
		d.NoAnswerWait = t.NoAnswerWait
	}
	return d
}

// FTPLine is the part of an ftp.jsonl line (package ftp's Log, Zeek's
// ftp.log names) the analysis reads.
type FTPLine struct {
	TS  manifest.TS `json:"ts"`
	UID string      `json:"uid"`
	manifest.ConnID
	User         string `json:"user"`
	Password     string `json:"password"`
	Command      string `json:"command"`
	Arg          string `json:"arg"`
	ReplyCode    int    `json:"reply_code"`
	ReplyMsg     string `json:"reply_msg"`
	Login        string `json:"login"`
	Direction    string `json:"direction"`
	ExpectedSize *int64 `json:"expected_size"`
	FileSize     *int64 `json:"file_size"`
	State        string `json:"state"`
	Reason       string `json:"reason"`
	DataUID      string `json:"data_uid"`
	Note         string `json:"note"`
}

// keep reports whether a finding may need the line: logins, AUTH, and
// transfers cut short.
func (l *FTPLine) keep() bool {
	return l.Command == "PASS" || l.Login != "" || l.Command == "AUTH" || (l.Direction != "" && l.State == "truncated")
}

// HTTPLine is the part of an http.jsonl line (package httpx's record,
// Zeek's http.log names) the analysis reads.
type HTTPLine struct {
	TS  manifest.TS `json:"ts"`
	UID string      `json:"uid"`
	manifest.ConnID
	TransDepth      int      `json:"trans_depth"`
	Method          string   `json:"method"`
	Host            string   `json:"host"`
	URI             string   `json:"uri"`
	StatusCode      int      `json:"status_code"`
	StatusMsg       string   `json:"status_msg"`
	Username        string   `json:"username"`
	Password        string   `json:"password"`
	RequestBodyLen  int64    `json:"request_body_len"`
	ResponseBodyLen int64    `json:"response_body_len"`
	State           string   `json:"state"`
	Flags           []string `json:"flags"`
}

// keep reports whether a finding may need the line: credentials, error
// statuses, messages cut short.
func (l *HTTPLine) keep() bool {
	return l.Username != "" || l.StatusCode >= 400 || l.State == "truncated"
}

// Collector gathers what a run shows and turns it into a Report.
//
// Call order:
//  1. New, then Attach to the run's Mux, or to every worker's Mux (before
//     the run);
//  2. during the run: Packet for every decoded packet
//     (engine.Config.Packet), Closed for every finished connection
//     (engine.Config.Closed, or each worker's Hooks.Closed); TLS and Login
//     come from the extractors Attach connected, before the Closed of their
//     connection;
//  3. ReadLog for each protocol log the extractors wrote ("ftp", "http"),
//     after the run;
//  4. Finish (or Baseline), once.
//
// Concurrency: Packet is called from one goroutine (the engine's reader),
// in capture order. Closed, TLS, Login and the protocol wrappers Attach
// installs may be called from any number of goroutines at once (the
// engine's workers), in an order that differs from run to run; only a
// connection's own events keep their order (its wrapper's New, its TLS
// records and logins, then its Closed, after the reader has handed over
// all its packets). ReadLog, Finish and Baseline come after every other
// call has returned. The Report does not depend on the order of Closed,
// TLS and Login calls between connections, nor on the order of log lines:
// whatever is kept during the run is sorted (by capture time, then
// connection) before the findings are worked out.
//
// Memory: what a finding or table may still need. Every connection
// updates running totals; kept per connection are only failed connection
// attempts (about 80 bytes each: scans are told at the end), HTTP, FTP and
// FTP data connections (about 100 bytes, for the findings the logs lead
// to), connections on a port unusual for their service (about 120 bytes,
// for the port findings, told at the end), and, with Tables, the
// conversations (the top rows only, with Top), hosts and flows. Log lines
// are kept only when a finding may use them.
type Collector struct {
	opts Options
	th   Thresholds
	// traffic belongs to Packet's goroutine (its frames have their own
	// lock); the rest is guarded by mu.
	traffic *traffic

	mu       sync.Mutex
	ns       *noticeSet
	health   TCPHealth
	attempts attemptList
	joins    map[uint64]*joinInfo
	deferred []deferredConn
	ports    []portEvent
	// claimed: connections a protocol took by content (Attach's
	// wrappers), until Closed; a connection with a protocol handler that no
	// content claimed was handed over through an expectation (FTP data).
	claimed    map[uint64]bool
	switched   map[string]string // uid -> how the session went on in TLS
	tlsPending map[string]string // uid -> TLS version, until Closed

	tables *tables

	logins []plainauth.Event
	ftp    []FTPLine
	http   []HTTPLine
	bad    map[string]int
	done   bool
}

// New returns an empty Collector.
func New(opts Options) *Collector {
	c := &Collector{opts: opts, th: opts.Thresholds.withDefaults(), traffic: newTraffic(opts.Tables, opts.KeepBroadcast),
		ns: newNoticeSet(), joins: map[uint64]*joinInfo{}, claimed: map[uint64]bool{}, switched: map[string]string{},
		tlsPending: map[string]string{}, bad: map[string]int{}}
	c.health.States = map[string]int{}
	if opts.Tables {
		c.tables = newTables(opts)
	}
	return c
}

// observer is what Attach connects the extractors to: the Collector, or a
// test's recorder in front of it.
type observer interface {
	TLS(r *tls.Record)
	Login(ev plainauth.Event)
	claim(s *engine.Session)
}

// Attach connects the collector to a Mux: the TLS extractor (service
// "tls") reports its records to it, the plain-text login observers of
// package plainauth handle the services no protocol of the Mux handles
// (smtp, pop3, imap, telnet), and every protocol is wrapped so that the
// collector knows which connections were claimed by content and which
// through an expectation (FTP data channels). Call it before the run,
// once for each Mux (each worker's, when there are several).
func (c *Collector) Attach(mux *extractors.Mux) { attach(mux, c) }

func attach(mux *extractors.Mux, o observer) {
	if p, ok := mux.Protocols["tls"].(*tls.Protocol); ok {
		p.Observe = o.TLS
	}
	for _, svc := range plainauth.Services() {
		if mux.Protocols[svc] == nil {
			mux.Protocols[svc] = plainauth.New(svc, o.Login)
		}
	}
	for svc, p := range mux.Protocols {
		mux.Protocols[svc] = &claimWatch{Protocol: p, o: o}
	}
}

// claimWatch notes the connections its protocol is asked to handle.
type claimWatch struct {
	extractors.Protocol
	o observer
}

func (w *claimWatch) New(s *engine.Session, env *extractors.Env) engine.Handler {
	w.o.claim(s)
	return w.Protocol.New(s, env)
}

func (c *Collector) claim(s *engine.Session) {
	c.mu.Lock()
	c.claimed[s.Conn.Index] = true
	c.mu.Unlock()
}

// Packet accounts one decoded packet; p is not kept. Call it from one
// goroutine, in capture order.
func (c *Collector) Packet(p *decode.Packet) { c.traffic.packet(p) }

// TLS records one line of tls.jsonl (the TLS extractor's Observe).
func (c *Collector) TLS(r *tls.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tlsPending[r.UID] = r.Version
	if c.tables != nil {
		c.tables.tls(r)
	}
}

// Login records a plain-text login or a switch to TLS seen by the
// plainauth observers.
func (c *Collector) Login(ev plainauth.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.Kind == plainauth.KindStartTLS {
		c.switched[ev.UID] = strings.ToUpper(ev.Service) + " " + ev.Mechanism
		return
	}
	c.logins = append(c.logins, ev)
}

// Closed accounts a finished connection.
func (c *Collector) Closed(s *engine.Session) {
	rec := flowlog.FromSession(s)
	idx := s.Conn.Index
	handled := extractors.ProtocolOf(s) != nil
	rst := [2]bool{s.Conn.Dirs[0].SawRST, s.Conn.Dirs[1].SawRST}
	cs := &connInfo{Record: &rec, rst: rst,
		synAck: strings.ContainsRune(rec.History, 'h'), origAcked: strings.ContainsAny(rec.History, "AD")}
	if rec.Service == "" {
		cs.text = printable(s.Prefix(0)) && printable(s.Prefix(1)) && len(s.Prefix(0))+len(s.Prefix(1)) > 0
	}
	var frames [2]Count
	if c.tables != nil {
		frames = c.traffic.frames.take(s)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	claimed := c.claimed[idx]
	delete(c.claimed, idx)
	svc := rec.Service
	if !claimed && handled {
		svc = "ftp-data" // handed over through an FTP expectation
	}
	cs.svc = svc
	c.health.add(cs)
	if failedAttempt(cs) || noAnswer(cs) || rec.ConnState == "REJ" {
		c.attempts.add(compactAttempt(cs, idx))
	}
	switch svc {
	case detect.HTTP, detect.FTP, "ftp-data":
		c.joins[idx] = &joinInfo{state: rec.ConnState, history: rec.History, rst: rst, missed: rec.MissedBytes,
			orig: addrPort(rec.OrigH, rec.OrigP), resp: addrPort(rec.RespH, rec.RespP)}
	}
	var d *deferredConn
	if svc == detect.FTP {
		// encryption and port verdicts wait for the FTP log (AUTH TLS)
		c.deferred = append(c.deferred, deferredConn{uid: rec.UID, ts: rec.TS.Time, id: rec.ConnID,
			bytes: rec.OrigBytes + rec.RespBytes})
		d = &c.deferred[len(c.deferred)-1]
	} else if ev := (portEvent{uid: rec.UID, ts: rec.TS.Time, id: rec.ConnID, svc: svc, switched: c.switched[rec.UID] != ""}); ev.note() != "" {
		// told at the end, in capture order
		c.ports = append(c.ports, ev)
	}
	tlsVersion, isTLS := c.tlsPending[rec.UID]
	delete(c.tlsPending, rec.UID)
	if c.tables != nil {
		c.tables.conn(cs, frames)
		if d == nil {
			class, how := classify(cs, isTLS, tlsVersion, c.switched[rec.UID])
			c.tables.class(cs, class, how, frames)
		} else {
			d.frames = frames
			d.orig = addrPort(rec.OrigH, rec.OrigP)
			d.resp = addrPort(rec.RespH, rec.RespP)
		}
	}
	delete(c.switched, rec.UID)
}

// connInfo is a finished connection while Closed works on it.
type connInfo struct {
	*flowlog.Record
	svc       string // Service, or "ftp-data"
	rst       [2]bool
	synAck    bool // the responder sent a SYN-ACK
	origAcked bool // the originator sent an ACK or data
	text      bool // its first bytes are printable text
}

// joinInfo is what the log findings need of an HTTP, FTP or FTP data
// connection.
type joinInfo struct {
	state, history string
	rst            [2]bool
	missed         uint64
	orig, resp     netip.AddrPort
}

// deferredConn is an FTP control connection whose encryption class and
// port verdict wait for the FTP log.
type deferredConn struct {
	uid        string
	ts         time.Time
	id         manifest.ConnID
	bytes      int64
	frames     [2]Count
	orig, resp netip.AddrPort
}

// printable reports whether b is text: at least 90% printable ASCII,
// tabs and line ends.
func printable(b []byte) bool {
	n := 0
	for _, x := range b {
		if (x >= 0x20 && x < 0x7f) || x == '\t' || x == '\r' || x == '\n' {
			n++
		}
	}
	return n*10 >= len(b)*9
}

// ReadLog reads the JSON lines of one protocol log: "ftp" (ftp.jsonl) or
// "http" (http.jsonl). Other names are ignored. Only the lines a finding
// may use are kept. A line that does not parse is counted
// (Report.LogErrors) and skipped; only a read error is returned. The order
// of the lines does not matter.
func (c *Collector) ReadLog(name string, r io.Reader) error {
	if name != "ftp" && name != "http" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var err error
		switch name {
		case "ftp":
			var l FTPLine
			if err = json.Unmarshal(line, &l); err == nil && l.keep() {
				c.ftp = append(c.ftp, l)
			}
		case "http":
			var l HTTPLine
			if err = json.Unmarshal(line, &l); err == nil && l.keep() {
				c.http = append(c.http, l)
			}
		}
		if err != nil {
			c.bad[name]++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s log: %w", name, err)
	}
	return nil
}

// join returns what the log findings need of connection uid, if kept.
func (c *Collector) join(uid string) *joinInfo {
	if len(uid) < 2 || uid[0] != 'C' {
		return nil
	}
	idx, err := strconv.ParseUint(uid[1:], 10, 64)
	if err != nil {
		return nil
	}
	return c.joins[idx]
}

func addrPort(a netip.Addr, p uint16) netip.AddrPort { return netip.AddrPortFrom(a, p) }
