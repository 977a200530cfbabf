package pcapgen

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TCP flag bits, as in the TCP header's flags byte (the same values as
// streamx's decode.Flag*).
const (
	FlagFIN uint8 = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// ConnConfig describes one TCP connection.
type ConnConfig struct {
	Client, Server       netip.AddrPort // both IPv4 or both IPv6
	ClientISN, ServerISN uint32
	// MSS is the largest payload of a segment made by Send/Plan/Retransmit
	// and the MSS option announced in SYNs. Default 1460 for IPv4, 1440 for
	// IPv6 (a 1500-byte MTU).
	MSS int
	// Window is the window field of every segment (default 65535).
	Window uint16
	// AckEvery makes the peer send a pure ACK after every AckEvery-th data
	// segment of a Send and after its last one (default 1: every segment).
	AckEvery int
	// NoAck: Send, SendOrder, SendFragmented and FIN emit no ACK from the
	// peer.
	NoAck bool
	// NoRecord: do not keep the bytes sent (Sent returns nil, Retransmit
	// fails). Used by the benchmark generator to bound memory.
	NoRecord bool
}

// Conn is one TCP connection being written. Sequence numbers are tracked
// per side: offsets ("Off") are relative to the sender's ISN+1, so Off 0 is
// the first data byte and the SYN is at Off 0xffffffff; arithmetic wraps
// modulo 2^32 like real sequence numbers. Unless a Seg's SetAck says
// otherwise, the ack number of a segment is the end of the highest sequence
// number the peer has written so far (data or FIN, any segment: everything
// the peer put on the wire is taken as received, including segments left
// out of the capture by Plan/SendOrder, which is how a capture gap looks).
type Conn struct {
	w     *Writer
	cfg   ConnConfig
	index int
	v6    bool
	ip    [2]net.IP
	mac   [2]net.HardwareAddr
	port  [2]uint16
	isn   [2]uint32
	nxt   [2]uint32
	hi    [2]uint32 // end (relative) of the highest sequence number written per side
	syn   [2]bool
	sent  [2][]byte
	mss   int
	synOp []layers.TCPOption

	pause func() // called after each packet (benchmark interleaving)
}

// Seg is one TCP segment to write with Emit.
type Seg struct {
	FromClient bool
	Off        uint32 // sequence number relative to the sender's ISN+1
	Data       []byte
	Flags      uint8
	// Ack is the ack number relative to the peer's ISN+1, used when SetAck
	// is true; otherwise the usual ack (see Conn) is used. The ack
	// field is written only when Flags has FlagACK (else it is 0).
	Ack    uint32
	SetAck bool
}

func dir(fromClient bool) int {
	if fromClient {
		return 0
	}
	return 1
}

// NewConn registers a connection. Nothing is written until a method is
// called. A bad configuration (mixed address families, invalid address)
// records a sticky error on the Writer.
func (w *Writer) NewConn(cfg ConnConfig) *Conn {
	c := &Conn{w: w, cfg: cfg, index: len(w.conns)}
	w.conns = append(w.conns, c)
	ca, sa := cfg.Client.Addr().Unmap(), cfg.Server.Addr().Unmap()
	if !ca.IsValid() || !sa.IsValid() || ca.Is4() != sa.Is4() {
		w.fail(fmt.Errorf("pcapgen: bad connection addresses %v -> %v", cfg.Client, cfg.Server))
		ca, sa = netip.IPv4Unspecified(), netip.IPv4Unspecified()
	}
	c.v6 = !ca.Is4()
	for i, a := range [2]netip.Addr{ca, sa} {
		c.ip[i] = net.IP(a.AsSlice())
		b := a.As16()
		c.mac[i] = net.HardwareAddr{0x02, 0x00, b[12], b[13], b[14], b[15]}
	}
	c.port = [2]uint16{cfg.Client.Port(), cfg.Server.Port()}
	c.isn = [2]uint32{cfg.ClientISN, cfg.ServerISN}
	c.mss = cfg.MSS
	if c.mss <= 0 {
		c.mss = 1460
		if c.v6 {
			c.mss = 1440
		}
	}
	if c.cfg.Window == 0 {
		c.cfg.Window = 65535
	}
	if c.cfg.AckEvery <= 0 {
		c.cfg.AckEvery = 1
	}
	c.synOp = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{byte(c.mss >> 8), byte(c.mss)}}}
	return c
}

