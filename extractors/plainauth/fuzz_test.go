package plainauth

import (
	"net/netip"
	"testing"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/flowtable"
)

// FuzzDialogue feeds arbitrary client and server bytes, cut at arbitrary
// points and interleaved, to every service's observer: no panic, and every
// event names its service.
//
//	go test ./extractors/plainauth -fuzz FuzzDialogue
func FuzzDialogue(f *testing.F) {
	f.Add([]byte("AUTH LOGIN\r\nYWxpY2U=\r\ncHc=\r\n"), []byte("334 x\r\n334 y\r\n235 ok\r\n"), uint8(3))
	f.Add([]byte("a LOGIN {5}\r\nalice {2}\r\npw\r\n"), []byte("+ go\r\n+ go\r\na OK\r\n"), uint8(1))
	f.Add([]byte("root\r\x00toor\r\n"), []byte("\xff\xfd\x18login: Password: \r\nLogin incorrect\r\n"), uint8(2))
	f.Add([]byte("BDAT 99999999999 LAST\r\nUSER a\r\nPASS b\r\n"), []byte("+OK\r\n-ERR\r\n"), uint8(7))
	f.Fuzz(func(t *testing.T, client, server []byte, split uint8) {
		n := int(split%32) + 1
		for _, svc := range Services() {
			p := New(svc, func(ev Event) {
				if ev.Service != svc {
					t.Fatalf("event of %s from the %s observer", ev.Service, svc)
				}
			})
			s := &engine.Session{Conn: &flowtable.Conn{UID: "C1", Orig: netip.MustParseAddrPort("192.0.2.1:1"), Resp: netip.MustParseAddrPort("192.0.2.2:2")}}
			h := p.New(s, &extractors.Env{})
			for i := 0; i < len(client) || i < len(server); i += n {
				if i < len(client) {
					h.Data(s, 0, client[i:min(i+n, len(client))], int64(i), t0)
				}
				if i == n {
					h.Gap(s, 1, 0, 1, t0)
				}
				if i < len(server) {
					h.Data(s, 1, server[i:min(i+n, len(server))], int64(i), t0)
				}
			}
			h.Close(s)
		}
	})
}
