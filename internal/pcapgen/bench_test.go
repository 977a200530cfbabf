package pcapgen

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func genBench(t testing.TB, target int64, seed uint64) ([]byte, *Truth) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Options{Step: 10 * 1000})
	if err != nil {
		t.Fatal(err)
	}
	truth, err := Bench(w, target, seed)
	if err != nil {
		t.Fatal(err)
	}
	if truth.Bytes != int64(buf.Len()) {
		t.Fatalf("truth says %d bytes, file has %d", truth.Bytes, buf.Len())
	}
	return buf.Bytes(), truth
}

func TestBenchDeterministic(t *testing.T) {
	a, ta := genBench(t, 4<<20, 3)
	b, tb := genBench(t, 4<<20, 3)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with the same seed differ")
	}
	var ja, jb bytes.Buffer
	if err := ta.WriteJSON(&ja); err != nil {
		t.Fatal(err)
	}
	tb.WriteJSON(&jb)
	if !bytes.Equal(ja.Bytes(), jb.Bytes()) {
		t.Fatal("truths differ")
	}
	c, _ := genBench(t, 4<<20, 4)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds give the same capture")
	}
	var back Truth
	if err := json.Unmarshal(ja.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Files) != len(ta.Files) || len(back.Conns) != len(ta.Conns) {
		t.Fatal("JSON round trip lost entries")
	}
}

