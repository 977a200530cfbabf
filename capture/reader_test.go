package capture_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/streamx/streamx/capture"
	"github.com/streamx/streamx/internal/testcap"
)

func readAll(t *testing.T, b []byte) (int, error) {
	r, err := capture.NewReader(bytes.NewReader(b), "test.pcap")
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, _, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func TestFormats(t *testing.T) {
	raw, err := os.ReadFile(testcap.Synthetic("handshake-normal"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := readAll(t, raw)
	if err != nil || want == 0 {
		t.Fatalf("plain pcap: %d packets, %v", want, err)
	}
	// gzip
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	if n, err := readAll(t, gz.Bytes()); n != want || err != nil {
		t.Errorf("gzip: %d packets, %v", n, err)
	}
	// big-endian, nanosecond pcap and pcapng, written from the same packets
	frames := testcap.Load(t, testcap.Synthetic("handshake-normal"))
	var ng bytes.Buffer
	w, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.WritePacket(f.Pkt.CI, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if n, err := readAll(t, ng.Bytes()); n != want || err != nil {
		t.Errorf("pcapng: %d packets, %v", n, err)
	}
	be := bigEndian(raw)
	if n, err := readAll(t, be); n != want || err != nil {
		t.Errorf("big-endian pcap: %d packets, %v", n, err)
	}
	ns, err := os.ReadFile(testcap.Synthetic("pcap-ns"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := capture.NewReader(bytes.NewReader(ns), "ns")
	if err != nil || r.Format != capture.FormatPcapNS {
		t.Errorf("nanosecond pcap: format %v, %v", r.Format, err)
	}
}

// bigEndian rewrites a little-endian microsecond pcap in big-endian order.
func bigEndian(le []byte) []byte {
	out := make([]byte, len(le))
	copy(out, le)
	sw32 := func(b []byte) { binary.BigEndian.PutUint32(b, binary.LittleEndian.Uint32(b)) }
	sw16 := func(b []byte) { binary.BigEndian.PutUint16(b, binary.LittleEndian.Uint16(b)) }
	sw32(out[0:])
	sw16(out[4:])
	sw16(out[6:])
	sw32(out[8:])
	sw32(out[12:])
	sw32(out[16:])
	sw32(out[20:])
	for off := 24; off+16 <= len(out); {
		caplen := int(binary.LittleEndian.Uint32(le[off+8:]))
		for i := 0; i < 16; i += 4 {
			sw32(out[off+i:])
		}
		off += 16 + caplen
	}
	return out
}

func TestBadInput(t *testing.T) {
	raw, _ := os.ReadFile(testcap.Synthetic("handshake-normal"))
	if _, err := capture.NewReader(bytes.NewReader(nil), "empty"); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := capture.NewReader(strings.NewReader("GET / HTTP/1.1\r\n"), "x.pcap"); err == nil || !strings.Contains(err.Error(), "not a pcap") {
		t.Errorf("text file: %v", err)
	}
	// a corrupt record length
	bad := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint32(bad[24+8:], 0x7fffffff)
	if _, err := readAll(t, bad); err == nil {
		t.Error("corrupt record length accepted")
	}
}

// Cut at every byte: never a panic; a Fault naming the packet and offset,
// and every packet before the cut read.
func TestTruncatedAtEveryByte(t *testing.T) {
	raw, _ := os.ReadFile(testcap.Synthetic("handshake-normal"))
	total, _ := readAll(t, raw)
	var ends []int // end offsets of each record
	off := 24
	for off < len(raw) {
		off += 16 + int(binary.LittleEndian.Uint32(raw[off+8:]))
		ends = append(ends, off)
	}
	for cut := 24; cut < len(raw); cut++ {
		n, err := readAll(t, raw[:cut])
		complete := 0
		for _, e := range ends {
			if e <= cut {
				complete++
			}
		}
		if n != complete {
			t.Fatalf("cut at %d: read %d packets, %d were complete", cut, n, complete)
		}
		atBoundary := cut == 24 || (complete > 0 && ends[complete-1] == cut)
		if atBoundary {
			if err != nil {
				t.Fatalf("cut at record boundary %d: %v", cut, err)
			}
			continue
		}
		var f *capture.Fault
		if !errors.As(err, &f) || f.Packet != uint64(complete+1) || f.Offset < 24 {
			t.Fatalf("cut at %d: error %v, want a Fault for packet %d", cut, err, complete+1)
		}
	}
	_ = total
	_ = gopacket.CaptureInfo{}
}
