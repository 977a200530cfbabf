package analysis

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/flowtable"
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
type tcpKey = flowtable.Key

// traffic accounts every decoded packet: totals by transport, hosts, UDP
// conversations and other IP conversations; the frames of TCP connections
// go to frames. It belongs to the goroutine that calls Packet (the
// engine's reader): nothing else touches it before Finish.
type traffic struct {
	tables        bool // keep hosts and conversations; off: totals only
	keepBroadcast bool
	first, last   time.Time
	protos        [4]Count // by decode.Proto
	excluded      Count    // broadcast and multicast frames left out of hosts and conversations
	hosts         map[netip.Addr]*hostAcc
	udp           map[udpKey]*udpAcc
	ip            map[ipKey]*ipAcc // ICMP and other IP protocols, per host pair
	frames        *frames          // TCP frames, until their connection is finished
}

func newTraffic(tables, keepBroadcast bool) *traffic {
	return &traffic{tables: tables, keepBroadcast: keepBroadcast, hosts: map[netip.Addr]*hostAcc{},
		udp: map[udpKey]*udpAcc{}, ip: map[ipKey]*ipAcc{}, frames: &frames{tcp: map[tcpKey]*tcpAcc{}}}
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
		t.frames.packet(p)
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
	k, fromA := flowtable.KeyOf(p)
	if fromA {
		return k, 0
	}
	return k, 1
}
