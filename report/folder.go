package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/streamx/streamx/manifest"
)

// Flow is the part of a flows.jsonl line the report shows.
type Flow struct {
	TS          manifest.TS       `json:"ts"`
	UID         string            `json:"uid"`
	OrigH       string            `json:"id.orig_h"`
	OrigP       int               `json:"id.orig_p"`
	RespH       string            `json:"id.resp_h"`
	RespP       int               `json:"id.resp_p"`
	Service     string            `json:"service"`
	Duration    manifest.Duration `json:"duration"`
	OrigBytes   int64             `json:"orig_bytes"`
	RespBytes   int64             `json:"resp_bytes"`
	ConnState   string            `json:"conn_state"`
	MissedBytes int64             `json:"missed_bytes"`
	History     string            `json:"history"`
	OrigPkts    int64             `json:"orig_pkts"`
	RespPkts    int64             `json:"resp_pkts"`
	Stream      int64             `json:"stream"`
	LastTS      manifest.TS       `json:"last_ts"`
	State       string            `json:"state"`
	EndReason   string            `json:"end_reason"`
	Transcript  string            `json:"transcript"`
}

// Orig and Resp are the endpoints as host:port ([v6]:port).
func (f *Flow) Orig() string { return hostPort(f.OrigH, f.OrigP) }

// Resp is the responder's endpoint.
func (f *Flow) Resp() string { return hostPort(f.RespH, f.RespP) }

func hostPort(h string, p int) string {
	if strings.Contains(h, ":") {
		return fmt.Sprintf("[%s]:%d", h, p)
	}
	return fmt.Sprintf("%s:%d", h, p)
}

// File is a manifest.jsonl line.
type File struct {
	TS           manifest.TS    `json:"ts"`
	FUID         string         `json:"fuid"`
	UID          string         `json:"uid"`
	Source       string         `json:"source"`
	IsOrig       bool           `json:"is_orig"`
	Filename     string         `json:"filename"`
	ServerPath   string         `json:"server_path"`
	Command      string         `json:"command"`
	MIME         string         `json:"mime_type"`
	DeclaredMIME string         `json:"declared_mime_type"`
	Extracted    string         `json:"extracted"`
	SeenBytes    int64          `json:"seen_bytes"`
	TotalBytes   int64          `json:"total_bytes"`
	MissingBytes int64          `json:"missing_bytes"`
	Holes        []any          `json:"holes"`
	State        string         `json:"state"`
	Reason       string         `json:"reason"`
	SHA256       string         `json:"sha256"`
	Extra        map[string]any `json:"extra"`
}

// Summary is summary.json.
type Summary struct {
	Files []struct {
		Name    string
		Format  string
		Gzip    bool
		Packets int64
		Err     string
	} `json:"files"`
	Packets     int64             `json:"packets"`
	Bytes       int64             `json:"bytes"`
	First       manifest.TS       `json:"first_ts"`
	Last        manifest.TS       `json:"last_ts"`
	Decode      map[string]int64  `json:"decode"`
	BadLinks    map[string]int64  `json:"unsupported_link_types"`
	Filtered    int64             `json:"filtered"`
	TCP         int64             `json:"tcp_packets"`
	UDP         int64             `json:"udp_packets"`
	ICMP        int64             `json:"icmp_packets"`
	Other       int64             `json:"other_ip_packets"`
	Conns       int64             `json:"connections"`
	Evicted     int64             `json:"evicted"`
	Midstream   int64             `json:"midstream_directions"`
	Gaps        int64             `json:"gaps"`
	GapBytes    int64             `json:"missing_bytes"`
	Faults      []string          `json:"faults"`
	Flows       int64             `json:"flows_written"`
	TFiles      int64             `json:"transcript_files"`
	TBytes      int64             `json:"transcript_bytes"`
	Interrupted bool              `json:"interrupted"`
	Elapsed     float64           `json:"elapsed_seconds"`
	Extra       map[string]string `json:"-"`
}

// Record is one line of a log, its keys in the order they appear.
type Record struct {
	Keys   []string
	Values map[string]json.RawMessage
}

// Log is a *.jsonl file other than flows.jsonl and manifest.jsonl: its first
// lines (up to a bound) and how many there are.
type Log struct {
	Name    string // file name, e.g. "http.jsonl"
	Href    string // link to the file
	Lines   int    // all lines
	Bad     int    // lines that are not JSON objects
	Records []Record
	Keys    []string // every key seen in Records, first-seen order
}

// Folder is what the report reads from an output folder. Connections are
// not held: an index of flows.jsonl (stream number, where the line is) and
// running totals are, and each connection is read again when the page is
// written, so a folder of a million connections costs tens of megabytes.
type Folder struct {
	Dir             string
	Summary         *Summary
	BadFlows        int
	Files           []File // the first Options.MaxLogRows
	FilesTotal      int
	FilesIncomplete int
	BadFiles        int
	Logs            map[string]*Log // by file name
	Warnings        []string

	flowsPath string
	flows     []flowRef // in stream order
	agg       *aggregate
	links     *linker
}

