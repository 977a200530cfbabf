package live

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/streamx/streamx/capture"
	"github.com/streamx/streamx/engine"
)

// Defaults for Options' zero values.
const (
	DefaultSnaplen  = 262144   // libpcap's maximum: whole packets, even offloaded ones
	DefaultRingSize = 32 << 20 // bytes of kernel ring
	DefaultPoll     = 200 * time.Millisecond
)

// Options say what to capture and when to stop.
type Options struct {
	// Promisc puts the interface in promiscuous mode for the capture (the
	// kernel undoes it when the socket closes).
	Promisc bool
	// Snaplen is how many bytes of each packet are kept (0: DefaultSnaplen).
	Snaplen int
	// RingSize is the size of the kernel's packet ring (0: DefaultRingSize);
	// a larger ring rides out longer bursts without drops.
	RingSize int64
	// Duration ends the capture this long after Open (0: no limit).
	Duration time.Duration
	// Count ends the capture after this many packets (0: no limit).
	Count uint64
	// Poll is how long Next waits for a packet before it returns
	// engine.ErrIdle (0: DefaultPoll).
	Poll time.Duration
	// Write, if set, is the pcap file every captured packet is saved to
	// (see Writer), rotated at RotateSize bytes or RotateEvery.
	Write       string
	RotateSize  int64
	RotateEvery time.Duration
	// Method is "" (the ring, or the plain socket where the ring cannot
	// be set up), "ring" or "socket" (only that one).
	Method string
}

func (o Options) withDefaults() Options {
	if o.Snaplen <= 0 || o.Snaplen > DefaultSnaplen {
		o.Snaplen = DefaultSnaplen
	}
	if o.RingSize <= 0 {
		o.RingSize = DefaultRingSize
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	return o
}

// handle is one way of reading packets off an interface.
type handle interface {
	// read returns the next frame, valid until the next read; errTimeout
	// when none came within the poll interval.
	read() ([]byte, gopacket.CaptureInfo, error)
	// stats returns the kernel's counters since the socket was opened:
	// packets received (dropped ones included, as tcpdump counts them)
	// and dropped for lack of room.
	stats() (received, dropped uint64)
	// lag is how long a packet may wait in the kernel before read can
	// see it (the ring's block retire timeout).
	lag() time.Duration
	// wake makes a blocked read return errTimeout early, if it can.
	wake()
	close() error
}

var errTimeout = errors.New("poll timeout")

// PermissionError says the process may not open a packet socket.
type PermissionError struct{ Interface string }

func (e *PermissionError) Error() string {
	return fmt.Sprintf("capturing on %s needs root or the CAP_NET_RAW capability (e.g. sudo setcap cap_net_raw+ep $(which streamx))", e.Interface)
}

// NoInterfaceError says the interface does not exist, and which do.
type NoInterfaceError struct {
	Name string
	Have []string
}

func (e *NoInterfaceError) Error() string {
	if len(e.Have) == 0 {
		return fmt.Sprintf("no such interface %s (no interfaces found)", e.Name)
	}
	return fmt.Sprintf("no such interface %s (interfaces: %s)", e.Name, strings.Join(e.Have, ", "))
}

// Source is a live capture on one interface: an engine.Source and
// engine.Dropper. Next, Drops and Close are called from one goroutine;
// Interrupt from any.
type Source struct {
	iface    string
	ifindex  int
	link     layers.LinkType
	method   string
	opts     Options
	h        handle
	w        *Writer
	deadline time.Time

	interrupted atomic.Bool
	ended       bool
	closed      bool
	n           uint64
	bytes       int64
	dirty       bool // packets written to w since the last flush
}

var (
	_ engine.Source  = (*Source)(nil)
	_ engine.Dropper = (*Source)(nil)
)

// newSource wraps an open handle; the capture's clock starts now.
func newSource(iface string, ifindex int, link layers.LinkType, method string, h handle, o Options) (*Source, error) {
	s := &Source{iface: iface, ifindex: ifindex, link: link, method: method, h: h, opts: o}
	if o.Write != "" {
		w, err := CreateWriter(o.Write, WriterOptions{LinkType: link, Snaplen: uint32(o.Snaplen),
			RotateSize: o.RotateSize, RotateEvery: o.RotateEvery})
		if err != nil {
			h.close()
			return nil, err
		}
		s.w = w
	}
	if o.Duration > 0 {
		s.deadline = time.Now().Add(o.Duration)
	}
	return s, nil
}

// Name is the interface's name.
func (s *Source) Name() string { return s.iface }

// LinkType is the link type of the frames Next returns.
func (s *Source) LinkType() layers.LinkType { return s.link }

// Format names the input for the run summary, e.g. "live (AF_PACKET
// TPACKET_V3 ring)".
func (s *Source) Format() string { return "live (" + s.method + ")" }

// Describe is the line to print when the capture starts, like tcpdump's.
func (s *Source) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "listening on %s, link-type %s, snapshot length %d bytes, %s", s.iface, s.link, s.opts.Snaplen, s.method)
	if s.opts.Promisc {
		b.WriteString(", promiscuous")
	}
	if s.opts.Duration > 0 {
		fmt.Fprintf(&b, ", for %s", s.opts.Duration)
	}
	if s.opts.Count > 0 {
		fmt.Fprintf(&b, ", %d packets", s.opts.Count)
	}
	if s.w != nil {
		fmt.Fprintf(&b, ", saving to %s", s.opts.Write)
	}
	b.WriteString(" (Ctrl-C stops)")
	return b.String()
}

