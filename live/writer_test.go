package live

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Size
		ok   bool
	}{
		{"4096", 4096, true}, {"64KiB", 64 << 10, true}, {"64k", 64 << 10, true}, {"100MB", 100 << 20, true},
		{"1GiB", 1 << 30, true}, {"2G", 2 << 30, true}, {" 7 B ", 7, true}, {"0", 0, true},
		{"", 0, false}, {"-1", 0, false}, {"1.5MB", 0, false}, {"12XB", 0, false}, {"99999999999999TB", 0, false},
	} {
		got, err := ParseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	for _, z := range []Size{32 << 20, 1 << 30, 1500, 3 << 10} {
		back, err := ParseSize(z.String())
		if err != nil || back != z {
			t.Errorf("%d -> %q -> %d, %v", z, z.String(), back, err)
		}
	}
}

type pkt struct {
	ts   time.Time
	data []byte
}

// readAll reads the rotated files in order and checks their headers.
func readAll(t *testing.T, files []string) (pkts []pkt, sizes []int64) {
	t.Helper()
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != 1234 || r.Resolution().ToDuration() != time.Nanosecond {
			t.Errorf("%s: header %v %d %v", name, r.LinkType(), r.Snaplen(), r.Resolution())
		}
		n := 0
		for {
			data, ci, err := r.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			pkts = append(pkts, pkt{ci.Timestamp, data})
			n++
		}
		if n == 0 {
			t.Errorf("%s: no packets (a file holds at least one)", name)
		}
		st, _ := f.Stat()
		sizes = append(sizes, st.Size())
		f.Close()
	}
	return pkts, sizes
}

func TestWriterRotation(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	var sent []pkt
	for i := range 40 {
		data := bytes.Repeat([]byte{byte(i)}, 60+i*7)
		sent = append(sent, pkt{t0.Add(time.Duration(i) * 300 * time.Millisecond), data})
	}
	for _, c := range []struct {
		name  string
		opts  WriterOptions
		files int
	}{
		{"none", WriterOptions{}, 1},
		{"size", WriterOptions{RotateSize: 1000}, 0},
		{"size-smaller-than-a-packet", WriterOptions{RotateSize: 50}, 40},
		{"seconds", WriterOptions{RotateEvery: 2 * time.Second}, 6}, // 40 packets 300 ms apart: 7 per file
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cap.pcap")
			c.opts.LinkType, c.opts.Snaplen = layers.LinkTypeEthernet, 1234
			w, err := CreateWriter(path, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range sent {
				if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: len(p.data) + 10}, p.data); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			files := w.Files()
			for i, f := range files {
				if f != RotatedName(path, i) {
					t.Errorf("file %d is %s, want %s", i, f, RotatedName(path, i))
				}
			}
			if c.files > 0 && len(files) != c.files {
				t.Errorf("%d files, want %d", len(files), c.files)
			}
			got, sizes := readAll(t, files)
			if len(got) != len(sent) {
				t.Fatalf("read back %d packets, want %d", len(got), len(sent))
			}
			for i := range sent {
				if !got[i].ts.Equal(sent[i].ts) || !bytes.Equal(got[i].data, sent[i].data) {
					t.Fatalf("packet %d differs: %v %d bytes, want %v %d bytes", i, got[i].ts, len(got[i].data), sent[i].ts, len(sent[i].data))
				}
			}
			if c.opts.RotateSize >= 1000 {
				for i, sz := range sizes {
					if sz > c.opts.RotateSize {
						t.Errorf("%s: %d bytes, over --rotate-size %d", files[i], sz, c.opts.RotateSize)
					}
				}
				if len(files) < 5 {
					t.Errorf("only %d files", len(files))
				}
			}
		})
	}
}

func TestWriterNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cap.pcap")
	os.WriteFile(path, []byte("old evidence"), 0o644)
	if _, err := CreateWriter(path, WriterOptions{}); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("existing FILE: %v, want ErrExist", err)
	}
	os.Remove(path)
	os.WriteFile(path+".3", []byte("old evidence"), 0o644)
	if _, err := CreateWriter(path, WriterOptions{}); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("existing FILE.3: %v, want ErrExist", err)
	}
	os.Remove(path + ".3")
	if _, err := CreateWriter(filepath.Join(dir, "nodir", "x.pcap"), WriterOptions{}); err == nil {
		t.Fatal("missing folder: no error")
	}

	// a rotated name taken while the capture runs: a sticky *WriteError,
	// nothing overwritten
	w, err := CreateWriter(path, WriterOptions{RotateSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path+".1", []byte("someone else's"), 0o644)
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 50, Length: 50}
	if err := w.WritePacket(ci, make([]byte, 50)); err != nil {
		t.Fatal(err)
	}
	err = w.WritePacket(ci, make([]byte, 50))
	var we *WriteError
	if !errors.As(err, &we) || we.Path != path+".1" {
		t.Fatalf("rotation onto an existing file: %v", err)
	}
	if err2 := w.WritePacket(ci, make([]byte, 50)); err2 != err {
		t.Errorf("error not sticky: %v", err2)
	}
	if b, _ := os.ReadFile(path + ".1"); string(b) != "someone else's" {
		t.Error("overwritten")
	}
	if err := w.Close(); err == nil {
		t.Error("Close hides the failure")
	}
}
