package pcapgen

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Truth describes everything Bench put on the wire.
type Truth struct {
	Seed        uint64      `json:"seed"`
	TargetBytes int64       `json:"target_bytes"`
	Bytes       int64       `json:"bytes"` // size of the pcap file
	Packets     int64       `json:"packets"`
	First       time.Time   `json:"first_packet"`
	Last        time.Time   `json:"last_packet"`
	Reordered   int         `json:"reordered_segments"`  // segments written after their successor
	Duplicated  int         `json:"duplicated_segments"` // segments written twice in a row
	Conns       []ConnTruth `json:"connections"`
	Files       []FileTruth `json:"files"`
}

// ConnTruth is one TCP connection of the benchmark capture.
type ConnTruth struct {
	ID          int    `json:"id"`    // index in Truth.Conns
	Proto       string `json:"proto"` // "http", "ftp" (control) or "ftp-data"
	Client      string `json:"client"`
	Server      string `json:"server"`
	ClientISN   uint32 `json:"client_isn"`
	ServerISN   uint32 `json:"server_isn"`
	ClientBytes int64  `json:"client_bytes"` // TCP payload bytes client->server
	ServerBytes int64  `json:"server_bytes"` // TCP payload bytes server->client
}

// FileTruth is one file (message body or FTP transfer) of the benchmark
// capture.
type FileTruth struct {
	Proto       string `json:"proto"` // "http" or "ftp"
	Conn        int    `json:"conn"`  // Truth.Conns index of the connection that carries the content
	Client      string `json:"client"`
	Server      string `json:"server"`
	ControlConn *int   `json:"control_conn,omitempty"` // FTP: the control connection
	Direction   string `json:"direction"`              // "client-to-server" or "server-to-client"
	Command     string `json:"command"`                // GET, POST, RETR, STOR
	Name        string `json:"name"`                   // URL (http://host/path) or FTP file name
	Index       int    `json:"index"`                  // HTTP: request number on the connection (0-based); FTP: transfer number in the session
	Status      int    `json:"status,omitempty"`       // HTTP status of the response carrying the body
	ContentType string `json:"content_type,omitempty"`
	// ContentEncoding is "gzip" when the body on the wire is gzip-encoded.
	ContentEncoding string `json:"content_encoding,omitempty"`
	Chunked         bool   `json:"chunked,omitempty"` // Transfer-Encoding: chunked
	// Size and SHA256 describe the decoded content (chunked framing removed
	// and gzip decoded).
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// WireSize and WireSHA256 describe the body as carried (chunked framing
	// removed, still content-encoded); equal to Size/SHA256 unless gzip.
	WireSize   int64  `json:"wire_size"`
	WireSHA256 string `json:"wire_sha256"`
}

// WriteJSON writes the truth as indented JSON.
func (t *Truth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}

// Benchmark mix parameters.
const (
	benchActive      = 50       // sessions running at once
	benchPoolSize    = 16 << 20 // random content pool
	benchTextSize    = 4 << 20  // readable text pool
	benchReorderProb = 0.01
	benchDupProb     = 0.005
	benchMaxGzip     = 256 << 10
	httpDate         = "Mon, 02 Jan 2006 15:04:05 GMT"
)

// Bench writes a deterministic mixed capture of about target bytes (the
// pcap file size; sessions stop starting once the estimated size reaches
// target, so the result is within a few percent) and returns what it put
// on the wire. The same seed (and Writer options) gives the same bytes.
//
// The mix: HTTP/1.1 keep-alive connections with 1-8 GETs (Content-Length or
// chunked bodies, some gzip-encoded), HTTP POST uploads, FTP sessions
// (control connection on port 21 with PASV/EPSV and RETR/STOR, one data
// connection per transfer), 15% of sessions over IPv6, 1% of data segments
// written after their successor and 0.5% written twice. Body sizes are skewed:
// most under 16 KB, some up to 512 KB, a few up to 4 MB. About 50 sessions
// are active at once and their packets are interleaved round-robin.
//
// Bench flushes w before returning.
func Bench(w *Writer, target int64, seed uint64) (*Truth, error) {
	b := &benchGen{
		w:     w,
		rng:   rand.New(rand.NewPCG(seed, 0x5eed_5eed_5eed_5eed)),
		truth: &Truth{Seed: seed, TargetBytes: target, First: w.Now()},
	}
	b.pool = make([]byte, benchPoolSize)
	for i := 0; i < len(b.pool); i += 8 {
		v := b.rng.Uint64()
		for j := 0; j < 8; j++ {
			b.pool[i+j] = byte(v >> (8 * j))
		}
	}
	b.text = makeText(b.rng, benchTextSize)
	gz, err := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	b.gz = gz
	b.committed = w.Bytes()

	var active []*session
	for len(active) < benchActive && (b.committed < target || len(active) == 0 && b.nsess == 0) {
		active = append(active, b.newSession())
	}
	for len(active) > 0 && w.Err() == nil {
		for i := 0; i < len(active); {
			s := active[i]
			if _, ok := s.next(); ok {
				i++
				continue
			}
			s.finish()
			if b.committed < target && w.Err() == nil {
				active[i] = b.newSession()
				i++
			} else {
				active = append(active[:i], active[i+1:]...)
			}
		}
	}
	for _, s := range active {
		s.finish()
	}
	t := b.truth
	t.Packets = w.Packets()
	t.Last = w.Now().Add(-w.Options().Step)
	if err := w.Flush(); err != nil {
		return t, err
	}
	t.Bytes = w.Bytes()
	return t, nil
}

