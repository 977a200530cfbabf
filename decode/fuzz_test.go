package decode_test

import (
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/internal/testcap"
)

// FuzzDecode: any bytes, any link type: no panic, and a packet decoded OK
// has consistent fields.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"handshake-normal", "vlan", "qinq", "rawip", "sll", "null-loopback", "ipv6", "ipv4-fragments", "ipv6-fragments"} {
		for _, fr := range testcap.Load(f, testcap.Synthetic(name)) {
			f.Add(fr.Data, uint16(fr.Link))
		}
	}
	d := decode.NewDecoder()
	var p decode.Packet
	f.Fuzz(func(t *testing.T, data []byte, link uint16) {
		r := d.Decode(data, layers.LinkType(link), time.Unix(0, 0), &p)
		if r == decode.OK && p.Proto == decode.ProtoTCP {
			if !p.Src.IsValid() || !p.Dst.IsValid() {
				t.Fatalf("TCP packet without addresses: %+v", p)
			}
		}
	})
}
