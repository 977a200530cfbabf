package live

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/streamx/streamx/engine"
)

// fakeHandle hands out queued frames; when the queue is empty it blocks
// for its poll interval (or until woken) and times out, like the ring.
type fakeHandle struct {
	frames []fakeFrame
	poll   time.Duration
	lagBy  time.Duration
	woken  chan struct{}
	closed bool
}

type fakeFrame struct {
	data []byte
	ci   gopacket.CaptureInfo
}

func newFake(poll time.Duration) *fakeHandle {
	return &fakeHandle{poll: poll, woken: make(chan struct{}, 1)}
}

func (f *fakeHandle) add(ts time.Time, ifindex, size int) {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(len(f.frames))
	}
	f.frames = append(f.frames, fakeFrame{data, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: size, Length: size, InterfaceIndex: ifindex}})
}

func (f *fakeHandle) read() ([]byte, gopacket.CaptureInfo, error) {
	if len(f.frames) > 0 {
		fr := f.frames[0]
		f.frames = f.frames[1:]
		return fr.data, fr.ci, nil
	}
	select {
	case <-time.After(f.poll):
	case <-f.woken:
	}
	return nil, gopacket.CaptureInfo{}, errTimeout
}

func (f *fakeHandle) stats() (uint64, uint64) { return 7, 2 }
func (f *fakeHandle) lag() time.Duration      { return f.lagBy }
func (f *fakeHandle) wake() {
	select {
	case f.woken <- struct{}{}:
	default:
	}
}
func (f *fakeHandle) close() error { f.closed = true; return nil }

