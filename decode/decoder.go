package decode

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
)

// Result says what Decode made of a packet.
type Result uint8

// Decode results. Every result but OK and Held is a reason a packet was not
// used; they are counted, never fatal.
const (
	OK              Result = iota // an IP packet, transport decoded when it is TCP/UDP/ICMP
	Held                          // an IP fragment, kept until its datagram is complete
	NonIP                         // a frame that carries no IP (ARP, LLDP, STP...)
	BadLink                       // link header too short or malformed
	UnsupportedLink               // a link type streamx cannot read
	BadIP                         // IP header malformed or truncated
	BadTransport                  // TCP/UDP header malformed or truncated
	BadFragment                   // fragments that could not be reassembled
	numResults
)

var resultNames = [numResults]string{
	OK: "ok", Held: "fragment-held", NonIP: "not-ip", BadLink: "bad-link-header",
	UnsupportedLink: "unsupported-link-type", BadIP: "bad-ip-header",
	BadTransport: "bad-transport-header", BadFragment: "bad-fragment",
}

func (r Result) String() string {
	if r < numResults {
		return resultNames[r]
	}
	return "unknown"
}

// Counts holds, per Result, how many packets got it.
type Counts [numResults]uint64

// Each calls f for every non-zero count in a stable order.
func (c *Counts) Each(f func(name string, n uint64)) {
	for i, n := range c {
		if n > 0 {
			f(Result(i).String(), n)
		}
	}
}

// Decoder turns raw frames into Packets. It is not safe for concurrent use;
// give each goroutine its own. Its layer structs and parsers are reused for
// every packet, so decoding an unfragmented packet does not allocate.
type Decoder struct {
	Counts       Counts
	SlowPath     uint64                     // frames decoded by gopacket's generic decoder
	LinkTypesBad map[layers.LinkType]uint64 // unsupported link types seen

	ip4   layers.IPv4
	ip6   layers.IPv6
	tcp   layers.TCP
	udp   layers.UDP
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6
	pay   gopacket.Payload

	p4, p6  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType

	defrag4 *ip4defrag.IPv4Defragmenter
	defrag6 *ip6defrag.IPv6Defragmenter
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	d := &Decoder{LinkTypesBad: map[layers.LinkType]uint64{}}
	ls := []gopacket.DecodingLayer{&d.ip4, &d.ip6, &d.tcp, &d.udp, &d.icmp4, &d.icmp6, &d.pay}
	d.p4 = gopacket.NewDecodingLayerParser(layers.LayerTypeIPv4, ls...)
	d.p6 = gopacket.NewDecodingLayerParser(layers.LayerTypeIPv6, ls...)
	d.p4.IgnoreUnsupported = true
	d.p6.IgnoreUnsupported = true
	d.decoded = make([]gopacket.LayerType, 0, 8)
	d.defrag4 = ip4defrag.NewIPv4Defragmenter()
	d.defrag6 = ip6defrag.NewIPv6Defragmenter()
	return d
}

// TCP returns the TCP layer of the last packet Decode returned OK with
// Proto == ProtoTCP. It is overwritten by the next Decode.
func (d *Decoder) TCP() *layers.TCP { return &d.tcp }

// Decode decodes one frame of the given link type into p (the capture
// fields Num, File, Offset, TS, CapLen and Len are left to the caller).
func (d *Decoder) Decode(data []byte, lt layers.LinkType, ts time.Time, p *Packet) Result {
	r := d.decode(data, lt, ts, p)
	d.Counts[r]++
	return r
}

