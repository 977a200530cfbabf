package flowtable

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/streamx/streamx/decode"
)

// State is the state of a connection as a person reads it (tcpick's words).
type State uint8

// Connection states.
const (
	StateNone        State = iota
	StateSynSent           // the originator's SYN, no answer yet
	StateSynReceived       // SYN-ACK seen, handshake not complete
	StateEstablished       // handshake complete, or data seen mid-stream
	StateFinWait           // one side has sent FIN
	StateClosed            // both sides have sent FIN
	StateReset             // a RST was seen
	StateExpired           // idle past the timeout without a close
)

var stateNames = [...]string{"NONE", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT", "CLOSED", "RESET", "EXPIRED"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// MarshalText makes a State print as its name in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// endpoint states, as Zeek's TCP analyzer keeps them per side.
type epState uint8

const (
	epInactive epState = iota
	epSynSent
	epSynAckSent
	epPartial
	epEstablished
	epClosed
	epReset
)

// Dir holds what one direction of a connection carried.
type Dir struct {
	Packets    uint64
	Bytes      uint64 // TCP payload bytes, retransmissions included
	IPBytes    uint64 // IP bytes (header lengths), as Zeek's ip_bytes
	Retrans    uint64 // segments whose bytes had all been seen before
	OutOfOrder uint64 // segments that filled a hole left by a later segment
	Overlap    uint64 // segments partly made of bytes seen before
	ZeroWindow uint64
	Missing    uint64 // bytes the assembler had to skip (set via AddGap)

	SawSYN bool
	SawFIN bool
	SawRST bool
	ISN    uint32 // initial sequence number (valid if SawSYN)

	state epState
	seq   seqTrack
}

// Conn is one TCP connection.
type Conn struct {
	// Index identifies the connection for the whole run: the run-wide
	// number of its first packet (1-based, Wireshark's frame.number), so
	// that it is the same however connections are spread over workers.
	// A packet without a number (tests) gets the table's own count.
	Index uint64
	// Stream is the connection's zero-based place in this table's
	// first-seen order: tshark's tcp.stream when one table sees the whole
	// capture (one worker).
	Stream uint64
	UID    string // "C" + Index, zero-padded to 6 digits: stable
	Orig   netip.AddrPort
	Resp   netip.AddrPort
	VLAN   uint16
	First  time.Time
	Last   time.Time
	// FirstPacket is the run-wide number of the first packet.
	FirstPacket uint64

	State State
	// OrigBy says how the originator was chosen: "syn", "syn-ack" or
	// "port-heuristic".
	OrigBy  string
	Dirs    [2]Dir
	Service string // protocol detected by content, set by extractors
	// EndReason says why the entry was finished: "closed", "reset",
	// "idle-timeout", "port-reuse", "evicted", "end-of-input".
	EndReason string

	// Handler is free for the assembler to hang its per-connection state on.
	Handler any

	// RespVLAN is the responder's VLAN when it differs from the
	// originator's (asymmetric tagging across a router or span port).
	RespVLAN uint16

	history [32]byte
	nhist   uint8
	hcount  [2][4]uint32 // per side: C, G, T, W counts for Zeek's log scaling
	key     Key
	alias   *Key // second key, for the responder's VLAN
	prev    *Conn
	next    *Conn
	inList  *list
	// seen is the table's time (the latest timestamp so far) at the
	// connection's last packet: never decreasing from one packet to the
	// next, so the lists stay ordered by it even when timestamps go
	// backwards, and expiry looks only at the connection itself.
	seen time.Time
	done bool
}

// History returns Zeek's history string: upper case for the originator,
// lower case for the responder.
func (c *Conn) History() string { return string(c.history[:c.nhist]) }

// Duration is Last - First.
func (c *Conn) Duration() time.Duration { return c.Last.Sub(c.First) }

// ConnState returns Zeek's conn_state for the connection as it stands.
func (c *Conn) ConnState() string {
	os, rs := c.Dirs[0].state, c.Dirs[1].state
	oInactive := os == epInactive || os == epPartial
	rInactive := rs == epInactive || rs == epPartial
	switch {
	case rs == epReset:
		if os == epSynSent || os == epSynAckSent || (os == epReset && c.Dirs[0].Bytes == 0 && c.Dirs[1].Bytes == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == epReset:
		if rInactive {
			if c.Dirs[0].SawSYN && !c.Dirs[1].SawSYN && c.Dirs[1].Packets == 0 {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == epClosed && os == epClosed:
		return "SF"
	case os == epClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == epClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == epSynSent && rs == epInactive:
		return "S0"
	case os == epEstablished && rs == epEstablished:
		return "S1"
	}
	return "OTH"
}

// Missing is the total of bytes missing in both directions.
func (c *Conn) Missing() uint64 { return c.Dirs[0].Missing + c.Dirs[1].Missing }

// Events receives lifecycle notifications. Methods are called synchronously
// from Packet, Sweep and Finish.
type Events interface {
	Opened(c *Conn)
	Transition(c *Conn, from, to State, ts time.Time)
	Closed(c *Conn)
}

// Options bound the table.
type Options struct {
	IdleTimeout time.Duration // a connection with no packet for this long is finished (default 10m)
	// Linger: a closed or reset connection is finished after this much
	// quiet (default 5s, Zeek's tcp_close_delay), so that its last ACKs
	// and retransmissions still count as its own.
	Linger time.Duration
	// LingerHeld replaces Linger for a connection that Holding says still
	// waits for a missing segment (default 1m: longer than the assembler's
	// reorder window, so that the segment has its full chance).
	LingerHeld time.Duration
	// Holding, if set, says whether a connection still holds data behind a
	// hole (the assembler's Holding).
	Holding  func(c *Conn) bool
	MaxConns int // at most this many tracked at once; the longest idle is evicted first (default 1<<20)
}

// Key is what the table keys a connection by: its two endpoints, the
// lower first, and the innermost VLAN tag of its packets.
type Key struct {
	A, B netip.AddrPort // A <= B
	VLAN uint16
}

// KeyFor is the key of the connection between a and b on VLAN vlan.
func KeyFor(a, b netip.AddrPort, vlan uint16) Key {
	if a.Compare(b) <= 0 {
		return Key{a, b, vlan}
	}
	return Key{b, a, vlan}
}

type list struct{ head, tail *Conn }

func (l *list) remove(c *Conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next, c.inList = nil, nil, nil
}

func (l *list) pushBack(c *Conn) {
	c.prev, c.next, c.inList = l.tail, nil, l
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

// Table is the connection table. Not safe for concurrent use.
type Table struct {
	opts   Options
	ev     Events
	conns  map[Key]*Conn
	open   list // by last packet, oldest first
	closed list // closed/reset, by last packet, oldest first
	next   uint64
	now    time.Time
	swept  time.Time

	// vlansSeen lists the VLAN IDs (0: untagged) connections were opened
	// on, for finding asymmetrically tagged connections; bounded.
	vlansSeen []uint16

	// Stats
	Evicted uint64
}

func (t *Table) noteVLAN(v uint16) {
	for _, x := range t.vlansSeen {
		if x == v {
			return
		}
	}
	if len(t.vlansSeen) < 16 {
		t.vlansSeen = append(t.vlansSeen, v)
	}
}

// New returns an empty table.
func New(opts Options, ev Events) *Table {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.Linger <= 0 {
		opts.Linger = 5 * time.Second
	}
	if opts.LingerHeld < opts.Linger {
		opts.LingerHeld = max(opts.Linger, time.Minute)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 1 << 20
	}
	return &Table{opts: opts, ev: ev, conns: make(map[Key]*Conn)}
}

// Len is the number of connections tracked now.
func (t *Table) Len() int { return len(t.conns) }

// Next is the Stream the next new connection will get: the number of
// connections this table has seen.
func (t *Table) Next() uint64 { return t.next }

// KeyOf is the key of p's connection, and whether p goes from A to B.
func KeyOf(p *decode.Packet) (Key, bool) {
	s := netip.AddrPortFrom(p.Src, p.SrcPort)
	d := netip.AddrPortFrom(p.Dst, p.DstPort)
	var v uint16
	if p.NVLAN > 0 {
		v = p.VLANs[p.NVLAN-1]
	}
	return KeyFor(s, d, v), s.Compare(d) <= 0
}

// SetNow moves the table's clock (capture time) forward to now, without
// expiring anything: a table that sees only some of the capture's packets
// (one worker's share) keeps the whole capture's time, so that what it
// stamps with the time is the same as a table that sees everything.
func (t *Table) SetNow(now time.Time) {
	if now.After(t.now) {
		t.now = now
	}
}

// Packet accounts one TCP packet and returns its connection and direction
// (0: originator to responder).
func (t *Table) Packet(p *decode.Packet) (*Conn, int) {
	if p.TS.After(t.now) {
		t.now = p.TS
	}
	if t.now.Sub(t.swept) >= time.Second {
		t.Sweep(t.now)
	}
	k, _ := KeyOf(p)
	c := t.conns[k]
	if c == nil && len(t.conns) > 0 {
		c = t.asymmetric(k, p)
	}
	syn := p.Flags&(decode.FlagSYN|decode.FlagACK) == decode.FlagSYN
	if c != nil && syn && t.reused(c, p) {
		t.finish(c, "port-reuse")
		c = nil
	}
	if c == nil {
		if len(t.conns) >= t.opts.MaxConns && t.open.head != nil {
			t.Evicted++
			t.finish(t.open.head, "evicted")
		}
		c = t.newConn(k, p)
	}
	dir := 0
	if p.Src != c.Orig.Addr() || p.SrcPort != c.Orig.Port() {
		dir = 1
	}
	before := c.State
	t.account(c, dir, p)
	if c.Last.Before(p.TS) {
		c.Last = p.TS
	}
	c.seen = t.now
	// keep the LRU order
	l := &t.open
	if c.State == StateClosed || c.State == StateReset {
		l = &t.closed
	}
	if c.inList != nil {
		c.inList.remove(c)
	}
	l.pushBack(c)
	if c.State != before {
		t.ev.Transition(c, before, c.State, p.TS)
	}
	return c, dir
}

// asymmetric finds the connection this packet belongs to when its VLAN tag
// differs from the one its connection was seen with: the reverse direction
// of a connection whose other direction alone has been seen, on another
// VLAN (a router between two VLANs, or a span port tagging one way only).
// It records the alias so later packets find the connection directly.
func (t *Table) asymmetric(k Key, p *decode.Packet) *Conn {
	for _, v := range t.vlansSeen {
		if v == k.VLAN {
			continue
		}
		k2 := Key{k.A, k.B, v}
		c := t.conns[k2]
		if c == nil || c.alias != nil {
			continue
		}
		src := netip.AddrPortFrom(p.Src, p.SrcPort)
		// only the direction not yet seen may come on another VLAN
		d := 0
		if src != c.Orig {
			d = 1
		}
		if c.Dirs[d].Packets > 0 {
			continue
		}
		ka := k
		c.alias = &ka
		if d == 1 {
			c.RespVLAN = k.VLAN
		} else {
			c.RespVLAN, c.VLAN = c.VLAN, k.VLAN
		}
		t.conns[k] = c
		return c
	}
	return nil
}

// reused says whether a SYN on the 4-tuple of c starts a new connection.
func (t *Table) reused(c *Conn, p *decode.Packet) bool {
	o := &c.Dirs[0]
	if p.Src != c.Orig.Addr() || p.SrcPort != c.Orig.Port() {
		// a SYN from the responder's side: a new connection in the
		// other direction once this one is over.
		return c.State == StateClosed || c.State == StateReset
	}
	if o.SawSYN && o.ISN == p.Seq {
		return false // a retransmitted SYN
	}
	switch c.State {
	case StateClosed, StateReset, StateFinWait:
		return true
	case StateSynSent:
		// a new attempt with another ISN after a long silence
		return p.TS.Sub(c.Last) > 30*time.Second
	}
	return false
}

func (t *Table) newConn(k Key, p *decode.Packet) *Conn {
	c := &Conn{Index: p.Num, Stream: t.next, First: p.TS, Last: p.TS, FirstPacket: p.Num, key: k}
	if p.Num == 0 {
		c.Index = t.next
	}
	c.UID = fmt.Sprintf("C%06d", c.Index)
	t.next++
	src := netip.AddrPortFrom(p.Src, p.SrcPort)
	dst := netip.AddrPortFrom(p.Dst, p.DstPort)
	switch {
	case p.Flags&(decode.FlagSYN|decode.FlagACK) == decode.FlagSYN:
		c.Orig, c.Resp, c.OrigBy = src, dst, "syn"
	case p.Flags&(decode.FlagSYN|decode.FlagACK) == decode.FlagSYN|decode.FlagACK:
		c.Orig, c.Resp, c.OrigBy = dst, src, "syn-ack"
	default:
		c.OrigBy = "port-heuristic"
		if ServerSide(p.SrcPort, p.DstPort) {
			c.Orig, c.Resp = dst, src
		} else {
			c.Orig, c.Resp = src, dst
		}
	}
	if p.NVLAN > 0 {
		c.VLAN = p.VLANs[p.NVLAN-1]
	}
	t.noteVLAN(k.VLAN)
	t.conns[k] = c
	t.ev.Opened(c)
	return c
}

// ServerSide reports whether the packet's source port looks like the
// server's, for connections whose handshake was not captured. The rule: a
// port below 1024 or in the list of common service ports is a server; when
// both or neither are, the lower port is the server; on a tie, the sender is
// the client.
func ServerSide(src, dst uint16) bool {
	ss, ds := servicePort(src), servicePort(dst)
	if ss != ds {
		return ss
	}
	return src < dst
}

func servicePort(p uint16) bool {
	if p < 1024 {
		return true
	}
	switch p {
	case 1080, 1433, 1521, 2049, 2121, 3128, 3306, 3389, 5060, 5222, 5432, 5900, 6379, 6667,
		8000, 8008, 8080, 8081, 8088, 8443, 8888, 9000, 9200, 11211, 27017:
		return true
	}
	return false
}

// history letter indexes for log-scaled repeats
const (
	hC = iota
	hG
	hT
	hW
)

func (c *Conn) addHistory(dir int, ch byte) {
	if dir == 1 {
		ch += 'a' - 'A'
	}
	for _, h := range c.history[:c.nhist] {
		if h == ch {
			return
		}
	}
	c.appendHistory(ch)
}

func (c *Conn) appendHistory(ch byte) {
	if int(c.nhist) < len(c.history) {
		c.history[c.nhist] = ch
		c.nhist++
	}
}

// addScaled records letters Zeek repeats at 1, 10, 100, ... occurrences.
func (c *Conn) addScaled(dir, which int, ch byte) {
	c.hcount[dir][which]++
	n := c.hcount[dir][which]
	for n%10 == 0 {
		n /= 10
	}
	if n != 1 {
		return
	}
	if dir == 1 {
		ch += 'a' - 'A'
	}
	c.appendHistory(ch)
}

// AddGap records n bytes the assembler skipped in direction dir.
func (c *Conn) AddGap(dir int, n uint64) {
	c.Dirs[dir].Missing += n
	c.addScaled(dir, hG, 'G')
}

func (t *Table) account(c *Conn, dir int, p *decode.Packet) {
	d := &c.Dirs[dir]
	peer := &c.Dirs[1-dir]
	d.Packets++
	d.Bytes += uint64(len(p.Payload))
	d.IPBytes += uint64(p.IPLen)
	f := p.Flags
	syn, ack, fin, rst := f&decode.FlagSYN != 0, f&decode.FlagACK != 0, f&decode.FlagFIN != 0, f&decode.FlagRST != 0
	switch {
	case syn && rst:
		c.addHistory(dir, 'I')
	case syn && fin:
		c.addHistory(dir, 'Q')
	}
	if syn {
		if ack {
			c.addHistory(dir, 'H')
			if d.state == epInactive || d.state == epSynSent {
				d.state = epSynAckSent
			}
		} else {
			c.addHistory(dir, 'S')
			if d.state == epInactive {
				d.state = epSynSent
			}
		}
		if !d.SawSYN {
			d.SawSYN, d.ISN = true, p.Seq
			d.seq.start(p.Seq + 1)
		}
	}
	if len(p.Payload) > 0 {
		c.addHistory(dir, 'D')
		switch d.seq.segment(p.Seq, uint32(len(p.Payload))) {
		case segRetrans:
			d.Retrans++
			c.addScaled(dir, hT, 'T')
		case segOutOfOrder:
			d.OutOfOrder++
		case segOverlap:
			d.Overlap++
			c.addScaled(dir, hT, 'T')
		}
	} else if ack && !syn && !fin && !rst {
		c.addHistory(dir, 'A')
	}
	if p.Window == 0 && !rst && !syn {
		d.ZeroWindow++
		c.addScaled(dir, hW, 'W')
	}
	if fin {
		c.addHistory(dir, 'F')
		d.SawFIN = true
		if d.state != epReset {
			d.state = epClosed
		}
	}
	if rst {
		c.addHistory(dir, 'R')
		d.SawRST = true
		d.state = epReset
	}
	if !syn && !fin && !rst {
		switch d.state {
		case epInactive:
			d.state = epPartial
		case epSynSent:
			if ack && peer.state == epSynAckSent {
				d.state, peer.state = epEstablished, epEstablished
			}
		case epSynAckSent:
			if ack && (len(p.Payload) > 0 || peer.state == epEstablished) {
				d.state = epEstablished
			}
		}
		if len(p.Payload) > 0 && peer.state == epSynAckSent && d.state == epEstablished {
			peer.state = epEstablished
		}
	}
	c.State = t.human(c)
}

func (t *Table) human(c *Conn) State {
	o, r := c.Dirs[0].state, c.Dirs[1].state
	switch {
	case o == epReset || r == epReset:
		return StateReset
	case o == epClosed && r == epClosed:
		return StateClosed
	case o == epClosed || r == epClosed:
		return StateFinWait
	case r == epSynAckSent || (o == epSynAckSent && r == epSynSent):
		return StateSynReceived
	case o == epSynSent && r == epInactive:
		return StateSynSent
	case o == epInactive && r == epInactive:
		return StateNone
	}
	return StateEstablished
}

// Sweep finishes connections idle past the timeout and closed ones quiet
// past the linger time, as of capture time now.
func (t *Table) Sweep(now time.Time) {
	if now.After(t.now) {
		t.now = now
	}
	t.swept = now
	// closed connections are kept by last packet: stop at the first one
	// not quiet for Linger; skip those still waiting for a missing segment
	for c := t.closed.head; c != nil; {
		q := now.Sub(c.seen)
		if q < t.opts.Linger {
			break
		}
		next := c.next
		if q >= t.opts.LingerHeld || t.opts.Holding == nil || !t.opts.Holding(c) {
			t.finish(c, c.State.endReason())
		}
		c = next
	}
	for c := t.open.head; c != nil && now.Sub(c.seen) >= t.opts.IdleTimeout; c = t.open.head {
		t.finish(c, "idle-timeout")
	}
}

func (s State) endReason() string {
	if s == StateReset {
		return "reset"
	}
	return "closed"
}

// Finish finishes every remaining connection, closed ones first, each kind
// by last packet; open ones get the reason given ("end-of-input",
// "interrupted").
func (t *Table) Finish(why string) {
	// the closed ones first, then the open ones, each by last packet: an
	// order between two connections that depends on nothing but their own
	// packets (not on which others share the table)
	for _, l := range []*list{&t.closed, &t.open} {
		for c := l.head; c != nil; c = l.head {
			reason := why
			if c.State == StateClosed || c.State == StateReset {
				reason = c.State.endReason()
			}
			t.finish(c, reason)
		}
	}
}

func (t *Table) finish(c *Conn, reason string) {
	if c.done {
		return
	}
	c.done = true
	if c.inList != nil {
		c.inList.remove(c)
	}
	delete(t.conns, c.key)
	if c.alias != nil {
		delete(t.conns, *c.alias)
	}
	c.EndReason = reason
	if reason == "idle-timeout" || reason == "evicted" {
		from := c.State
		c.State = StateExpired
		t.ev.Transition(c, from, c.State, t.now)
	}
	t.ev.Closed(c)
}
