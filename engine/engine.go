// Package engine runs the pipeline over a list of captures: read, decode,
// filter, track connections, reassemble, and hand each connection's ordered
// bytes to the consumer the caller plugs in. It owns the order of calls
// between the stages and the run's summary; it writes nothing itself.
//
// Call order: fill a Config, Run it. During Run, for each connection:
//  1. Config.NewHandler(session) when its first segment reaches the assembler
//     (or when it is finished, if none did);
//  2. the handler's Data / Gap / End calls, in reassembly order;
//  3. the handler's Close, then Config.Closed(session), when the flow table
//     finishes it (closed and quiet, reset, idle, port reuse, end of input).
//
// Connections are finished in a deterministic order for a given input and
// number of workers (Config.Workers, Config.Shard); what each connection's
// consumers see does not depend on the number of workers.
package engine

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/streamx/streamx/assembler"
	"github.com/streamx/streamx/capture"
	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/detect"
	"github.com/streamx/streamx/filter"
	"github.com/streamx/streamx/flowtable"
)

// Handler consumes one connection's bytes. Data's slice is only valid
// during the call.
type Handler interface {
	Data(s *Session, dir int, data []byte, off int64, ts time.Time)
	Gap(s *Session, dir int, off, n int64, ts time.Time)
	End(s *Session, dir int, reason string, ts time.Time)
	Close(s *Session)
}

// Source is where packets come from. capture.Reader (a file) is one; a
// live interface is another. Next returns io.EOF at the end, a
// *capture.Fault for damaged input, or ErrIdle when no packet came in a
// while (live capture): then the Packet's timestamp says what time it is,
// so that idle connections are expired as time passes.
type Source interface {
	Next() ([]byte, capture.Packet, error)
	Close() error
	// Interrupt makes a blocked Next return (from another goroutine).
	Interrupt()
	// Pos is how far the input has been read, for progress.
	Pos() int64
}

// ErrIdle is returned by a live Source's Next when no packet arrived
// within its poll interval.
var ErrIdle = errors.New("no packet (idle)")

// Dropper is implemented by sources that can lose packets (live capture).
type Dropper interface {
	// Drops says how many packets the kernel received and dropped.
	Drops() (received, dropped uint64)
}

// Config says what to run and who consumes the results.
type Config struct {
	// Inputs are capture files, read in order as one capture ("-" is
	// standard input). Ignored when Sources is set.
	Inputs []string
	// Sources, if set, are read instead of Inputs, in order; each has a
	// name for messages (e.g. "eth0").
	Sources []NamedSource
	Filter  *filter.Filter // nil: everything
	Flow    flowtable.Options
	Asm     assembler.Options
	// Strict stops at the first damaged input instead of carrying on.
	Strict bool
	// NewHandler makes the consumer of a connection; nil or a nil result
	// means the connection's bytes are only counted.
	NewHandler func(s *Session) Handler
	// Packet, if set, sees every decoded packet that passed the filter (all
	// protocols, not only TCP), before the flow table. p is reused: copy
	// what you keep. For statistics (hosts, conversations, protocols).
	Packet func(p *decode.Packet)
	// Opened is told each new connection at its first packet, before any
	// handler exists (handlers are made at the first byte of data).
	Opened func(c *flowtable.Conn)
	// Transition is told every change of a connection's state.
	Transition func(c *flowtable.Conn, from, to flowtable.State, ts time.Time)
	// Closed is told each finished connection, after its handler's Close.
	Closed func(s *Session)
	// Progress is called about every 64 Ki packets with bytes read so far
	// and the total size of the inputs (0 when unknown, e.g. stdin).
	Progress func(read, total int64)

	// Workers is how many workers share the connections (see Shard);
	// 0 or 1: one, on the calling goroutine.
	Workers int
	// Shard, if set, makes worker i's consumers; it is called once per
	// worker before the run, and the Hooks it returns replace NewHandler,
	// Opened, Transition and Closed above for that worker. With it,
	// connections are spread over Workers goroutines by their address
	// pair (both directions, and every connection between two hosts —
	// an FTP control connection and its data connections — meet on the
	// same worker), each with its own flow table and assembler; each
	// worker's hooks are called from that worker's goroutine only.
	// Packet and Progress stay on the reading goroutine. Without Shard,
	// Workers is ignored and everything runs on the calling goroutine.
	//
	// clock says which packet the worker is at: the run-wide number of the
	// packet being processed (time-driven work — idle expiry, the reorder
	// window — runs under the number of the packet whose timestamp
	// triggered it), math.MaxUint64 once the input has ended. It is the
	// same for a connection's events whatever the number of workers, so
	// consumers can name things deterministically by it.
	Shard func(i int, clock func() uint64) Hooks
}