type benchGen struct {
	w         *Writer
	rng       *rand.Rand
	pool      []byte
	text      []byte
	truth     *Truth
	gz        *gzip.Writer
	committed int64 // bytes written before plus estimated bytes of started sessions
	nsess     int
	nconn     int
	nfile     int
	ndata     int
}

var words = []string{
	"the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
	"not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they",
	"you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more",
	"when", "will", "would", "who", "so", "no", "stream", "packet", "capture", "segment", "window",
	"sequence", "server", "client", "request", "response", "header", "body", "chunk", "gzip", "file",
}

// makeText returns n bytes of pseudo-random readable text.
func makeText(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+64)
	line := 0
	for len(b) < n {
		w := words[rng.IntN(len(words))]
		if line == 0 {
			b = append(b, w[0]-'a'+'A')
			b = append(b, w[1:]...)
		} else {
			b = append(b, ' ')
			b = append(b, w...)
		}
		line += len(w) + 1
		if line > 60+rng.IntN(20) {
			b = append(b, ".\n"...)
			line = 0
		}
	}
	return b[:n]
}

const (
	kindGET = iota
	kindPOST
	kindFTP
)

type benchItem struct {
	name    string
	size    int
	text    bool
	gzip    bool
	chunked bool
	upload  bool // FTP: STOR instead of RETR
}

type session struct {
	b       *benchGen
	rng     *rand.Rand
	kind    int
	v6      bool
	server  netip.Addr
	host    string
	items   []benchItem
	conns   []*Conn
	segs    []Seg
	scratch []byte
	gzbuf   bytes.Buffer

	next    func() (struct{}, bool)
	stop    func()
	yield   func(struct{}) bool
	aborted bool
}

// bodySize draws a skewed body size: 80% 200 B-16 KB, 17% 16-512 KB,
// 3% 512 KB-4 MB, log-uniform within each band.
func bodySize(rng *rand.Rand) int {
	lo, hi := 200.0, 16384.0
	switch r := rng.Float64(); {
	case r >= 0.97:
		lo, hi = 512<<10, 4<<20
	case r >= 0.80:
		lo, hi = 16384, 512<<10
	}
	return int(math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo))))
}

func (b *benchGen) newSession() *session {
	s := &session{b: b, rng: rand.New(rand.NewPCG(b.rng.Uint64(), b.rng.Uint64()))}
	b.nsess++
	r := s.rng.Float64()
	switch {
	case r < 0.55:
		s.kind = kindGET
	case r < 0.70:
		s.kind = kindPOST
	default:
		s.kind = kindFTP
	}
	s.v6 = s.rng.Float64() < 0.15
	srv := 1 + b.nsess%50
	if s.v6 {
		s.server = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 14: byte(srv >> 8), 15: byte(srv)})
	} else {
		s.server = netip.AddrFrom4([4]byte{198, 51, 100, byte(srv)})
	}
	s.host = fmt.Sprintf("www%d.example.com", srv)
	n := 1
	hdr := 300
	switch s.kind {
	case kindGET:
		n = 1 + s.rng.IntN(8)
	case kindPOST:
		n = 1 + s.rng.IntN(2)
	case kindFTP:
		n = 1 + s.rng.IntN(3)
		hdr = 1200 // control chatter and a data connection per transfer
	}
	var est int64 = 900 // handshake and close
	if s.kind == kindFTP {
		est += 600
	}
	for range n {
		b.nfile++
		it := benchItem{size: bodySize(s.rng)}
		switch s.kind {
		case kindGET:
			r := s.rng.Float64()
			it.text = r < 0.35
			if it.size <= benchMaxGzip && r < 0.15 {
				it.gzip = true
			}
			it.chunked = s.rng.Float64() < 0.25
			ext := "bin"
			if it.text {
				ext = "txt"
			}
			it.name = fmt.Sprintf("/files/%07d.%s", b.nfile, ext)
		case kindPOST:
			it.name = fmt.Sprintf("/upload/%07d.bin", b.nfile)
		case kindFTP:
			it.upload = s.rng.Float64() < 0.25
			if it.upload {
				it.name = fmt.Sprintf("upload-%07d.dat", b.nfile)
			} else {
				it.name = fmt.Sprintf("file-%07d.bin", b.nfile)
			}
		}
		s.items = append(s.items, it)
		est += wireEstimate(it.size+hdr, s.v6)
	}
	b.committed += est
	s.next, s.stop = iter.Pull(func(yield func(struct{}) bool) {
		s.yield = yield
		s.run()
	})
	return s
}