func fakeSource(t *testing.T, h *fakeHandle, o Options) *Source {
	t.Helper()
	s, err := newSource("fake0", 3, layers.LinkTypeEthernet, "fake", h, o.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// While no packet comes, Next returns engine.ErrIdle every poll interval
// with the time that has surely passed (now less the ring's lag), so the
// engine expires idle connections as the capture runs.
func TestIdleTicks(t *testing.T) {
	h := newFake(20 * time.Millisecond)
	h.lagBy = 50 * time.Millisecond
	s := fakeSource(t, h, Options{Poll: 20 * time.Millisecond})
	defer s.Close()
	var last time.Time
	for i := range 5 {
		start := time.Now()
		_, p, err := s.Next()
		if err != engine.ErrIdle {
			t.Fatalf("tick %d: %v, want ErrIdle", i, err)
		}
		if el := time.Since(start); el < 15*time.Millisecond || el > time.Second {
			t.Errorf("tick %d after %v, want about the poll interval", i, el)
		}
		ts := p.CI.Timestamp
		if d := time.Since(ts); d < h.lagBy || d > h.lagBy+time.Second {
			t.Errorf("tick %d: timestamp %v behind now, want the ring's lag %v", i, d, h.lagBy)
		}
		if !ts.After(last) {
			t.Errorf("tick %d: time does not advance: %v then %v", i, last, ts)
		}
		last = ts
	}
}

func TestCountDurationAndFrames(t *testing.T) {
	t0 := time.Now()
	h := newFake(10 * time.Millisecond)
	h.add(t0, 3, 100)
	h.add(t0.Add(time.Millisecond), 9, 100) // another interface's: skipped
	h.add(t0.Add(2*time.Millisecond), 3, 300)
	h.add(t0.Add(3*time.Millisecond), 0, 80)
	h.add(t0.Add(4*time.Millisecond), 3, 80)
	dir := t.TempDir()
	s := fakeSource(t, h, Options{Count: 3, Snaplen: 200, Write: filepath.Join(dir, "w.pcap")})
	var sizes []int
	for {
		data, p, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Offset != -1 || p.LinkType != layers.LinkTypeEthernet || p.Num != uint64(len(sizes)+1) {
			t.Errorf("packet %d: %+v", len(sizes)+1, p)
		}
		if p.CI.CaptureLength != len(data) || p.CI.Length < len(data) {
			t.Errorf("packet %d: capture info %+v for %d bytes", p.Num, p.CI, len(data))
		}
		sizes = append(sizes, len(data))
	}
	if len(sizes) != 3 || sizes[0] != 100 || sizes[1] != 200 || sizes[2] != 80 {
		t.Errorf("frames %v, want [100 200 80] (--count 3, --snaplen 200, other interface skipped)", sizes)
	}
	if _, _, err := s.Next(); err != io.EOF {
		t.Errorf("after the end: %v", err)
	}
	if r, d := s.Drops(); r != 7 || d != 2 {
		t.Errorf("Drops %d %d", r, d)
	}
	// the -w file is closed at the end and holds what Next returned
	f, _ := os.Open(filepath.Join(dir, "w.pcap"))
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if len(data) != sizes[n] || (n == 1 && ci.Length != 300) {
			t.Errorf("-w packet %d: %d bytes of %d", n, len(data), ci.Length)
		}
		n++
	}
	if n != 3 {
		t.Errorf("-w holds %d packets, want 3", n)
	}
	s.Close()
	if !h.closed {
		t.Error("handle not closed")
	}

	// --duration: a packet stamped after the deadline ends the capture,
	// and so does a quiet poll after it
	h = newFake(10 * time.Millisecond)
	h.add(time.Now(), 3, 60)
	h.add(time.Now().Add(time.Hour), 3, 60)
	s = fakeSource(t, h, Options{Duration: 100 * time.Millisecond})
	if _, _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Next(); err != io.EOF {
		t.Fatalf("packet past --duration: %v, want EOF", err)
	}
	h = newFake(10 * time.Millisecond)
	s = fakeSource(t, h, Options{Duration: 100 * time.Millisecond, Poll: 10 * time.Millisecond})
	start := time.Now()
	for {
		_, _, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != engine.ErrIdle {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 100*time.Millisecond || el > 2*time.Second {
		t.Errorf("--duration 100ms ended after %v", el)
	}
}

// Interrupt, from another goroutine, makes a Next blocked waiting for
// packets return io.EOF promptly.
func TestInterruptWhileWaiting(t *testing.T) {
	h := newFake(time.Hour)
	s := fakeSource(t, h, Options{})
	go func() {
		time.Sleep(50 * time.Millisecond)
		s.Interrupt()
	}()
	start := time.Now()
	for {
		_, _, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != engine.ErrIdle {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Next returned %v after Interrupt", el)
	}
}

// On an idle tick the -w file is flushed, so what was captured can be
// read while the capture goes on.
func TestWriteFlushedWhenIdle(t *testing.T) {
	h := newFake(10 * time.Millisecond)
	h.add(time.Now(), 3, 100)
	path := filepath.Join(t.TempDir(), "w.pcap")
	s := fakeSource(t, h, Options{Write: path})
	defer s.Close()
	if _, _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Next(); err != engine.ErrIdle {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 24+16+100 {
		t.Fatalf("after an idle tick the file has %v bytes (%v), want %d", st.Size(), err, 24+16+100)
	}
	if len(s.Files()) != 1 {
		t.Errorf("Files %v", s.Files())
	}
}

func TestErrorMessages(t *testing.T) {
	e := &PermissionError{Interface: "eth0"}
	if want := "capturing on eth0 needs root or the CAP_NET_RAW capability (e.g. sudo setcap cap_net_raw+ep $(which streamx))"; e.Error() != want {
		t.Errorf("%q", e.Error())
	}
	n := &NoInterfaceError{Name: "eth9", Have: []string{"lo", "eth0"}}
	if want := "no such interface eth9 (interfaces: lo, eth0)"; n.Error() != want {
		t.Errorf("%q", n.Error())
	}
	var we error = &WriteError{Path: "x.pcap", Err: os.ErrPermission}
	if !errors.Is(we, os.ErrPermission) || we.Error() != "writing x.pcap: permission denied" {
		t.Errorf("%q", we.Error())
	}
}