// Client and Server return the endpoints.
func (c *Conn) Client() netip.AddrPort { return c.cfg.Client }
func (c *Conn) Server() netip.AddrPort { return c.cfg.Server }

// Config returns the configuration with defaults filled in.
func (c *Conn) Config() ConnConfig {
	cfg := c.cfg
	cfg.MSS = c.mss
	return cfg
}

// ISN returns the initial sequence number of one side.
func (c *Conn) ISN(fromClient bool) uint32 { return c.isn[dir(fromClient)] }

// Next returns the offset (relative to ISN+1) of the next byte the side
// will send with Send/Plan; a FIN counts as one.
func (c *Conn) Next(fromClient bool) uint32 { return c.nxt[dir(fromClient)] }

// Sent returns what the application on that side sent: the concatenation
// of all data passed to Send, Plan, SendOrder and SendFragmented, in order
// (the record of truth). Data written with Segment/Emit is not included, nor
// anything when ConnConfig.NoRecord is set.
func (c *Conn) Sent(fromClient bool) []byte { return c.sent[dir(fromClient)] }

// Writer returns the Writer the connection writes to.
func (c *Conn) Writer() *Writer { return c.w }

func (c *Conn) ackFor(d int) uint32 { return c.isn[1-d] + 1 + c.hi[1-d] }

// wrote notes that side d put [seq, seq+n) (plus a FIN) on the wire.
func (c *Conn) wrote(d int, seq uint32, n int, flags uint8) {
	if flags&FlagRST != 0 {
		return
	}
	end := seq - (c.isn[d] + 1) + uint32(n)
	if flags&FlagFIN != 0 {
		end++
	}
	if int32(end-c.hi[d]) > 0 {
		c.hi[d] = end
	}
}

// emitTCP writes one TCP segment with absolute seq/ack.
func (c *Conn) emitTCP(d int, seq, ack uint32, flags uint8, data []byte, opts []layers.TCPOption) {
	w := c.w
	if w.err != nil {
		return
	}
	if flags&FlagACK == 0 {
		ack = 0
	}
	c.setTCP(d, seq, ack, flags, data, opts)
	c.wrote(d, seq, len(data), flags)
	if w.logOn {
		w.log = append(w.log, packetNote{n: w.packets + 1, ts: w.now, conn: c.index, dir: d, seq: seq, ack: ack, flags: flags, length: len(data)})
	}
	if c.v6 {
		w.serialize(true, c.mac[d], c.mac[1-d], d == 0, &w.ip6, &w.tcp, &w.payload)
	} else {
		w.serialize(false, c.mac[d], c.mac[1-d], d == 0, &w.ip4, &w.tcp, &w.payload)
	}
	if c.pause != nil {
		c.pause()
	}
}

// setTCP fills w.tcp, w.payload and the IP layer (unfragmented).
func (c *Conn) setTCP(d int, seq, ack uint32, flags uint8, data []byte, opts []layers.TCPOption) {
	w := c.w
	w.tcp = layers.TCP{
		SrcPort: layers.TCPPort(c.port[d]),
		DstPort: layers.TCPPort(c.port[1-d]),
		Seq:     seq,
		Ack:     ack,
		FIN:     flags&FlagFIN != 0,
		SYN:     flags&FlagSYN != 0,
		RST:     flags&FlagRST != 0,
		PSH:     flags&FlagPSH != 0,
		ACK:     flags&FlagACK != 0,
		URG:     flags&FlagURG != 0,
		ECE:     flags&FlagECE != 0,
		CWR:     flags&FlagCWR != 0,
		Window:  c.cfg.Window,
		Options: opts,
	}
	w.payload.data = data
	if c.v6 {
		w.ip6 = layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: c.ip[d], DstIP: c.ip[1-d]}
		_ = w.tcp.SetNetworkLayerForChecksum(&w.ip6)
	} else {
		w.ipID++
		w.ip4 = layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment, Id: w.ipID, SrcIP: c.ip[d], DstIP: c.ip[1-d]}
		_ = w.tcp.SetNetworkLayerForChecksum(&w.ip4)
	}
}

