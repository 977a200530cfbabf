// Package assembler turns the TCP segments of each connection into ordered
// bytes per direction, on top of gopacket's tcpassembly, and hands them to a
// per-connection Handler. It owns sequence ordering, gaps and the end of each
// direction; it does not own connection identity or state (flowtable) nor
// what the bytes mean (extractors).
//
// Call order, for the engine that drives it:
//  1. New(opts, factory).
//  2. For every TCP packet, after flowtable.Table.Packet: Packet(conn, dir, tcp, ts).
//     The first call for a connection asks the Factory for its Handler.
//  3. Tick(now) as capture time advances: data held behind a hole for longer
//     than ReorderWindow is pushed on, the hole reported as a gap.
//  4. Finish(conn) when the flow table finishes a connection: directions
//     still open are flushed and ended, then Handler.Close is called.
//  5. FlushAll at the end of input, before the flow table's Finish.
//
// FIN and RST are the flow table's business, not the stream's: they do not
// end a direction (a receiver may have dropped them, and bytes that follow in
// sequence are evidence). Directions end when the flow table finishes the
// connection (both sides closed and quiet, reset and quiet, idle, port reuse,
// end of input).
//
// What a Handler sees, per direction, in order: Data and Gap calls whose
// offsets add up (off of each call = sum of the lengths before it), then one
// End. Close comes once, after both directions ended. Data's bytes are only
// valid during the call (tcpassembly reuses them): copy what you keep.
//
// A direction whose first segment is not a SYN (the capture started
// mid-connection, or the SYN was lost) starts at the first byte seen: the
// segment is handed to tcpassembly as if a SYN had preceded it, so its data
// is delivered at once instead of waiting for a flush. Bytes sent before that
// first segment are not known and not counted as missing.
package assembler

import (
	"cmp"
	"encoding/binary"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/tcpassembly"

	"github.com/streamx/streamx/flowtable"
)

// Handler consumes the ordered bytes of one connection.
type Handler interface {
	// Data delivers in-order bytes of direction dir (0: originator to
	// responder) starting at stream offset off.
	Data(dir int, data []byte, off int64, ts time.Time)
	// Gap says n bytes are missing from direction dir at offset off.
	Gap(dir int, off, n int64, ts time.Time)
	// End says direction dir carries nothing more. reason is "fin", "rst",
	// or why the connection was finished ("idle-timeout", "end-of-input"...).
	End(dir int, reason string, ts time.Time)
	// Close is called once, after both End calls; the Conn is final.
	Close(c *flowtable.Conn)
}

// Factory makes the Handler of a new connection.
type Factory interface {
	NewHandler(c *flowtable.Conn) Handler
}

// Options bound the assembler's memory.
type Options struct {
	// Out-of-order data is kept in pages of 1900 bytes.
	MaxPagesPerConn int           // per direction (default 1024, ~2 MB); past it the oldest hole is skipped
	MaxPagesTotal   int           // all connections (default 32768, ~62 MB); past it holes are skipped
	ReorderWindow   time.Duration // how long data waits behind a hole, in capture time (default 30s)
}

// Stats counts what the assembler saw.
type Stats struct {
	Streams     uint64 // directions that carried something
	Midstream   uint64 // directions picked up without a SYN
	Gaps        uint64
	GapBytes    uint64
	AfterEnd    uint64 // segments that came after their direction ended
	UnknownGaps uint64 // gaps of unknown length
}

// Add adds o's counts to s (the totals of several assemblers).
func (s *Stats) Add(o Stats) {
	s.Streams += o.Streams
	s.Midstream += o.Midstream
	s.Gaps += o.Gaps
	s.GapBytes += o.GapBytes
	s.AfterEnd += o.AfterEnd
	s.UnknownGaps += o.UnknownGaps
}

// Assembler reassembles TCP. Not safe for concurrent use.
type Assembler struct {
	Stats Stats

	opts     Options
	factory  Factory
	asm      *tcpassembly.Assembler
	cur      *conn
	synth    layers.TCP
	synthHdr [20]byte
	now      time.Time
	ticked   time.Time

	// A flush (tcpassembly's) visits streams in map order: while it runs,
	// what it hands over is held here (bytes copied) and delivered after
	// it, by connection and direction, so that the order of events never
	// depends on map order.
	flushing bool
	held     []heldEvent
	heldData []byte
	pending  int // directions holding data behind a hole
}

