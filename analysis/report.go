package analysis

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/streamx/streamx/detect"
	"github.com/streamx/streamx/manifest"
)

// Report is everything `streamx stats` shows, as JSON (--json) or text.
type Report struct {
	// Capture is filled by the caller (what was read); the rest by Finish.
	Capture   *CaptureInfo      `json:"capture,omitempty"`
	First     manifest.TS       `json:"first_ts"`
	Last      manifest.TS       `json:"last_ts"`
	Duration  manifest.Duration `json:"duration"`
	Protocols []ProtoRow        `json:"protocols"`
	// Excluded counts the broadcast and multicast frames left out of the
	// host and conversation tables (without --keep-broadcast).
	Excluded           Count          `json:"broadcast_excluded"`
	Hosts              []HostRow      `json:"hosts"`
	HostsTotal         int            `json:"hosts_total"`
	Conversations      []ConvRow      `json:"conversations"`
	ConversationsTotal int            `json:"conversations_total"`
	Services           []ServiceRow   `json:"services"`
	ServicesTotal      int            `json:"services_total"`
	TCP                TCPHealth      `json:"tcp"`
	Encryption         Encryption     `json:"encryption"`
	TLSServers         []TLSServer    `json:"tls_servers"`
	Notices            []Notice       `json:"notices"`
	NoticeCounts       map[string]int `json:"notice_counts"`
	// Connections is every TCP connection's encryption class; the caller
	// drops it unless asked (stats --connections).
	Connections []ConnClass    `json:"connections,omitempty"`
	LogErrors   map[string]int `json:"log_errors,omitempty"`
}

// CaptureInfo says what was read.
type CaptureInfo struct {
	Files      []string          `json:"files"`
	Packets    uint64            `json:"packets"`
	Bytes      uint64            `json:"bytes"`
	Filtered   uint64            `json:"filtered,omitempty"`
	NotDecoded map[string]uint64 `json:"not_decoded,omitempty"`
	Faults     []string          `json:"faults,omitempty"`
}

// ProtoRow is the decoded IP packets of one transport.
type ProtoRow struct {
	Proto string `json:"proto"`
	Count
}

// HostRow is one address, as tshark -z endpoints,ip (and ipv6) gives it.
type HostRow struct {
	Addr      netip.Addr `json:"addr"`
	Packets   uint64     `json:"packets"`
	Bytes     uint64     `json:"bytes"`
	TxPackets uint64     `json:"tx_packets"`
	TxBytes   uint64     `json:"tx_bytes"`
	RxPackets uint64     `json:"rx_packets"`
	RxBytes   uint64     `json:"rx_bytes"`
}

// ConvRow is one conversation, as tshark -z conv,tcp / conv,udp gives it:
// A is the originator (TCP) or the sender of the first packet (UDP).
type ConvRow struct {
	Proto    string            `json:"proto"`
	UID      string            `json:"uid,omitempty"`
	A        netip.AddrPort    `json:"a"`
	B        netip.AddrPort    `json:"b"`
	AtoB     Count             `json:"a_to_b"`
	BtoA     Count             `json:"b_to_a"`
	Total    Count             `json:"total"`
	Start    manifest.TS       `json:"start"`
	Duration manifest.Duration `json:"duration"`
	Service  string            `json:"service,omitempty"`
}

// ServiceRow is one server port and what it carried.
type ServiceRow struct {
	Proto string `json:"proto"`
	// Port is the server port; 0 for FTP data channels, counted together.
	Port uint16 `json:"port"`
	// Service is what the content says ("" when it was not recognised);
	// PortHint what the port suggests ("" when nothing).
	Service  string `json:"service"`
	PortHint string `json:"port_hint"`
	Mismatch bool   `json:"mismatch"`
	Servers  int    `json:"servers"`
	Clients  int    `json:"clients"`
	Conns    int    `json:"conns"`
	Bytes    uint64 `json:"bytes"`
}

// TCPHealth sums up how the TCP connections went.
type TCPHealth struct {
	Connections int `json:"connections"`
	// Attempts are the connections whose SYN was seen; Completed those
	// whose handshake finished (SYN, SYN-ACK, ACK).
	Attempts       int     `json:"attempts"`
	Completed      int     `json:"completed"`
	CompletionRate float64 `json:"completion_rate"`
	// NoAnswer: the responder sent nothing (Zeek S0 and kin); Rejected:
	// it answered the SYN with a RST (REJ).
	NoAnswer        int            `json:"no_answer"`
	Rejected        int            `json:"rejected"`
	ResetByOrig     int            `json:"reset_by_originator"`
	ResetByResp     int            `json:"reset_by_responder"`
	Midstream       int            `json:"midstream"`
	Retransmissions uint64         `json:"retransmissions"`
	OutOfOrder      uint64         `json:"out_of_order"`
	ZeroWindows     uint64         `json:"zero_windows"`
	MissingBytes    uint64         `json:"missing_bytes"`
	ConnsWithGaps   int            `json:"conns_with_gaps"`
	States          map[string]int `json:"conn_states"`
	// Unattributed counts TCP frames no finished connection claimed (0
	// unless something is wrong).
	Unattributed uint64 `json:"unattributed_frames,omitempty"`
}

