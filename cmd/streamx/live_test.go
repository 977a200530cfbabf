package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/streamx/streamx/flowlog"
)

// The live capture's command line: what is refused, and how.
func TestLiveUsage(t *testing.T) {
	gap := filepath.Join("..", "..", "testdata", "synthetic", "gap", "capture.pcap")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"flows"}, exitUsage, "nothing to read"},
		{[]string{"flows", "-i", "lo", gap}, exitUsage, "not both"},
		{[]string{"flows", "--count", "5", gap}, exitUsage, "--count: only for live capture"},
		{[]string{"flows", "-w", "x.pcap", "--duration", "3s", gap}, exitUsage, "--duration, --write: only for live capture"},
		{[]string{"flows", "-i", "lo", "--rotate-size", "1MB"}, exitUsage, "give -w FILE"},
		{[]string{"flows", "-i", "lo", "--snaplen", "0"}, exitUsage, "--snaplen must be"},
		{[]string{"flows", "-i", "lo", "--ring-size", "lots"}, exitUsage, "bad size"},
		{[]string{"flows", "-i", "sxnope9", "--count", "1"}, exitUsage, "no such interface sxnope9 (interfaces: "},
		{[]string{"extract", "-i", "sxnope9", "-o", t.TempDir()}, exitUsage, "no such interface sxnope9"},
	} {
		code, _, stderr := runCLI(t, time.Minute, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.want, stderr)
		}
	}
	// -w never overwrites
	old := filepath.Join(t.TempDir(), "old.pcap")
	os.WriteFile(old, []byte("evidence"), 0o644)
	if os.Geteuid() == 0 {
		code, _, stderr := runCLI(t, time.Minute, "flows", "-i", "lo", "--count", "1", "-w", old)
		if code != exitUsage || !strings.Contains(stderr, "file already exists (not overwritten)") {
			t.Errorf("-w onto an existing file: exit %d: %s", code, stderr)
		}
	}
}

