package analysis

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/engine"
)

// Count is a number of packets (frames) and their bytes on the wire.
type Count struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func (c *Count) add(bytes int) {
	c.Packets++
	c.Bytes += uint64(bytes)
}

// hostAcc is one address's traffic, as tshark's -z endpoints counts it:
// every frame sent (tx) and received (rx); a frame from a host to itself
// (loopback) counts as both.
type hostAcc struct {
	tx, rx Count
}

// udpKey is a UDP conversation: the two endpoints, lower first.
type udpKey struct{ a, b netip.AddrPort }

// udpAcc is one UDP conversation; orig is the sender of its first packet.
type udpAcc struct {
	orig, resp  netip.AddrPort
	first, last time.Time
	dir         [2]Count // orig to resp, resp to orig
}

// tcpKey is what the flow table keys a TCP connection by: the two
// endpoints (lower first) and the innermost VLAN tag.
type tcpKey struct {
	a, b netip.AddrPort
	vlan uint16
}

// tcpAcc counts the frames of the TCP connection currently on a key, in
// the key's orientation (index 0: from a to b).
type tcpAcc struct {
	dir [2]Count
}

// traffic accounts every decoded packet: totals by transport, hosts, UDP
// conversations, and the frames of TCP connections until the flow table
// finishes them (takeTCP).
type traffic struct {
	tables        bool // keep hosts and conversations; off: totals only
	keepBroadcast bool
	first, last   time.Time
	protos        [4]Count // by decode.Proto
	excluded      Count    // broadcast and multicast frames left out of hosts and conversations
	hosts         map[netip.Addr]*hostAcc
	udp           map[udpKey]*udpAcc
	tcp           map[tcpKey]*tcpAcc
	ip            map[ipKey]*ipAcc // ICMP and other IP protocols, per host pair
	// lastTCP is the most recent TCP frame, which the flow table may not
	// have given to its connection yet when a connection is finished.
	lastTCP struct {
		key   tcpKey
		dir   int
		bytes int
		ok    bool
	}
	unattributed Count // TCP frames whose connection could not be told
}

func newTraffic(tables, keepBroadcast bool) *traffic {
	return &traffic{tables: tables, keepBroadcast: keepBroadcast, hosts: map[netip.Addr]*hostAcc{},
		udp: map[udpKey]*udpAcc{}, tcp: map[tcpKey]*tcpAcc{}, ip: map[ipKey]*ipAcc{}}
}

// isBroadcast reports whether a is a broadcast or multicast address: the
// IPv4 limited broadcast 255.255.255.255, IPv4 multicast 224.0.0.0/4, IPv6
// multicast ff00::/8. A directed broadcast (10.1.2.255) cannot be told
// from a host address without the netmask, so it is not.
func isBroadcast(a netip.Addr) bool {
	if a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	return a.IsMulticast()
}

// packet accounts one decoded packet (engine.Config.Packet). p is reused
// by the caller: nothing of it is kept.
func (t *traffic) packet(p *decode.Packet) {
	if t.first.IsZero() || p.TS.Before(t.first) {
		t.first = p.TS
	}
	if p.TS.After(t.last) {
		t.last = p.TS
	}
	pr := p.Proto
	if int(pr) >= len(t.protos) {
		pr = decode.ProtoOther
	}
	t.protos[pr].add(p.Len)
	if !t.tables {
		return
	}
	if p.Proto == decode.ProtoTCP {
		// TCP frames are counted per connection whatever the addresses:
		// the flow table sees them all.
		t.tcpFrame(p)
	}
	if p.IPVer == 0 {
		return
	}
	if !t.keepBroadcast && (isBroadcast(p.Dst) || isBroadcast(p.Src)) {
		t.excluded.add(p.Len)
		return
	}
	t.host(p.Src).tx.add(p.Len)
	t.host(p.Dst).rx.add(p.Len)
	switch p.Proto {
	case decode.ProtoUDP:
		t.udpFrame(p)
	case decode.ProtoICMP, decode.ProtoOther:
		t.ipFrame(p)
	}
}

// ipKey is a pair of hosts exchanging ICMP or another IP protocol, lower
// address first.
type ipKey struct {
	proto uint8
	a, b  netip.Addr
}

// ipAcc is one such pair; orig is the sender of the first packet.
type ipAcc struct {
	proto       string
	orig, resp  netip.Addr
	first, last time.Time
	dir         [2]Count
}

func (t *traffic) ipFrame(p *decode.Packet) {
	k := ipKey{p.IPProto, p.Src, p.Dst}
	if p.Dst.Less(p.Src) {
		k = ipKey{p.IPProto, p.Dst, p.Src}
	}
	a := t.ip[k]
	if a == nil {
		name := p.Proto.String()
		if p.Proto == decode.ProtoOther {
			name = fmt.Sprintf("ip-proto-%d", p.IPProto)
		}
		a = &ipAcc{proto: name, orig: p.Src, resp: p.Dst, first: p.TS}
		t.ip[k] = a
	}
	if p.TS.After(a.last) {
		a.last = p.TS
	}
	if p.Src == a.orig {
		a.dir[0].add(p.Len)
	} else {
		a.dir[1].add(p.Len)
	}
}

