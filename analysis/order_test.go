package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/extractors/ftp"
	"github.com/streamx/streamx/extractors/httpx"
	"github.com/streamx/streamx/extractors/plainauth"
	"github.com/streamx/streamx/extractors/tls"
	"github.com/streamx/streamx/flowtable"
	"github.com/streamx/streamx/internal/pcapgen"
	"github.com/streamx/streamx/internal/testcap"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// recording is one run of the engine (one goroutine) over a capture with
// every call its Collector received, so that they can be replayed to
// other Collectors in other orders, as the engine's workers would make
// them.
type recording struct {
	opts    Options
	col     *Collector // the one the run fed
	packets []decode.Packet
	conns   map[string]*connCalls // by uid
	closed  []*connCalls          // in the order they were closed
	// logs are the lines of ftp.jsonl and http.jsonl the extractors wrote
	// (only with every extractor: record's full).
	logs map[string][]string
	// fakeTLS makes up a TLS record for every connection to port 443 before
	// it is closed (synthetic captures have no real handshakes).
	fakeTLS bool
}

// connCalls is what one connection's extractors and the engine told the
// Collector, in order: its claims, TLS records and logins, then Closed.
type connCalls struct {
	uid   string
	index uint64
	// tuple: the connections of one 4-tuple are finished one after the
	// other by the same worker, so they are replayed in order.
	tuple [2]netip.AddrPort
	calls []call
	after int // packets read when it was closed
}

type call struct {
	claim  *engine.Session
	tls    *tls.Record
	login  *plainauth.Event
	closed *engine.Session
}

func (r *recording) conn(uid string) *connCalls {
	c := r.conns[uid]
	if c == nil {
		c = &connCalls{uid: uid}
		r.conns[uid] = c
	}
	return c
}

// TLS, Login and claim make the recording the observer of the extractors
// (attach), in front of the Collector.
func (r *recording) TLS(rec *tls.Record) {
	cp := *rec
	c := r.conn(rec.UID)
	c.calls = append(c.calls, call{tls: &cp})
	r.col.TLS(rec)
}

func (r *recording) Login(ev plainauth.Event) {
	c := r.conn(ev.UID)
	c.calls = append(c.calls, call{login: &ev})
	r.col.Login(ev)
}

func (r *recording) claim(s *engine.Session) {
	c := r.conn(s.Conn.UID)
	c.calls = append(c.calls, call{claim: s})
	r.col.claim(s)
}

func (r *recording) packet(p *decode.Packet) {
	cp := *p
	cp.Payload = nil
	r.packets = append(r.packets, cp)
	r.col.Packet(p)
}

func (r *recording) closedConn(s *engine.Session) {
	c := r.conn(s.Conn.UID)
	if r.fakeTLS && s.Conn.Resp.Port() == 443 {
		rec := fakeTLSRecord(s)
		c.calls = append(c.calls, call{tls: rec})
		r.col.TLS(rec)
	}
	c.index, c.after = s.Conn.Index, len(r.packets)
	c.tuple = [2]netip.AddrPort{s.Conn.Orig, s.Conn.Resp}
	if c.tuple[1].Compare(c.tuple[0]) < 0 {
		c.tuple[0], c.tuple[1] = c.tuple[1], c.tuple[0]
	}
	c.calls = append(c.calls, call{closed: s})
	r.closed = append(r.closed, c)
	r.col.Closed(s)
}

// fakeTLSRecord is a handshake made up from the connection's client port:
// many names, versions and ciphers for one server, more than its row keeps.
func fakeTLSRecord(s *engine.Session) *tls.Record {
	c := s.Conn
	p := int(c.Orig.Port())
	r := &tls.Record{TS: manifest.TS{Time: c.First}, UID: c.UID, Established: p%3 != 0, SelfSigned: p%7 == 0,
		Version: fmt.Sprintf("TLSv1%d", p%13), Cipher: fmt.Sprintf("TLS_CIPHER_%d", p%17),
		ServerName: fmt.Sprintf("h%d.example", p), Subject: fmt.Sprintf("CN=s%d", p%11)}
	r.ConnID = manifest.ConnID{OrigH: c.Orig.Addr(), OrigP: c.Orig.Port(), RespH: c.Resp.Addr(), RespP: c.Resp.Port()}
	return r
}