func (c *Conn) segAbs(s Seg) (d int, seq, ack uint32) {
	d = dir(s.FromClient)
	seq = c.isn[d] + 1 + s.Off
	if s.SetAck {
		ack = c.isn[1-d] + 1 + s.Ack
	} else {
		ack = c.ackFor(d)
	}
	return
}

// Emit writes segments as given (raw control). It changes neither Next
// nor Sent.
func (c *Conn) Emit(segs ...Seg) {
	for _, s := range segs {
		d, seq, ack := c.segAbs(s)
		var opts []layers.TCPOption
		if s.Flags&FlagSYN != 0 {
			opts = c.synOp
		}
		c.emitTCP(d, seq, ack, s.Flags, s.Data, opts)
	}
}

// Segment writes one hand-made segment: seq is the sender's ISN+1+seqOffset,
// flags are exactly those given (e.g. FlagPSH|FlagACK), the ack number is
// the usual one (see Conn). It changes neither Next nor Sent.
func (c *Conn) Segment(fromClient bool, seqOffset uint32, data []byte, flags uint8) {
	c.Emit(Seg{FromClient: fromClient, Off: seqOffset, Data: data, Flags: flags})
}

// SYN writes the client's SYN (seq = client ISN, MSS option). Calling it
// again writes a retransmission of the same SYN.
func (c *Conn) SYN() {
	c.syn[0] = true
	c.emitTCP(0, c.isn[0], 0, FlagSYN, nil, c.synOp)
}

// SYNACK writes the server's SYN/ACK (seq = server ISN, ack = client ISN+1).
func (c *Conn) SYNACK() {
	c.syn[1] = true
	c.emitTCP(1, c.isn[1], c.isn[0]+1, FlagSYN|FlagACK, nil, c.synOp)
}

// ACK writes a pure ACK from one side at its next sequence number.
func (c *Conn) ACK(fromClient bool) {
	d := dir(fromClient)
	c.emitTCP(d, c.isn[d]+1+c.nxt[d], c.ackFor(d), FlagACK, nil, nil)
}

// Handshake writes SYN, SYN/ACK, ACK.
func (c *Conn) Handshake() {
	c.SYN()
	c.SYNACK()
	c.ACK(true)
}

// Plan appends data to the side's Sent record, advances its Next, and
// returns the segments that carry it (segSize bytes each, 0 = MSS; FlagACK on
// all, FlagPSH on the last) without writing anything: write them with Emit
// in any order, any number of times, or not at all (a capture gap).
func (c *Conn) Plan(fromClient bool, data []byte, segSize int) []Seg {
	if segSize <= 0 {
		segSize = c.mss
	}
	n := (len(data) + segSize - 1) / segSize
	segs := make([]Seg, 0, n)
	c.planInto(fromClient, data, segSize, func(s Seg) { segs = append(segs, s) })
	return segs
}

func (c *Conn) planInto(fromClient bool, data []byte, segSize int, f func(Seg)) {
	d := dir(fromClient)
	if !c.cfg.NoRecord {
		c.sent[d] = append(c.sent[d], data...)
	}
	for off := 0; off < len(data); off += segSize {
		end := min(off+segSize, len(data))
		fl := FlagACK
		if end == len(data) {
			fl |= FlagPSH
		}
		s := Seg{FromClient: fromClient, Off: c.nxt[d], Data: data[off:end], Flags: fl}
		c.nxt[d] += uint32(end - off)
		f(s)
	}
}

