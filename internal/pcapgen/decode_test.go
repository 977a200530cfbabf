package pcapgen

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// tpkt is a TCP segment as decoded back from a capture by gopacket (after
// IP defragmentation).
type tpkt struct {
	n        int // 1-based packet number (of the last fragment when defragmented)
	ts       time.Time
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
	payload  []byte
	vlans    []uint16
	frag     bool
}

type decoded struct {
	link    layers.LinkType
	nano    bool
	packets int // pcap records
	ts      []time.Time
	segs    []tpkt
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	for _, x := range []struct {
		b    bool
		flag uint8
	}{{t.FIN, FlagFIN}, {t.SYN, FlagSYN}, {t.RST, FlagRST}, {t.PSH, FlagPSH}, {t.ACK, FlagACK}, {t.URG, FlagURG}, {t.ECE, FlagECE}, {t.CWR, FlagCWR}} {
		if x.b {
			f |= x.flag
		}
	}
	return f
}

// decodeCapture reads a pcap with gopacket, checks that every packet decodes
// without error and that IPv4 header and TCP checksums are valid (TCP after
// defragmentation), and returns the TCP segments.
func decodeCapture(t testing.TB, data []byte) *decoded {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("pcap header: %v", err)
	}
	d := &decoded{link: r.LinkType(), nano: r.Resolution() == gopacket.TimestampResolutionNanosecond}
	d4 := ip4defrag.NewIPv4Defragmenter()
	d6 := ip6defrag.NewIPv6Defragmenter()
	for {
		pd, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", d.packets+1, err)
		}
		d.packets++
		n := d.packets
		d.ts = append(d.ts, ci.Timestamp)
		p := gopacket.NewPacket(pd, d.link, gopacket.Default)
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("packet %d: decode error: %v", n, el.Error())
		}
		var vlans []uint16
		for _, l := range p.Layers() {
			if q, ok := l.(*layers.Dot1Q); ok {
				vlans = append(vlans, q.VLANIdentifier)
			}
		}
		var (
			net     gopacket.NetworkLayer
			tcpData []byte
			frag    bool
			tcp     *layers.TCP
		)
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			if _, res := ip.VerifyChecksum(); !res.Valid {
				t.Fatalf("packet %d: bad IPv4 header checksum", n)
			}
			if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
				frag = true
				whole, err := d4.DefragIPv4(ip)
				if err != nil {
					t.Fatalf("packet %d: defrag: %v", n, err)
				}
				if whole == nil {
					continue
				}
				net, tcpData = whole, whole.Payload
			} else {
				net = ip
				tcp, _ = p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			}
		case *layers.IPv6:
			if fg, ok := p.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment); ok {
				frag = true
				whole := d6.DefragIPv6(ip, fg)
				if whole == nil {
					continue
				}
				net, tcpData = whole, whole.Payload
			} else {
				net = ip
				tcp, _ = p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			}
		default:
			t.Fatalf("packet %d: no IP layer (%v)", n, p)
		}
		if tcp == nil {
			if tcpData == nil {
				t.Fatalf("packet %d: no TCP layer", n)
			}
			tcp = &layers.TCP{}
			if err := tcp.DecodeFromBytes(tcpData, gopacket.NilDecodeFeedback); err != nil {
				t.Fatalf("packet %d: reassembled TCP: %v", n, err)
			}
		}
		if err := tcp.SetNetworkLayerForChecksum(net); err != nil {
			t.Fatal(err)
		}
		if err, res := tcp.VerifyChecksum(); err != nil || !res.Valid {
			t.Fatalf("packet %d: bad TCP checksum (%v %+v)", n, err, res)
		}
		src, _ := netip.AddrFromSlice(net.NetworkFlow().Src().Raw())
		dst, _ := netip.AddrFromSlice(net.NetworkFlow().Dst().Raw())
		d.segs = append(d.segs, tpkt{
			n: n, ts: ci.Timestamp,
			src: netip.AddrPortFrom(src, uint16(tcp.SrcPort)), dst: netip.AddrPortFrom(dst, uint16(tcp.DstPort)),
			seq: tcp.Seq, ack: tcp.Ack, flags: tcpFlags(tcp), payload: tcp.Payload, vlans: vlans, frag: frag,
		})
	}
	return d
}

// stream is one direction of a connection rebuilt from the segments:
// first-seen bytes win.
type stream struct {
	base uint32 // sequence number of offset 0
	buf  []byte
	have []bool
}

func (s *stream) add(seq uint32, data []byte, limit int) error {
	off := int(int32(seq - s.base))
	if off < 0 || off+len(data) > limit {
		return fmt.Errorf("segment [%d,%d) outside [0,%d)", off, off+len(data), limit)
	}
	if need := off + len(data); need > len(s.buf) {
		s.buf = append(s.buf, make([]byte, need-len(s.buf))...)
		s.have = append(s.have, make([]bool, need-len(s.have))...)
	}
	for i, c := range data {
		if !s.have[off+i] {
			s.have[off+i] = true
			s.buf[off+i] = c
		}
	}
	return nil
}

// holes returns the missing ranges of the stream within [0,n).
func (s *stream) holes(n int) [][2]int {
	var h [][2]int
	for i := 0; i < n; {
		if i < len(s.have) && s.have[i] {
			i++
			continue
		}
		j := i
		for j < n && (j >= len(s.have) || !s.have[j]) {
			j++
		}
		h = append(h, [2]int{i, j})
		i = j
	}
	return h
}