// wireEstimate estimates the pcap bytes for payload bytes sent one way with
// every other segment ACKed.
func wireEstimate(payload int, v6 bool) int64 {
	mss, hdr := 1460, 54+16
	if v6 {
		mss, hdr = 1440, 74+16
	}
	segs := (payload + mss - 1) / mss
	return int64(payload + segs*hdr + (segs/2+1)*(hdr+6))
}

func (s *session) pause() {
	if s.aborted {
		return
	}
	if !s.yield(struct{}{}) {
		s.aborted = true
	}
}

func (s *session) finish() {
	s.stop()
	for _, c := range s.conns {
		c.pause = nil
	}
	s.conns, s.scratch, s.segs, s.items = nil, nil, nil, nil
	s.gzbuf = bytes.Buffer{}
}

func (s *session) newConn(server netip.AddrPort, proto string) (*Conn, int) {
	return s.newConnFrom(netip.AddrPort{}, server, proto)
}

// newConnFrom opens a connection from the given client (an FTP data
// connection comes from its control connection's client, on another
// port); an invalid one picks the next client host.
func (s *session) newConnFrom(from, server netip.AddrPort, proto string) (*Conn, int) {
	b := s.b
	n := b.nconn
	b.nconn++
	var client netip.Addr
	h := 1 + n%250
	if s.v6 {
		client = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(h)})
	} else {
		client = netip.AddrFrom4([4]byte{192, 0, 2, byte(h)})
	}
	cport := uint16(32768 + (n/250)%28000)
	if from.IsValid() {
		client, cport = from.Addr(), from.Port()+uint16(1+n%1000)
	}
	cfg := ConnConfig{
		Client:    netip.AddrPortFrom(client, cport),
		Server:    server,
		ClientISN: s.rng.Uint32(),
		ServerISN: s.rng.Uint32(),
		AckEvery:  2,
		NoRecord:  true,
	}
	c := b.w.NewConn(cfg)
	c.pause = s.pause
	s.conns = append(s.conns, c)
	id := len(b.truth.Conns)
	b.truth.Conns = append(b.truth.Conns, ConnTruth{
		ID: id, Proto: proto, Client: cfg.Client.String(), Server: cfg.Server.String(),
		ClientISN: cfg.ClientISN, ServerISN: cfg.ServerISN,
	})
	return c, id
}

// send writes data from one side in MSS segments, occasionally reordering
// or duplicating one, with an ACK from the peer after every second segment
// and after the last.
func (s *session) send(c *Conn, id int, fromClient bool, data []byte) {
	if len(data) == 0 {
		return
	}
	t := s.b.truth
	if fromClient {
		t.Conns[id].ClientBytes += int64(len(data))
	} else {
		t.Conns[id].ServerBytes += int64(len(data))
	}
	segs := s.segs[:0]
	c.planInto(fromClient, data, c.mss, func(sg Seg) { segs = append(segs, sg) })
	s.segs = segs
	unacked := 0
	for i := 0; i < len(segs); i++ {
		r := s.rng.Float64()
		switch {
		case r < benchReorderProb && i+1 < len(segs):
			c.Emit(segs[i+1], segs[i])
			t.Reordered++
			unacked += 2
			i++
		case r >= benchReorderProb && r < benchReorderProb+benchDupProb:
			c.Emit(segs[i], segs[i])
			t.Duplicated++
			unacked++
		default:
			c.Emit(segs[i])
			unacked++
		}
		if unacked >= 2 || i == len(segs)-1 {
			c.ACK(!fromClient)
			unacked = 0
		}
	}
}