// Send writes data from one side in MSS-sized segments, each followed by
// the peer's ACK (see ConnConfig.AckEvery and NoAck), and records it in Sent.
func (c *Conn) Send(fromClient bool, data []byte) {
	d := dir(fromClient)
	last := c.nxt[d] + uint32(len(data))
	i := 0
	c.planInto(fromClient, data, c.mss, func(s Seg) {
		c.Emit(s)
		i++
		if !c.cfg.NoAck && (i%c.cfg.AckEvery == 0 || s.Off+uint32(len(s.Data)) == last) {
			c.ACK(!fromClient)
		}
	})
}

// SendOrder splits data into segSize segments (0 = MSS) numbered from 0,
// records it in Sent, and writes the segments in the given order: an index
// may repeat (duplicate) or be left out (a segment missing from the
// capture). Then the peer ACKs everything once (unless NoAck).
func (c *Conn) SendOrder(fromClient bool, data []byte, segSize int, order []int) {
	segs := c.Plan(fromClient, data, segSize)
	for _, i := range order {
		if i < 0 || i >= len(segs) {
			c.w.fail(fmt.Errorf("pcapgen: SendOrder index %d out of range (%d segments)", i, len(segs)))
			return
		}
		c.Emit(segs[i])
	}
	if !c.cfg.NoAck {
		c.ACK(!fromClient)
	}
}

// Retransmit writes again n bytes of the side's Sent record starting at
// offset off (MSS-sized segments, same bytes, same sequence numbers). It
// does not ACK.
func (c *Conn) Retransmit(fromClient bool, off, n int) {
	d := dir(fromClient)
	if off < 0 || n < 0 || off+n > len(c.sent[d]) {
		c.w.fail(fmt.Errorf("pcapgen: Retransmit [%d,%d) outside the %d bytes recorded", off, off+n, len(c.sent[d])))
		return
	}
	data := c.sent[d][off : off+n]
	for o := 0; o < len(data); o += c.mss {
		end := min(o+c.mss, len(data))
		fl := FlagACK
		if end == len(data) {
			fl |= FlagPSH
		}
		c.Emit(Seg{FromClient: fromClient, Off: uint32(off + o), Data: data[o:end], Flags: fl})
	}
}

// FIN writes a FIN/ACK from one side (it takes one sequence number) and the
// peer's ACK of it (unless NoAck).
func (c *Conn) FIN(fromClient bool) {
	d := dir(fromClient)
	c.emitTCP(d, c.isn[d]+1+c.nxt[d], c.ackFor(d), FlagFIN|FlagACK, nil, nil)
	c.nxt[d]++
	if !c.cfg.NoAck {
		c.ACK(!fromClient)
	}
}

// Close writes the usual four-packet close started by the client: FIN from
// the client, ACK, FIN from the server, ACK.
func (c *Conn) Close() {
	c.FIN(true)
	c.FIN(false)
}

// CloseSimultaneous writes a simultaneous close: both FINs cross (the
// server's FIN does not acknowledge the client's), then each side ACKs.
func (c *Conn) CloseSimultaneous() {
	cseq := c.isn[0] + 1 + c.nxt[0]
	c.emitTCP(0, cseq, c.ackFor(0), FlagFIN|FlagACK, nil, nil)
	c.emitTCP(1, c.isn[1]+1+c.nxt[1], cseq, FlagFIN|FlagACK, nil, nil)
	c.nxt[0]++
	c.nxt[1]++
	c.ACK(true)
	c.ACK(false)
}

// RST writes a RST/ACK from one side at its next sequence number. When that
// side has not sent a SYN but the peer has (a refused connection: the
// server answers a SYN), it is the RFC 793 answer instead: seq 0, RST/ACK,
// ack = the peer's ISN+1.
func (c *Conn) RST(fromClient bool) {
	d := dir(fromClient)
	if !c.syn[d] && c.syn[1-d] && c.nxt[d] == 0 {
		c.emitTCP(d, 0, c.ackFor(d), FlagRST|FlagACK, nil, nil)
		return
	}
	c.emitTCP(d, c.isn[d]+1+c.nxt[d], c.ackFor(d), FlagRST|FlagACK, nil, nil)
}

