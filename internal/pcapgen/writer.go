package pcapgen

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// LinkType selects the link layer written in front of every IP packet. The
// zero value is Ethernet.
type LinkType uint8

// Link types the Writer can produce.
const (
	LinkEthernet LinkType = iota // LINKTYPE_ETHERNET (1); Options.VLANs add 802.1Q / QinQ tags
	LinkRaw                      // LINKTYPE_RAW (101): the packet starts with the IPv4 or IPv6 header
	LinkSLL                      // LINKTYPE_LINUX_SLL (113): 16-byte Linux cooked header
	LinkNull                     // LINKTYPE_NULL (0): 4-byte host-order (little-endian) address family, 2 = IPv4, 24 = IPv6
)

// PcapLinkType is the link type number written in the pcap file header.
func (l LinkType) PcapLinkType() layers.LinkType {
	switch l {
	case LinkRaw:
		return layers.LinkTypeRaw
	case LinkSLL:
		return layers.LinkTypeLinuxSLL
	case LinkNull:
		return layers.LinkTypeNull
	}
	return layers.LinkTypeEthernet
}

func (l LinkType) String() string {
	switch l {
	case LinkEthernet:
		return "ethernet"
	case LinkRaw:
		return "raw"
	case LinkSLL:
		return "linux-sll"
	case LinkNull:
		return "null"
	}
	return fmt.Sprintf("LinkType(%d)", uint8(l))
}

// Defaults used when the corresponding Options field is zero.
var (
	DefaultStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	DefaultStep    = time.Millisecond
	DefaultSnaplen = 262144
)

// Options configure a Writer.
type Options struct {
	// LinkType of the capture; the zero value is Ethernet.
	LinkType LinkType
	// Nanosecond writes a nanosecond-resolution pcap (magic 0xa1b23c4d);
	// otherwise timestamps are truncated to microseconds.
	Nanosecond bool
	// Start is the timestamp of the first packet (default DefaultStart,
	// 2024-01-01T00:00:00Z).
	Start time.Time
	// Step is how far the clock advances after each packet (default 1ms).
	Step time.Duration
	// VLANs are 802.1Q tags put on every Ethernet packet, outer first. One
	// tag uses TPID 0x8100; with two or more the outer tag uses 0x88a8
	// (QinQ) and the inner ones 0x8100. Only valid with LinkEthernet.
	VLANs []uint16
	// Snaplen written in the file header (default 262144). Packets are
	// never truncated.
	Snaplen uint32
}

// Writer writes a deterministic pcap file. It keeps a clock that stamps
// each packet and then advances by Options.Step.
//
// Errors are sticky: after the first write error, further packets are
// dropped and Err/Flush report the error. Conn methods therefore return
// nothing; check Err or Flush at the end. Writer buffers its output: call
// Flush when done.
type Writer struct {
	opts Options
	bw   *bufio.Writer
	pw   *pcapgo.Writer
	now  time.Time
	err  error

	packets int64
	bytes   int64

	buf    gopacket.SerializeBuffer
	tcpBuf gopacket.SerializeBuffer
	sopts  gopacket.SerializeOptions
	stack  []gopacket.SerializableLayer

	eth     layers.Ethernet
	dot1q   []layers.Dot1Q
	sll     sllLayer
	loop    layers.Loopback
	ip4     layers.IPv4
	ip6     layers.IPv6
	frag6   layers.IPv6Fragment
	tcp     layers.TCP
	payload payloadLayer

	ipID   uint16
	fragID uint32

	conns []*Conn
	log   []packetNote // filled only when logging is on (case generation)
	logOn bool
}

// NewWriter writes the pcap file header to out and returns a Writer.
func NewWriter(out io.Writer, opts Options) (*Writer, error) {
	if opts.Start.IsZero() {
		opts.Start = DefaultStart
	}
	if opts.Step == 0 {
		opts.Step = DefaultStep
	}
	if opts.Step < 0 {
		return nil, errors.New("pcapgen: negative Step")
	}
	if opts.Snaplen == 0 {
		opts.Snaplen = DefaultSnaplen
	}
	if opts.LinkType > LinkNull {
		return nil, fmt.Errorf("pcapgen: unknown link type %d", opts.LinkType)
	}
	if len(opts.VLANs) > 0 && opts.LinkType != LinkEthernet {
		return nil, errors.New("pcapgen: VLAN tags need LinkEthernet")
	}
	for _, v := range opts.VLANs {
		if v > 4095 {
			return nil, fmt.Errorf("pcapgen: VLAN id %d > 4095", v)
		}
	}
	opts.VLANs = append([]uint16(nil), opts.VLANs...)
	w := &Writer{
		opts:   opts,
		bw:     bufio.NewWriterSize(out, 1<<20),
		now:    opts.Start,
		buf:    gopacket.NewSerializeBufferExpectedSize(1<<17, 64),
		tcpBuf: gopacket.NewSerializeBufferExpectedSize(1<<17, 64),
		sopts:  gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		dot1q:  make([]layers.Dot1Q, len(opts.VLANs)),
		ipID:   0x1000,
		fragID: 0x10000,
	}
	if opts.Nanosecond {
		w.pw = pcapgo.NewWriterNanos(w.bw)
	} else {
		w.pw = pcapgo.NewWriter(w.bw)
	}
	if err := w.pw.WriteFileHeader(opts.Snaplen, opts.LinkType.PcapLinkType()); err != nil {
		return nil, err
	}
	w.bytes = 24
	return w, nil
}