// record runs the engine over path, feeding a Collector through a
// recording. With full, the FTP and HTTP extractors run too (their logs
// are kept in logs); otherwise only TLS and the plain-text logins.
func record(t *testing.T, path string, opts Options, full, fakeTLS bool) *recording {
	t.Helper()
	r := &recording{opts: opts, col: New(opts), conns: map[string]*connCalls{}, logs: map[string][]string{}, fakeTLS: fakeTLS}
	dir := t.TempDir()
	env := &extractors.Env{Dir: dir, Expect: &extractors.Expectations{Max: 4096},
		Options: extractors.Options{MaxDecodedSize: 1 << 20, MaxExpectations: 4096}}
	protos := []extractors.Protocol{tls.New()}
	var sk *sink.Sink
	if full {
		var err error
		if sk, err = sink.New(dir, sink.Options{MaxOpenFiles: 16}); err != nil {
			t.Fatal(err)
		}
		env.Sink, env.Logs = sk, extractors.NewLogs(dir)
		protos = append(protos, ftp.New(), httpx.New())
	}
	mux := extractors.NewMux(env, protos...)
	attach(mux, r)
	cfg := engine.Config{Inputs: []string{path}, NewHandler: mux.NewHandler, Opened: mux.Opened, Packet: r.packet, Closed: r.closedConn}
	if _, err := engine.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if full {
		var errs []error
		for _, p := range protos {
			if cl, ok := p.(io.Closer); ok {
				errs = append(errs, cl.Close())
			}
		}
		errs = append(errs, sk.Close(), env.Logs.Close())
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"ftp", "http"} {
			b, err := os.ReadFile(filepath.Join(dir, name+".jsonl"))
			if errors.Is(err, os.ErrNotExist) {
				continue
			} else if err != nil {
				t.Fatal(err)
			}
			r.logs[name] = strings.SplitAfter(string(b), "\n")
		}
	}
	return r
}

// uids are the connections' uids by first packet.
func (r *recording) uids() []string {
	cs := slices.Clone(r.closed)
	slices.SortFunc(cs, func(a, b *connCalls) int { return compareUID(a.uid, b.uid) })
	var out []string
	for _, c := range cs {
		out = append(out, c.uid)
	}
	return out
}

// finish reads the logs (name: lines) into col and returns its Report,
// and its Baseline when opts has Flows.
func finish(t *testing.T, col *Collector, logs map[string][]string) (*Report, *Baseline) {
	t.Helper()
	for _, name := range []string{"ftp", "http"} {
		if err := col.ReadLog(name, strings.NewReader(strings.Join(logs[name], ""))); err != nil {
			t.Fatal(err)
		}
	}
	r := col.Finish()
	var b *Baseline
	if col.opts.Flows {
		b = col.Baseline([]string{"capture"})
	}
	return r, b
}