// flowRef is where a connection's line is in flows.jsonl.
type flowRef struct {
	stream int64
	off    int64
	n      int32
	conv   bool // it has payload and a transcript
}

// Conns is how many connections flows.jsonl holds.
func (fo *Folder) Conns() int { return len(fo.flows) }

// eachFlow calls f with the connections from index from to to (exclusive),
// in stream order, read again from flows.jsonl. f must not keep the Flow.
func (fo *Folder) eachFlow(from, to int, f func(i int, fl *Flow) error) error {
	return fo.eachFlowIf(from, to, false, f)
}

// eachFlowIf is eachFlow, only the connections with a conversation when
// convOnly.
func (fo *Folder) eachFlowIf(from, to int, convOnly bool, f func(i int, fl *Flow) error) error {
	if to > len(fo.flows) {
		to = len(fo.flows)
	}
	if from >= to {
		return nil
	}
	fh, err := os.Open(fo.flowsPath)
	if err != nil {
		return err
	}
	defer fh.Close()
	var buf []byte
	var fl Flow
	for i := from; i < to; i++ {
		r := fo.flows[i]
		if convOnly && !r.conv {
			continue
		}
		if cap(buf) < int(r.n) {
			buf = make([]byte, r.n)
		}
		b := buf[:r.n]
		if _, err := fh.ReadAt(b, r.off); err != nil {
			return fmt.Errorf("flows.jsonl changed while the report was written: %w", err)
		}
		fl = Flow{}
		if err := json.Unmarshal(bytes.TrimSpace(b), &fl); err != nil {
			return fmt.Errorf("flows.jsonl changed while the report was written: %w", err)
		}
		if err := f(i, &fl); err != nil {
			return err
		}
	}
	return nil
}

// maxLine bounds one JSON line; longer lines are counted as bad.
const maxLine = 16 << 20

// readJSONL calls f with each non-empty line of path (trimmed), its
// offset in the file and its length there. It returns how many lines there
// were and how many f refused (returned an error for); a missing file is no
// lines and no error.
func readJSONL(path string, f func(line []byte, off int64, n int) error) (lines, bad int, err error) {
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 64<<10)
	var long []byte
	var pos, start int64
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		pos += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) <= maxLine {
				long = append(long, chunk...)
			} else {
				tooLong = true
			}
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = long[:0]
		}
		if t := bytes.TrimSpace(line); len(t) > 0 || tooLong {
			lines++
			if tooLong || f(t, start, int(pos-start)) != nil {
				bad++
			}
		}
		tooLong = false
		start = pos
		if err == io.EOF {
			return lines, bad, nil
		}
		if err != nil {
			return lines, bad, err
		}
	}
}