// Options returns the options in effect (defaults filled in).
func (w *Writer) Options() Options { return w.opts }

// Now is the timestamp the next packet will get.
func (w *Writer) Now() time.Time { return w.now }

// Tick advances the clock by one Step without writing a packet.
func (w *Writer) Tick() { w.now = w.now.Add(w.opts.Step) }

// Advance moves the clock forward by d (for idle periods, timeouts,
// retransmission delays).
func (w *Writer) Advance(d time.Duration) { w.now = w.now.Add(d) }

// Packets is the number of packets written so far.
func (w *Writer) Packets() int64 { return w.packets }

// Bytes is the size of the pcap file written so far, file header included
// (whether or not it has been flushed yet).
func (w *Writer) Bytes() int64 { return w.bytes }

// Err returns the first error met, if any.
func (w *Writer) Err() error { return w.err }

// Flush writes buffered data to the underlying writer and returns the first
// error met while generating or writing.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
	}
	return w.err
}

// Conns lists the connections created with NewConn, in creation order.
func (w *Writer) Conns() []*Conn { return w.conns }

// WriteFrame writes one packet whose bytes (starting with the link-layer
// header of the capture's link type) are given, stamped with the current
// clock; then the clock ticks.
func (w *Writer) WriteFrame(data []byte) error {
	w.writeFrame(data)
	return w.err
}

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *Writer) writeFrame(data []byte) {
	if w.err != nil {
		return
	}
	ci := gopacket.CaptureInfo{Timestamp: w.now, CaptureLength: len(data), Length: len(data)}
	if err := w.pw.WritePacket(ci, data); err != nil {
		w.fail(err)
		return
	}
	w.packets++
	w.bytes += 16 + int64(len(data))
	w.now = w.now.Add(w.opts.Step)
}

// serialize prepends the link layer to the network layers l3 and writes
// the packet. src/dst are the MACs (Ethernet) and outgoing chooses the
// Linux SLL packet type (4, outgoing, vs 0, to us).
func (w *Writer) serialize(v6 bool, src, dst net.HardwareAddr, outgoing bool, l3 ...gopacket.SerializableLayer) {
	if w.err != nil {
		return
	}
	ethType := layers.EthernetTypeIPv4
	if v6 {
		ethType = layers.EthernetTypeIPv6
	}
	st := w.stack[:0]
	switch w.opts.LinkType {
	case LinkEthernet:
		w.eth = layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: ethType}
		n := len(w.opts.VLANs)
		switch {
		case n == 1:
			w.eth.EthernetType = layers.EthernetTypeDot1Q
		case n > 1:
			w.eth.EthernetType = layers.EthernetTypeQinQ
		}
		st = append(st, &w.eth)
		for i := range w.dot1q {
			t := layers.EthernetTypeDot1Q
			if i == n-1 {
				t = ethType
			}
			w.dot1q[i] = layers.Dot1Q{VLANIdentifier: w.opts.VLANs[i], Type: t}
			st = append(st, &w.dot1q[i])
		}
	case LinkSLL:
		w.sll = sllLayer{pktType: 0, addr: src, proto: ethType}
		if outgoing {
			w.sll.pktType = 4
		}
		st = append(st, &w.sll)
	case LinkNull:
		w.loop = layers.Loopback{Family: layers.ProtocolFamilyIPv4}
		if v6 {
			w.loop.Family = layers.ProtocolFamilyIPv6BSD
		}
		st = append(st, &w.loop)
	case LinkRaw:
	}
	st = append(st, l3...)
	w.stack = st
	if err := gopacket.SerializeLayers(w.buf, w.sopts, st...); err != nil {
		w.fail(err)
		return
	}
	w.writeFrame(w.buf.Bytes())
}

// payloadLayer is a reusable raw payload (gopacket.Payload would allocate
// when converted to an interface for every packet).
type payloadLayer struct{ data []byte }

func (p *payloadLayer) LayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

func (p *payloadLayer) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	dst, err := b.PrependBytes(len(p.data))
	if err != nil {
		return err
	}
	copy(dst, p.data)
	return nil
}

// sllLayer serializes a Linux cooked-mode (SLL) header, which gopacket can
// decode but not serialize.
type sllLayer struct {
	pktType uint16
	addr    net.HardwareAddr
	proto   layers.EthernetType
}

func (s *sllLayer) LayerType() gopacket.LayerType { return layers.LayerTypeLinuxSLL }

func (s *sllLayer) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	h, err := b.PrependBytes(16)
	if err != nil {
		return err
	}
	clear(h)
	binary.BigEndian.PutUint16(h[0:], s.pktType)
	binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:], uint16(len(s.addr)))
	copy(h[6:14], s.addr)
	binary.BigEndian.PutUint16(h[14:], uint16(s.proto))
	return nil
}

// packetNote describes one written packet for the case READMEs.
type packetNote struct {
	n        int64
	ts       time.Time
	conn     int // index in w.conns
	dir      int // 0 client->server, 1 server->client
	seq, ack uint32
	flags    uint8
	length   int // TCP payload bytes
	frag     string
}
