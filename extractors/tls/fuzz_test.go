package tls

import (
	"encoding/json"
	"testing"
)

// FuzzParse feeds arbitrary bytes to both directions of a connection, cut
// at arbitrary points: the parser must never panic, never buffer more than
// its bounds, and always produce a record that marshals.
//
//	go test ./extractors/tls -fuzz FuzzParse
func FuzzParse(f *testing.F) {
	sh := append([]byte{3, 3}, make([]byte, 32)...)
	sh = append(sh, 0, 0x13, 0x01, 0, 0, 6, 0, 0x2b, 0, 2, 3, 4)
	f.Add(record(recHandshake, hs(hsClientHello, []byte{3, 3})), record(recHandshake, hs(hsServerHello, sh)), uint8(3))
	f.Add([]byte{22, 3, 1, 0, 5, 1, 0, 0, 1, 0}, []byte{20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 2, 9, 9}, uint8(1))
	f.Add([]byte{21, 3, 3, 0, 2, 2, 40}, record(recHandshake, hs(hsCertificate, []byte{0, 0, 4, 0, 0, 1, 0x30})), uint8(0))
	f.Fuzz(func(t *testing.T, orig, resp []byte, split uint8) {
		n := int(split%64) + 1
		r := replay([]chunk{{0, orig}, {1, resp}}, n)
		c := newConn("C1", r.ConnID)
		// interleaved, byte pieces alternating between the directions
		for i := 0; i < len(orig) || i < len(resp); i += n {
			if i < len(orig) {
				c.p[0].feed(orig[i:min(i+n, len(orig))], t0)
			}
			if i < len(resp) {
				c.p[1].feed(resp[i:min(i+n, len(resp))], t0)
			}
			for d := range 2 {
				if cap(c.p[d].hs) > maxHandshake+4+16<<10 {
					t.Fatalf("handshake buffer grew to %d", cap(c.p[d].hs))
				}
			}
		}
		for _, rec := range []*Record{r, c.finish()} {
			if _, err := json.Marshal(rec); err != nil {
				t.Fatal(err)
			}
		}
	})
}