// Encryption classes of a connection.
const (
	ClassEncrypted = "encrypted" // TLS, SSH, or after STARTTLS / AUTH TLS
	ClassPlaintext = "plaintext" // a clear-text protocol, or text
	ClassUnknown   = "unknown"   // data in no recognised protocol, not text
	ClassNoData    = "no-data"   // no payload either way
)

// Encryption is the plaintext/encrypted summary.
type Encryption struct {
	Classes   map[string]int `json:"classes"`
	ByService []EncRow       `json:"by_service"`
}

// EncRow is the connections of one service in one class.
type EncRow struct {
	Service string `json:"service"`
	Class   string `json:"class"`
	How     string `json:"how"`
	Conns   int    `json:"conns"`
	Bytes   uint64 `json:"bytes"`
}

// ConnClass is one connection's encryption class.
type ConnClass struct {
	UID     string         `json:"uid"`
	Orig    netip.AddrPort `json:"orig"`
	Resp    netip.AddrPort `json:"resp"`
	Service string         `json:"service,omitempty"`
	Class   string         `json:"class"`
	How     string         `json:"how"`
}

// TLSServer is one server seen in TLS handshakes.
type TLSServer struct {
	Server      netip.AddrPort `json:"server"`
	ServerNames []string       `json:"server_names,omitempty"`
	Versions    []string       `json:"versions,omitempty"`
	Ciphers     []string       `json:"ciphers,omitempty"`
	Subjects    []string       `json:"subjects,omitempty"`
	SelfSigned  bool           `json:"self_signed,omitempty"`
	Conns       int            `json:"conns"`
	Established int            `json:"established"`
}

// Finish computes the report. Call it once, after the run and ReadLog.
func (c *Collector) Finish() *Report {
	t := c.traffic
	r := &Report{First: manifest.TS{Time: t.first}, Last: manifest.TS{Time: t.last},
		Duration: manifest.Duration(t.last.Sub(t.first)), Excluded: t.excluded, NoticeCounts: map[string]int{}}
	for _, p := range []struct {
		name string
		i    int
	}{{"tcp", 1}, {"udp", 2}, {"icmp", 3}, {"other", 0}} {
		r.Protocols = append(r.Protocols, ProtoRow{Proto: p.name, Count: t.protos[p.i]})
	}
	r.Hosts = c.hostRows()
	r.HostsTotal = len(r.Hosts)
	r.Hosts = top(r.Hosts, c.opts.Top)
	r.Conversations = c.convRows()
	r.ConversationsTotal = len(r.Conversations)
	r.Conversations = top(r.Conversations, c.opts.Top)

	f := c.findings()
	r.Services = c.serviceRows(f)
	r.ServicesTotal = len(r.Services)
	r.Services = top(r.Services, c.opts.Top)
	r.TCP = c.health()
	r.Encryption, r.Connections = c.encryption(f)
	r.TLSServers = c.tlsServers()
	r.Notices = f.ns.list()
	for _, n := range r.Notices {
		r.NoticeCounts[n.Note]++
	}
	if len(c.bad) > 0 {
		r.LogErrors = c.bad
	}
	return r
}

func top[T any](rows []T, n int) []T {
	if n > 0 && len(rows) > n {
		return rows[:n]
	}
	return rows
}

