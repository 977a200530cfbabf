package engine

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/streamx/streamx/decode"
)

// dispatcher hands TCP packets and the passing of time to the worker(s).
type dispatcher interface {
	packet(p *decode.Packet, t *layers.TCP, now, tick time.Time)
	// tick: capture time passed without a packet (live capture);
	// num is the last packet's number.
	tick(num uint64, now time.Time)
	// failed says whether a consumer asked to stop.
	failed() bool
	// end finishes every connection, waits for the workers and adds their
	// counts to sum; it returns the first consumer's error.
	end(why string, now time.Time, sum *Summary) error
}

// inline runs the single worker on the reading goroutine.
type inline struct{ r *run }

func (d *inline) packet(p *decode.Packet, t *layers.TCP, now, tick time.Time) {
	d.r.packet(p, t, now, tick)
}
func (d *inline) tick(num uint64, now time.Time) { d.r.tick(num, now) }
func (d *inline) failed() bool                   { return d.r.fail != nil }
func (d *inline) end(why string, now time.Time, sum *Summary) error {
	d.r.end(why, now)
	sum.Conns = d.r.ft.Next()
	sum.Evicted = d.r.ft.Evicted
	sum.Assembler = d.r.asm.Stats
	return d.r.fail
}

// Batches carry packets from the reader to a worker: the decoded fields
// and a copy of the TCP segment (header and payload), which the worker
// decodes again (cheap: one header) into its own layers.TCP.
const (
	batchPackets = 256
	batchBytes   = 128 << 10
	batchesAhead = 4 // per worker, in flight; bounds the memory: workers × (ahead+2) × batchBytes
)

type entryKind uint8

const (
	kindPacket entryKind = iota // a TCP packet (with tick set: time passed first)
	kindTick                    // time passed (another worker's packet, or an idle live source)
)

type entry struct {
	kind   entryKind
	num    uint64
	now    time.Time
	tick   time.Time
	pkt    decode.Packet
	off    int32 // segment in the batch's arena
	hdrLen int32
	segLen int32
}

type batch struct {
	ents  []entry
	arena []byte
}

type worker struct {
	r    *run
	in   chan *batch
	free chan *batch
	cur  *batch
}

// workers spreads connections over goroutines by their address pair.
type workers struct {
	ws   []*worker
	stop atomic.Bool // a consumer failed
	why  string      // why the input ended (set before the channels close)
	now  time.Time   // the capture's last time (likewise)
	wg   sync.WaitGroup
}

func startWorkers(cfg *Config) *workers {
	n := cfg.Workers
	d := &workers{}
	for i := 0; i < n; i++ {
		w := &worker{in: make(chan *batch, batchesAhead), free: make(chan *batch, batchesAhead+2)}
		h := cfg.Shard(i, func() uint64 { return w.r.clock })
		w.r = newRun(cfg, h, n)
		for j := 0; j < batchesAhead+1; j++ {
			w.free <- &batch{ents: make([]entry, 0, batchPackets), arena: make([]byte, 0, batchBytes)}
		}
		w.cur = &batch{ents: make([]entry, 0, batchPackets), arena: make([]byte, 0, batchBytes)}
		d.ws = append(d.ws, w)
		d.wg.Add(1)
		go d.work(w)
	}
	return d
}

// work is a worker's goroutine: it processes batches until its channel
// closes. After a consumer's failure it only drains.
func (d *workers) work(w *worker) {
	defer d.wg.Done()
	r := w.r
	for b := range w.in {
		if r.fail == nil {
			for i := range b.ents {
				e := &b.ents[i]
				if e.kind == kindTick {
					r.tick(e.num, e.tick)
				} else {
					seg := b.arena[e.off : e.off+e.segLen]
					if err := r.tcp.DecodeFromBytes(seg, gopacket.NilDecodeFeedback); err != nil {
						// the reader decoded these very bytes, so this cannot
						// happen; if it did, time still passes for the worker
						r.undecodable++
						if !e.tick.IsZero() {
							r.tick(e.num, e.tick)
						}
						continue
					}
					e.pkt.Payload = seg[e.hdrLen:]
					r.packet(&e.pkt, &r.tcp, e.now, e.tick)
					e.pkt.Payload = nil
				}
				if r.fail != nil {
					d.stop.Store(true)
					break
				}
			}
		}
		b.ents, b.arena = b.ents[:0], b.arena[:0]
		w.free <- b
	}
	r.end(d.why, d.now)
}

