package decode

import (
	"net/netip"
	"time"
)

// Proto is the transport protocol of a decoded packet.
type Proto uint8

// Transport protocols that streamx tells apart.
const (
	ProtoOther Proto = iota
	ProtoTCP
	ProtoUDP
	ProtoICMP
)

func (p Proto) String() string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	}
	return "other"
}

// TCP flag bits, as in the TCP header's flags byte.
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

// Packet is one decoded packet. It is filled in place by a Decoder and
// reused for the next packet: Payload points into the capture reader's
// buffer (or the defragmenter's) and is only valid until the next packet is
// read. Copy what you keep.
type Packet struct {
	Num    uint64    // 1-based packet number across the whole run (all input files)
	File   int       // index of the input file in the order given
	Offset int64     // byte offset of the packet's record in its file
	TS     time.Time // capture timestamp
	CapLen int       // bytes captured
	Len    int       // bytes on the wire

	VLANs   [2]uint16 // 802.1Q / QinQ tags, outer first
	NVLAN   uint8     // number of valid entries in VLANs
	IPVer   uint8     // 4 or 6; 0 when the packet has no IP layer
	Src     netip.Addr
	Dst     netip.Addr
	Proto   Proto
	IPProto uint8 // IP protocol number (or IPv6 next header of the transport)
	Frag    bool  // true when the packet was reassembled from IP fragments
	IPLen   int   // IP datagram length from its header (Zeek's ip_bytes)

	SrcPort uint16
	DstPort uint16

	// TCP only.
	Seq    uint32
	Ack    uint32
	Flags  uint8 // FlagFIN | FlagSYN | ...
	Window uint16

	Payload []byte // transport payload (TCP/UDP); nil for others
}

// Has reports whether all the given TCP flags are set.
func (p *Packet) Has(flags uint8) bool { return p.Flags&flags == flags }