// conn is the per-connection state, hung on flowtable.Conn.Handler.
type conn struct {
	c       *flowtable.Conn
	h       Handler
	dirs    [2]dir
	streams [2]stream
	closed  bool
}

type dir struct {
	started   bool
	ended     bool
	midstream bool
	pending   bool
	seq0      uint32 // sequence number of stream offset 0
	off       int64  // stream offset delivered so far, gaps included
	hiSeen    uint32 // highest sequence number handed to tcpassembly (end of segment)
	endReason string
}

type stream struct {
	a   *Assembler
	cn  *conn
	dir int
}

// New returns an Assembler.
func New(opts Options, f Factory) *Assembler {
	if opts.MaxPagesPerConn <= 0 {
		opts.MaxPagesPerConn = 1024
	}
	if opts.MaxPagesTotal <= 0 {
		opts.MaxPagesTotal = 32768
	}
	if opts.ReorderWindow <= 0 {
		opts.ReorderWindow = 30 * time.Second
	}
	a := &Assembler{opts: opts, factory: f}
	a.asm = tcpassembly.NewAssembler(tcpassembly.NewStreamPool(a))
	a.asm.MaxBufferedPagesPerConnection = opts.MaxPagesPerConn
	a.asm.MaxBufferedPagesTotal = opts.MaxPagesTotal
	return a
}

// New implements tcpassembly.StreamFactory. It is only called from inside
// AssembleWithTimestamp, with a.cur set to the connection.
func (a *Assembler) New(netFlow, _ gopacket.Flow) tcpassembly.Stream {
	src := netFlow.Src().Raw()
	d := int(src[8])
	s := &a.cur.streams[d]
	s.a, s.cn, s.dir = a, a.cur, d
	return s
}

// flow makes the network flow that keys one direction of one connection in
// tcpassembly: the connection's index and the direction, so that tcpassembly
// follows the flow table's idea of what a connection is (VLANs, port reuse).
func flow(index uint64, d int) gopacket.Flow {
	var s, t [9]byte
	binary.BigEndian.PutUint64(s[:8], index)
	binary.BigEndian.PutUint64(t[:8], index)
	s[8], t[8] = byte(d), byte(1-d)
	return gopacket.NewFlow(layers.EndpointIPv6, s[:], t[:])
}

func (a *Assembler) connOf(c *flowtable.Conn) *conn {
	if cn, ok := c.Handler.(*conn); ok {
		return cn
	}
	cn := &conn{c: c}
	cn.h = a.factory.NewHandler(c)
	c.Handler = cn
	return cn
}

// Packet hands one TCP segment of connection c, direction d, to reassembly.
// t is modified during the call and restored before it returns.
func (a *Assembler) Packet(c *flowtable.Conn, d int, t *layers.TCP, ts time.Time) {
	if ts.After(a.now) {
		a.now = ts
	}
	n := len(t.Payload)
	if n == 0 {
		// SYN, FIN, RST and bare ACKs are the flow table's business; only
		// bytes are assembled. A connection that never carries a byte
		// never costs a tcpassembly stream or a handler until it ends.
		a.maybeTick()
		return
	}
	cn := a.connOf(c)
	ds := &cn.dirs[d]
	if ds.ended {
		a.Stats.AfterEnd++
		return
	}
	seq, syn, fin, rst := t.Seq, t.SYN, t.FIN, t.RST
	if !ds.started {
		if fd := &c.Dirs[d]; fd.SawSYN {
			ds.seq0 = fd.ISN + 1
			if !syn {
				// tcpassembly learns where the stream starts from a
				// SYN; the real one carried nothing and was not passed.
				a.synthetic(cn, d, ds.seq0-1, 0x02, ts)
			}
		} else {
			// Joined mid-stream: start at this segment.
			ds.midstream = true
			a.Stats.Midstream++
			ds.seq0 = seq
			t.SYN, t.Seq = true, seq-1
		}
		ds.started = true
		ds.hiSeen = ds.seq0
		a.Stats.Streams++
	}
	if end := seq + uint32(n); int32(end-ds.hiSeen) > 0 {
		ds.hiSeen = end
	}
	// FIN and RST do not end the stream here: whether the receiver took
	// them is not known (teardown evasion sends a RST or FIN the receiver
	// drops, then goes on), and bytes that follow in sequence are evidence.
	// Directions end when the flow table finishes the connection.
	t.FIN, t.RST = false, false
	a.cur = cn
	a.asm.AssembleWithTimestamp(flow(c.Index, d), t, ts)
	a.cur = nil
	t.SYN, t.Seq, t.FIN, t.RST = syn, seq, fin, rst
	a.track(cn, d)
	a.maybeTick()
}