// Next returns the next packet, engine.ErrIdle when none came within
// Options.Poll (the Packet's timestamp then says what time it surely is),
// io.EOF at the end of the capture, or an error: a *WriteError when the
// -w file cannot be written, the socket's failure otherwise. The frame is
// valid until the next call.
func (s *Source) Next() ([]byte, capture.Packet, error) {
	for {
		if s.ended || s.interrupted.Load() || (s.opts.Count > 0 && s.n >= s.opts.Count) {
			return s.end()
		}
		data, ci, err := s.h.read()
		if err == errTimeout {
			now := time.Now()
			if s.interrupted.Load() || (!s.deadline.IsZero() && !now.Before(s.deadline)) {
				return s.end()
			}
			if s.dirty {
				// quiet now: make the file on disk current
				s.dirty = false
				if err := s.w.Flush(); err != nil {
					return nil, capture.Packet{Offset: -1}, err
				}
			}
			return nil, capture.Packet{CI: gopacket.CaptureInfo{Timestamp: now.Add(-s.h.lag())}, LinkType: s.link, Offset: -1}, engine.ErrIdle
		}
		if err != nil {
			if s.interrupted.Load() {
				return s.end()
			}
			return nil, capture.Packet{Offset: -1}, fmt.Errorf("capturing on %s: %w", s.iface, err)
		}
		if ci.InterfaceIndex != 0 && s.ifindex != 0 && ci.InterfaceIndex != s.ifindex {
			continue // queued before the socket was bound to the interface
		}
		if !s.deadline.IsZero() && !ci.Timestamp.Before(s.deadline) {
			return s.end()
		}
		if len(data) > s.opts.Snaplen {
			data = data[:s.opts.Snaplen]
		}
		ci.CaptureLength = len(data)
		if ci.Length < ci.CaptureLength {
			ci.Length = ci.CaptureLength
		}
		s.n++
		s.bytes += int64(len(data))
		if s.w != nil {
			if err := s.w.WritePacket(ci, data); err != nil {
				return nil, capture.Packet{Offset: -1}, err
			}
			s.dirty = true
		}
		return data, capture.Packet{CI: ci, LinkType: s.link, Num: s.n, Offset: -1}, nil
	}
}

// end finishes the capture: the -w file is closed now, so that its
// failure (a full disk) is reported by Next rather than lost.
func (s *Source) end() ([]byte, capture.Packet, error) {
	s.ended = true
	if s.w != nil {
		if err := s.w.Close(); err != nil {
			return nil, capture.Packet{Offset: -1}, err
		}
	}
	return nil, capture.Packet{Offset: -1}, io.EOF
}

// Interrupt ends the capture: a Next blocked waiting for packets returns
// io.EOF within Options.Poll.
func (s *Source) Interrupt() {
	s.interrupted.Store(true)
	s.h.wake()
}

// Pos is the number of captured bytes read so far.
func (s *Source) Pos() int64 { return s.bytes }

// Packets is how many packets Next has returned.
func (s *Source) Packets() uint64 { return s.n }

// Drops says how many packets the kernel received on the socket (dropped
// ones included) and dropped because the ring or buffer was full.
func (s *Source) Drops() (received, dropped uint64) { return s.h.stats() }

// Files lists the -w files written so far.
func (s *Source) Files() []string {
	if s.w == nil {
		return nil
	}
	return s.w.Files()
}

// Close closes the socket and the -w file.
func (s *Source) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.h.close()
	if s.w != nil {
		if werr := s.w.Close(); err == nil {
			err = werr
		}
	}
	return err
}