// Hooks are the per-connection consumers of one worker (see Config).
type Hooks struct {
	NewHandler func(s *Session) Handler
	Opened     func(c *flowtable.Conn)
	Transition func(c *flowtable.Conn, from, to flowtable.State, ts time.Time)
	Closed     func(s *Session)
}

// NamedSource is a Source and what to call it.
type NamedSource struct {
	Name   string
	Format string
	Source Source
}

// Session is the engine's per-connection record, passed to handlers.
type Session struct {
	Conn *flowtable.Conn
	// Delivered is each direction's stream length: bytes handed over plus
	// bytes reported missing.
	Delivered [2]int64
	// Data is the bytes actually handed over (Delivered less gaps).
	Data [2]int64
	// EndReason per direction, once ended.
	EndReason [2]string
	// Service detected by content (also set on Conn.Service).
	Service string

	r       *run
	prefix  [2][detect.Prefix]byte
	nprefix [2]int
	h       Handler
}

// Handler is the consumer NewHandler made for this connection (nil if none).
func (s *Session) Handler() Handler { return s.h }

// Prefix returns the first bytes of direction dir (up to detect.Prefix).
func (s *Session) Prefix(dir int) []byte { return s.prefix[dir][:s.nprefix[dir]] }

// Summary says what a run read, decoded, skipped and saw.
type Summary struct {
	Files        []FileSummary
	Packets      uint64 // records read
	Bytes        uint64 // captured bytes read
	Decode       decode.Counts
	SlowPath     uint64
	BadLinkTypes map[string]uint64
	Filtered     uint64 // decoded but not matching the filter
	TCP, UDP     uint64
	ICMP, Other  uint64
	Conns        uint64
	Evicted      uint64
	Assembler    assembler.Stats
	First, Last  time.Time
	Faults       []error // damaged inputs (each a *capture.Fault or an open/format error)
	Interrupted  bool
	// Received and Dropped are what live sources' kernels reported.
	Received, Dropped uint64
}

// FileSummary describes one input.
type FileSummary struct {
	Name    string
	Format  string
	Gzip    bool
	Packets uint64
	Err     string `json:",omitempty"`
}

// Damaged reports whether some input could not be read to its end.
func (s *Summary) Damaged() bool { return len(s.Faults) > 0 }

// run is one worker: a flow table and an assembler over its share of the
// connections, and the hooks that consume them.
type run struct {
	hooks Hooks
	ft    *flowtable.Table
	asm   *assembler.Assembler
	fail  error // a consumer's error (output): stops the run
	clock uint64
	tcp   layers.TCP // the segment being handed over (workers re-decode it)
	// undecodable counts segments that did not decode again in a worker
	// (the reader decoded them: never seen)
	undecodable uint64
}

// newRun makes a worker; with several, each gets its share (1/workers) of
// the connection and out-of-order buffer bounds, so the totals hold.
func newRun(cfg *Config, h Hooks, workers int) *run {
	r := &run{hooks: h}
	fo := cfg.Flow
	if fo.MaxConns <= 0 {
		fo.MaxConns = 1 << 20
	}
	fo.MaxConns = max(1, fo.MaxConns/workers)
	fo.Holding = func(c *flowtable.Conn) bool { return r.asm.Holding(c) }
	r.ft = flowtable.New(fo, r)
	ao := cfg.Asm
	if ao.MaxPagesTotal > 0 {
		ao.MaxPagesTotal = max(1, ao.MaxPagesTotal/workers)
	} else if workers > 1 {
		ao.MaxPagesTotal = max(1, 32768/workers) // the assembler's default, shared out
	}
	r.asm = assembler.New(ao, r)
	return r
}

// packet processes one TCP packet; now is the capture's time (the latest
// TCP timestamp so far, this packet's included), tick the time to expire
// idle connections and held data at (zero: not now). The flow table
// sweeps before the packet and the assembler ticks after it, as each does
// by itself when it is driven alone.
func (r *run) packet(p *decode.Packet, t *layers.TCP, now, tick time.Time) {
	r.clock = p.Num
	r.ft.SetNow(now)
	r.asm.SetNow(now)
	if !tick.IsZero() {
		r.ft.Sweep(tick)
	}
	c, d := r.ft.Packet(p)
	r.asm.Packet(c, d, t, p.TS)
	if !tick.IsZero() {
		r.asm.Tick(tick)
	}
}

// tick is time passing without a packet of this worker.
func (r *run) tick(num uint64, now time.Time) {
	r.clock = num
	r.ft.SetNow(now)
	r.asm.SetNow(now)
	r.ft.Sweep(now)
	r.asm.Tick(now)
}