func (d *Decoder) decode(data []byte, lt layers.LinkType, ts time.Time, p *Packet) Result {
	p.NVLAN, p.IPVer, p.Proto, p.IPProto, p.Frag, p.IPLen = 0, 0, ProtoOther, 0, false, 0
	p.Src, p.Dst = netip.Addr{}, netip.Addr{}
	p.SrcPort, p.DstPort, p.Seq, p.Ack, p.Flags, p.Window = 0, 0, 0, 0, 0, 0
	p.Payload = nil

	var ipver int // 4, 6, or 0 = look at the version nibble
	switch lt {
	case layers.LinkTypeEthernet:
		var etype uint16
		var ok bool
		data, etype, ok = d.ethernet(data, p)
		if !ok {
			return BadLink
		}
		return d.ethertype(etype, data, ts, p)
	case layers.LinkTypeLinuxSLL:
		if len(data) < 16 {
			return BadLink
		}
		return d.ethertype(binary.BigEndian.Uint16(data[14:16]), data[16:], ts, p)
	case layers.LinkTypeLinuxSLL2:
		if len(data) < 20 {
			return BadLink
		}
		return d.ethertype(binary.BigEndian.Uint16(data[0:2]), data[20:], ts, p)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(data) < 4 {
			return BadLink
		}
		fam := binary.LittleEndian.Uint32(data)
		if lt == layers.LinkTypeLoop || fam > 0xffff {
			fam = binary.BigEndian.Uint32(data)
		}
		data = data[4:]
		switch fam {
		case 2:
			ipver = 4
		case 10, 24, 28, 30:
			ipver = 6
		default:
			return NonIP
		}
	case layers.LinkTypeRaw, 12, 14: // 12 and 14 are DLT_RAW on some BSDs
	case layers.LinkTypeIPv4:
		ipver = 4
	case layers.LinkTypeIPv6:
		ipver = 6
	case layers.LinkTypeC_HDLC: // Cisco HDLC: address, control, ethertype
		if len(data) < 4 {
			return BadLink
		}
		return d.ethertype(binary.BigEndian.Uint16(data[2:4]), data[4:], ts, p)
	case layers.LinkTypePPP, layers.LinkTypePPP_HDLC:
		if len(data) >= 2 && data[0] == 0xff && data[1] == 0x03 {
			data = data[2:]
		}
		return d.ppp(data, ts, p)
	case 239: // NFLOG: TLVs, the packet is the NFULA_PAYLOAD attribute
		var ok bool
		if data, ok = nflogPayload(data); !ok {
			return BadLink
		}
	default:
		return d.slow(data, lt, ts, p)
	}
	return d.ip(data, ipver, ts, p)
}

// ethernet strips the Ethernet header and any 802.1Q / QinQ tags.
func (d *Decoder) ethernet(data []byte, p *Packet) ([]byte, uint16, bool) {
	if len(data) < 14 {
		return nil, 0, false
	}
	etype := binary.BigEndian.Uint16(data[12:14])
	data = data[14:]
	for etype == 0x8100 || etype == 0x88a8 || etype == 0x9100 {
		if len(data) < 4 {
			return nil, 0, false
		}
		if p.NVLAN < uint8(len(p.VLANs)) {
			p.VLANs[p.NVLAN] = binary.BigEndian.Uint16(data[0:2]) & 0x0fff
			p.NVLAN++
		}
		etype = binary.BigEndian.Uint16(data[2:4])
		data = data[4:]
	}
	return data, etype, true
}

func (d *Decoder) ethertype(etype uint16, data []byte, ts time.Time, p *Packet) Result {
	switch etype {
	case 0x0800:
		return d.ip(data, 4, ts, p)
	case 0x86dd:
		return d.ip(data, 6, ts, p)
	case 0x8864: // PPPoE session: 6-byte header, then PPP
		if len(data) < 6 {
			return BadLink
		}
		return d.ppp(data[6:], ts, p)
	}
	return NonIP
}

func (d *Decoder) ppp(data []byte, ts time.Time, p *Packet) Result {
	if len(data) < 2 {
		return BadLink
	}
	proto := uint16(data[0])
	n := 1
	if proto&1 == 0 { // protocol field not compressed
		proto = binary.BigEndian.Uint16(data)
		n = 2
	}
	switch proto {
	case 0x0021:
		return d.ip(data[n:], 4, ts, p)
	case 0x0057:
		return d.ip(data[n:], 6, ts, p)
	}
	return NonIP
}