// Load reads the output folder dir. Links in the page are made relative to
// base (the folder the report is written to); the report refuses links
// that leave dir.
func Load(dir, base string, opts Options) (*Folder, error) {
	opts = opts.withDefaults()
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	lk, err := newLinker(dir, base)
	if err != nil {
		return nil, err
	}
	fo := &Folder{Dir: dir, Logs: map[string]*Log{}, links: lk}
	if b, err := os.ReadFile(filepath.Join(dir, "summary.json")); err == nil {
		var s Summary
		if err := json.Unmarshal(b, &s); err != nil {
			fo.Warnings = append(fo.Warnings, "summary.json is not valid: "+err.Error())
		} else {
			fo.Summary = &s
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	} else {
		fo.Warnings = append(fo.Warnings, "summary.json is missing (the run may not have finished)")
	}
	fo.flowsPath = filepath.Join(dir, "flows.jsonl")
	fo.agg = newAggregate()
	var f Flow
	_, fo.BadFlows, err = readJSONL(fo.flowsPath, func(b []byte, off int64, n int) error {
		f = Flow{}
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		fo.flows = append(fo.flows, flowRef{stream: f.Stream, off: off, n: int32(n), conv: f.Transcript != "" && f.OrigBytes+f.RespBytes > 0})
		fo.agg.add(&f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// flows.jsonl is in the order connections finished; the page shows
	// them in the order they started (stream number).
	sort.SliceStable(fo.flows, func(i, j int) bool { return fo.flows[i].stream < fo.flows[j].stream })
	_, fo.BadFiles, err = readJSONL(filepath.Join(dir, "manifest.jsonl"), func(b []byte, _ int64, _ int) error {
		var f File
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		fo.FilesTotal++
		if f.State != "complete" {
			fo.FilesIncomplete++
		}
		if len(fo.Files) < opts.MaxLogRows {
			fo.Files = append(fo.Files, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(fo.Files, func(i, j int) bool { return fo.Files[i].FUID < fo.Files[j].FUID })

	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".jsonl") || name == "flows.jsonl" || name == "manifest.jsonl" || !e.Type().IsRegular() {
			continue
		}
		lg := &Log{Name: name, Href: lk.href(name)}
		seen := map[string]bool{}
		lg.Lines, lg.Bad, err = readJSONL(filepath.Join(dir, name), func(b []byte, _ int64, _ int) error {
			if len(lg.Records) >= opts.MaxLogRows {
				return nil
			}
			rec, err := parseRecord(b)
			if err != nil {
				return err
			}
			for _, k := range rec.Keys {
				if !seen[k] {
					seen[k] = true
					lg.Keys = append(lg.Keys, k)
				}
			}
			lg.Records = append(lg.Records, rec)
			return nil
		})
		if err != nil {
			return nil, err
		}
		fo.Logs[name] = lg
	}
	return fo, nil
}

// parseRecord reads one JSON object keeping its keys' order.
func parseRecord(b []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return Record{}, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return Record{}, errors.New("not a JSON object")
	}
	rec := Record{Values: map[string]json.RawMessage{}}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return Record{}, err
		}
		k, ok := t.(string)
		if !ok {
			return Record{}, errors.New("bad key")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return Record{}, err
		}
		if _, dup := rec.Values[k]; !dup {
			rec.Keys = append(rec.Keys, k)
		}
		rec.Values[k] = v
	}
	return rec, nil
}

// Str returns field k as text: strings as they are, other JSON as written.
func (r Record) Str(k string) string {
	v, ok := r.Values[k]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if string(v) == "null" {
		return ""
	}
	return string(v)
}

// Strs returns field k as a list of strings (a JSON array of strings, or
// one string).
func (r Record) Strs(k string) []string {
	v, ok := r.Values[k]
	if !ok {
		return nil
	}
	var l []string
	if json.Unmarshal(v, &l) == nil {
		return l
	}
	if s := r.Str(k); s != "" {
		return []string{s}
	}
	return nil
}

// linker turns paths inside the output folder into safe relative links.
type linker struct {
	dir    string            // the folder, resolved (no symlinks)
	prefix string            // from the report's folder to dir, slash-separated, "" when the same
	dirs   map[string]string // resolved folders inside dir ("" refused)
}

func newLinker(dir, base string) (*linker, error) {
	rd, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	rd, err = filepath.Abs(rd)
	if err != nil {
		return nil, err
	}
	lk := &linker{dir: rd}
	if base == "" {
		return lk, nil
	}
	rb, err := filepath.EvalSymlinks(base)
	if err != nil {
		return nil, err
	}
	rb, err = filepath.Abs(rb)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(rb, rd)
	if err != nil {
		return nil, fmt.Errorf("links from %s to %s: %w", base, dir, err)
	}
	if rel != "." {
		for _, seg := range strings.Split(filepath.ToSlash(rel), "/") {
			lk.prefix += escapeSegment(seg) + "/"
		}
	}
	return lk, nil
}

// clean checks that rel (slash-separated, as in the logs) names an existing
// regular file inside the folder and returns its absolute path. Folders
// are resolved once (symlinks followed, then checked to be inside); a file
// that is a symlink is resolved and checked too.
func (lk *linker) clean(rel string) (string, bool) {
	if rel == "" || strings.ContainsAny(rel, "\\\x00") || path.IsAbs(rel) {
		return "", false
	}
	c := path.Clean(rel)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", false
	}
	d, ok := lk.realDir(path.Dir(c))
	if !ok {
		return "", false
	}
	p := filepath.Join(d, path.Base(c))
	st, err := os.Lstat(p)
	if err != nil {
		return "", false
	}
	if st.Mode()&os.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(p)
		if err != nil || !lk.inside(real) {
			return "", false
		}
		if st, err = os.Stat(real); err != nil {
			return "", false
		}
		p = real
	}
	if !st.Mode().IsRegular() {
		return "", false
	}
	return p, true
}

// realDir resolves a folder of the output folder (slash-separated,
// relative), remembering the answer.
func (lk *linker) realDir(rel string) (string, bool) {
	if r, ok := lk.dirs[rel]; ok {
		return r, r != ""
	}
	if lk.dirs == nil {
		lk.dirs = map[string]string{}
	}
	r := ""
	if real, err := filepath.EvalSymlinks(filepath.Join(lk.dir, filepath.FromSlash(rel))); err == nil && lk.inside(real) {
		if st, err := os.Stat(real); err == nil && st.IsDir() {
			r = real
		}
	}
	if len(lk.dirs) < 4096 {
		lk.dirs[rel] = r
	}
	return r, r != ""
}

func (lk *linker) inside(real string) bool {
	r, err := filepath.Rel(lk.dir, real)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

// href returns the link to rel, or "" when rel is not an existing file
// inside the folder. Every segment is percent-encoded and the link starts
// with "./" or "../", so it can never be read as a scheme (javascript:).
func (lk *linker) href(rel string) string {
	if _, ok := lk.clean(rel); !ok {
		return ""
	}
	return lk.link(rel)
}

// link is the link to rel, which clean accepted.
func (lk *linker) link(rel string) string {
	var b strings.Builder
	if !strings.HasPrefix(lk.prefix, "../") {
		b.WriteString("./")
	}
	b.WriteString(lk.prefix)
	for i, seg := range strings.Split(path.Clean(rel), "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(escapeSegment(seg))
	}
	return b.String()
}

// escapeSegment percent-encodes one path segment, ':' included.
func escapeSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}