func (t *traffic) host(a netip.Addr) *hostAcc {
	h := t.hosts[a]
	if h == nil {
		h = &hostAcc{}
		t.hosts[a] = h
	}
	return h
}

func (t *traffic) udpFrame(p *decode.Packet) {
	s := netip.AddrPortFrom(p.Src, p.SrcPort)
	d := netip.AddrPortFrom(p.Dst, p.DstPort)
	k := udpKey{s, d}
	if d.Compare(s) < 0 {
		k = udpKey{d, s}
	}
	u := t.udp[k]
	if u == nil {
		u = &udpAcc{orig: s, resp: d, first: p.TS}
		t.udp[k] = u
	}
	if p.TS.After(u.last) {
		u.last = p.TS
	}
	if s == u.orig {
		u.dir[0].add(p.Len)
	} else {
		u.dir[1].add(p.Len)
	}
}

func tcpKeyOf(p *decode.Packet) (tcpKey, int) {
	s := netip.AddrPortFrom(p.Src, p.SrcPort)
	d := netip.AddrPortFrom(p.Dst, p.DstPort)
	var v uint16
	if p.NVLAN > 0 {
		v = p.VLANs[p.NVLAN-1]
	}
	if s.Compare(d) <= 0 {
		return tcpKey{s, d, v}, 0
	}
	return tcpKey{d, s, v}, 1
}

func (t *traffic) tcpFrame(p *decode.Packet) {
	k, dir := tcpKeyOf(p)
	a := t.tcp[k]
	if a == nil {
		a = &tcpAcc{}
		t.tcp[k] = a
	}
	a.dir[dir].add(p.Len)
	t.lastTCP.key, t.lastTCP.dir, t.lastTCP.bytes, t.lastTCP.ok = k, dir, p.Len, true
}

// takeTCP returns the frames of the finished connection s, originator to
// responder first, and forgets them.
//
// The engine hands a packet to the Packet hook before the flow table, and
// the flow table may finish the previous connection on the same 4-tuple
// (port reuse, or its linger expiring) while accounting that packet: the
// connection's own packet count says so, and the one extra frame, always
// the most recent, is moved to the 4-tuple's next connection.
func (t *traffic) takeTCP(s *engine.Session) [2]Count {
	c := s.Conn
	want := c.Dirs[0].Packets + c.Dirs[1].Packets
	keys := []tcpKey{keyOf(c.Orig, c.Resp, c.VLAN)}
	if c.RespVLAN != 0 && c.RespVLAN != c.VLAN {
		keys = append(keys, keyOf(c.Orig, c.Resp, c.RespVLAN))
	}
	var got uint64
	for _, k := range keys {
		if a := t.tcp[k]; a != nil {
			got += a.dir[0].Packets + a.dir[1].Packets
		}
	}
	if got < want && c.VLAN != 0 && c.RespVLAN == 0 {
		// The flow table joined untagged packets to a tagged connection
		// (one direction tagged, the other not): its RespVLAN is then 0,
		// which also means "same VLAN"; the untagged key is the other half.
		if a := t.tcp[keyOf(c.Orig, c.Resp, 0)]; a != nil {
			keys = append(keys, keyOf(c.Orig, c.Resp, 0))
			got += a.dir[0].Packets + a.dir[1].Packets
		}
	}
	var carry *tcpAcc
	if got == want+1 && t.lastTCP.ok && (t.lastTCP.key == keys[0] || (len(keys) > 1 && t.lastTCP.key == keys[1])) {
		a := t.tcp[t.lastTCP.key]
		a.dir[t.lastTCP.dir].Packets--
		a.dir[t.lastTCP.dir].Bytes -= uint64(t.lastTCP.bytes)
		carry = &tcpAcc{}
		carry.dir[t.lastTCP.dir].add(t.lastTCP.bytes)
		t.lastTCP.ok = false
		got--
	}
	var out [2]Count
	for _, k := range keys {
		a := t.tcp[k]
		if a == nil {
			continue
		}
		delete(t.tcp, k)
		// the key's orientation: index 0 is from the lower endpoint
		o := 0
		if k.a != c.Orig {
			o = 1
		}
		for d := range 2 {
			out[d^o].Packets += a.dir[d].Packets
			out[d^o].Bytes += a.dir[d].Bytes
		}
	}
	if carry != nil {
		t.tcp[t.lastTCP.key] = carry
	}
	if got < want {
		t.unattributed.Packets += want - got
	}
	return out
}

func keyOf(a, b netip.AddrPort, vlan uint16) tcpKey {
	if a.Compare(b) <= 0 {
		return tcpKey{a, b, vlan}
	}
	return tcpKey{b, a, vlan}
}