func nflogPayload(data []byte) ([]byte, bool) {
	if len(data) < 4 {
		return nil, false
	}
	data = data[4:]
	for len(data) >= 4 {
		l := int(binary.LittleEndian.Uint16(data[0:2]))
		t := binary.LittleEndian.Uint16(data[2:4])
		if l < 4 || l > len(data) {
			return nil, false
		}
		if t == 9 {
			return data[4:l], true
		}
		l = (l + 3) &^ 3
		if l > len(data) {
			return nil, false
		}
		data = data[l:]
	}
	return nil, false
}

// slow decodes link types without a hand-written path through gopacket's
// generic decoder, and takes the IP layer from it.
func (d *Decoder) slow(data []byte, lt layers.LinkType, ts time.Time, p *Packet) Result {
	if lt >= layers.LinkTypeMax {
		d.LinkTypesBad[lt]++
		return UnsupportedLink
	}
	pkt := gopacket.NewPacket(data, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	d.SlowPath++
	nl := pkt.NetworkLayer()
	if nl == nil {
		if pkt.LinkLayer() == nil {
			d.LinkTypesBad[lt]++
			return UnsupportedLink
		}
		return NonIP
	}
	switch nl.LayerType() {
	case layers.LayerTypeIPv4:
		return d.ip(append(nl.LayerContents(), nl.LayerPayload()...), 4, ts, p)
	case layers.LayerTypeIPv6:
		return d.ip(append(nl.LayerContents(), nl.LayerPayload()...), 6, ts, p)
	}
	return NonIP
}

func (d *Decoder) ip(data []byte, ver int, ts time.Time, p *Packet) Result {
	if ver == 0 {
		if len(data) == 0 {
			return BadIP
		}
		ver = int(data[0] >> 4)
	}
	d.decoded = d.decoded[:0]
	switch ver {
	case 4:
		if err := d.p4.DecodeLayers(data, &d.decoded); err != nil && len(d.decoded) == 0 {
			return BadIP
		}
		if len(d.decoded) == 0 || d.decoded[0] != layers.LayerTypeIPv4 {
			return BadIP
		}
		p.IPVer = 4
		p.IPLen = int(d.ip4.Length)
		p.Src, _ = netip.AddrFromSlice(d.ip4.SrcIP.To4())
		p.Dst, _ = netip.AddrFromSlice(d.ip4.DstIP.To4())
		p.IPProto = uint8(d.ip4.Protocol)
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			return d.frag4(ts, p)
		}
	case 6:
		if err := d.p6.DecodeLayers(data, &d.decoded); err != nil && len(d.decoded) == 0 {
			return BadIP
		}
		if len(d.decoded) == 0 || d.decoded[0] != layers.LayerTypeIPv6 {
			return BadIP
		}
		p.IPVer = 6
		p.IPLen = int(d.ip6.Length) + 40
		p.Src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
		p.Dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
		p.IPProto = uint8(d.ip6.NextHeader)
		if len(d.decoded) == 1 {
			// Extension headers the parser does not walk: routing,
			// destination options, fragment.
			return d.ext6(ts, p)
		}
	default:
		return BadIP
	}
	return d.transport(p)
}