// end finishes every connection (unless a consumer failed) as of the
// capture's last time.
func (r *run) end(why string, now time.Time) {
	r.clock = math.MaxUint64
	r.ft.SetNow(now)
	r.asm.SetNow(now)
	if r.fail == nil {
		r.asm.FlushAll()
		r.ft.Finish(why)
	}
}

// ErrStopped is wrapped by Run's error when a consumer asked to stop.
var ErrStopped = errors.New("stopped")

// Run processes the inputs in order, as one continuous capture (connections
// carry over from one file to the next). It returns the summary and an
// error only for what stops the run: a consumer's failure, or the first
// damaged input under Strict. Damage otherwise is listed in Summary.Faults.
// Cancelling ctx ends the run early: open connections are finished with
// reason "interrupted" and handed over as usual.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	sum := &Summary{BadLinkTypes: map[string]uint64{}}
	var disp dispatcher
	if cfg.Shard == nil || cfg.Workers <= 1 {
		h := Hooks{NewHandler: cfg.NewHandler, Opened: cfg.Opened, Transition: cfg.Transition, Closed: cfg.Closed}
		var r *run
		if cfg.Shard != nil {
			h = cfg.Shard(0, func() uint64 { return r.clock })
		}
		r = newRun(&cfg, h, 1)
		disp = &inline{r: r}
	} else {
		disp = startWorkers(&cfg)
	}
	dec := decode.NewDecoder()
	var total int64
	for _, name := range cfg.Inputs {
		if name == "-" {
			total = 0
			break
		}
		if st, err := os.Stat(name); err == nil {
			total += st.Size()
		}
	}
	var pkt decode.Packet
	var doneBytes int64
	var runErr error
	why := "end-of-input"
	// Time as the flow tables and assemblers see it: the latest TCP
	// timestamp, and when they last expired things (every second of it).
	var now, ticked time.Time
	// A cancelled context must also stop a read that is blocked waiting
	// for input (a pipe, standard input): the watcher closes the input.
	var current atomic.Pointer[Source]
	var stopped atomic.Bool
	watchDone := make(chan struct{})
	defer close(watchDone)
	go func() {
		select {
		case <-ctx.Done():
			stopped.Store(true)
			if cr := current.Load(); cr != nil {
				(*cr).Interrupt()
			}
		case <-watchDone:
		}
	}()
	done := func(cr Source, fs FileSummary) {
		if d, ok := cr.(Dropper); ok {
			rcv, drop := d.Drops()
			sum.Received += rcv
			sum.Dropped += drop
		}
		cr.Close()
		sum.Files = append(sum.Files, fs)
	}
	inputs := len(cfg.Inputs)
	if cfg.Sources != nil {
		inputs = len(cfg.Sources)
	}