func (s *session) sendf(c *Conn, id int, fromClient bool, format string, args ...any) {
	s.scratch = fmt.Appendf(s.scratch[:0], format, args...)
	s.send(c, id, fromClient, s.scratch)
}

func (s *session) content(it benchItem) []byte {
	src := s.b.pool
	if it.text && it.size <= len(s.b.text) {
		src = s.b.text
	}
	off := s.rng.IntN(len(src) - it.size + 1)
	return src[off : off+it.size]
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (s *session) run() {
	switch s.kind {
	case kindGET:
		s.runGET()
	case kindPOST:
		s.runPOST()
	case kindFTP:
		s.runFTP()
	}
}

func (s *session) runGET() {
	b := s.b
	c, id := s.newConn(netip.AddrPortFrom(s.server, 80), "http")
	c.Handshake()
	serverCloses := s.rng.Float64() < 0.5
	for i, it := range s.items {
		connHdr := ""
		last := i == len(s.items)-1
		if last && serverCloses {
			connHdr = "Connection: close\r\n"
		}
		s.sendf(c, id, true, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: streamx-bench/1.0\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n%s\r\n",
			it.name, s.host, connHdr)

		body := s.content(it)
		wire := body
		ctype := "application/octet-stream"
		if it.text {
			ctype = "text/plain; charset=utf-8"
		}
		f := FileTruth{
			Proto: "http", Conn: id, Client: c.Client().String(), Server: c.Server().String(),
			Direction: "server-to-client", Command: "GET", Name: "http://" + s.host + it.name, Index: i,
			Status: 200, ContentType: ctype, Chunked: it.chunked,
			Size: int64(len(body)), SHA256: sum(body),
		}
		if it.gzip {
			s.gzbuf.Reset()
			b.gz.Reset(&s.gzbuf)
			b.gz.Write(body)
			b.gz.Close()
			wire = s.gzbuf.Bytes()
			f.ContentEncoding = "gzip"
			f.WireSHA256 = sum(wire)
		} else {
			f.WireSHA256 = f.SHA256
		}
		f.WireSize = int64(len(wire))
		b.truth.Files = append(b.truth.Files, f)

		h := fmt.Appendf(s.scratch[:0], "HTTP/1.1 200 OK\r\nDate: %s\r\nServer: streamx-bench\r\nContent-Type: %s\r\n",
			b.w.Now().UTC().Format(httpDate), ctype)
		if it.gzip {
			h = append(h, "Content-Encoding: gzip\r\n"...)
		}
		if it.chunked {
			h = append(h, "Transfer-Encoding: chunked\r\n"...)
		} else {
			h = fmt.Appendf(h, "Content-Length: %d\r\n", len(wire))
		}
		h = append(h, connHdr...)
		h = append(h, "\r\n"...)
		if it.chunked {
			s.send(c, id, false, h)
			for off := 0; off < len(wire); {
				n := min(1024+s.rng.IntN(15*1024), len(wire)-off)
				ch := fmt.Appendf(s.scratch[:0], "%x\r\n", n)
				ch = append(ch, wire[off:off+n]...)
				ch = append(ch, "\r\n"...)
				off += n
				if off == len(wire) {
					ch = append(ch, "0\r\n\r\n"...)
				}
				s.scratch = ch
				s.send(c, id, false, ch)
			}
			if len(wire) == 0 {
				s.send(c, id, false, []byte("0\r\n\r\n"))
			}
		} else if len(wire) <= 16384 {
			h = append(h, wire...)
			s.scratch = h
			s.send(c, id, false, h)
		} else {
			s.scratch = h
			s.send(c, id, false, h)
			s.send(c, id, false, wire)
		}
	}
	if serverCloses {
		c.FIN(false)
		c.FIN(true)
	} else {
		c.Close()
	}
}

func (s *session) runPOST() {
	b := s.b
	c, id := s.newConn(netip.AddrPortFrom(s.server, 80), "http")
	c.Handshake()
	for i, it := range s.items {
		body := s.content(it)
		url := "http://" + s.host + it.name
		sha := sum(body)
		b.truth.Files = append(b.truth.Files, FileTruth{
			Proto: "http", Conn: id, Client: c.Client().String(), Server: c.Server().String(),
			Direction: "client-to-server", Command: "POST", Name: url, Index: i,
			ContentType: "application/octet-stream",
			Size:        int64(len(body)), SHA256: sha, WireSize: int64(len(body)), WireSHA256: sha,
		})
		s.sendf(c, id, true, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: streamx-bench/1.0\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
			it.name, s.host, len(body))
		s.send(c, id, true, body)
		reply := fmt.Sprintf("{\"name\":%q,\"size\":%d,\"sha256\":%q}\n", it.name, len(body), sha)
		rsha := sum([]byte(reply))
		b.truth.Files = append(b.truth.Files, FileTruth{
			Proto: "http", Conn: id, Client: c.Client().String(), Server: c.Server().String(),
			Direction: "server-to-client", Command: "POST", Name: url, Index: i,
			Status: 201, ContentType: "application/json",
			Size: int64(len(reply)), SHA256: rsha, WireSize: int64(len(reply)), WireSHA256: rsha,
		})
		s.sendf(c, id, false, "HTTP/1.1 201 Created\r\nDate: %s\r\nServer: streamx-bench\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			b.w.Now().UTC().Format(httpDate), len(reply), reply)
	}
	c.Close()
}

func (s *session) runFTP() {
	b := s.b
	c, id := s.newConn(netip.AddrPortFrom(s.server, 21), "ftp")
	ctl := id
	user := fmt.Sprintf("user%d", b.nsess)
	c.Handshake()
	s.sendf(c, id, false, "220 streamx-bench FTP server ready.\r\n")
	s.sendf(c, id, true, "USER %s\r\n", user)
	s.sendf(c, id, false, "331 Password required for %s.\r\n", user)
	s.sendf(c, id, true, "PASS secret-%d\r\n", b.nsess)
	s.sendf(c, id, false, "230 User %s logged in.\r\n", user)
	s.sendf(c, id, true, "TYPE I\r\n")
	s.sendf(c, id, false, "200 Type set to I.\r\n")
	for i, it := range s.items {
		b.ndata++
		port := uint16(50000 + b.ndata%15000)
		if s.v6 {
			s.sendf(c, id, true, "EPSV\r\n")
			s.sendf(c, id, false, "229 Entering Extended Passive Mode (|||%d|)\r\n", port)
		} else {
			a := s.server.As4()
			s.sendf(c, id, true, "PASV\r\n")
			s.sendf(c, id, false, "227 Entering Passive Mode (%d,%d,%d,%d,%d,%d).\r\n", a[0], a[1], a[2], a[3], port>>8, port&0xff)
		}
		dc, did := s.newConnFrom(c.Client(), netip.AddrPortFrom(s.server, port), "ftp-data")
		dc.Handshake()
		body := s.content(it)
		sha := sum(body)
		f := FileTruth{
			Proto: "ftp", Conn: did, Client: dc.Client().String(), Server: dc.Server().String(),
			ControlConn: &ctl, Name: it.name, Index: i,
			Size: int64(len(body)), SHA256: sha, WireSize: int64(len(body)), WireSHA256: sha,
		}
		if it.upload {
			f.Command, f.Direction = "STOR", "client-to-server"
			s.sendf(c, id, true, "STOR %s\r\n", it.name)
			s.sendf(c, id, false, "150 Ok to send data.\r\n")
			s.send(dc, did, true, body)
			dc.FIN(true)
			dc.FIN(false)
		} else {
			f.Command, f.Direction = "RETR", "server-to-client"
			s.sendf(c, id, true, "RETR %s\r\n", it.name)
			s.sendf(c, id, false, "150 Opening BINARY mode data connection for %s (%d bytes).\r\n", it.name, len(body))
			s.send(dc, did, false, body)
			dc.FIN(false)
			dc.FIN(true)
		}
		b.truth.Files = append(b.truth.Files, f)
		s.sendf(c, id, false, "226 Transfer complete.\r\n")
	}
	s.sendf(c, id, true, "QUIT\r\n")
	s.sendf(c, id, false, "221 Goodbye.\r\n")
	c.FIN(false)
	c.FIN(true)
}

var errNoTarget = errors.New("pcapgen: target must be positive")

// ParseSize parses a byte count such as "1G", "512M", "100k", "12345"
// (binary multiples: k = 1024).
func ParseSize(s string) (int64, error) {
	if s == "" {
		return 0, errNoTarget
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	}
	num := s
	if mult != 1 {
		num = s[:len(s)-1]
	}
	var n float64
	if _, err := fmt.Sscan(num, &n); err != nil || n <= 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("pcapgen: bad size %q", s)
	}
	return int64(n * float64(mult)), nil
}