// replay feeds the recorded calls to a new Collector, in an order drawn
// from seed that the engine's workers could make: the packets in capture
// order from one goroutine; each connection's calls in order, its Closed
// once the packets up to the one that finished it were read; connections
// of one 4-tuple one after the other; everything else in any order. With
// workers > 0, the packets come from one goroutine and the connections'
// calls from that many others, at the same time; with 0, everything from
// the test's goroutine, shuffled. The log lines are shuffled too.
func (r *recording) replay(t *testing.T, seed uint64, workers int) (*Report, *Baseline) {
	t.Helper()
	col := New(r.opts)
	rng := rand.New(rand.NewPCG(seed, 1))
	// groups of connections sharing a 4-tuple, in the order closed
	var groups [][]*connCalls
	byTuple := map[[2]netip.AddrPort]int{}
	for _, c := range r.closed {
		i, ok := byTuple[c.tuple]
		if !ok {
			i = len(groups)
			byTuple[c.tuple] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], c)
	}
	type step struct {
		call
		after int
	}
	steps := make([][]step, len(groups))
	for i, g := range groups {
		for _, c := range g {
			for _, cl := range c.calls {
				steps[i] = append(steps[i], step{cl, c.after})
			}
		}
	}
	do := func(s step) {
		switch {
		case s.claim != nil:
			cw := &claimWatch{Protocol: nopProtocol{}, o: col}
			cw.New(s.claim, nil)
		case s.tls != nil:
			col.TLS(s.tls)
		case s.login != nil:
			col.Login(*s.login)
		case s.closed != nil:
			col.Closed(s.closed)
		}
	}
	fed := 0
	feed := func(n int) {
		for ; n > 0 && fed < len(r.packets); n-- {
			col.Packet(&r.packets[fed])
			fed++
		}
	}
	if workers == 0 {
		next := make([]int, len(groups))
		for {
			var ready []int
			for i := range groups {
				if next[i] < len(steps[i]) {
					ready = append(ready, i)
				}
			}
			if len(ready) == 0 {
				break
			}
			if fed < len(r.packets) && rng.IntN(3) == 0 {
				feed(1 + rng.IntN(40))
				continue
			}
			g := ready[rng.IntN(len(ready))]
			s := steps[g][next[g]]
			if s.closed != nil && s.after > fed {
				feed(s.after - fed + rng.IntN(40))
			}
			do(s)
			next[g]++
		}
		feed(len(r.packets))
	} else {
		var mu sync.Mutex
		cond := sync.NewCond(&mu)
		shared := 0 // packets fed, published
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the reader
			defer wg.Done()
			rr := rand.New(rand.NewPCG(seed, 2))
			for fed < len(r.packets) {
				feed(1 + rr.IntN(20))
				mu.Lock()
				shared = fed
				cond.Broadcast()
				mu.Unlock()
			}
		}()
		mine := make([][]int, workers)
		for i := range groups {
			w := rng.IntN(workers)
			mine[w] = append(mine[w], i)
		}
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rw := rand.New(rand.NewPCG(seed, uint64(10+w)))
				next := map[int]int{}
				gs := slices.Clone(mine[w])
				for len(gs) > 0 {
					j := rw.IntN(len(gs))
					g := gs[j]
					s := steps[g][next[g]]
					if s.closed != nil {
						mu.Lock()
						for shared < s.after {
							cond.Wait()
						}
						mu.Unlock()
					}
					do(s)
					if next[g]++; next[g] == len(steps[g]) {
						gs = slices.Delete(gs, j, j+1)
					}
				}
			}()
		}
		wg.Wait()
	}
	logs := map[string][]string{}
	for name, lines := range r.logs {
		logs[name] = slices.Clone(lines)
		rng.Shuffle(len(logs[name]), func(i, j int) { logs[name][i], logs[name][j] = logs[name][j], logs[name][i] })
		for i, l := range logs[name] {
			if l != "" && !strings.HasSuffix(l, "\n") {
				logs[name][i] += "\n" // the last line, moved
			}
		}
	}
	return finish(t, col, logs)
}

type nopProtocol struct{}

func (nopProtocol) Service() string                                     { return "" }
func (nopProtocol) New(*engine.Session, *extractors.Env) engine.Handler { return nil }

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstDiff shows where two JSON texts part.
func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			lo := max(0, i-8)
			return fmt.Sprintf("line %d:\n%s\n--- want\n%s\n--- got\n%s", i+1, strings.Join(la[lo:i], "\n"), la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}

