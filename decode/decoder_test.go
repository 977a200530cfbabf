package decode_test

import (
	"net/netip"
	"testing"

	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/internal/testcap"
)

// Every link type and encapsulation the generator makes decodes to the same
// TCP conversation.
func TestDecodeLinkTypes(t *testing.T) {
	client := netip.MustParseAddr("192.0.2.10")
	server := netip.MustParseAddr("198.51.100.20")
	cases := []struct {
		name  string
		vlans []uint16
		ipver uint8
		frags bool
	}{
		{"handshake-normal", nil, 4, false},
		{"vlan", []uint16{100}, 4, false},
		{"qinq", []uint16{200, 100}, 4, false},
		{"rawip", nil, 4, false},
		{"sll", nil, 4, false},
		{"null-loopback", nil, 0, false},
		{"pcap-ns", nil, 4, false},
		{"ipv6", nil, 6, false},
		{"ipv4-fragments", nil, 4, true},
		{"ipv6-fragments", nil, 6, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			frames := testcap.Load(t, testcap.Synthetic(tc.name))
			d := decode.NewDecoder()
			var p decode.Packet
			var ok, held, frag int
			for _, f := range frames {
				switch d.Decode(f.Data, f.Link, f.Pkt.CI.Timestamp, &p) {
				case decode.OK:
					ok++
				case decode.Held:
					held++
					continue
				default:
					t.Fatalf("packet %d: %v", f.Pkt.Num, d.Counts)
				}
				if p.Proto != decode.ProtoTCP {
					t.Fatalf("packet %d: proto %v", f.Pkt.Num, p.Proto)
				}
				if tc.ipver != 0 && p.IPVer != tc.ipver {
					t.Fatalf("packet %d: IPv%d", f.Pkt.Num, p.IPVer)
				}
				if p.IPVer == 4 && !(p.Src == client || p.Src == server) {
					t.Fatalf("packet %d: src %v", f.Pkt.Num, p.Src)
				}
				if int(p.NVLAN) != len(tc.vlans) {
					t.Fatalf("packet %d: %d VLAN tags, want %d", f.Pkt.Num, p.NVLAN, len(tc.vlans))
				}
				for i, v := range tc.vlans {
					if p.VLANs[i] != v {
						t.Fatalf("packet %d: tag %d is %d, want %d", f.Pkt.Num, i, p.VLANs[i], v)
					}
				}
				if p.Frag {
					frag++
					if len(p.Payload) != 1400 {
						t.Errorf("reassembled payload %d bytes, want 1400", len(p.Payload))
					}
				}
			}
			if tc.frags && (frag != 1 || held != 2) {
				t.Errorf("fragments: %d reassembled, %d held; want 1 and 2", frag, held)
			}
			if ok == 0 {
				t.Error("nothing decoded")
			}
		})
	}
}

func TestDecodeBadInput(t *testing.T) {
	d := decode.NewDecoder()
	var p decode.Packet
	cases := []struct {
		name string
		data []byte
		link int
		want decode.Result
	}{
		{"short ethernet", []byte{1, 2, 3}, 1, decode.BadLink},
		{"arp", append(make([]byte, 12), 0x08, 0x06, 0, 1), 1, decode.NonIP},
		{"truncated ipv4", append(append(make([]byte, 12), 0x08, 0x00), 0x45, 0), 1, decode.BadIP},
		{"ip version 7", []byte{0x70, 0, 0, 20}, 101, decode.BadIP},
		{"unknown link type", []byte{1, 2, 3, 4}, 300, decode.UnsupportedLink},
		{"sll short", []byte{0, 1}, 113, decode.BadLink},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := d.Decode(tc.data, layersLink(tc.link), p.TS, &p); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// The per-packet path does not allocate.
func TestDecodeNoAlloc(t *testing.T) {
	frames := testcap.Load(t, testcap.Synthetic("http-keepalive"))
	d := decode.NewDecoder()
	var p decode.Packet
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range frames {
			d.Decode(f.Data, f.Link, f.Pkt.CI.Timestamp, &p)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per run of %d packets", allocs, len(frames))
	}
}

func BenchmarkDecode(b *testing.B) {
	frames := testcap.Load(b, testcap.Synthetic("many-conns"))
	d := decode.NewDecoder()
	var p decode.Packet
	var n int64
	for _, f := range frames {
		n += int64(len(f.Data))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, f := range frames {
			d.Decode(f.Data, f.Link, f.Pkt.CI.Timestamp, &p)
		}
	}
}
