package sink

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/streamx/streamx/manifest"
)

var t0 = time.Unix(1700000000, 123456000).UTC()

// env is one sink writing into parent/out, with its manifest in
// parent/out/manifest.jsonl.
type env struct {
	parent, dir string
	sink        *Sink
	mf          *manifest.Writer
	mfPath      string
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	e := &env{parent: t.TempDir()}
	e.dir = filepath.Join(e.parent, "out")
	if err := os.Mkdir(e.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.mfPath = filepath.Join(e.dir, "manifest.jsonl")
	mf, err := manifest.NewWriter(e.mfPath)
	if err != nil {
		t.Fatal(err)
	}
	e.mf = mf
	opts.Manifest = mf
	s, err := New(e.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.sink = s
	t.Cleanup(func() { s.Close(); mf.Close() })
	return e
}

func meta(name string) Meta {
	return Meta{
		UID: "CabcDEF123",
		Conn: manifest.ConnID{
			OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 40000,
			RespH: netip.MustParseAddr("10.0.0.2"), RespP: 20,
		},
		Source:       "FTP_DATA",
		Subdir:       "ftp",
		Name:         name,
		Command:      "RETR",
		ServerPath:   "/pub/" + name,
		ExpectedSize: -1,
		TS:           t0,
	}
}

func (e *env) create(t *testing.T, m Meta) *File {
	t.Helper()
	f, err := e.sink.Create(m)
	if err != nil {
		t.Fatalf("Create(%q): %v", m.Name, err)
	}
	return f
}

func (e *env) read(t *testing.T, en manifest.Entry) []byte {
	t.Helper()
	if strings.Contains(en.Extracted, `\`) || filepath.IsAbs(en.Extracted) {
		t.Fatalf("extracted %q: not a relative slash path", en.Extracted)
	}
	b, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(en.Extracted)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) entries(t *testing.T) []manifest.Entry {
	t.Helper()
	b, err := os.ReadFile(e.mfPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []manifest.Entry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var en manifest.Entry
		if err := json.Unmarshal(sc.Bytes(), &en); err != nil {
			t.Fatalf("manifest line %q: %v", sc.Text(), err)
		}
		out = append(out, en)
	}
	return out
}

// noPart asserts no .part file is left anywhere under the output dir.
func (e *env) noPart(t *testing.T) {
	t.Helper()
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, partSuffix) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sums(b []byte) (string, string) {
	m := md5.Sum(b)
	s := sha256.Sum256(b)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

func TestSequentialHashes(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		chunk int
	}{
		{"empty", 0, 1},
		{"one byte", 1, 1},
		{"small", 100, 7},
		{"sniff boundary", 3072, 1000},
		{"buffer+1", bufSize + 1, 1460},
		{"1MiB in big pieces", 1 << 20, 64 << 10},
		{"1MiB in odd pieces", 1<<20 + 3, 33333},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			data := pattern(tt.size, uint64(i))
			f := e.create(t, meta("seq.dat"))
			for off := 0; off < len(data); off += tt.chunk {
				p := data[off:min(off+tt.chunk, len(data))]
				n, err := f.Write(p)
				if err != nil || n != len(p) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if f.Size() != int64(tt.size) {
				t.Errorf("Size = %d", f.Size())
			}
			en, err := f.Close(Complete, "")
			if err != nil {
				t.Fatal(err)
			}
			wantMD5, wantSHA := sums(data)
			if en.State != "complete" || en.Reason != "" || en.MD5 != wantMD5 || en.SHA256 != wantSHA {
				t.Errorf("entry = %+v, want complete md5 %s sha256 %s", en, wantMD5, wantSHA)
			}
			if en.SeenBytes != int64(tt.size) || en.MissingBytes != 0 || len(en.Holes) != 0 {
				t.Errorf("seen %d missing %d holes %v", en.SeenBytes, en.MissingBytes, en.Holes)
			}
			if got := e.read(t, en); !bytes.Equal(got, data) {
				t.Errorf("content differs (%d vs %d bytes)", len(got), len(data))
			}
			if en.Extracted != "files/ftp/seq.dat" {
				t.Errorf("extracted %q", en.Extracted)
			}
			e.noPart(t)
		})
	}
}

// op is one step on a File in table tests.
type op struct {
	write   []int // [from, to) of the test data, appended at the cursor
	gap     int64
	writeAt []int // [from, to) of the test data at offset from
}

func w(from, to int) op  { return op{write: []int{from, to}} }
func g(n int64) op       { return op{gap: n} }
func at(from, to int) op { return op{writeAt: []int{from, to}} }
func holes(h ...int64) []manifest.Hole {
	var out []manifest.Hole
	for i := 0; i < len(h); i += 2 {
		out = append(out, manifest.Hole{Offset: h[i], Length: h[i+1]})
	}
	return out
}

func apply(t *testing.T, f *File, data []byte, ops []op) {
	t.Helper()
	for _, o := range ops {
		switch {
		case o.write != nil:
			if _, err := f.Write(data[o.write[0]:o.write[1]]); err != nil {
				t.Fatal(err)
			}
		case o.writeAt != nil:
			if err := f.WriteAt(data[o.writeAt[0]:o.writeAt[1]], int64(o.writeAt[0])); err != nil {
				t.Fatal(err)
			}
		default:
			f.Gap(o.gap)
		}
	}
}

func TestCoverage(t *testing.T) {
	const n = 100_000
	data := pattern(n, 42)
	tests := []struct {
		name       string
		ops        []op
		expected   int64
		state      State
		reason     string
		wantState  string
		wantReason string
		wantSize   int64
		wantHoles  []manifest.Hole
	}{
		{
			name:      "gap in the middle",
			ops:       []op{w(0, 1000), g(500), w(1500, n)},
			state:     Complete,
			wantState: "truncated", wantReason: "gap",
			wantSize: n, wantHoles: holes(1000, 500),
		},
		{
			name:      "gap at start (joined mid-stream)",
			ops:       []op{g(4000), w(4000, n)},
			state:     Complete,
			wantState: "truncated", wantReason: "gap",
			wantSize: n, wantHoles: holes(0, 4000),
		},
		{
			name:      "trailing gap keeps the size",
			ops:       []op{w(0, 50_000), g(50_000)},
			state:     Complete,
			wantState: "truncated", wantReason: "gap",
			wantSize: n, wantHoles: holes(50_000, 50_000),
		},
		{
			name:  "several gaps, caller reason kept",
			ops:   []op{w(0, 10), g(10), w(20, 30), g(70_000), w(70_030, 80_000)},
			state: Truncated, reason: "connection reset",
			wantState: "truncated", wantReason: "connection reset",
			wantSize: 80_000, wantHoles: holes(10, 10, 30, 70_000),
		},
		{
			name:      "WriteAt out of order, fully covered",
			ops:       []op{at(60_000, n), at(0, 1), at(30_000, 60_000), at(1, 30_000)},
			state:     Complete,
			wantState: "complete", wantSize: n,
		},
		{
			name:      "WriteAt overlapping pieces, fully covered",
			ops:       []op{at(0, 600), at(500, 2000), at(100, 1500), at(1999, n), at(5, 10)},
			state:     Complete,
			wantState: "complete", wantSize: n,
		},
		{
			name:      "gap filled later by WriteAt",
			ops:       []op{w(0, 1000), g(1000), w(2000, n), at(1000, 2000)},
			state:     Complete,
			wantState: "complete", wantSize: n,
		},
		{
			name:      "WriteAt partially covering",
			ops:       []op{at(0, 100), at(200, 300), at(90_000, n)},
			state:     Complete,
			wantState: "truncated", wantReason: "gap",
			wantSize: n, wantHoles: holes(100, 100, 300, 89_700),
		},
		{
			name:      "REST: data from an offset",
			ops:       []op{g(40_000), w(40_000, n)},
			expected:  n,
			state:     Complete,
			wantState: "truncated", wantReason: "gap",
			wantSize: n, wantHoles: holes(0, 40_000),
		},
		{
			name:      "expected size matches",
			ops:       []op{w(0, n)},
			expected:  n,
			state:     Complete,
			wantState: "complete", wantSize: n,
		},
		{
			name:      "short of expected size",
			ops:       []op{w(0, 60_000)},
			expected:  n,
			state:     Complete,
			wantState: "truncated", wantReason: "short",
			wantSize: 60_000,
		},
		{
			name:     "short, caller reason kept",
			ops:      []op{w(0, 60_000)},
			expected: n,
			state:    Truncated, reason: "connection reset",
			wantState: "truncated", wantReason: "connection reset",
			wantSize: 60_000,
		},
		{
			name:      "longer than expected",
			ops:       []op{w(0, n)},
			expected:  n - 1,
			state:     Complete,
			wantState: "truncated", wantReason: "size-mismatch",
			wantSize: n,
		},
		{
			name:  "caller truncated without holes: no hash",
			ops:   []op{w(0, n)},
			state: Truncated, reason: "connection reset",
			wantState: "truncated", wantReason: "connection reset",
			wantSize: n,
		},
		{
			name:      "zero State is truncated",
			ops:       []op{w(0, n)},
			wantState: "truncated", wantReason: "unspecified",
			wantSize: n,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			m := meta("cov.bin")
			m.ExpectedSize = -1
			if tt.expected != 0 {
				m.ExpectedSize = tt.expected
			}
			f := e.create(t, m)
			apply(t, f, data, tt.ops)
			en, err := f.Close(tt.state, tt.reason)
			if err != nil {
				t.Fatal(err)
			}
			if en.State != tt.wantState || en.Reason != tt.wantReason {
				t.Errorf("state %q reason %q, want %q %q", en.State, en.Reason, tt.wantState, tt.wantReason)
			}
			if !slices.Equal(en.Holes, tt.wantHoles) {
				t.Errorf("holes %v, want %v", en.Holes, tt.wantHoles)
			}
			var missing int64
			for _, h := range tt.wantHoles {
				missing += h.Length
			}
			if en.MissingBytes != missing || en.SeenBytes != tt.wantSize-missing {
				t.Errorf("missing %d seen %d, want %d %d", en.MissingBytes, en.SeenBytes, missing, tt.wantSize-missing)
			}
			if (en.TotalBytes != nil) != (m.ExpectedSize >= 0) || en.TotalBytes != nil && *en.TotalBytes != m.ExpectedSize {
				t.Errorf("total_bytes %v, expected size %d", en.TotalBytes, m.ExpectedSize)
			}
			// Read back: true offsets, zeros in the holes.
			got := e.read(t, en)
			if int64(len(got)) != tt.wantSize {
				t.Fatalf("file is %d bytes, want %d", len(got), tt.wantSize)
			}
			want := slices.Clone(data[:tt.wantSize])
			for _, h := range tt.wantHoles {
				clear(want[h.Offset : h.Offset+h.Length])
			}
			if !bytes.Equal(got, want) {
				t.Errorf("content differs from data with zeroed holes")
			}
			if tt.wantState == "complete" {
				m5, s256 := sums(data[:tt.wantSize])
				if en.MD5 != m5 || en.SHA256 != s256 {
					t.Errorf("hashes %s %s, want %s %s", en.MD5, en.SHA256, m5, s256)
				}
			} else if en.MD5 != "" || en.SHA256 != "" {
				t.Errorf("truncated file has hashes %q %q", en.MD5, en.SHA256)
			}
			e.noPart(t)
		})
	}
}

func TestMaxFileSize(t *testing.T) {
	const limit = 10_000
	data := pattern(50_000, 7)
	tests := []struct {
		name     string
		ops      []op
		wantSize int64
		dropped  int64
		holes    []manifest.Hole
	}{
		{"write crosses the limit", []op{w(0, 9000), w(9000, 12_000), w(12_000, 50_000)}, limit, 40_000, nil},
		{"exactly at the limit, then more", []op{w(0, limit), w(limit, limit+1)}, limit, 1, nil},
		{"gap crosses the limit", []op{w(0, 5000), g(1 << 40), w(5000, 6000)}, limit, 1000, holes(5000, 5000)},
		{"WriteAt beyond the limit", []op{w(0, 100), at(20_000, 30_000), w(100, 200)}, 100, 10_100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{MaxFileSize: limit})
			f := e.create(t, meta("big.bin"))
			apply(t, f, data, tt.ops)
			en, err := f.Close(Complete, "")
			if err != nil {
				t.Fatal(err)
			}
			if en.State != "truncated" || en.Reason != "max-file-size" || en.MD5 != "" {
				t.Errorf("entry %+v", en)
			}
			if got := e.read(t, en); int64(len(got)) != tt.wantSize {
				t.Errorf("size on disk %d, want %d", len(got), tt.wantSize)
			}
			if !slices.Equal(en.Holes, tt.holes) {
				t.Errorf("holes %v, want %v", en.Holes, tt.holes)
			}
			if st := e.sink.Stats(); st.DroppedBytes != tt.dropped || st.Truncated != 1 || st.Open != 0 {
				t.Errorf("stats %+v, want dropped %d", st, tt.dropped)
			}
			// Closing again gives the same entry; one manifest line only.
			en2, err := f.Close(Complete, "")
			if err != nil || en2.FUID != en.FUID {
				t.Errorf("second Close = %v, %v", en2.FUID, err)
			}
			if _, err := f.Write([]byte("x")); err != ErrClosed {
				t.Errorf("Write after Close: %v", err)
			}
			if n := len(e.entries(t)); n != 1 {
				t.Errorf("%d manifest lines", n)
			}
			e.noPart(t)
		})
	}
}

func TestMaxOpenFiles(t *testing.T) {
	const nfiles = 10
	e := newEnv(t, Options{MaxOpenFiles: 2})
	r := rand.New(rand.NewPCG(1, 2))
	data := make([][]byte, nfiles)
	files := make([]*File, nfiles)
	written := make([]int, nfiles)
	for i := range files {
		data[i] = pattern(200_000+i*1000, uint64(100+i))
		files[i] = e.create(t, meta(fmt.Sprintf("f%d.bin", i)))
	}
	for done := 0; done < nfiles; {
		i := r.IntN(nfiles)
		if written[i] == len(data[i]) {
			continue
		}
		n := min(1+r.IntN(40_000), len(data[i])-written[i])
		// Mix buffered small writes, direct big writes and in-order WriteAt.
		if r.IntN(3) == 0 {
			if err := files[i].WriteAt(data[i][written[i]:written[i]+n], int64(written[i])); err != nil {
				t.Fatal(err)
			}
		} else if _, err := files[i].Write(data[i][written[i] : written[i]+n]); err != nil {
			t.Fatal(err)
		}
		// WriteAt does not move the cursor: keep it in step for the
		// next Write.
		files[i].off = int64(written[i] + n)
		written[i] += n
		if written[i] == len(data[i]) {
			done++
		}
		if e.sink.nopen > 2 {
			t.Fatalf("%d files open", e.sink.nopen)
		}
	}
	for i, f := range files {
		en, err := f.Close(Complete, "")
		if err != nil {
			t.Fatal(err)
		}
		m5, s256 := sums(data[i])
		if en.State != "complete" || en.MD5 != m5 || en.SHA256 != s256 {
			t.Errorf("file %d: %+v", i, en)
		}
		if !bytes.Equal(e.read(t, en), data[i]) {
			t.Errorf("file %d content differs", i)
		}
	}
	if e.sink.nopen != 0 {
		t.Errorf("%d files still open", e.sink.nopen)
	}
	e.noPart(t)
}

func TestNameCollisions(t *testing.T) {
	e := newEnv(t, Options{})
	// A file left by an earlier run is never overwritten.
	if err := os.MkdirAll(filepath.Join(e.dir, "files", "ftp"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(e.dir, "files", "ftp", "b.txt")
	if err := os.WriteFile(old, []byte("earlier run"), 0o644); err != nil {
		t.Fatal(err)
	}
	var names []string
	for range 20 {
		names = append(names, "a.txt")
	}
	names = append(names,
		"A.TXT", "a.TXT", "A.txt", // case variants
		"caf\u00e9.txt", "cafe\u0301.txt", "CAFE\u0301.TXT", // NFC, NFD, upper NFD
		"b.txt", "B.txt",
		"../a.txt", "x/a.txt", // same safe name via a path
		"a-1.txt", // looks like a suffixed name
		"", "",    // generated
	)
	// Keep half of them open while the others close, so .part names
	// collide too.
	var open []*File
	var entries []manifest.Entry
	for i, name := range names {
		f := e.create(t, meta(name))
		if _, err := f.Write([]byte(fmt.Sprintf("file %d\n", i))); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			open = append(open, f)
			continue
		}
		en, err := f.Close(Complete, "")
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, en)
	}
	for _, f := range open {
		en, err := f.Close(Complete, "")
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, en)
	}
	seen := map[string]string{}
	for _, en := range entries {
		key := e.sink.nameKey("", filepath.Base(en.Extracted))
		if prev, ok := seen[key]; ok {
			t.Errorf("%q and %q collide", prev, en.Extracted)
		}
		seen[key] = en.Extracted
		i := fuidIndex(t, en.FUID)
		if got := string(e.read(t, en)); got != fmt.Sprintf("file %d\n", i) {
			t.Errorf("%s holds %q, want file %d (overwritten?)", en.Extracted, got, i)
		}
	}
	if b, _ := os.ReadFile(old); string(b) != "earlier run" {
		t.Errorf("existing b.txt overwritten: %q", b)
	}
	if _, ok := seen[e.sink.nameKey("", "b.txt")]; ok {
		t.Errorf("b.txt reused: %v", entries)
	}
	for _, want := range []string{"files/ftp/a.txt", "files/ftp/a-1.txt", "files/ftp/a-19.txt", "files/ftp/F000032.txt", "files/ftp/F000033.txt"} {
		if !slices.ContainsFunc(entries, func(en manifest.Entry) bool { return en.Extracted == want }) {
			t.Errorf("no file %s", want)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(e.dir, "files", "ftp"))
	if len(ents) != len(names)+1 {
		t.Errorf("%d files on disk, want %d", len(ents), len(names)+1)
	}
	e.noPart(t)
}

func fuidIndex(t *testing.T, fuid string) int {
	var n int
	if _, err := fmt.Sscanf(fuid, "F%06d", &n); err != nil {
		t.Fatalf("fuid %q: %v", fuid, err)
	}
	return n - 1
}

func TestGeneratedNamesAndSniffing(t *testing.T) {
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 5000)...)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	text := []byte("hello world, this is plain text\n")
	tests := []struct {
		name     string
		data     []byte
		outOrder bool
		want     string
		mime     string
	}{
		{"", pdf, false, "F000001.pdf", "application/pdf"},
		{"", pdf, true, "F000001.pdf", "application/pdf"}, // head arrives last
		{"", png, false, "F000001.png", "image/png"},
		{"", pattern(5000, 3), false, "F000001.bin", "application/octet-stream"},
		{"", nil, false, "F000001.bin", ""},
		{"README", text, false, "README.txt", "text/plain; charset=utf-8"},
		{"report.doc", pdf, false, "report.doc", "application/pdf"}, // wire extension kept
		{"..", png, false, "F000001.png", "image/png"},
	}
	for _, tt := range tests {
		t.Run(tt.want+"/"+tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			f := e.create(t, meta(tt.name))
			if tt.outOrder && len(tt.data) > 100 {
				f.WriteAt(tt.data[100:], 100)
				f.WriteAt(tt.data[:100], 0)
			} else {
				f.Write(tt.data)
			}
			en, err := f.Close(Complete, "")
			if err != nil {
				t.Fatal(err)
			}
			if en.Extracted != "files/ftp/"+tt.want || en.MIMEType != tt.mime {
				t.Errorf("extracted %q mime %q, want %q %q", en.Extracted, en.MIMEType, tt.want, tt.mime)
			}
			if en.Filename != tt.name {
				t.Errorf("filename %q, want the wire name %q", en.Filename, tt.name)
			}
		})
	}
}

var hostile = []string{
	"../../etc/passwd",
	"/etc/passwd",
	`..\..\win.ini`,
	`\\server\share\x.exe`,
	"a\x00b",
	"\x01\x02\x1b[31mred\x7f",
	strings.Repeat("n", 300),
	strings.Repeat("é", 150) + ".txt",
	"CON", "con.txt", "LPT1.log", "nul",
	"....", "..", ".", "", "/", "a/", "../",
	"\xff\xfe\xfd",
	"name\nwith\nnewlines.txt",
	"evil\u202egpj.exe",
	"files", "ftp", "manifest.jsonl", "x.part",
}

func TestHostileNamesStayInside(t *testing.T) {
	e := newEnv(t, Options{MaxOpenFiles: 3})
	var entries []manifest.Entry
	for i, name := range hostile {
		got := SafeName(name)
		checkSafe(t, name, got)
		f := e.create(t, meta(name))
		f.Write([]byte(fmt.Sprintf("payload %d", i)))
		en, err := f.Close(Complete, "")
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, en)
		dir, base := path.Split(en.Extracted)
		if dir != "files/ftp/" || base == "." || base == ".." || len(base) > maxNameBytes || !utf8.ValidString(base) {
			t.Errorf("%q -> %q", name, en.Extracted)
		}
		if en.Filename != name {
			t.Errorf("filename %q, want verbatim %q", en.Filename, name)
		}
		if !utf8.ValidString(name) && en.FilenameHex != hex.EncodeToString([]byte(name)) {
			t.Errorf("filename_hex %q", en.FilenameHex)
		}
	}
	// The parent holds only out; out holds only the manifest and files/;
	// every carved file is a regular file in files/ftp.
	top, _ := os.ReadDir(e.parent)
	if len(top) != 1 || top[0].Name() != "out" {
		t.Errorf("parent holds %v", top)
	}
	nfiles := 0
	filepath.WalkDir(e.parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(e.dir, p)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case p == e.parent, rel == ".", rel == "files", rel == filepath.Join("files", "ftp"):
			if !d.IsDir() {
				t.Errorf("%s is not a directory", p)
			}
		case rel == "manifest.jsonl":
		case filepath.Dir(rel) == filepath.Join("files", "ftp") && d.Type().IsRegular():
			nfiles++
		default:
			t.Errorf("unexpected %s (%v)", p, d.Type())
		}
		return nil
	})
	if nfiles != len(hostile) {
		t.Errorf("%d files, want %d", nfiles, len(hostile))
	}
	for i, en := range entries {
		if got := string(e.read(t, en)); got != fmt.Sprintf("payload %d", i) {
			t.Errorf("%s holds %q", en.Extracted, got)
		}
	}
	if n := len(e.entries(t)); n != len(hostile) {
		t.Errorf("%d manifest lines", n)
	}
	e.noPart(t)
}

func TestSymlinkedFolderRefused(t *testing.T) {
	for _, planted := range []string{"files", "files/ftp"} {
		t.Run(planted, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			outside := filepath.Join(parent, "outside")
			for _, d := range []string{dir, outside, filepath.Join(dir, "files")} {
				os.MkdirAll(d, 0o755)
			}
			link := filepath.Join(dir, filepath.FromSlash(planted))
			os.Remove(link)
			if err := os.Symlink(outside, link); err != nil {
				t.Fatal(err)
			}
			s, err := New(dir, Options{})
			if err == nil {
				var f *File
				f, err = s.Create(meta("x.txt"))
				if err == nil {
					f.Write([]byte("escaped"))
					f.Close(Complete, "")
				}
				s.Close()
			}
			if err == nil {
				t.Fatalf("symlinked %s accepted", planted)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("written outside: %v", ents)
			}
		})
	}
	// A plain file where a folder should be is refused too.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	os.WriteFile(filepath.Join(dir, "files", "ftp"), nil, 0o644)
	s, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Create(meta("x")); err == nil {
		t.Error("file as subdir accepted")
	}
	for _, sub := range []string{"", "..", "FTP", "a/b", "ftp ", "é"} {
		m := meta("x")
		m.Subdir = sub
		if _, err := s.Create(m); err == nil {
			t.Errorf("subdir %q accepted", sub)
		}
	}
}

func TestSymlinkAtNames(t *testing.T) {
	e := newEnv(t, Options{})
	outside := filepath.Join(e.parent, "target")
	if err := os.WriteFile(outside, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	ftp := filepath.Join(e.dir, "files", "ftp")
	os.MkdirAll(ftp, 0o755)
	// At the temporary name before Create...
	os.Symlink(outside, filepath.Join(ftp, "p.txt.part"))
	f := e.create(t, meta("p.txt"))
	f.Write([]byte("mine"))
	if f.tmp == "files/ftp/p.txt.part" {
		t.Errorf("wrote through the planted .part symlink")
	}
	// ...planted after the sink read the folder...
	os.Symlink(outside, filepath.Join(ftp, "q.txt.part"))
	q := e.create(t, meta("q.txt"))
	q.Write([]byte("q"))
	if q.tmp != "files/ftp/q-1.txt.part" {
		t.Errorf("temporary name %q", q.tmp)
	}
	// ...and at the final name while the file is being written.
	g := e.create(t, meta("x.txt"))
	g.Write([]byte("mine too"))
	os.Symlink(outside, filepath.Join(ftp, "x.txt"))
	os.Symlink("/nonexistent/dangling", filepath.Join(ftp, "x-1.txt"))
	en1, err := f.Close(Complete, "")
	if err != nil {
		t.Fatal(err)
	}
	en2, err := g.Close(Complete, "")
	if err != nil {
		t.Fatal(err)
	}
	en3, err := q.Close(Complete, "")
	if err != nil {
		t.Fatal(err)
	}
	if en1.Extracted != "files/ftp/p.txt" || en2.Extracted != "files/ftp/x-2.txt" || en3.Extracted != "files/ftp/q.txt" {
		t.Errorf("extracted %q %q %q", en1.Extracted, en2.Extracted, en3.Extracted)
	}
	if string(e.read(t, en1)) != "mine" || string(e.read(t, en2)) != "mine too" {
		t.Error("content differs")
	}
	if b, _ := os.ReadFile(outside); string(b) != "untouched" {
		t.Errorf("symlink target written: %q", b)
	}
	for _, l := range []string{"p.txt.part", "q.txt.part", "x.txt", "x-1.txt"} {
		if fi, err := os.Lstat(filepath.Join(ftp, l)); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("planted %s replaced", l)
		}
	}
}

func TestReplacedPartRefused(t *testing.T) {
	e := newEnv(t, Options{MaxOpenFiles: 1})
	a := e.create(t, meta("a.bin"))
	a.Write([]byte("a"))
	e.create(t, meta("b.bin")) // closes a's descriptor
	p := filepath.Join(e.dir, "files", "ftp", "a.bin.part")
	os.WriteFile(p+".new", []byte("impostor"), 0o644)
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	_, err := a.Write([]byte("more"))
	if err == nil || !strings.Contains(err.Error(), "a.bin.part") {
		t.Fatalf("Write to a replaced .part: %v", err)
	}
	if _, err := a.Close(Complete, ""); err == nil {
		t.Error("Close after an output error succeeded")
	}
}

func TestSinkCloseInterrupts(t *testing.T) {
	e := newEnv(t, Options{MaxOpenFiles: 2})
	var files []*File
	for i := range 4 {
		f := e.create(t, meta(fmt.Sprintf("f%d", i)))
		f.Write(bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1)))
		files = append(files, f)
	}
	if _, err := files[1].Close(Complete, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.sink.Close(); err != nil {
		t.Fatal(err)
	}
	ens := e.entries(t)
	if len(ens) != 4 {
		t.Fatalf("%d entries", len(ens))
	}
	// Closed first, then the others in creation order.
	for i, want := range []struct{ fuid, state, reason string }{
		{"F000002", "complete", ""},
		{"F000001", "truncated", "interrupted"},
		{"F000003", "truncated", "interrupted"},
		{"F000004", "truncated", "interrupted"},
	} {
		en := ens[i]
		if en.FUID != want.fuid || en.State != want.state || en.Reason != want.reason {
			t.Errorf("entry %d: %s %s %s, want %+v", i, en.FUID, en.State, en.Reason, want)
		}
		if want.state == "truncated" && (en.MD5 != "" || en.SHA256 != "") {
			t.Errorf("%s: hashes on an interrupted file", en.FUID)
		}
		if int(en.SeenBytes) != 1000*(fuidIndex(t, en.FUID)+1) {
			t.Errorf("%s: seen %d", en.FUID, en.SeenBytes)
		}
	}
	// The caller closing later gets the entry the sink wrote.
	en, err := files[0].Close(Complete, "")
	if err != nil || en.Reason != "interrupted" {
		t.Errorf("Close after Sink.Close: %+v %v", en, err)
	}
	if _, err := e.sink.Create(meta("late")); err == nil {
		t.Error("Create after Close succeeded")
	}
	st := e.sink.Stats()
	if st.Files != 4 || st.Open != 0 || st.Complete != 1 || st.Truncated != 3 || st.Bytes != 10_000 {
		t.Errorf("stats %+v", st)
	}
	e.noPart(t)
}

func TestManifestLine(t *testing.T) {
	e := newEnv(t, Options{})
	m := meta("na<me>\".txt")
	m.ExpectedSize = 10
	m.DeclaredMIME = "text/plain"
	m.Extra = map[string]any{"ftp_mode": "passive"}
	f := e.create(t, m)
	f.Write([]byte("01234"))
	f.Gap(2)
	f.Write([]byte("789"))
	f.SetLastTS(t0.Add(1500 * time.Millisecond))
	m.Extra["ftp_mode"] = "changed after Create"
	if _, err := f.Close(Complete, ""); err != nil {
		t.Fatal(err)
	}
	g := e.create(t, meta(""))
	g.Write([]byte("x"))
	g.Close(Complete, "")

	raw, _ := os.ReadFile(e.mfPath)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"ts": 1700000000.123456, "fuid": "F000001", "uid": "CabcDEF123",
		"id.orig_h": "10.0.0.1", "id.orig_p": 40000.0, "id.resp_h": "10.0.0.2", "id.resp_p": 20.0,
		"source": "FTP_DATA", "is_orig": false, "filename": "na<me>\".txt",
		"server_path": "/pub/na<me>\".txt", "command": "RETR",
		"mime_type": "text/plain; charset=utf-8", "declared_mime_type": "text/plain",
		"extracted": "files/ftp/na_me__.txt", "seen_bytes": 8.0, "total_bytes": 10.0,
		"missing_bytes": 2.0, "holes": []any{map[string]any{"offset": 5.0, "length": 2.0}},
		"state": "truncated", "reason": "gap", "duration": 1.5,
		"extra": map[string]any{"ftp_mode": "passive"},
	}
	for k, v := range want {
		if gv, ok := got[k]; !ok || fmt.Sprint(gv) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, gv, v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected field %s = %v", k, got[k])
		}
	}
	if !strings.Contains(lines[0], `"ts":1700000000.123456,`) {
		t.Errorf("ts not printed with microseconds: %s", lines[0])
	}
	// The second: complete with hashes, no total_bytes, holes, reason.
	var en map[string]any
	json.Unmarshal([]byte(lines[1]), &en)
	for _, k := range []string{"total_bytes", "holes", "reason", "duration", "extra", "server_path"} {
		if _, ok := en[k]; ok && k != "server_path" {
			t.Errorf("line 2 has %s", k)
		}
	}
	m5, s256 := sums([]byte("x"))
	if en["md5"] != m5 || en["sha256"] != s256 || en["state"] != "complete" || en["missing_bytes"] != 0.0 {
		t.Errorf("line 2: %s", lines[1])
	}
}