// transport fills p from the layers the parser decoded after IP.
func (d *Decoder) transport(p *Packet) Result {
	for _, lt := range d.decoded[1:] {
		switch lt {
		case layers.LayerTypeTCP:
			p.Proto = ProtoTCP
			p.IPProto = 6
			p.SrcPort, p.DstPort = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
			p.Seq, p.Ack, p.Window = d.tcp.Seq, d.tcp.Ack, d.tcp.Window
			p.Flags = tcpFlags(&d.tcp)
			p.Payload = d.tcp.Payload
			return OK
		case layers.LayerTypeUDP:
			p.Proto = ProtoUDP
			p.IPProto = 17
			p.SrcPort, p.DstPort = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
			p.Payload = d.udp.Payload
			return OK
		case layers.LayerTypeICMPv4, layers.LayerTypeICMPv6:
			p.Proto = ProtoICMP
			return OK
		}
	}
	switch p.IPProto {
	case 6, 17:
		// The IP header named TCP/UDP, but it did not decode.
		return BadTransport
	case 1, 58:
		p.Proto = ProtoICMP
	}
	return OK
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= FlagFIN
	}
	if t.SYN {
		f |= FlagSYN
	}
	if t.RST {
		f |= FlagRST
	}
	if t.PSH {
		f |= FlagPSH
	}
	if t.ACK {
		f |= FlagACK
	}
	if t.URG {
		f |= FlagURG
	}
	if t.ECE {
		f |= FlagECE
	}
	if t.CWR {
		f |= FlagCWR
	}
	return f
}

// frag4 hands an IPv4 fragment to the defragmenter. The defragmenter keeps
// the layer it is given, so it gets a copy, not the reused one.
func (d *Decoder) frag4(ts time.Time, p *Packet) Result {
	cp := d.ip4
	cp.Payload = append([]byte(nil), d.ip4.Payload...)
	cp.Contents = nil
	cp.SrcIP = append([]byte(nil), d.ip4.SrcIP...)
	cp.DstIP = append([]byte(nil), d.ip4.DstIP...)
	out, err := d.defrag4.DefragIPv4WithTimestamp(&cp, ts)
	if err != nil {
		return BadFragment
	}
	if out == nil {
		d.defrag4.DiscardOlderThan(ts.Add(-60 * time.Second))
		return Held
	}
	p.Frag = true
	return d.transportFrom(uint8(out.Protocol), out.Payload, p)
}

// ext6 walks IPv6 extension headers to the transport, reassembling
// fragments on the way.
func (d *Decoder) ext6(ts time.Time, p *Packet) Result {
	next := uint8(d.ip6.NextHeader)
	data := d.ip6.Payload
	for i := 0; i < 8; i++ {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(data) < 8 {
				return BadIP
			}
			l := (int(data[1]) + 1) * 8
			if l > len(data) {
				return BadIP
			}
			next, data = data[0], data[l:]
		case 44: // fragment
			if len(data) < 8 {
				return BadIP
			}
			fg := layers.IPv6Fragment{
				NextHeader:     layers.IPProtocol(data[0]),
				FragmentOffset: binary.BigEndian.Uint16(data[2:4]) >> 3,
				MoreFragments:  data[3]&1 != 0,
				Identification: binary.BigEndian.Uint32(data[4:8]),
			}
			fg.Payload = append([]byte(nil), data[8:]...)
			cp := d.ip6
			cp.SrcIP = append([]byte(nil), d.ip6.SrcIP...)
			cp.DstIP = append([]byte(nil), d.ip6.DstIP...)
			cp.Payload, cp.Contents, cp.HopByHop = nil, nil, nil
			out := d.defrag6.DefragIPv6(&cp, &fg)
			if out == nil {
				return Held
			}
			p.Frag = true
			next, data = uint8(out.NextHeader), out.Payload
			// The reassembled payload may itself start with more
			// extension headers; keep walking.
			if next != 0 && next != 43 && next != 60 {
				return d.transportFrom(next, data, p)
			}
		default:
			return d.transportFrom(next, data, p)
		}
	}
	return BadIP
}

// transportFrom decodes a transport header from bytes (after reassembly or
// extension headers).
func (d *Decoder) transportFrom(proto uint8, data []byte, p *Packet) Result {
	p.IPProto = proto
	switch proto {
	case 6:
		if err := d.tcp.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
			return BadTransport
		}
		d.decoded = append(d.decoded[:1], layers.LayerTypeTCP)
	case 17:
		if err := d.udp.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
			return BadTransport
		}
		d.decoded = append(d.decoded[:1], layers.LayerTypeUDP)
	default:
		d.decoded = d.decoded[:1]
	}
	return d.transport(p)
}
