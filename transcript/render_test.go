package transcript

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	o  = netip.MustParseAddrPort("192.0.2.1:40000")
	r  = netip.MustParseAddrPort("198.51.100.2:80")
	ts = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

func TestASCIIEscapesAndMarks(t *testing.T) {
	var b bytes.Buffer
	rd := New(&b, ASCII, false, o, r)
	rd.Data(0, []byte("GET / HTTP/1.1\r\n\x1b[2J\x00\xff\r\n"), 0, ts)
	rd.Data(1, []byte("HTTP/1.1 200 OK\r\n"), 0, ts)
	rd.Gap(1, 17, 100, ts)
	rd.Data(1, []byte("tail"), 117, ts)
	rd.End(0, "fin", ts)
	out := b.String()
	for _, want := range []string{
		">>> 2024-01-01T00:00:00.000000Z  192.0.2.1:40000 -> 198.51.100.2:80  offset 0\nGET / HTTP/1.1\n\\x1b[2J\\x00\\xff\n",
		"<<< 2024-01-01T00:00:00.000000Z  198.51.100.2:80 -> 192.0.2.1:40000  offset 0\nHTTP/1.1 200 OK\n",
		"100 BYTES MISSING at offset 17",
		"offset 117\ntail",
		"no more data (fin)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\x00") {
		t.Error("a control byte reached the transcript")
	}
}

func TestHexAndRaw(t *testing.T) {
	var b bytes.Buffer
	rd := New(&b, Hex, false, o, r)
	rd.Data(1, []byte("0123456789abcdefXYZ"), 16, ts)
	if !strings.Contains(b.String(), "    00000010  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n    00000020  58 59 5a") {
		t.Errorf("hex:\n%s", b.String())
	}
	b.Reset()
	rd = New(&b, Raw, false, o, r)
	rd.Data(0, []byte{0, 1, 2}, 0, ts)
	rd.Gap(0, 3, 5, ts)
	if !bytes.Equal(b.Bytes(), []byte{0, 1, 2}) {
		t.Errorf("raw: %q", b.Bytes())
	}
}

func TestColor(t *testing.T) {
	var b bytes.Buffer
	rd := New(&b, ASCII, true, o, r)
	rd.Data(0, []byte("a"), 0, ts)
	rd.Data(1, []byte("b"), 0, ts)
	if !strings.Contains(b.String(), colorOrig+"a") || !strings.Contains(b.String(), colorResp+"b") {
		t.Errorf("colours missing: %q", b.String())
	}
}

func TestEscape(t *testing.T) {
	if got := Escape("a\x1b[31mb\u202e\x00é"); got != `a\x1b[31mb\xe2\x80\xae\x00é` {
		t.Errorf("Escape: %q", got)
	}
}

func TestBinarySummary(t *testing.T) {
	var b bytes.Buffer
	rd := New(&b, ASCII, false, o, r)
	rd.RawNames = [2]string{"x.orig", "x.resp"}
	bin := make([]byte, 1000)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	rd.Data(1, []byte("HTTP/1.1 200 OK\r\n\r\n"), 0, ts)
	rd.Data(1, bin, 19, ts)
	rd.Data(1, bin, 1019, ts)
	rd.Data(0, []byte("GET /next HTTP/1.1\r\n"), 0, ts)
	rd.Flush()
	out := b.String()
	if !strings.Contains(out, "[... 1936 more bytes of binary data, offsets 83-2018, in x.resp]") {
		t.Errorf("no summary:\n%s", out)
	}
	if !strings.Contains(out, "GET /next") || strings.Count(out, "\\x") > 64 {
		t.Errorf("preview too long or text lost:\n%s", out)
	}
	b.Reset()
	rd = New(&b, ASCII, false, o, r)
	rd.FullBinary = true
	rd.Data(1, bin, 0, ts)
	if strings.Contains(b.String(), "more bytes") || strings.Count(b.String(), "\\x") < 500 {
		t.Error("FullBinary did not show every byte")
	}
}