// synthetic hands tcpassembly a header-only segment of direction d with
// the given sequence number and flags (0x02 SYN, 0x11 FIN+ACK). It is a
// real header, decoded: tcpassembly keys on the layer's raw port bytes,
// which only DecodeFromBytes sets.
func (a *Assembler) synthetic(cn *conn, d int, seq uint32, flags byte, ts time.Time) {
	sp, dp := cn.c.Orig.Port(), cn.c.Resp.Port()
	if d == 1 {
		sp, dp = dp, sp
	}
	h := a.synthHdr[:]
	clear(h)
	binary.BigEndian.PutUint16(h[0:], sp)
	binary.BigEndian.PutUint16(h[2:], dp)
	binary.BigEndian.PutUint32(h[4:], seq)
	h[12] = 5 << 4
	h[13] = flags
	t := &a.synth
	if err := t.DecodeFromBytes(h, gopacket.NilDecodeFeedback); err != nil {
		panic("assembler: synthetic segment does not decode: " + err.Error())
	}
	a.cur = cn
	a.asm.AssembleWithTimestamp(flow(cn.c.Index, d), t, ts)
	a.cur = nil
}

// track keeps count of the directions holding data behind a hole.
func (a *Assembler) track(cn *conn, d int) {
	ds := &cn.dirs[d]
	p := !ds.ended && int32(ds.hiSeen-(ds.seq0+uint32(ds.off))) > 0
	if p != ds.pending {
		ds.pending = p
		if p {
			a.pending++
		} else {
			a.pending--
		}
	}
}

func (a *Assembler) maybeTick() {
	if a.now.Sub(a.ticked) >= time.Second {
		a.Tick(a.now)
	}
}

// Holding says whether connection c has data waiting behind a hole.
func (a *Assembler) Holding(c *flowtable.Conn) bool {
	cn, ok := c.Handler.(*conn)
	return ok && (cn.dirs[0].pending || cn.dirs[1].pending)
}

// SetNow moves the assembler's clock (capture time) forward to now, without
// flushing anything (see flowtable.Table.SetNow).
func (a *Assembler) SetNow(now time.Time) {
	if now.After(a.now) {
		a.now = now
	}
}

// Tick pushes on data that has waited behind a hole for longer than the
// reorder window, as of capture time now.
func (a *Assembler) Tick(now time.Time) {
	if now.After(a.now) {
		a.now = now
	}
	a.ticked = now
	if a.pending == 0 {
		return
	}
	a.flush(tcpassembly.FlushOptions{T: now.Add(-a.opts.ReorderWindow)})
}

// FlushAll pushes on all data held behind holes (end of input). Directions
// are not ended: Finish does that, in the flow table's order.
func (a *Assembler) FlushAll() {
	if a.pending > 0 {
		a.flush(tcpassembly.FlushOptions{T: a.now.Add(time.Hour)})
	}
}

// Finish ends both directions of c and closes its handler. Call it when
// the flow table finishes the connection.
func (a *Assembler) Finish(c *flowtable.Conn) {
	cn, ok := c.Handler.(*conn)
	if !ok {
		// No segment ever reached the assembler (SYN-only, pure ACKs):
		// the handler still gets its lifecycle.
		cn = a.connOf(c)
	}
	if cn.closed {
		return
	}
	for d := 0; d < 2; d++ {
		a.endDir(cn, d, c.EndReason)
	}
	cn.closed = true
	cn.h.Close(c)
}

// endDir ends direction d: a FIN at the next expected sequence number makes
// tcpassembly deliver End and drop the stream. Data still held behind a
// hole at that point is reported missing (tcpassembly cannot hand it over
// without the hole), never silently dropped.
func (a *Assembler) endDir(cn *conn, d int, reason string) {
	ds := &cn.dirs[d]
	if ds.ended {
		return
	}
	if !ds.started {
		ds.ended = true
		switch {
		case cn.c.Dirs[d].SawRST:
			reason = "rst"
		case cn.c.Dirs[d].SawFIN:
			reason = "fin"
		}
		ds.endReason = reason
		cn.h.End(d, reason, a.now)
		return
	}
	next := ds.seq0 + uint32(ds.off)
	if held := int64(int32(ds.hiSeen - next)); held > 0 {
		a.gap(cn, d, held, a.now)
	}
	ds.endReason = reason
	// The FIN goes where tcpassembly expects the next byte, before any data
	// it holds behind a hole: that data was just reported missing, and
	// tcpassembly drops it with the stream instead of delivering it later.
	a.synthetic(cn, d, next, 0x11, a.now)
	if !ds.ended {
		// tcpassembly had no stream (it already completed it): end here.
		ds.ended = true
		cn.h.End(d, reason, a.now)
	}
	a.track(cn, d)
}

