package analysis

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors/plainauth"
	"github.com/streamx/streamx/extractors/tls"
	"github.com/streamx/streamx/flowlog"
	"github.com/streamx/streamx/manifest"
)

// Options are the analyst's choices.
type Options struct {
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

// connSum is what the analysis keeps of a finished TCP connection.
type connSum struct {
	flowlog.Record
	frames    [2]Count // frames and wire bytes per direction, as tshark counts them
	rst       [2]bool  // a RST from the originator, from the responder
	synAck    bool     // the responder sent a SYN-ACK
	origAcked bool     // the originator sent an ACK or data
	text      bool     // its first bytes are printable text
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

// Collector gathers what a run shows and turns it into a Report. It is
// fed from the engine's goroutine only.
//
// Call order:
//  1. Packet for every decoded packet (engine.Config.Packet), Closed for
//     every finished connection (engine.Config.Closed), TLS and Login as
//     the TLS and plain-text-login extractors report (in any order,
//     interleaved, during the run);
//  2. ReadLog for each protocol log the extractors wrote ("ftp", "http"),
//     after the run;
//  3. Finish, once.
type Collector struct {
	opts    Options
	th      Thresholds
	traffic *traffic
	conns   []connSum
	byUID   map[string]int
	tls     []tls.Record
	logins  []plainauth.Event
	ftp     []FTPLine
	http    []HTTPLine
	bad     map[string]int // log lines that did not parse, per log
}

// New returns an empty Collector.
func New(opts Options) *Collector {
	return &Collector{opts: opts, th: opts.Thresholds.withDefaults(), traffic: newTraffic(opts.KeepBroadcast),
		byUID: map[string]int{}, bad: map[string]int{}}
}

// Packet accounts one decoded packet; p is not kept.
func (c *Collector) Packet(p *decode.Packet) { c.traffic.packet(p) }

// Closed records a finished connection.
func (c *Collector) Closed(s *engine.Session) {
	cs := connSum{Record: flowlog.FromSession(s)}
	cs.frames = c.traffic.takeTCP(s)
	cs.rst = [2]bool{s.Conn.Dirs[0].SawRST, s.Conn.Dirs[1].SawRST}
	h := cs.History
	cs.synAck = strings.ContainsRune(h, 'h')
	cs.origAcked = strings.ContainsAny(h, "AD")
	if cs.Service == "" {
		cs.text = printable(s.Prefix(0)) && printable(s.Prefix(1)) && len(s.Prefix(0))+len(s.Prefix(1)) > 0
	}
	c.byUID[cs.UID] = len(c.conns)
	c.conns = append(c.conns, cs)
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

// TLS records one line of tls.jsonl (the TLS extractor's Observe).
func (c *Collector) TLS(r *tls.Record) {
	c.tls = append(c.tls, *r)
}

// Login records a plain-text login or STARTTLS seen by the plainauth
// extractors.
func (c *Collector) Login(ev plainauth.Event) { c.logins = append(c.logins, ev) }

// ReadLog reads the JSON lines of one protocol log: "ftp" (ftp.jsonl) or
// "http" (http.jsonl). Other names are ignored. A line that does not parse
// is counted (Report.LogErrors) and skipped; only a read error is returned.
func (c *Collector) ReadLog(name string, r io.Reader) error {
	if name != "ftp" && name != "http" {
		return nil
	}
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
			if err = json.Unmarshal(line, &l); err == nil {
				c.ftp = append(c.ftp, l)
			}
		case "http":
			var l HTTPLine
			if err = json.Unmarshal(line, &l); err == nil {
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

func (c *Collector) conn(uid string) *connSum {
	if i, ok := c.byUID[uid]; ok {
		return &c.conns[i]
	}
	return nil
}

func addrPort(a netip.Addr, p uint16) netip.AddrPort { return netip.AddrPortFrom(a, p) }