// TestBenchTruth rebuilds every connection of a benchmark capture from the
// packets, parses HTTP and FTP, and checks every file against the truth.
func TestBenchTruth(t *testing.T) {
	const target = 24 << 20 // big enough for every kind of session to appear
	data, truth := genBench(t, target, 1)
	if r := float64(len(data)) / float64(target); r < 0.8 || r > 1.5 {
		t.Errorf("capture is %d bytes for a target of %d", len(data), target)
	}
	d := decodeCapture(t, data)
	if int64(d.packets) != truth.Packets {
		t.Errorf("%d packets, truth says %d", d.packets, truth.Packets)
	}
	if truth.Reordered == 0 || truth.Duplicated == 0 {
		t.Errorf("no reordered (%d) or duplicated (%d) segments", truth.Reordered, truth.Duplicated)
	}

	type key struct{ a, b netip.AddrPort }
	byTuple := map[key]int{}
	streams := make([][2]*stream, len(truth.Conns))
	v6 := 0
	for i, c := range truth.Conns {
		cl, sv := netip.MustParseAddrPort(c.Client), netip.MustParseAddrPort(c.Server)
		if _, dup := byTuple[key{cl, sv}]; dup {
			t.Fatalf("4-tuple %s %s reused", cl, sv)
		}
		if cl.Addr().Is6() {
			v6++
		}
		byTuple[key{cl, sv}] = i
		streams[i] = [2]*stream{{base: c.ClientISN + 1}, {base: c.ServerISN + 1}}
	}
	if v6 == 0 {
		t.Error("no IPv6 connection")
	}
	for _, s := range d.segs {
		dir := 0
		id, ok := byTuple[key{s.src, s.dst}]
		if !ok {
			dir = 1
			id, ok = byTuple[key{s.dst, s.src}]
		}
		if !ok {
			t.Fatalf("packet %d: unknown connection %s -> %s", s.n, s.src, s.dst)
		}
		if len(s.payload) == 0 {
			continue
		}
		limit := truth.Conns[id].ClientBytes
		if dir == 1 {
			limit = truth.Conns[id].ServerBytes
		}
		if err := streams[id][dir].add(s.seq, s.payload, int(limit)); err != nil {
			t.Fatalf("packet %d: %v", s.n, err)
		}
	}
	full := func(id, dir int) []byte {
		c := truth.Conns[id]
		n := c.ClientBytes
		if dir == 1 {
			n = c.ServerBytes
		}
		st := streams[id][dir]
		if h := st.holes(int(n)); len(h) > 0 {
			t.Fatalf("conn %d dir %d: holes %v", id, dir, h)
		}
		return st.buf[:n]
	}

	files := map[int][]FileTruth{}
	for _, f := range truth.Files {
		files[f.Conn] = append(files[f.Conn], f)
	}
	checked := 0
	check := func(f FileTruth, body []byte, what string) {
		t.Helper()
		checked++
		if got := hex.EncodeToString(sha(body)); got != f.WireSHA256 || int64(len(body)) != f.WireSize {
			t.Fatalf("%s %s: wire body %d bytes %s, truth %d %s", what, f.Name, len(body), got, f.WireSize, f.WireSHA256)
		}
		if f.ContentEncoding == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, err = io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := hex.EncodeToString(sha(body)); got != f.SHA256 || int64(len(body)) != f.Size {
			t.Fatalf("%s %s: content %d bytes %s, truth %d %s", what, f.Name, len(body), got, f.Size, f.SHA256)
		}
	}
	stats := map[string]int{}
	pasv := regexp.MustCompile(`^(?:227 Entering Passive Mode \((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)\.|229 Entering Extended Passive Mode \(\|\|\|(\d+)\|\))\r$`)
	for id, c := range truth.Conns {
		switch c.Proto {
		case "http":
			reqs := bufio.NewReader(bytes.NewReader(full(id, 0)))
			resps := bufio.NewReader(bytes.NewReader(full(id, 1)))
			fs := files[id]
			for i := 0; ; i++ {
				req, err := http.ReadRequest(reqs)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("conn %d request %d: %v", id, i, err)
				}
				reqBody, _ := io.ReadAll(req.Body)
				resp, err := http.ReadResponse(resps, req)
				if err != nil {
					t.Fatalf("conn %d response %d: %v", id, i, err)
				}
				respBody, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("conn %d response %d body: %v", id, i, err)
				}
				url := "http://" + req.Host + req.URL.Path
				for len(fs) > 0 && fs[0].Index == i {
					f := fs[0]
					fs = fs[1:]
					if f.Name != url || f.Command != req.Method {
						t.Fatalf("conn %d request %d: %s %s, truth %s %s", id, i, req.Method, url, f.Command, f.Name)
					}
					if f.Direction == "client-to-server" {
						check(f, reqBody, "request")
						continue
					}
					if resp.StatusCode != f.Status || resp.Header.Get("Content-Encoding") != f.ContentEncoding ||
						(len(resp.TransferEncoding) > 0) != f.Chunked {
						t.Fatalf("conn %d response %d: status %d headers %v, truth %+v", id, i, resp.StatusCode, resp.Header, f)
					}
					check(f, respBody, "response")
					stats[req.Method]++
					if f.Chunked {
						stats["chunked"]++
					}
					if f.ContentEncoding != "" {
						stats["gzip"]++
					}
				}
			}
			if len(fs) > 0 {
				t.Fatalf("conn %d: %d files in the truth not found", id, len(fs))
			}
		case "ftp":
			var mine []FileTruth
			for _, f := range truth.Files {
				if f.ControlConn != nil && *f.ControlConn == id {
					mine = append(mine, f)
				}
			}
			k := 0
			for line := range strings.Lines(string(full(id, 1))) {
				m := pasv.FindStringSubmatch(strings.TrimSuffix(line, "\n"))
				if m == nil {
					continue
				}
				var port int
				if m[7] != "" {
					port, _ = strconv.Atoi(m[7])
				} else {
					p1, _ := strconv.Atoi(m[5])
					p2, _ := strconv.Atoi(m[6])
					port = p1<<8 | p2
				}
				if k >= len(mine) || netip.MustParseAddrPort(mine[k].Server).Port() != uint16(port) {
					t.Fatalf("conn %d: passive port %d does not match the truth", id, port)
				}
				k++
			}
			cmds := string(full(id, 0))
			for _, f := range mine {
				if !strings.Contains(cmds, f.Command+" "+f.Name+"\r\n") {
					t.Fatalf("conn %d: %s %s not on the control connection", id, f.Command, f.Name)
				}
			}
			if k != len(mine) {
				t.Fatalf("conn %d: %d passive replies, %d transfers", id, k, len(mine))
			}
		case "ftp-data":
			fs := files[id]
			if len(fs) != 1 {
				t.Fatalf("data conn %d carries %d files", id, len(fs))
			}
			dir := 1
			if fs[0].Direction == "client-to-server" {
				dir = 0
			}
			if len(full(id, 1-dir)) != 0 {
				t.Fatalf("data conn %d has data both ways", id)
			}
			check(fs[0], full(id, dir), fs[0].Command)
			stats[fs[0].Command]++
		default:
			t.Fatalf("conn %d: proto %q", id, c.Proto)
		}
	}
	if checked != len(truth.Files) {
		t.Errorf("checked %d of %d files", checked, len(truth.Files))
	}
	for _, k := range []string{"GET", "POST", "RETR", "STOR", "chunked", "gzip"} {
		if stats[k] == 0 {
			t.Errorf("no %s in the mix: %v", k, stats)
		}
	}
	t.Logf("%d bytes, %d packets, %d conns (%d IPv6), %d files, %d reordered, %d duplicated, mix %v",
		len(data), d.packets, len(truth.Conns), v6, len(truth.Files), truth.Reordered, truth.Duplicated, stats)
}

func sha(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1G": 1 << 30, "512M": 512 << 20, "100k": 100 << 10, "12345": 12345, "1.5M": 3 << 19} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "G", "-1M", "abc", "0"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

// BenchmarkBench measures generation speed (MB/s of pcap written).
func BenchmarkBench(b *testing.B) {
	const target = 64 << 20
	b.SetBytes(target)
	for i := 0; b.Loop(); i++ {
		w, err := NewWriter(io.Discard, Options{Step: 10 * 1000})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Bench(w, target, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
}