// Without the privilege to capture, one clear line says what is missing.
func TestLiveWithoutPrivilege(t *testing.T) {
	bin := buildBinary(t)
	if os.Geteuid() != 0 {
		t.Skip("SKIP: not root: cannot switch to an unprivileged user to test the message")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("SKIP: no setpriv (util-linux) to run as an unprivileged user")
	}
	// a copy nobody may run
	dir, err := os.MkdirTemp("", "sxpriv")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	b, _ := os.ReadFile(bin)
	nb := filepath.Join(dir, "streamx")
	if err := os.WriteFile(nb, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", nb, "flows", "-i", "lo", "--count", "1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Run()
	if strings.Contains(stderr.String(), "setpriv:") {
		t.Skipf("SKIP: setpriv cannot drop privileges here: %s", stderr.String())
	}
	want := "streamx: capturing on lo needs root or the CAP_NET_RAW capability (e.g. sudo setcap cap_net_raw+ep $(which streamx))\n"
	if code := cmd.ProcessState.ExitCode(); code != exitDamaged || stderr.String() != want {
		t.Errorf("as nobody: exit %d, stderr %q; want exit %d and %q", code, stderr.String(), exitDamaged, want)
	}
}

// liveLab is two network namespaces joined by a veth pair: servers in
// nsA (10.231.0.1, veth-a), clients in nsB (10.231.0.2, veth-b). All of
// the test's traffic stays between them.
type liveLab struct {
	t          *testing.T
	nsA, nsB   string
	dir        string
	ctx        context.Context
	mu         sync.Mutex
	background []*bgProc
}

const (
	labServer = "10.231.0.1"
	labClient = "10.231.0.2"
)

func newLiveLab(t *testing.T) *liveLab {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP: -short: no live capture test")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIP: live capture test: network namespaces and packet sockets need root")
	}
	for _, tool := range []string{"ip", "tcpdump", "curl", "wget", "/usr/bin/python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: live capture test: %s missing (apt-get install iproute2 tcpdump curl wget python3-pyftpdlib)", tool)
		}
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import pyftpdlib").CombinedOutput(); err != nil {
		t.Skipf("SKIP: live capture test: no pyftpdlib for /usr/bin/python3 (apt-get install python3-pyftpdlib): %s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	l := &liveLab{t: t, ctx: ctx, dir: t.TempDir(),
		nsA: fmt.Sprintf("sxA%d", os.Getpid()), nsB: fmt.Sprintf("sxB%d", os.Getpid())}
	if out, err := exec.Command("ip", "netns", "add", l.nsA).CombinedOutput(); err != nil {
		t.Skipf("SKIP: live capture test: cannot make a network namespace here: %v: %s", err, out)
	}
	t.Cleanup(func() { delNamespace(l.nsA) })
	if out, err := exec.Command("ip", "netns", "add", l.nsB).CombinedOutput(); err != nil {
		t.Skipf("SKIP: live capture test: cannot make a network namespace here: %v: %s", err, out)
	}
	t.Cleanup(func() { delNamespace(l.nsB) })
	t.Cleanup(l.stopAll) // runs first: processes end before their namespaces go
	for _, args := range [][]string{
		{"link", "add", "veth-a", "netns", l.nsA, "type", "veth", "peer", "name", "veth-b", "netns", l.nsB},
		{"-n", l.nsA, "addr", "add", labServer + "/24", "dev", "veth-a"},
		{"-n", l.nsB, "addr", "add", labClient + "/24", "dev", "veth-b"},
		{"-n", l.nsA, "link", "set", "lo", "up"},
		{"-n", l.nsB, "link", "set", "lo", "up"},
		{"-n", l.nsA, "link", "set", "veth-a", "up"},
		{"-n", l.nsB, "link", "set", "veth-b", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Skipf("SKIP: live capture test: ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return l
}

// delNamespace ends whatever still runs in namespace ns (all of it
// started by the test) and deletes it.
func delNamespace(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	exec.Command("ip", "netns", "del", ns).Run()
}

// in returns a command run inside namespace ns.
func (l *liveLab) in(ns string, args ...string) *exec.Cmd {
	return exec.CommandContext(l.ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

// run runs a command inside ns to its end.
func (l *liveLab) run(ns string, args ...string) string {
	l.t.Helper()
	out, err := l.in(ns, args...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// bgProc is a command running in the background.
type bgProc struct {
	cmd  *exec.Cmd
	log  *syncBuffer // stderr, and stdout unless it went elsewhere
	done chan struct{}
}

func (p *bgProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// start starts a command inside ns in the background; if ready is set, it
// waits until its stderr says so. It is killed at the end of the test if
// still running.
func (l *liveLab) start(ns string, stdout io.Writer, ready string, args ...string) *bgProc {
	l.t.Helper()
	p := &bgProc{cmd: l.in(ns, args...), log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.WaitDelay = 5 * time.Second
	p.cmd.Stdout = stdout
	if stdout == nil {
		p.cmd.Stdout = p.log
	}
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			p.log.Write(append(sc.Bytes(), '\n'))
			if ready != "" && strings.Contains(sc.Text(), ready) {
				once.Do(func() { close(seen) })
			}
		}
		io.Copy(io.Discard, pr)
	}()
	if err := p.cmd.Start(); err != nil {
		l.t.Fatalf("%s: %v", args[0], err)
	}
	go func() {
		p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	l.mu.Lock()
	l.background = append(l.background, p)
	l.mu.Unlock()
	if ready != "" {
		select {
		case <-seen:
		case <-p.done:
			l.t.Fatalf("%s ended: %s", strings.Join(args, " "), p.log)
		case <-time.After(20 * time.Second):
			l.t.Fatalf("%s did not get ready: %s", strings.Join(args, " "), p.log)
		}
	}
	return p
}

// waitListening waits until something listens on the TCP port in nsA.
func (l *liveLab) waitListening(port string) {
	l.t.Helper()
	for i := 0; i < 200; i++ {
		out, _ := l.in(l.nsA, "ss", "-Hltn").Output()
		if strings.Contains(string(out), ":"+port+" ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.t.Fatalf("nothing listens on port %s in %s", port, l.nsA)
}

func (l *liveLab) stopAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.background {
		if p.running() {
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	l.background = nil
}

// wait waits for a background command to end, at most limit.
func (l *liveLab) wait(p *bgProc, limit time.Duration) int {
	l.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		l.t.Fatalf("%v still running after %v", p.cmd.Args, limit)
	}
	return -1
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// labFile writes a file of n pseudo-random bytes (fixed seed) and returns
// its SHA-256.
func labFile(t *testing.T, path string, n int, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// startHTTP serves dir on labServer:8080 in nsA: nginx with a private
// configuration, or Python's http.server where nginx is missing.
func (l *liveLab) startHTTP(dir string) string {
	if nginx, err := exec.LookPath("nginx"); err == nil {
		prefix := filepath.Join(l.dir, "nginx")
		os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755)
		conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	types { text/html html; text/plain txt; application/octet-stream bin; }
	server { listen %[2]s:8080; root %[3]s; }
}
`, prefix, labServer, dir)
		os.WriteFile(filepath.Join(prefix, "nginx.conf"), []byte(conf), 0o644)
		l.start(l.nsA, nil, "", nginx, "-p", prefix, "-e", filepath.Join(prefix, "error.log"), "-c", filepath.Join(prefix, "nginx.conf"))
		l.waitListening("8080")
		return "nginx"
	}
	l.start(l.nsA, nil, "", "/usr/bin/python3", "-m", "http.server", "8080", "--bind", labServer, "--directory", dir)
	l.waitListening("8080")
	return "python3 http.server"
}

// startFTP serves dir (read and write, user sx) on labServer:2121 in nsA
// with pyftpdlib, passive ports 60000-60009.
func (l *liveLab) startFTP(dir string) {
	script := fmt.Sprintf(`
import logging
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
logging.basicConfig(level=logging.WARNING)
a = DummyAuthorizer()
a.add_user("sx", "sxpass", %q, perm="elradfmw")
FTPHandler.authorizer = a
FTPHandler.passive_ports = range(60000, 60010)
FTPServer((%q, 2121), FTPHandler).serve_forever()
`, dir, labServer)
	l.start(l.nsA, nil, "", "/usr/bin/python3", "-c", script)
	l.waitListening("2121")
}

type labManifest struct {
	Filename string `json:"filename"`
	Source   string `json:"source"`
	State    string `json:"state"`
	SHA256   string `json:"sha256"`
	Seen     int64  `json:"seen_bytes"`
}

func readManifest(t *testing.T, path string) []labManifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []labManifest
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m labManifest
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

// flowKey and flowFacts are what must agree between two runs over the
// same traffic: the connection, its lifecycle and its byte counts.
func flowKey(r *flowlog.Record) string {
	return fmt.Sprintf("%s:%d>%s:%d", r.OrigH, r.OrigP, r.RespH, r.RespP)
}

// flowFacts is what two captures of the same traffic must agree on; not the
// UID, which is the number of the connection's first packet: two captures
// need not count the same non-TCP packets before it.
func flowFacts(r *flowlog.Record) string {
	return fmt.Sprintf("service=%s state=%s conn_state=%s history=%s end=%s bytes=%d/%d pkts=%d/%d ip_bytes=%d/%d missed=%d retrans=%d/%d",
		r.Service, r.State, r.ConnState, r.History, r.EndReason, r.OrigBytes, r.RespBytes,
		r.OrigPkts, r.RespPkts, r.OrigIPBytes, r.RespIPBytes, r.MissedBytes, r.OrigRetrans, r.RespRetrans)
}

// tcpFrames lists the IPv4 TCP frames of a pcap file, in order.
func tcpFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if len(data) > 23 && data[12] == 0x08 && data[13] == 0x00 && data[23] == 6 {
			out = append(out, data)
		}
	}
	return out
}

var kernelLine = regexp.MustCompile(`kernel: (\d+) packets received, (\d+) dropped`)

// Real servers (nginx, pyftpdlib) in one namespace, real clients (curl,
// wget) in another, joined by a veth pair; streamx captures live on the
// server's side of the veth while tcpdump captures the same interface.
// streamx extract on the tcpdump file must give the same connections
// (states, histories, byte counts) and the same carved files (SHA-256) as
// the live run, and the live run's own -w file must hold the same TCP
// packets as tcpdump's.
func TestLiveCaptureMatchesTcpdump(t *testing.T) {
	l := newLiveLab(t)
	bin := buildBinary(t)

	www := filepath.Join(l.dir, "www")
	ftp := filepath.Join(l.dir, "ftp")
	cli := filepath.Join(l.dir, "client")
	for _, d := range []string{www, ftp, cli} {
		os.MkdirAll(d, 0o755)
	}
	want := map[string]string{} // name -> sha256 of what crossed the wire
	os.WriteFile(filepath.Join(www, "index.html"), []byte("<html><body><h1>streamx live</h1></body></html>\n"), 0o644)
	want["index.html"] = func() string {
		s := sha256.Sum256([]byte("<html><body><h1>streamx live</h1></body></html>\n"))
		return hex.EncodeToString(s[:])
	}()
	want["blob.bin"] = labFile(t, filepath.Join(www, "blob.bin"), 300_000, 1)
	want["page.txt"] = labFile(t, filepath.Join(www, "page.txt"), 20_000, 2)
	want["report.bin"] = labFile(t, filepath.Join(ftp, "report.bin"), 250_000, 3)
	want["notes.txt"] = labFile(t, filepath.Join(ftp, "notes.txt"), 9_000, 4)
	want["upload.bin"] = labFile(t, filepath.Join(cli, "upload.bin"), 120_000, 5)

	httpServer := l.startHTTP(www)
	// 5 FTP sessions with a data connection each; curl's two HTTP requests
	// share a connection with nginx (keep-alive), not with http.server
	// (HTTP/1.0); wget's is another
	wantConns := 12
	if httpServer != "nginx" {
		wantConns = 13
	}
	l.startFTP(ftp)

	// two captures of veth-a at once, a third that prints events, and a
	// fourth that finishes connections 2 s after they close (linger: twice
	// --reorder-window), while it still runs
	dump := filepath.Join(l.dir, "tcpdump.pcap")
	tcpdump := l.start(l.nsA, nil, "listening on", "tcpdump", "-i", "veth-a", "-n", "-U", "-Z", "root",
		"-s", "262144", "--time-stamp-precision=nano", "-w", dump)
	liveOut := filepath.Join(l.dir, "live")
	livePcap := filepath.Join(l.dir, "live.pcap")
	const duration = 15 * time.Second // room for a loaded CI machine
	streamx := l.start(l.nsA, nil, "listening on", bin, "extract", "-i", "veth-a",
		"--duration", duration.String(), "-o", liveOut, "-w", livePcap)
	events := &syncBuffer{}
	flows := l.start(l.nsA, events, "listening on", bin, "flows", "--events", "--json", "-i", "veth-a",
		"--duration", duration.String())
	earlyOut := filepath.Join(l.dir, "early")
	early := l.start(l.nsA, nil, "listening on", bin, "extract", "-i", "veth-a", "--reorder-window", "1s",
		"--duration", duration.String(), "-o", earlyOut)
	started := time.Now()

	ftpURL := "ftp://sx:sxpass@" + labServer + ":2121/"
	httpURL := "http://" + labServer + ":8080/"
	for _, args := range [][]string{
		{"curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-o", "/dev/null", httpURL + "index.html", httpURL + "blob.bin"}, // one connection
		{"wget", "-q", "-T", "10", "-t", "1", "-O", "/dev/null", httpURL + "page.txt"},
		{"curl", "-sS", "--max-time", "10", "-o", "/dev/null", ftpURL + "report.bin"},                  // EPSV
		{"curl", "-sS", "--max-time", "10", "--disable-epsv", "-o", "/dev/null", ftpURL + "notes.txt"}, // PASV
		{"wget", "-q", "-T", "10", "-t", "1", "-O", "/dev/null", ftpURL + "notes.txt"},
		{"curl", "-sS", "--max-time", "10", "-T", filepath.Join(cli, "upload.bin"), ftpURL + "upload.bin"}, // STOR
		{"curl", "-sS", "--max-time", "10", "-P", labClient, "-o", "/dev/null", ftpURL + "report.bin"},     // active: PORT
	} {
		l.run(l.nsB, args...)
	}
	traffic := time.Since(started)
	if traffic > duration-4*time.Second {
		t.Fatalf("the clients took %v, too close to the capture's %v", traffic, duration)
	}
	// idle ticks: the quiet capture's clock runs on, the closed connections
	// are finished and written while the capture goes on
	var earlyLines int
	for early.running() && earlyLines < wantConns {
		b, _ := os.ReadFile(filepath.Join(earlyOut, "flows.jsonl"))
		earlyLines = bytes.Count(b, []byte("\n"))
		time.Sleep(50 * time.Millisecond)
	}
	earlyAt := time.Since(started)
	if earlyLines < wantConns || !early.running() {
		t.Errorf("the live capture with --reorder-window 1s had written %d of %d connections when it ended", earlyLines, wantConns)
	}
	if code := l.wait(streamx, duration+20*time.Second); code != 0 {
		t.Fatalf("streamx extract -i: exit %d\n%s", code, streamx.log)
	}
	l.wait(flows, duration+20*time.Second)
	l.wait(early, duration+20*time.Second)
	tcpdump.cmd.Process.Signal(syscall.SIGINT)
	l.wait(tcpdump, 20*time.Second)
	t.Logf("HTTP server %s; traffic took %v; with --reorder-window 1s all %d connections were on disk %v after it began, the capture still running\nstreamx extract -i:\n%s",
		httpServer, traffic.Round(time.Millisecond), wantConns, earlyAt.Round(time.Millisecond), streamx.log)
	for _, r := range readFlows(t, filepath.Join(earlyOut, "flows.jsonl")) {
		if r.EndReason != "closed" {
			t.Errorf("--reorder-window 1s: %s finished as %q, want closed (while running)", r.UID, r.EndReason)
		}
	}

	// streamx on tcpdump's capture, and on its own -w capture
	fromDump := filepath.Join(l.dir, "from-tcpdump")
	if code, _, stderr := runCLI(t, time.Minute, "extract", dump, "-o", fromDump); code != 0 {
		t.Fatalf("extract tcpdump.pcap: exit %d\n%s", code, stderr)
	}
	fromW := filepath.Join(l.dir, "from-w")
	if code, _, stderr := runCLI(t, time.Minute, "extract", livePcap, "-o", fromW); code != 0 {
		t.Fatalf("extract live.pcap: exit %d\n%s", code, stderr)
	}

	// flows
	liveFlows := readFlows(t, filepath.Join(liveOut, "flows.jsonl"))
	facts := func(recs []flowlog.Record) map[string]string {
		m := map[string]string{}
		for i := range recs {
			m[flowKey(&recs[i])] = flowFacts(&recs[i])
		}
		return m
	}
	lf := facts(liveFlows)
	if len(liveFlows) != wantConns {
		t.Errorf("live: %d connections, want %d", len(liveFlows), wantConns)
	}
	var maxSkew time.Duration
	for name, dir := range map[string]string{"tcpdump.pcap": fromDump, "-w live.pcap": fromW} {
		recs := readFlows(t, filepath.Join(dir, "flows.jsonl"))
		of := facts(recs)
		for i := range recs {
			for j := range liveFlows {
				if flowKey(&recs[i]) == flowKey(&liveFlows[j]) {
					skew := recs[i].TS.Time.Sub(liveFlows[j].TS.Time).Abs()
					if skew > time.Millisecond {
						t.Errorf("%s: first packet at %v live, %v in %s", flowKey(&recs[i]), liveFlows[j].TS.Time, recs[i].TS.Time, name)
					}
					maxSkew = max(maxSkew, skew)
				}
			}
		}
		keys := map[string]bool{}
		for k := range lf {
			keys[k] = true
		}
		for k := range of {
			keys[k] = true
		}
		for k := range keys {
			if lf[k] != of[k] {
				t.Errorf("%s: live and %s differ:\n  live: %s\n  file: %s", k, name, lf[k], of[k])
			}
		}
	}
	var states []string
	for i := range liveFlows {
		r := &liveFlows[i]
		states = append(states, fmt.Sprintf("%s %s %s %s %d/%d", flowKey(r), r.Service, r.ConnState, r.History, r.OrigBytes, r.RespBytes))
		if r.ConnState != "SF" || r.MissedBytes != 0 {
			t.Errorf("live %s: %s", flowKey(r), flowFacts(r))
		}
	}
	sort.Strings(states)
	t.Logf("live connections (same in both captures; timestamps within %v):\n  %s", maxSkew, strings.Join(states, "\n  "))

	// carved files: those the traffic carried by hash; what streamx
	// writes itself (an FTP session's transcript, which shows packet
	// times) by name and size, as two sockets' timestamps differ by
	// about a microsecond
	hashes := func(dir string) []string {
		var out []string
		for _, m := range readManifest(t, filepath.Join(dir, "manifest.jsonl")) {
			if m.Source == "FTP_DATA" || m.Source == "HTTP" {
				out = append(out, m.Filename+" "+m.State+" "+m.SHA256)
			} else {
				out = append(out, fmt.Sprintf("%s %s %s %d bytes", m.Filename, m.Source, m.State, m.Seen))
			}
		}
		sort.Strings(out)
		return out
	}
	lh, dh, wh := hashes(liveOut), hashes(fromDump), hashes(fromW)
	if strings.Join(lh, "\n") != strings.Join(dh, "\n") || strings.Join(lh, "\n") != strings.Join(wh, "\n") {
		t.Errorf("carved files differ:\nlive:\n  %s\ntcpdump.pcap:\n  %s\n-w live.pcap:\n  %s",
			strings.Join(lh, "\n  "), strings.Join(dh, "\n  "), strings.Join(wh, "\n  "))
	}
	for name, sum := range want {
		n := 0
		for _, h := range lh {
			if strings.HasSuffix(h, " complete "+sum) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s (sha256 %s) not carved complete from the live capture", name, sum)
		}
	}
	t.Logf("carved files (same in both captures):\n  %s", strings.Join(lh, "\n  "))

	// packets: the -w file holds tcpdump's TCP packets, byte for byte. Two
	// packet sockets on one interface may each see a few packets in another
	// order on a loaded machine, so they are compared as sets.
	df, wf := tcpFrames(t, dump), tcpFrames(t, livePcap)
	if len(df) != len(wf) {
		t.Errorf("TCP packets: tcpdump %d, -w %d", len(df), len(wf))
	}
	reordered := 0
	for i := 0; i < len(df) && i < len(wf); i++ {
		if !bytes.Equal(df[i], wf[i]) {
			reordered++
		}
	}
	sortFrames := func(f [][]byte) { slices.SortFunc(f, bytes.Compare) }
	sortFrames(df)
	sortFrames(wf)
	for i := 0; i < len(df) && i < len(wf); i++ {
		if !bytes.Equal(df[i], wf[i]) {
			t.Errorf("the -w file and tcpdump's capture hold different TCP packets")
			break
		}
	}
	if reordered > 0 {
		t.Logf("%d packets in another order in -w than in tcpdump's capture", reordered)
	}

	// the kernel's counters
	m := kernelLine.FindStringSubmatch(streamx.log.String())
	if m == nil {
		t.Fatalf("no kernel counters in the summary:\n%s", streamx.log)
	}
	if m[2] != "0" {
		t.Errorf("kernel dropped %s packets of %s", m[2], m[1])
	}
	t.Logf("TCP packets: %d in tcpdump's capture, %d in -w; kernel: %s received, %s dropped", len(df), len(wf), m[1], m[2])

	// flows --events: every connection's transitions, ending CLOSED (by
	// endpoints: UIDs are packet numbers, and the two live captures do not
	// count the same packets)
	last := map[string]string{}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(events.String()), "\n") {
		var ev struct {
			flowlog.Record
			To string `json:"to"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil {
			t.Fatalf("flows --events --json: bad line %q\n%s", line, flows.log)
		}
		last[flowKey(&ev.Record)] = ev.To
		n++
	}
	for i := range liveFlows {
		if k := flowKey(&liveFlows[i]); last[k] != "CLOSED" {
			t.Errorf("flows --events -i: %s last went to %q, want CLOSED", k, last[k])
		}
	}
	t.Logf("flows --events -i: %d transitions", n)
}

// Ctrl-C ends a live capture cleanly: a connection still open is finished
// as interrupted and written, the -w file is complete, exit 130.
func TestLiveInterrupt(t *testing.T) {
	l := newLiveLab(t)
	bin := buildBinary(t)
	l.startFTP(t.TempDir())
	out := filepath.Join(l.dir, "out")
	pcap := filepath.Join(l.dir, "w.pcap")
	sx := l.start(l.nsA, nil, "listening on", bin, "extract", "-i", "veth-a", "-o", out, "-w", pcap)
	// a client that logs in and stays connected
	client := l.start(l.nsB, nil, "logged in", "/usr/bin/python3", "-c", `
import socket, sys, time
s = socket.create_connection(("`+labServer+`", 2121))
f = s.makefile("rb")
f.readline()
for c in (b"USER sx\r\n", b"PASS sxpass\r\n"):
    s.sendall(c)
    f.readline()
print("logged in", file=sys.stderr, flush=True)
time.sleep(60)
`)
	time.Sleep(500 * time.Millisecond) // the capture sees the quiet connection tick by
	start := time.Now()
	sx.cmd.Process.Signal(syscall.SIGINT)
	code := l.wait(sx, 20*time.Second)
	took := time.Since(start)
	client.cmd.Process.Kill()
	if code != exitSignal {
		t.Fatalf("exit %d after SIGINT, want %d\n%s", code, exitSignal, sx.log)
	}
	if took > 5*time.Second {
		t.Errorf("SIGINT took %v to end the capture", took)
	}
	recs := readFlows(t, filepath.Join(out, "flows.jsonl"))
	if len(recs) != 1 || recs[0].EndReason != "interrupted" || recs[0].State != "ESTABLISHED" || recs[0].OrigBytes == 0 {
		t.Errorf("flows after SIGINT: %+v", recs)
	}
	if frames := tcpFrames(t, pcap); len(frames) < 6 {
		t.Errorf("-w file after SIGINT: %d TCP packets", len(frames))
	}
	t.Logf("SIGINT ended the capture in %v\n%s", took.Round(time.Millisecond), sx.log)
}