files:
	for fi := 0; fi < inputs; fi++ {
		var cr Source
		var fs FileSummary
		if cfg.Sources != nil {
			ns := cfg.Sources[fi]
			cr, fs = ns.Source, FileSummary{Name: ns.Name, Format: ns.Format}
		} else {
			fs.Name = cfg.Inputs[fi]
			f, err := capture.Open(fs.Name)
			if err != nil {
				fs.Err = err.Error()
				sum.Files = append(sum.Files, fs)
				sum.Faults = append(sum.Faults, err)
				if cfg.Strict {
					runErr = err
					break
				}
				continue
			}
			fs.Format, fs.Gzip = string(f.Format), f.Gzip
			cr = f
		}
		current.Store(&cr)
		if stopped.Load() {
			cr.Interrupt()
		}
		for {
			data, cp, err := cr.Next()
			if err == ErrIdle {
				// live and quiet: time still passes
				if ts := cp.CI.Timestamp; ts.After(now) {
					now = ts
				}
				ticked = now
				disp.tick(sum.Packets, now)
				if stopped.Load() {
					sum.Interrupted = true
					why = "interrupted"
					done(cr, fs)
					break files
				}
				continue
			}
			if err != nil {
				if stopped.Load() {
					sum.Interrupted = true
					why = "interrupted"
					done(cr, fs)
					break files
				}
				if err != io.EOF {
					fs.Err = err.Error()
					sum.Faults = append(sum.Faults, err)
					if cfg.Strict {
						runErr = err
					}
				}
				break
			}
			fs.Packets++
			sum.Packets++
			sum.Bytes += uint64(len(data))
			if sum.Packets&0xfff == 0 {
				if stopped.Load() {
					sum.Interrupted = true
					why = "interrupted"
					done(cr, fs)
					break files
				}
				if cfg.Progress != nil && sum.Packets&0xffff == 0 {
					cfg.Progress(doneBytes+cr.Pos(), total)
				}
			}
			pkt.Num = sum.Packets
			pkt.File = fi
			pkt.Offset = cp.Offset
			pkt.TS = cp.CI.Timestamp
			pkt.CapLen = cp.CI.CaptureLength
			pkt.Len = cp.CI.Length
			if sum.First.IsZero() || pkt.TS.Before(sum.First) {
				sum.First = pkt.TS
			}
			if pkt.TS.After(sum.Last) {
				sum.Last = pkt.TS
			}
			if dec.Decode(data, cp.LinkType, pkt.TS, &pkt) != decode.OK {
				continue
			}
			if cfg.Filter != nil && !cfg.Filter.Match(&pkt) {
				sum.Filtered++
				continue
			}
			if cfg.Packet != nil {
				cfg.Packet(&pkt)
			}
			switch pkt.Proto {
			case decode.ProtoTCP:
				sum.TCP++
				if pkt.TS.After(now) {
					now = pkt.TS
				}
				var tick time.Time
				if now.Sub(ticked) >= time.Second {
					tick, ticked = now, now
				}
				disp.packet(&pkt, dec.TCP(), now, tick)
			case decode.ProtoUDP:
				sum.UDP++
			case decode.ProtoICMP:
				sum.ICMP++
			default:
				sum.Other++
			}
			if disp.failed() {
				break
			}
		}
		doneBytes += cr.Pos()
		done(cr, fs)
		if runErr != nil || disp.failed() {
			break
		}
	}
	sum.Decode = dec.Counts
	fail := disp.end(why, now, sum)
	sum.SlowPath = dec.SlowPath
	for lt, n := range dec.LinkTypesBad {
		sum.BadLinkTypes[capture.LinkTypeName(lt)] += n
	}
	if cfg.Progress != nil {
		cfg.Progress(doneBytes, total)
	}
	if fail != nil {
		return sum, fail
	}
	return sum, runErr
}

// Opened implements flowtable.Events.
func (r *run) Opened(c *flowtable.Conn) {
	if r.hooks.Opened != nil {
		r.hooks.Opened(c)
	}
}

// Transition implements flowtable.Events.
func (r *run) Transition(c *flowtable.Conn, from, to flowtable.State, ts time.Time) {
	if r.hooks.Transition != nil {
		r.hooks.Transition(c, from, to, ts)
	}
}

// Closed implements flowtable.Events.
func (r *run) Closed(c *flowtable.Conn) {
	r.asm.Finish(c)
}

// NewHandler implements assembler.Factory.
func (r *run) NewHandler(c *flowtable.Conn) assembler.Handler {
	s := &Session{Conn: c, r: r}
	if r.hooks.NewHandler != nil {
		s.h = r.hooks.NewHandler(s)
	}
	return &sessionHandler{r: r, s: s}
}

// sessionHandler adapts a Session to assembler.Handler.
type sessionHandler struct {
	r *run
	s *Session
}

func (h *sessionHandler) Data(dir int, data []byte, off int64, ts time.Time) {
	s := h.s
	s.Delivered[dir] = off + int64(len(data))
	s.Data[dir] += int64(len(data))
	if s.nprefix[dir] < detect.Prefix && off == int64(s.nprefix[dir]) {
		s.nprefix[dir] += copy(s.prefix[dir][s.nprefix[dir]:], data)
		if s.Service == "" {
			s.detect()
		}
	}
	if s.h != nil {
		s.h.Data(s, dir, data, off, ts)
	}
}

func (s *Session) detect() {
	if svc := detect.Detect(s.Prefix(0), s.Prefix(1)); svc != "" {
		s.Service = svc
		s.Conn.Service = svc
	}
}

func (h *sessionHandler) Gap(dir int, off, n int64, ts time.Time) {
	s := h.s
	s.Delivered[dir] = off + n
	if s.h != nil {
		s.h.Gap(s, dir, off, n, ts)
	}
}

func (h *sessionHandler) End(dir int, reason string, ts time.Time) {
	s := h.s
	s.EndReason[dir] = reason
	if s.h != nil {
		s.h.End(s, dir, reason, ts)
	}
}

func (h *sessionHandler) Close(c *flowtable.Conn) {
	s := h.s
	if s.h != nil {
		s.h.Close(s)
	}
	if h.r.hooks.Closed != nil {
		h.r.hooks.Closed(s)
	}
}

// Fail stops the run after the current packet: consumers call it when they
// cannot go on (an output error such as a full disk). The first error wins;
// Run returns it.
func (s *Session) Fail(err error) {
	if err != nil && s.r.fail == nil {
		s.r.fail = err
	}
}