// SendFragmented writes data as one TCP segment (PSH/ACK, whatever its size)
// carried in nfrags IP fragments (IPv4 fragments, or IPv6 packets with a
// Fragment header), written in the given order of fragment indexes (nil =
// in order; indexes may repeat). It records the data in Sent and the peer
// ACKs it (unless NoAck).
func (c *Conn) SendFragmented(fromClient bool, data []byte, nfrags int, order []int) {
	segs := c.Plan(fromClient, data, len(data)+1)
	if len(segs) != 1 {
		c.w.fail(fmt.Errorf("pcapgen: SendFragmented needs data"))
		return
	}
	c.EmitFragmented(segs[0], nfrags, order)
	if !c.cfg.NoAck {
		c.ACK(!fromClient)
	}
}

// EmitFragmented writes one segment split into nfrags IP fragments (each
// but the last a multiple of 8 bytes), in the given order (nil = in order).
// All fragments share one IP identification.
func (c *Conn) EmitFragmented(s Seg, nfrags int, order []int) {
	w := c.w
	if w.err != nil {
		return
	}
	d, seq, ack := c.segAbs(s)
	if s.Flags&FlagACK == 0 {
		ack = 0
	}
	var opts []layers.TCPOption
	if s.Flags&FlagSYN != 0 {
		opts = c.synOp
	}
	c.setTCP(d, seq, ack, s.Flags, s.Data, opts)
	if err := gopacket.SerializeLayers(w.tcpBuf, w.sopts, &w.tcp, &w.payload); err != nil {
		w.fail(err)
		return
	}
	seg := w.tcpBuf.Bytes()
	c.wrote(d, seq, len(s.Data), s.Flags)
	if nfrags < 1 {
		nfrags = 1
	}
	per := (len(seg) + nfrags - 1) / nfrags
	per = (per + 7) &^ 7
	var frags [][2]int
	for off := 0; off < len(seg); off += per {
		frags = append(frags, [2]int{off, min(off+per, len(seg))})
	}
	if order == nil {
		for i := range frags {
			order = append(order, i)
		}
	}
	var id uint32
	if c.v6 {
		w.fragID++
		id = w.fragID
	} else {
		w.ipID++
		id = uint32(w.ipID)
	}
	for _, i := range order {
		if i < 0 || i >= len(frags) {
			w.fail(fmt.Errorf("pcapgen: fragment index %d out of range (%d fragments)", i, len(frags)))
			return
		}
		f := frags[i]
		more := f[1] < len(seg)
		if w.logOn {
			mf := ""
			if more {
				mf = " MF"
			}
			w.log = append(w.log, packetNote{n: w.packets + 1, ts: w.now, conn: c.index, dir: d, seq: seq, ack: ack, flags: s.Flags, length: len(s.Data),
				frag: fmt.Sprintf("fragment %d/%d id=%#x offset=%d len=%d%s", i+1, len(frags), id, f[0], f[1]-f[0], mf)})
		}
		w.payload.data = seg[f[0]:f[1]]
		if c.v6 {
			w.ip6 = layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment, SrcIP: c.ip[d], DstIP: c.ip[1-d]}
			w.frag6 = layers.IPv6Fragment{NextHeader: layers.IPProtocolTCP, FragmentOffset: uint16(f[0] / 8), MoreFragments: more, Identification: id}
			w.serialize(true, c.mac[d], c.mac[1-d], d == 0, &w.ip6, &w.frag6, &w.payload)
		} else {
			var fl layers.IPv4Flag
			if more {
				fl = layers.IPv4MoreFragments
			}
			w.ip4 = layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, Flags: fl, FragOffset: uint16(f[0] / 8), Id: uint16(id), SrcIP: c.ip[d], DstIP: c.ip[1-d]}
			w.serialize(false, c.mac[d], c.mac[1-d], d == 0, &w.ip4, &w.payload)
		}
		if c.pause != nil {
			c.pause()
		}
	}
}
