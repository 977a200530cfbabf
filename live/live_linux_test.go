//go:build linux

package live

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/streamx/streamx/engine"
)

// helperEnv makes the test binary run one helper instead of the tests
// (inside a network namespace, or as an unprivileged user).
const helperEnv = "STREAMX_LIVE_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		if err := runHelper(h); err != nil {
			fmt.Println("HELPER FAIL:", err)
			os.Exit(1)
		}
		fmt.Println("HELPER OK")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(h string) error {
	what, arg, _ := strings.Cut(h, ":")
	switch what {
	case "open": // print Open's error
		_, err := Open(arg, Options{})
		fmt.Printf("OPEN ERROR: %v\n", err)
		if errors.As(err, new(*PermissionError)) {
			return nil
		}
		return fmt.Errorf("want a *PermissionError")
	case "capture":
		return captureLoopback(arg)
	}
	return fmt.Errorf("unknown helper %q", h)
}

// namespace makes a network namespace with loopback up, deleted at the
// end, or skips the test saying why it cannot.
func namespace(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("SKIP: no ip command (apt-get install iproute2)")
	}
	ns := fmt.Sprintf("sxlive%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("SKIP: cannot make a network namespace here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, f := range strings.Fields(string(out)) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		exec.Command("ip", "netns", "del", ns).Run()
	})
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, out)
	}
	return ns
}

// A real capture on the loopback of a namespace of its own, through the
// ring and through the plain socket: every packet of a TCP transfer once
// (loopback passes each twice; the outgoing copy is dropped in the
// kernel), the snap length applied, the kernel's counters, and Interrupt
// ending a wait promptly.
func TestCaptureLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short")
	}
	ns := namespace(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"ring", "socket"} {
		t.Run(method, func(t *testing.T) {
			cmd := exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=capture:"+method)
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil || !bytes.Contains(out, []byte("HELPER OK")) {
				t.Fatalf("helper: %v", err)
			}
		})
	}
}

// captureLoopback runs inside the namespace.
func captureLoopback(method string) error {
	const payload = 200000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	send := func() {
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(io.Discard, c)
			c.Close()
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		c.Write(bytes.Repeat([]byte("x"), payload))
		c.Close()
	}
	for _, snaplen := range []int{0, 96} {
		s, err := Open("lo", Options{Method: method, Snaplen: snaplen, Duration: 5 * time.Second, Poll: 50 * time.Millisecond})
		if err != nil {
			return err
		}
		if s.LinkType() != layers.LinkTypeEthernet || !strings.Contains(s.Format(), map[string]string{"ring": "TPACKET_V3", "socket": "socket"}[method]) {
			return fmt.Errorf("link type %v, format %q", s.LinkType(), s.Format())
		}
		fmt.Println(s.Describe())
		go send()
		seen := map[uint32]int{} // sequence numbers of data segments client to server
		var pkts, idle, segs, dups int
		var fins int
		var isn, end uint32
		for {
			data, p, err := s.Next()
			if err == engine.ErrIdle {
				idle++
				if fins >= 2 {
					break
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("Next: %v", err)
			}
			pkts++
			if snaplen > 0 && (len(data) > snaplen || p.CI.CaptureLength != len(data)) {
				return fmt.Errorf("snaplen %d: %d bytes captured", snaplen, len(data))
			}
			pk := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
			tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if tcp == nil || (int(tcp.DstPort) != port && int(tcp.SrcPort) != port) {
				continue
			}
			if tcp.FIN {
				fins++
			}
			ip, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			n := 0
			if ip != nil {
				n = int(ip.Length) - int(ip.IHL)*4 - int(tcp.DataOffset)*4
			}
			if int(tcp.DstPort) == port && tcp.SYN {
				isn = tcp.Seq
			}
			if int(tcp.DstPort) == port && n > 0 {
				segs++
				if seen[tcp.Seq]++; seen[tcp.Seq] > 1 {
					dups++ // a retransmission (a loaded machine), or a second copy
				}
				end = max(end, tcp.Seq+uint32(n)-isn-1)
			}
		}
		if int(end) != payload {
			return fmt.Errorf("snaplen %d: stream of %d bytes seen in %d packets, want %d", snaplen, end, pkts, payload)
		}
		if dups*2 >= segs {
			return fmt.Errorf("%d of %d data segments captured twice (loopback's outgoing copies kept)", dups, segs)
		}
		rcv, drop := s.Drops()
		fmt.Printf("%s snaplen %d: %d packets, %d idle ticks, kernel received %d dropped %d\n", method, snaplen, pkts, idle, rcv, drop)
		if rcv < uint64(pkts) || drop != 0 {
			return fmt.Errorf("kernel counters: received %d dropped %d for %d packets", rcv, drop, pkts)
		}
		// nothing arrives now: Interrupt ends the wait promptly
		go func() {
			time.Sleep(100 * time.Millisecond)
			s.Interrupt()
		}()
		start := time.Now()
		for {
			_, _, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != engine.ErrIdle {
				return fmt.Errorf("after Interrupt: %v", err)
			}
		}
		if el := time.Since(start); el > 3*time.Second {
			return fmt.Errorf("Interrupt took %v (poll every 50 ms)", el)
		}
		if err := s.Close(); err != nil {
			return err
		}
	}
	return nil
}

func TestOpenNoSuchInterface(t *testing.T) {
	_, err := Open("sxnope9", Options{})
	var ne *NoInterfaceError
	if !errors.As(err, &ne) {
		t.Fatalf("%v, want *NoInterfaceError", err)
	}
	if !strings.HasPrefix(err.Error(), "no such interface sxnope9 (interfaces: ") || !strings.Contains(err.Error(), "lo") {
		t.Errorf("%q", err)
	}
}

// Without the privilege, Open says what is missing (run as nobody).
func TestOpenWithoutPrivilege(t *testing.T) {
	if os.Geteuid() != 0 {
		_, err := Open("lo", Options{})
		if !errors.As(err, new(*PermissionError)) {
			t.Fatalf("unprivileged Open: %v", err)
		}
		return
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("SKIP: no setpriv to drop privileges (util-linux)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// a copy nobody may run
	dir, err := os.MkdirTemp("", "sxlive")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "live.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=open:lo")
	out, err := cmd.CombinedOutput()
	if bytes.Contains(out, []byte("setpriv:")) {
		t.Skipf("SKIP: setpriv cannot drop privileges here: %s", out)
	}
	want := "OPEN ERROR: capturing on lo needs root or the CAP_NET_RAW capability (e.g. sudo setcap cap_net_raw+ep $(which streamx))"
	if err != nil || !bytes.Contains(out, []byte(want)) {
		t.Fatalf("as nobody: %v\n%s\nwant %q", err, out, want)
	}
}