// busyCapture is a capture with something of every finding and table, and
// many ties: a nanosecond clock in a microsecond capture gives hundreds of
// packets the same timestamp.
func busyCapture(t *testing.T) string {
	return captureWith(t, pcapgen.Options{Step: time.Nanosecond}, func(w *pcapgen.Writer) {
		clients := []netip.Addr{client, netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12")}
		port := uint16(40000)
		next := func() uint16 { port++; return port }
		for round := range 2 {
			for i, c := range clients {
				// SMTP AUTH LOGIN refused then accepted
				x := conn(w, c, next(), server, 25)
				x.Handshake()
				dialogue(x, "220 mail ESMTP\r\n", "EHLO me\r\n", "250 AUTH LOGIN PLAIN\r\n", "AUTH LOGIN\r\n",
					"334 VXNlcm5hbWU6\r\n", b64(fmt.Sprintf("user%d", i))+"\r\n", "334 UGFzc3dvcmQ6\r\n", b64("pw")+"\r\n",
					"535 5.7.8 invalid\r\n", "AUTH PLAIN "+b64(fmt.Sprintf("\x00user%d\x00pw%d", i, round))+"\r\n", "235 ok\r\n", "QUIT\r\n", "221 bye\r\n")
				x.Close()
				// POP3 on the IMAPS port: plaintext where TLS is usual
				x = conn(w, c, next(), server, 993)
				x.Handshake()
				dialogue(x, "+OK POP3 ready\r\n", fmt.Sprintf("USER u%d\r\n", i), "+OK\r\n", "PASS p\r\n", "+OK in\r\n", "QUIT\r\n", "+OK bye\r\n")
				x.Close()
				// HTTP on an unusual port, with Basic credentials refused,
				// a challenge, an error
				x = conn(w, c, next(), server, 8081)
				x.Handshake()
				dialogue(x, "", "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
					"GET /a HTTP/1.1\r\nHost: h\r\nAuthorization: Basic "+b64(fmt.Sprintf("web%d:secret", i))+"\r\n\r\n",
					"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "GET /b HTTP/1.1\r\nHost: h\r\n\r\n",
					"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", fmt.Sprintf("GET /c%d HTTP/1.1\r\nHost: h\r\n\r\n", i),
					"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "GET /private HTTP/1.1\r\nHost: h\r\n\r\n",
					"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
				x.Close()
				// FTP: a refused login, an accepted one
				x = conn(w, c, next(), server, 21)
				x.Handshake()
				dialogue(x, "220 FTP ready\r\n", "USER bob\r\n", "331 Password required\r\n", fmt.Sprintf("PASS wrong%d\r\n", i),
					"530 Login incorrect.\r\n", "USER bob\r\n", "331 Password required\r\n", "PASS right\r\n", "230 Logged in.\r\n",
					"QUIT\r\n", "221 Bye.\r\n")
				x.Close()
				// TLS (made up by the recording) to two servers
				for j := range 8 {
					s := server
					if j%2 == 1 {
						s = netip.MustParseAddr("198.51.100.21")
					}
					x = conn(w, c, next(), s, 443)
					x.Handshake()
					x.Close()
				}
			}
			// POP3 brute force, from two sources at once
			for i := range 12 {
				for _, c := range clients[:2] {
					x := conn(w, c, next(), server, 110)
					x.Handshake()
					dialogue(x, "+OK\r\n", fmt.Sprintf("USER u%d\r\n", i%4), "+OK\r\n", "PASS x\r\n", "-ERR [AUTH] Authentication failed.\r\n")
					x.RST(true)
				}
			}
			w.Advance(time.Second)
		}
		// a port scan and an address scan, interleaved
		scanner := netip.MustParseAddr("203.0.113.9")
		for i := range 20 {
			x := conn(w, scanner, next(), netip.MustParseAddr("10.0.0.50"), uint16(3000+i))
			x.SYN()
			x.RST(false)
			x = conn(w, scanner, next(), netip.AddrFrom4([4]byte{10, 1, 0, byte(i + 1)}), 22)
			x.SYN()
			x.SYN()
		}
		// a closed port, tried by every client
		for _, c := range clients {
			x := conn(w, c, next(), netip.MustParseAddr("10.0.0.80"), 9999)
			x.SYN()
			x.RST(false)
		}
		// a service never answering, tried by every client
		for _, c := range clients {
			x := conn(w, c, next(), netip.MustParseAddr("10.0.0.70"), 8080)
			x.SYN()
			x.SYN()
		}
		// one 4-tuple used three times in a row
		for i := range 3 {
			x := w.NewConn(pcapgen.ConnConfig{Client: netip.AddrPortFrom(client, 50000), Server: netip.AddrPortFrom(server, 80),
				ClientISN: uint32(1000 + 100000*i), ServerISN: uint32(5000 + 100000*i)})
			x.Handshake()
			dialogue(x, "", fmt.Sprintf("GET /r%d HTTP/1.1\r\nHost: h\r\n\r\n", i), "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
			x.Close()
		}
		// SSH on a port of its own, then silent for an hour mid-session
		x := conn(w, clients[1], next(), server, 2222)
		x.Handshake()
		dialogue(x, "SSH-2.0-OpenSSH_9.6\r\n", "SSH-2.0-client\r\n")
		w.Advance(time.Hour)
		x.Send(true, bytes.Repeat([]byte{0x17}, 100))
		x.Close()
		w.Advance(10 * time.Second)
	})
}

// orderCase is one capture the replays are checked on.
type orderCase struct {
	name    string
	path    string
	full    bool // every extractor (FTP and HTTP logs, FTP data channels)
	fakeTLS bool
}

func orderCases(t *testing.T) []orderCase {
	cases := []orderCase{{name: "busy", full: true, fakeTLS: true}}
	for _, n := range []string{"port-reuse", "idle-timeout", "vlan", "qinq", "many-conns", "syn-unanswered", "rst-from-server", "http-keepalive"} {
		if p := testcap.Synthetic(n); testcap.Exists(p) {
			cases = append(cases, orderCase{name: n, path: p, full: true})
		}
	}
	if dir := testcap.SharedDir(); dir != "" {
		for _, n := range []string{"sv-ftp-ipv4-pasv-port-stor-appe-stou-list-mlsd.pcap", "sv-ftp-port-retr-with-upnp-noise.pcap",
			"sv-http-pipelined-files-with-gap.pcap", "sv-smtp-winmail-dat.pcap", "sv-http-rst-unacked.pcap"} {
			if p := filepath.Join(dir, n); testcap.Exists(p) {
				cases = append(cases, orderCase{name: n, path: p, full: true})
			}
		}
	}
	return cases
}

// TestReportOrderIndependent: the Report (and the Baseline) is the same
// whatever the order of the Collector's calls between connections, with
// the calls made from one goroutine or from several at once, and the same
// as when the engine runs alone.
func TestReportOrderIndependent(t *testing.T) {
	optsList := []Options{
		{Tables: true, Connections: true, Flows: true,
			Thresholds: Thresholds{ScanPorts: 5, ScanHosts: 5, BruteForce: 3}},
		{Tables: true, Top: 3},
		{}, // extract: the findings only
	}
	for _, oc := range orderCases(t) {
		t.Run(oc.name, func(t *testing.T) {
			path := oc.path
			if path == "" {
				path = busyCapture(t)
			}
			for oi, opts := range optsList {
				rec := record(t, path, opts, oc.full, oc.fakeTLS)
				wantR, wantB := finish(t, rec.col, rec.logs)
				want, wantBase := jsonOf(t, wantR), jsonOf(t, wantB)
				if oc.name == "busy" && oi == 0 {
					checkBusy(t, wantR)
				}
				runs := 6
				if testing.Short() {
					runs = 2
				}
				for seed := range uint64(runs) {
					workers := []int{0, 1, 3, 8}[seed%4]
					r, b := rec.replay(t, seed+1, workers)
					if got := jsonOf(t, r); !bytes.Equal(got, want) {
						t.Fatalf("options %d, seed %d, %d workers: report differs at %s", oi, seed+1, workers, firstDiff(want, got))
					}
					if got := jsonOf(t, b); !bytes.Equal(got, wantBase) {
						t.Fatalf("options %d, seed %d, %d workers: baseline differs at %s", oi, seed+1, workers, firstDiff(wantBase, got))
					}
				}
			}
		})
	}
}

// checkBusy makes sure the busy capture has what the replays are to
// shuffle: ties, capped lists, every kind of finding.
func checkBusy(t *testing.T, r *Report) {
	t.Helper()
	for _, note := range []string{NotePlaintextCredentials, NoteFailedLogin, NoteBruteForce, NoteAccessDenied, NoteHTTPError,
		NoteNonstandardPort, NotePlaintextUsual, NoteNoAnswer, NoteRejected, NoteScan} {
		if r.NoticeCounts[note] == 0 {
			t.Errorf("busy capture: no %s; notices %v", note, r.NoticeCounts)
		}
	}
	full := false
	for _, s := range r.TLSServers {
		full = full || len(s.ServerNames) == 20
	}
	if !full {
		t.Errorf("busy capture: no TLS server with a full list of names: %+v", r.TLSServers)
	}
	ties := map[time.Time]int{}
	for _, c := range r.Conversations {
		ties[c.Start.Time]++
	}
	n := 0
	for _, k := range ties {
		n = max(n, k)
	}
	if n < 2 {
		t.Errorf("busy capture: no two conversations start at the same time")
	}
}

// TestFramesReaderAhead: a connection takes its own frames even when the
// reader has already counted the next connections on its 4-tuple (the
// engine's workers finish connections after the reader went on).
func TestFramesReaderAhead(t *testing.T) {
	cl, sv := netip.AddrPortFrom(client, 1000), netip.AddrPortFrom(server, 80)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	f := &frames{tcp: map[tcpKey]*tcpAcc{}}
	var total uint64
	pkt := func(fromClient bool, flags uint8, n int) {
		p := &decode.Packet{TS: now, Len: n, IPVer: 4, Proto: decode.ProtoTCP, Flags: flags,
			Src: cl.Addr(), SrcPort: cl.Port(), Dst: sv.Addr(), DstPort: sv.Port()}
		if !fromClient {
			p.Src, p.SrcPort, p.Dst, p.DstPort = sv.Addr(), sv.Port(), cl.Addr(), cl.Port()
		}
		f.packet(p)
		total += uint64(n)
		now = now.Add(time.Millisecond)
	}
	session := func(origPkts, respPkts uint64) *engine.Session {
		c := &flowtable.Conn{Orig: cl, Resp: sv}
		c.Dirs[0].Packets, c.Dirs[1].Packets = origPkts, respPkts
		return &engine.Session{Conn: c}
	}
	const syn, ack, fin = decode.FlagSYN, decode.FlagACK, decode.FlagFIN | decode.FlagACK
	// A: closed both ways
	pkt(true, syn, 60)
	pkt(false, syn|ack, 60)
	pkt(true, ack, 500)
	pkt(false, ack, 1000)
	pkt(true, fin, 60)
	pkt(false, fin, 60)
	// B: the 4-tuple reused (a SYN), then idle for two hours; C: the same
	// connection going on, which the flow table made a new one
	pkt(true, syn, 70)
	pkt(false, syn|ack, 70)
	pkt(true, ack, 300)
	now = now.Add(2 * time.Hour)
	pkt(false, ack, 800)
	pkt(true, ack, 400)
	// D: C evicted from a full flow table: the next frame is a new
	// connection, which nothing in the frames tells
	pkt(false, ack, 900)
	pkt(true, ack, 100)

	if got, want := f.take(session(3, 3)), [2]Count{{3, 620}, {3, 1120}}; got != want {
		t.Errorf("A: %v, want %v", got, want)
	}
	if got, want := f.take(session(2, 1)), [2]Count{{2, 370}, {1, 70}}; got != want {
		t.Errorf("B: %v, want %v", got, want)
	}
	c := f.take(session(1, 1))
	d := f.take(session(1, 1))
	if c[0].Packets != 1 || c[1].Packets != 1 || d[0].Packets != 1 || d[1].Packets != 1 {
		t.Errorf("C %v, D %v: one frame each way each", c, d)
	}
	if got := c[0].Bytes + c[1].Bytes + d[0].Bytes + d[1].Bytes; got != 2200 {
		t.Errorf("C and D: %d bytes, want 2200 (estimated between them, none lost)", got)
	}
	if n := f.pendingFrames(); n != 0 || len(f.tcp) != 0 {
		t.Errorf("left: %d frames, %d keys", n, len(f.tcp))
	}
}
