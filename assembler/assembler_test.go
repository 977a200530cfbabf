package assembler_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/streamx/streamx/assembler"
	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/flowtable"
	"github.com/streamx/streamx/internal/testcap"
)

type rec struct {
	data   [2]bytes.Buffer
	events []string
	closed bool
}

func (r *rec) Data(dir int, data []byte, off int64, ts time.Time) {
	if int64(r.data[dir].Len()) != off {
		r.events = append(r.events, fmt.Sprintf("BAD OFFSET %d want %d", off, r.data[dir].Len()))
	}
	r.data[dir].Write(data)
}
func (r *rec) Gap(dir int, off, n int64, ts time.Time) {
	r.events = append(r.events, fmt.Sprintf("gap %d %d+%d", dir, off, n))
	r.data[dir].Write(make([]byte, n))
}
func (r *rec) End(dir int, reason string, ts time.Time) {
	r.events = append(r.events, fmt.Sprintf("end %d %s", dir, reason))
}
func (r *rec) Close(c *flowtable.Conn) { r.closed = true }

type pipeline struct {
	ft   *flowtable.Table
	asm  *assembler.Assembler
	recs []*rec
	dec  *decode.Decoder
}

func (p *pipeline) NewHandler(c *flowtable.Conn) assembler.Handler {
	r := &rec{}
	p.recs = append(p.recs, r)
	return r
}
func (p *pipeline) Opened(c *flowtable.Conn)                                             {}
func (p *pipeline) Transition(c *flowtable.Conn, from, to flowtable.State, ts time.Time) {}
func (p *pipeline) Closed(c *flowtable.Conn)                                             { p.asm.Finish(c) }

func run(t testing.TB, name string, opts assembler.Options) *pipeline {
	p := &pipeline{dec: decode.NewDecoder()}
	p.ft = flowtable.New(flowtable.Options{}, p)
	p.asm = assembler.New(opts, p)
	var pkt decode.Packet
	for _, f := range testcap.Load(t, testcap.Synthetic(name)) {
		if p.dec.Decode(f.Data, f.Link, f.Pkt.CI.Timestamp, &pkt) != decode.OK || pkt.Proto != decode.ProtoTCP {
			continue
		}
		pkt.TS = f.Pkt.CI.Timestamp
		c, d := p.ft.Packet(&pkt)
		p.asm.Packet(c, d, p.dec.TCP(), pkt.TS)
	}
	p.asm.FlushAll()
	p.ft.Finish("end-of-input")
	return p
}

func TestGapReportedWithTrueOffsets(t *testing.T) {
	p := run(t, "gap", assembler.Options{})
	if len(p.recs) != 1 {
		t.Fatalf("%d handlers", len(p.recs))
	}
	r := p.recs[0]
	want := []string{"gap 0 1000+1000", "end 0 fin", "end 1 fin"}
	if fmt.Sprint(r.events) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", r.events, want)
	}
	if r.data[0].Len() != 3000 || !r.closed {
		t.Errorf("client stream %d bytes (want 3000 with the hole), closed %v", r.data[0].Len(), r.closed)
	}
}

func TestEveryCaseEndsAndCloses(t *testing.T) {
	for _, name := range []string{"handshake-normal", "midstream", "rst-from-client-mid-transfer", "out-of-order", "seq-wraparound", "idle-timeout", "port-reuse", "syn-unanswered"} {
		t.Run(name, func(t *testing.T) {
			p := run(t, name, assembler.Options{})
			for i, r := range p.recs {
				ends := 0
				for _, e := range r.events {
					if len(e) > 3 && e[:3] == "end" {
						ends++
					}
					if len(e) > 3 && e[:3] == "BAD" {
						t.Errorf("handler %d: %s", i, e)
					}
				}
				if ends != 2 || !r.closed {
					t.Errorf("handler %d: %d ends, closed %v (%v)", i, ends, r.closed, r.events)
				}
			}
		})
	}
}

// A hole is given up after the reorder window (capture time), not kept
// until the end.
func TestReorderWindow(t *testing.T) {
	p := run(t, "gap", assembler.Options{ReorderWindow: time.Millisecond})
	r := p.recs[0]
	if len(r.events) == 0 || r.events[0] != "gap 0 1000+1000" {
		t.Errorf("events %v", r.events)
	}
}

func BenchmarkAssemble(b *testing.B) {
	frames := testcap.Load(b, testcap.Synthetic("many-conns"))
	var n int64
	for _, f := range frames {
		n += int64(len(f.Data))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p := &pipeline{dec: decode.NewDecoder()}
		p.ft = flowtable.New(flowtable.Options{}, p)
		p.asm = assembler.New(assembler.Options{}, p)
		var pkt decode.Packet
		for _, f := range frames {
			if p.dec.Decode(f.Data, f.Link, f.Pkt.CI.Timestamp, &pkt) != decode.OK {
				continue
			}
			pkt.TS = f.Pkt.CI.Timestamp
			c, d := p.ft.Packet(&pkt)
			p.asm.Packet(c, d, p.dec.TCP(), pkt.TS)
		}
		p.asm.FlushAll()
		p.ft.Finish("end-of-input")
	}
}