func (a *Assembler) gap(cn *conn, d int, n int64, ts time.Time) {
	ds := &cn.dirs[d]
	if a.flushing {
		a.held = append(a.held, heldEvent{cn: cn, d: d, gap: n, off: ds.off, ts: ts})
	} else {
		cn.c.AddGap(d, uint64(n))
		cn.h.Gap(d, ds.off, n, ts)
	}
	ds.off += n
	a.Stats.Gaps++
	a.Stats.GapBytes += uint64(n)
}

// heldEvent is a Gap (gap > 0), an End (gap < 0) or a Data
// (heldData[from:to]) held during a flush.
type heldEvent struct {
	cn       *conn
	d        int
	gap      int64
	end      string
	from, to int
	off      int64
	ts       time.Time
}

// flush runs tcpassembly's flush and then delivers what it handed over in
// the order of connections (first packet) and directions; each stream's
// own events keep their order.
func (a *Assembler) flush(opt tcpassembly.FlushOptions) {
	a.flushing = true
	a.asm.FlushWithOptions(opt)
	a.flushing = false
	if len(a.held) == 0 {
		return
	}
	slices.SortStableFunc(a.held, func(x, y heldEvent) int {
		if c := cmp.Compare(x.cn.c.Index, y.cn.c.Index); c != 0 {
			return c
		}
		return x.d - y.d
	})
	for i := range a.held {
		e := &a.held[i]
		switch {
		case e.gap > 0:
			e.cn.c.AddGap(e.d, uint64(e.gap))
			e.cn.h.Gap(e.d, e.off, e.gap, e.ts)
		case e.gap < 0:
			e.cn.h.End(e.d, e.end, e.ts)
		default:
			e.cn.h.Data(e.d, a.heldData[e.from:e.to], e.off, e.ts)
		}
		e.cn = nil
	}
	a.held = a.held[:0]
	if cap(a.heldData) > 4<<20 {
		a.heldData = nil // a large flush: do not keep its memory
	}
	a.heldData = a.heldData[:0]
}

// Reassembled implements tcpassembly.Stream.
func (s *stream) Reassembled(rs []tcpassembly.Reassembly) {
	cn, d := s.cn, s.dir
	ds := &cn.dirs[d]
	if ds.ended {
		// never hand bytes to a handler after its End
		s.a.Stats.AfterEnd++
		return
	}
	for i := range rs {
		r := &rs[i]
		if r.Skip > 0 {
			s.a.gap(cn, d, int64(r.Skip), r.Seen)
		} else if r.Skip < 0 {
			s.a.Stats.UnknownGaps++
		}
		if len(r.Bytes) > 0 {
			if s.a.flushing {
				from := len(s.a.heldData)
				s.a.heldData = append(s.a.heldData, r.Bytes...)
				s.a.held = append(s.a.held, heldEvent{cn: cn, d: d, from: from, to: len(s.a.heldData), off: ds.off, ts: r.Seen})
			} else {
				cn.h.Data(d, r.Bytes, ds.off, r.Seen)
			}
			ds.off += int64(len(r.Bytes))
		}
	}
}

// ReassemblyComplete implements tcpassembly.Stream.
func (s *stream) ReassemblyComplete() {
	cn, d := s.cn, s.dir
	ds := &cn.dirs[d]
	if ds.ended {
		return
	}
	ds.ended = true
	reason := ds.endReason
	switch {
	case cn.c.Dirs[d].SawRST:
		reason = "rst"
	case cn.c.Dirs[d].SawFIN:
		reason = "fin"
	}
	if s.a.flushing {
		s.a.held = append(s.a.held, heldEvent{cn: cn, d: d, gap: -1, end: reason, ts: s.a.now})
	} else {
		cn.h.End(d, reason, s.a.now)
	}
	s.a.track(cn, d)
}
