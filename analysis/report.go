package analysis

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
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

// finishFindings works out the findings that wait for the end, once.
func (c *Collector) finishFindings() {
	if !c.done {
		c.done = true
		c.findings()
	}
}

// Finish computes the report. Call it after the run and ReadLog.
func (c *Collector) Finish() *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finishFindings()
	t := c.traffic
	r := &Report{First: manifest.TS{Time: t.first}, Last: manifest.TS{Time: t.last},
		Duration: manifest.Duration(t.last.Sub(t.first)), Excluded: t.excluded, NoticeCounts: map[string]int{}}
	for _, p := range []struct {
		name string
		i    int
	}{{"tcp", 1}, {"udp", 2}, {"icmp", 3}, {"other", 0}} {
		r.Protocols = append(r.Protocols, ProtoRow{Proto: p.name, Count: t.protos[p.i]})
	}
	r.TCP = c.health
	r.TCP.States = maps.Clone(c.health.States)
	r.TCP.Unattributed = t.frames.pendingFrames() // frames no finished connection claimed
	if r.TCP.Attempts > 0 {
		r.TCP.CompletionRate = float64(r.TCP.Completed) / float64(r.TCP.Attempts)
	}
	if tb := c.tables; tb != nil {
		r.Hosts = c.hostRows()
		r.HostsTotal = len(r.Hosts)
		r.Hosts = top(r.Hosts, c.opts.Top)
		r.Conversations, r.ConversationsTotal = c.convRows()
		r.Services = c.serviceRows()
		r.ServicesTotal = len(r.Services)
		r.Services = top(r.Services, c.opts.Top)
		r.Encryption = tb.enc
		r.Encryption.ByService = slices.Clone(tb.enc.ByService)
		slices.SortFunc(r.Encryption.ByService, func(a, b EncRow) int {
			if c := cmp.Compare(a.Class, b.Class); c != 0 {
				return c
			}
			if c := cmp.Compare(b.Conns, a.Conns); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Service, b.Service); c != 0 {
				return c
			}
			return cmp.Compare(a.How, b.How)
		})
		r.TLSServers = c.tlsServers()
		r.Connections = tb.conns
		slices.SortFunc(r.Connections, func(a, b ConnClass) int { return compareUID(a.UID, b.UID) })
	}
	r.Notices = c.ns.list()
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

// convRows merges the TCP conversations kept with the UDP ones, busiest
// first, and returns the top rows and how many there were.
func (c *Collector) convRows() ([]ConvRow, int) {
	rows := slices.Clone(c.tables.convs)
	total := c.tables.convTotal
	for _, u := range c.traffic.udp {
		total++
		rows = append(rows, ConvRow{Proto: "udp", A: u.orig, B: u.resp, AtoB: u.dir[0], BtoA: u.dir[1],
			Total: Count{u.dir[0].Packets + u.dir[1].Packets, u.dir[0].Bytes + u.dir[1].Bytes},
			Start: manifest.TS{Time: u.first}, Duration: manifest.Duration(u.last.Sub(u.first)),
			Service: detect.PortHint(u.resp.Port())})
	}
	sortConvs(rows)
	return top(rows, c.opts.Top), total
}

func (c *Collector) serviceRows() []ServiceRow {
	tb := c.tables
	if !tb.udpCounted {
		tb.udpCounted = true
		for _, u := range c.traffic.udp {
			tb.service(svcKey{"udp", u.resp.Port(), ""}, u.resp.Addr(), u.orig.Addr(), u.dir[0].Bytes+u.dir[1].Bytes)
		}
	}
	rows := make([]ServiceRow, 0, len(tb.svc))
	for _, a := range tb.svc {
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

// add accounts a finished connection.
func (h *TCPHealth) add(cs *connInfo) {
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

func (c *Collector) tlsServers() []TLSServer {
	out := make([]TLSServer, 0, len(c.tables.tlsSrv))
	for _, s := range c.tables.tlsSrv {
		out = append(out, s.server())
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