func (c *Collector) hostRows() []HostRow {
	rows := make([]HostRow, 0, len(c.traffic.hosts))
	for a, h := range c.traffic.hosts {
		rows = append(rows, HostRow{Addr: a, Packets: h.tx.Packets + h.rx.Packets, Bytes: h.tx.Bytes + h.rx.Bytes,
			TxPackets: h.tx.Packets, TxBytes: h.tx.Bytes, RxPackets: h.rx.Packets, RxBytes: h.rx.Bytes})
	}
	slices.SortFunc(rows, func(a, b HostRow) int {
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	return rows
}

func (c *Collector) convRows() []ConvRow {
	var rows []ConvRow
	for i := range c.conns {
		cs := &c.conns[i]
		if !c.opts.KeepBroadcast && (isBroadcast(cs.OrigH) || isBroadcast(cs.RespH)) {
			continue
		}
		rows = append(rows, ConvRow{Proto: "tcp", UID: cs.UID, A: addrPort(cs.OrigH, cs.OrigP), B: addrPort(cs.RespH, cs.RespP),
			AtoB: cs.frames[0], BtoA: cs.frames[1],
			Total: Count{cs.frames[0].Packets + cs.frames[1].Packets, cs.frames[0].Bytes + cs.frames[1].Bytes},
			Start: cs.TS, Duration: cs.Duration, Service: cs.Service})
	}
	for _, u := range c.traffic.udp {
		rows = append(rows, ConvRow{Proto: "udp", A: u.orig, B: u.resp, AtoB: u.dir[0], BtoA: u.dir[1],
			Total: Count{u.dir[0].Packets + u.dir[1].Packets, u.dir[0].Bytes + u.dir[1].Bytes},
			Start: manifest.TS{Time: u.first}, Duration: manifest.Duration(u.last.Sub(u.first)),
			Service: detect.PortHint(u.resp.Port())})
	}
	slices.SortFunc(rows, func(a, b ConvRow) int {
		if c := cmp.Compare(b.Total.Bytes, a.Total.Bytes); c != 0 {
			return c
		}
		if c := a.Start.Compare(b.Start.Time); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		if c := a.A.Compare(b.A); c != 0 {
			return c
		}
		return a.B.Compare(b.B)
	})
	return rows
}

func (c *Collector) serviceRows(f *findings) []ServiceRow {
	type key struct {
		proto string
		port  uint16
		svc   string
	}
	type acc struct {
		row              ServiceRow
		servers, clients map[netip.Addr]bool
	}
	m := map[key]*acc{}
	var order []key
	get := func(k key) *acc {
		a := m[k]
		if a == nil {
			hint := detect.PortHint(k.port)
			if k.svc == "ftp-data" {
				hint = ""
			}
			a = &acc{row: ServiceRow{Proto: k.proto, Port: k.port, Service: k.svc, PortHint: hint,
				Mismatch: k.svc != "" && k.svc != "ftp-data" && k.svc != hint},
				servers: map[netip.Addr]bool{}, clients: map[netip.Addr]bool{}}
			m[k] = a
			order = append(order, k)
		}
		return a
	}
	for i := range c.conns {
		cs := &c.conns[i]
		k := key{"tcp", cs.RespP, cs.Service}
		if f.ftpData[cs.UID] {
			k = key{"tcp", 0, "ftp-data"}
		}
		a := get(k)
		a.row.Conns++
		a.row.Bytes += cs.frames[0].Bytes + cs.frames[1].Bytes
		a.servers[cs.RespH] = true
		a.clients[cs.OrigH] = true
	}
	for _, u := range c.traffic.udp {
		a := get(key{"udp", u.resp.Port(), ""})
		a.row.Conns++
		a.row.Bytes += u.dir[0].Bytes + u.dir[1].Bytes
		a.servers[u.resp.Addr()] = true
		a.clients[u.orig.Addr()] = true
	}
	rows := make([]ServiceRow, 0, len(order))
	for _, k := range order {
		a := m[k]
		a.row.Servers, a.row.Clients = len(a.servers), len(a.clients)
		rows = append(rows, a.row)
	}
	slices.SortFunc(rows, func(a, b ServiceRow) int {
		if a.Mismatch != b.Mismatch {
			if a.Mismatch {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Conns, a.Conns); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Port, b.Port); c != 0 {
			return c
		}
		return cmp.Compare(a.Service, b.Service)
	})
	return rows
}

func (c *Collector) health() TCPHealth {
	h := TCPHealth{States: map[string]int{}, Unattributed: c.traffic.unattributed.Packets}
	for i := range c.conns {
		cs := &c.conns[i]
		h.Connections++
		h.States[cs.ConnState]++
		if cs.OrigBy == "syn" {
			h.Attempts++
			if cs.synAck && cs.origAcked {
				h.Completed++
			}
		}
		if noAnswer(cs) {
			h.NoAnswer++
		}
		if cs.ConnState == "REJ" {
			h.Rejected++
		}
		if cs.rst[0] {
			h.ResetByOrig++
		}
		if cs.rst[1] {
			h.ResetByResp++
		}
		if cs.OrigMidstream || cs.RespMidstream || cs.OrigBy == "port-heuristic" {
			h.Midstream++
		}
		h.Retransmissions += cs.OrigRetrans + cs.RespRetrans
		h.OutOfOrder += cs.OrigOutOfOrder + cs.RespOutOfOrder
		h.ZeroWindows += cs.ZeroWindow
		h.MissingBytes += cs.MissedBytes
		if cs.MissedBytes > 0 {
			h.ConnsWithGaps++
		}
	}
	if h.Attempts > 0 {
		h.CompletionRate = float64(h.Completed) / float64(h.Attempts)
	}
	return h
}

// classify says whether a connection is encrypted, plaintext, neither
// recognisably, or empty, and how that was told.
func (c *Collector) classify(f *findings, cs *connSum, tlsVersion map[string]string) (class, how, svc string) {
	svc = cs.Service
	if f.ftpData[cs.UID] {
		svc = "ftp-data"
	}
	if v, ok := tlsVersion[cs.UID]; ok || svc == detect.TLS {
		how = "TLS"
		if v != "" {
			how += " " + v
		}
		return ClassEncrypted, how, svc
	}
	switch {
	case svc == detect.SSH:
		return ClassEncrypted, "SSH", svc
	case f.switched[cs.UID] != "":
		return ClassEncrypted, "TLS after " + f.switched[cs.UID], svc
	case svc == "ftp-data":
		return ClassPlaintext, "FTP data channel of a plaintext session", svc
	case plaintextServices[svc] || svc == detect.DNS:
		return ClassPlaintext, svc, svc
	case cs.OrigBytes == 0 && cs.RespBytes == 0:
		return ClassNoData, "no payload", svc
	case cs.text:
		return ClassPlaintext, "unrecognised text", svc
	}
	return ClassUnknown, "unrecognised binary", svc
}

func (c *Collector) encryption(f *findings) (Encryption, []ConnClass) {
	tlsVersion := map[string]string{}
	for i := range c.tls {
		tlsVersion[c.tls[i].UID] = c.tls[i].Version
	}
	e := Encryption{Classes: map[string]int{}}
	type key struct{ svc, class, how string }
	idx := map[key]int{}
	var conns []ConnClass
	for i := range c.conns {
		cs := &c.conns[i]
		class, how, svc := c.classify(f, cs, tlsVersion)
		e.Classes[class]++
		hk := how
		if class == ClassEncrypted && strings.HasPrefix(how, "TLS ") && !strings.Contains(how, "after") {
			hk = "TLS"
		}
		k := key{svc, class, hk}
		j, ok := idx[k]
		if !ok {
			j = len(e.ByService)
			idx[k] = j
			e.ByService = append(e.ByService, EncRow{Service: svc, Class: class, How: hk})
		}
		e.ByService[j].Conns++
		e.ByService[j].Bytes += cs.frames[0].Bytes + cs.frames[1].Bytes
		conns = append(conns, ConnClass{UID: cs.UID, Orig: addrPort(cs.OrigH, cs.OrigP), Resp: addrPort(cs.RespH, cs.RespP),
			Service: svc, Class: class, How: how})
	}
	slices.SortFunc(e.ByService, func(a, b EncRow) int {
		if c := cmp.Compare(a.Class, b.Class); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Conns, a.Conns); c != 0 {
			return c
		}
		return cmp.Compare(a.Service, b.Service)
	})
	return e, conns
}

func (c *Collector) tlsServers() []TLSServer {
	m := map[netip.AddrPort]*TLSServer{}
	var order []netip.AddrPort
	for i := range c.tls {
		r := &c.tls[i]
		k := r.Server()
		s := m[k]
		if s == nil {
			s = &TLSServer{Server: k}
			m[k] = s
			order = append(order, k)
		}
		s.Conns++
		if r.Established {
			s.Established++
		}
		if r.ServerName != "" {
			s.ServerNames = appendUnique(s.ServerNames, r.ServerName, 20)
		}
		if r.Version != "" {
			s.Versions = appendUnique(s.Versions, r.Version, 10)
		}
		if r.Cipher != "" {
			s.Ciphers = appendUnique(s.Ciphers, r.Cipher, 10)
		}
		if r.Subject != "" {
			s.Subjects = appendUnique(s.Subjects, r.Subject, 10)
		}
		s.SelfSigned = s.SelfSigned || r.SelfSigned
	}
	out := make([]TLSServer, 0, len(order))
	for _, k := range order {
		out = append(out, *m[k])
	}
	slices.SortFunc(out, func(a, b TLSServer) int {
		if c := cmp.Compare(b.Conns, a.Conns); c != 0 {
			return c
		}
		return a.Server.Compare(b.Server)
	})
	return out
}

// since is the time from the capture's first packet, for the tables.
func since(first, t time.Time) string {
	return fmt.Sprintf("%.6f", t.Sub(first).Seconds())
}