// shardOf picks the worker of a packet from its two addresses, the same
// for both directions and for every connection between the two hosts.
func shardOf(p *decode.Packet, n int) int {
	h := addrHash(p.Src) + addrHash(p.Dst) // symmetric
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

func addrHash(a netip.Addr) uint64 {
	b := a.As16()
	x := binary.LittleEndian.Uint64(b[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(b[8:])
	x ^= x >> 31
	x *= 0x94d049bb133111eb
	return x ^ x>>29
}

func (d *workers) send(w *worker) {
	w.in <- w.cur
	w.cur = <-w.free
}

func (d *workers) packet(p *decode.Packet, t *layers.TCP, now, tick time.Time) {
	if !tick.IsZero() {
		// time passes for every worker; the packet's own worker sees it
		// with the packet, as a lone worker would
		me := d.ws[shardOf(p, len(d.ws))]
		for _, w := range d.ws {
			if w != me {
				d.add(w, entry{kind: kindTick, num: p.Num, tick: tick})
			}
		}
	}
	w := d.ws[shardOf(p, len(d.ws))]
	hdr, pay := t.Contents, t.Payload
	n := len(hdr) + len(pay)
	b := w.cur
	if len(b.ents) == cap(b.ents) || len(b.arena)+n > cap(b.arena) {
		if len(b.ents) > 0 {
			d.send(w)
			b = w.cur
		}
		if n > cap(b.arena) {
			b.arena = make([]byte, 0, n) // an outsized segment (GRO, jumbo): this batch only
		}
	}
	off := len(b.arena)
	b.arena = append(b.arena, hdr...)
	b.arena = append(b.arena, pay...)
	b.ents = append(b.ents, entry{kind: kindPacket, num: p.Num, now: now, tick: tick, pkt: *p,
		off: int32(off), hdrLen: int32(len(hdr)), segLen: int32(n)})
	b.ents[len(b.ents)-1].pkt.Payload = nil
	if !tick.IsZero() {
		// once a second of capture time, every worker gets what waits for
		// it: a live capture on a quiet link shows its output promptly
		for _, w := range d.ws {
			if len(w.cur.ents) > 0 {
				d.send(w)
			}
		}
	}
}

func (d *workers) add(w *worker, e entry) {
	if len(w.cur.ents) == cap(w.cur.ents) {
		d.send(w)
	}
	w.cur.ents = append(w.cur.ents, e)
}

func (d *workers) tick(num uint64, now time.Time) {
	for _, w := range d.ws {
		d.add(w, entry{kind: kindTick, num: num, tick: now})
		d.send(w) // live: let the workers see time pass now
	}
}

func (d *workers) failed() bool { return d.stop.Load() }

func (d *workers) end(why string, now time.Time, sum *Summary) error {
	d.why, d.now = why, now
	for _, w := range d.ws {
		if len(w.cur.ents) > 0 {
			w.in <- w.cur
		}
		close(w.in)
	}
	d.wg.Wait()
	var fail error
	for _, w := range d.ws {
		sum.Conns += w.r.ft.Next()
		sum.Evicted += w.r.ft.Evicted
		sum.Assembler.Add(w.r.asm.Stats)
		sum.Decode[decode.BadTransport] += w.r.undecodable
		if fail == nil {
			fail = w.r.fail
		}
	}
	return fail
}
