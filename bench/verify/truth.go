package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/streamx/streamx/flowlog"
	"github.com/streamx/streamx/manifest"
)

// The truth, as internal/pcapgen.Truth writes it (only what is checked).
type truth struct {
	Conns []*tConn `json:"connections"`
	Files []*tFile `json:"files"`
}

type tConn struct {
	ID          int    `json:"id"`
	Proto       string `json:"proto"` // http, ftp, ftp-data
	Client      string `json:"client"`
	Server      string `json:"server"`
	ClientBytes int64  `json:"client_bytes"`
	ServerBytes int64  `json:"server_bytes"`

	client, server netip.AddrPort
	files          []*tFile
}

type tFile struct {
	Proto           string `json:"proto"`
	Conn            int    `json:"conn"`
	Client          string `json:"client"`
	Server          string `json:"server"`
	ControlConn     *int   `json:"control_conn"`
	Direction       string `json:"direction"`
	Command         string `json:"command"`
	Name            string `json:"name"`
	Index           int    `json:"index"`
	ContentEncoding string `json:"content_encoding"`
	Chunked         bool   `json:"chunked"`
	Size            int64  `json:"size"`
	SHA256          string `json:"sha256"`
	WireSize        int64  `json:"wire_size"`
	WireSHA256      string `json:"wire_sha256"`

	client, server netip.AddrPort
	fromClient     bool
}

func (f *tFile) String() string {
	s := fmt.Sprintf("%s %s %s %s->%s %s index %d, %d bytes sha256 %.16s",
		f.Proto, f.Command, f.Name, f.Client, f.Server, f.Direction, f.Index, f.Size, f.SHA256)
	if f.ContentEncoding != "" {
		s += fmt.Sprintf(" (%s on the wire: %d bytes %.16s)", f.ContentEncoding, f.WireSize, f.WireSHA256)
	}
	if f.Chunked {
		s += " chunked"
	}
	return s
}

// A manifest.jsonl line.
type mEntry struct {
	manifest.Entry

	line int
	used bool
}

func (e *mEntry) String() string {
	total := "?"
	if e.TotalBytes != nil {
		total = fmt.Sprint(*e.TotalBytes)
	}
	s := fmt.Sprintf("manifest line %d: %s %s %q %s:%d->%s:%d is_orig=%v %s seen %d/%s bytes sha256 %.16s -> %s",
		e.line, e.Source, e.Command, e.name(), e.OrigH, e.OrigP, e.RespH, e.RespP, e.IsOrig,
		e.State, e.SeenBytes, total, e.SHA256, e.Extracted)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

func (e *mEntry) name() string {
	if e.ServerPath != "" {
		return e.ServerPath
	}
	return e.Filename
}

// A flows.jsonl line.
type flow struct {
	flowlog.Record
	n int // flows with this 4-tuple
}

// An ftp.jsonl line (transfer commands only are kept).
type ftpLine struct {
	OrigH   netip.Addr `json:"id.orig_h"`
	OrigP   uint16     `json:"id.orig_p"`
	RespH   netip.Addr `json:"id.resp_h"`
	RespP   uint16     `json:"id.resp_p"`
	Command string     `json:"command"`
	Arg     string     `json:"arg"`
	Reply   int        `json:"reply_code"`
	Note    string     `json:"note"`
	Data    *struct {
		OrigH netip.Addr `json:"orig_h"`
		RespH netip.Addr `json:"resp_h"`
		RespP uint16     `json:"resp_p"`
	} `json:"data_channel"`
}

type tuple struct{ orig, resp netip.AddrPort }

type sideKey struct {
	tuple
	fromClient bool
}

func ap(a netip.Addr, p uint16) netip.AddrPort { return netip.AddrPortFrom(a, p) }

// readJSONLines decodes every line of path into a new T.
func readJSONLines[T any](path string, each func(line int, v *T)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		v := new(T)
		if err := json.Unmarshal(sc.Bytes(), v); err != nil {
			return fmt.Errorf("%s:%d: %v", path, n, err)
		}
		each(n, v)
	}
	return sc.Err()
}

func loadTruth(path string) (*truth, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t truth
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for i, c := range t.Conns {
		if c.ID != i {
			return nil, fmt.Errorf("%s: connection %d has id %d", path, i, c.ID)
		}
		if c.client, err = netip.ParseAddrPort(c.Client); err != nil {
			return nil, fmt.Errorf("%s: connection %d: %v", path, i, err)
		}
		if c.server, err = netip.ParseAddrPort(c.Server); err != nil {
			return nil, fmt.Errorf("%s: connection %d: %v", path, i, err)
		}
	}
	for i, f := range t.Files {
		if f.Conn < 0 || f.Conn >= len(t.Conns) || f.ControlConn != nil && (*f.ControlConn < 0 || *f.ControlConn >= len(t.Conns)) {
			return nil, fmt.Errorf("%s: file %d: connection out of range", path, i)
		}
		c := t.Conns[f.Conn]
		f.client, f.server = c.client, c.server
		switch f.Direction {
		case "client-to-server":
			f.fromClient = true
		case "server-to-client":
		default:
			return nil, fmt.Errorf("%s: file %d: direction %q", path, i, f.Direction)
		}
		c.files = append(c.files, f)
	}
	return &t, nil
}

// failures groups failures by cause, keeping a few examples of each.
type failures struct {
	max    int
	order  []string
	count  map[string]int
	sample map[string][]string
}

func (fl *failures) add(cause string, example string) {
	if fl.count == nil {
		fl.count, fl.sample = map[string]int{}, map[string][]string{}
	}
	if fl.count[cause] == 0 {
		fl.order = append(fl.order, cause)
	}
	fl.count[cause]++
	if len(fl.sample[cause]) < fl.max {
		fl.sample[cause] = append(fl.sample[cause], example)
	}
}

func (fl *failures) print(what string) {
	for _, c := range fl.order {
		fmt.Printf("  %d %s: %s\n", fl.count[c], what, c)
		for _, s := range fl.sample[c] {
			fmt.Printf("      %s\n", strings.ReplaceAll(s, "\n", "\n        "))
		}
	}
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

func truthMode(truthPath, out string, transcripts bool, examples int) int {
	t, err := loadTruth(truthPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verify:", err)
		return 2
	}

	// manifest.jsonl, indexed by connection side.
	var entries []*mEntry
	bySide := map[sideKey][]*mEntry{}
	err = readJSONLines(filepath.Join(out, "manifest.jsonl"), func(line int, e *mEntry) {
		e.line = line
		entries = append(entries, e)
		k := sideKey{tuple{ap(e.OrigH, e.OrigP), ap(e.RespH, e.RespP)}, e.IsOrig}
		bySide[k] = append(bySide[k], e)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "verify:", err)
		return 2
	}
	flows := map[tuple]*flow{}
	err = readJSONLines(filepath.Join(out, "flows.jsonl"), func(_ int, f *flow) {
		k := tuple{ap(f.OrigH, f.OrigP), ap(f.RespH, f.RespP)}
		if old := flows[k]; old != nil {
			old.n++
			return
		}
		f.n = 1
		flows[k] = f
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "verify:", err)
		return 2
	}
	ftpLines := map[tuple][]*ftpLine{} // transfer commands by control connection
	err = readJSONLines(filepath.Join(out, "ftp.jsonl"), func(_ int, l *ftpLine) {
		switch l.Command {
		case "RETR", "STOR", "APPE", "STOU":
			k := tuple{ap(l.OrigH, l.OrigP), ap(l.RespH, l.RespP)}
			ftpLines[k] = append(ftpLines[k], l)
		}
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(os.Stderr, "verify:", err)
		return 2
	}

	// Pair every truth file with a manifest entry: same connection side and
	// same sha256 (decoded content), first unused one.
	match := make([]*mEntry, len(t.Files))
	for i, f := range t.Files {
		for _, e := range bySide[sideKey{tuple{f.client, f.server}, f.fromClient}] {
			if !e.used && e.SHA256 == f.SHA256 {
				e.used, match[i] = true, e
				break
			}
		}
	}

	// Check each pair, hashing the extracted files in parallel.
	diskErr := make([]string, len(t.Files))
	parallel(len(t.Files), func(i int) {
		f, e := t.Files[i], match[i]
		if e == nil {
			return
		}
		switch {
		case e.State != "complete":
			diskErr[i] = "state " + e.State
			return
		case e.SeenBytes != f.Size:
			diskErr[i] = fmt.Sprintf("seen_bytes %d, want %d", e.SeenBytes, f.Size)
			return
		case e.TotalBytes != nil && *e.TotalBytes != f.Size:
			diskErr[i] = fmt.Sprintf("total_bytes %d, want %d", *e.TotalBytes, f.Size)
			return
		case e.Extracted == "" || filepath.IsAbs(e.Extracted) || strings.Contains("/"+e.Extracted+"/", "/../"):
			diskErr[i] = fmt.Sprintf("extracted path %q", e.Extracted)
			return
		}
		n, sum, err := hashFile(filepath.Join(out, filepath.FromSlash(e.Extracted)))
		switch {
		case err != nil:
			diskErr[i] = "file_on_disk: " + err.Error()
		case n != f.Size || sum != f.SHA256:
			diskErr[i] = fmt.Sprintf("file_on_disk: %d bytes sha256 %.16s", n, sum)
		}
	})

	var fileFail failures
	fileFail.max = examples
	exact := 0
	for i, f := range t.Files {
		e := match[i]
		if e != nil {
			if diskErr[i] == "" {
				exact++
			} else {
				fileFail.add("carved with the right sha256 but wrong "+strings.TrimSuffix(strings.Fields(diskErr[i])[0], ":"),
					fmt.Sprintf("truth: %s\nstreamx: %s: %s", f, e, diskErr[i]))
			}
			continue
		}
		cause, detail := diagnose(t, f, bySide, flows, ftpLines)
		fileFail.add(cause, "truth: "+f.String()+"\nstreamx: "+detail)
	}

	// Manifest entries no truth file claimed.
	var extra failures
	extra.max = examples
	other := map[string]int{}
	for _, e := range entries {
		switch {
		case e.used:
		case e.Source == "FTP_SESSION":
			other[e.Source]++ // session logs: not files of the truth by definition
		default:
			extra.add(e.Source+" entry that matches no truth file", e.String())
		}
	}

	// Connections: flows.jsonl byte counts, and the transcripts.
	var connFail failures
	connFail.max = examples
	connErr := make([]string, len(t.Conns))
	var index *transcriptIndex
	if transcripts {
		index, err = newTranscriptIndex(filepath.Join(out, "transcripts"), t.Conns)
		if err != nil {
			fmt.Fprintln(os.Stderr, "verify:", err)
			return 2
		}
	}
	parallel(len(t.Conns), func(i int) {
		c := t.Conns[i]
		fl := flows[tuple{c.client, c.server}]
		switch {
		case fl == nil:
			connErr[i] = "not in flows.jsonl"
			return
		case fl.n > 1:
			connErr[i] = fmt.Sprintf("%d lines in flows.jsonl", fl.n)
			return
		case fl.OrigBytes != c.ClientBytes || fl.RespBytes != c.ServerBytes || fl.MissedBytes != 0:
			connErr[i] = fmt.Sprintf("flows.jsonl: orig_bytes %d resp_bytes %d missed_bytes %d, want %d %d 0",
				fl.OrigBytes, fl.RespBytes, fl.MissedBytes, c.ClientBytes, c.ServerBytes)
			return
		}
		if transcripts {
			connErr[i] = index.check(c, fl)
		}
	})
	okConns := 0
	for i, c := range t.Conns {
		if connErr[i] == "" {
			okConns++
			continue
		}
		connFail.add(firstWord(connErr[i]), fmt.Sprintf("truth: connection %d %s %s->%s, %d/%d bytes\nstreamx: %s",
			c.ID, c.Proto, c.Client, c.Server, c.ClientBytes, c.ServerBytes, connErr[i]))
	}

	matched := 0
	for _, e := range match {
		if e != nil {
			matched++
		}
	}
	fmt.Printf("verify: manifest.jsonl has %d entries: %d match a truth file", len(entries), matched)
	for _, s := range sortedKeys(other) {
		fmt.Printf(", %d %s (not files of the truth)", other[s], s)
	}
	fmt.Printf(", %d unexpected\n", len(entries)-matched-sum(other))
	fileFail.print("truth files")
	extra.print("manifest entries")
	connFail.print("connections")
	what := "flows.jsonl byte counts"
	if transcripts {
		what = "flows.jsonl and transcripts"
	}
	fmt.Printf("verify: %d/%d files byte-exact, %d/%d connections (%s)\n", exact, len(t.Files), okConns, len(t.Conns), what)
	if exact != len(t.Files) || okConns != len(t.Conns) || len(extra.order) > 0 || len(t.Files) == 0 {
		return 1
	}
	return 0
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, ":("); i > 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// diagnose explains why no manifest entry matched truth file f: the cause
// (grouping key) and what streamx wrote about it.
func diagnose(t *truth, f *tFile, bySide map[sideKey][]*mEntry, flows map[tuple]*flow, ftpLines map[tuple][]*ftpLine) (string, string) {
	side := bySide[sideKey{tuple{f.client, f.server}, f.fromClient}]
	// Something carved for the same name on the same side?
	for _, e := range side {
		if e.used || !sameName(f, e) {
			continue
		}
		switch {
		case e.SHA256 != "" && e.SHA256 == f.WireSHA256 && f.WireSHA256 != f.SHA256:
			return "carved content-encoded (sha256 of the wire body, not decoded)", e.String()
		case e.State != "complete":
			return "carved " + e.State, e.String()
		default:
			return "carved with different content", e.String()
		}
	}
	// Carved from the other side, or elsewhere?
	for _, e := range bySide[sideKey{tuple{f.client, f.server}, !f.fromClient}] {
		if !e.used && e.SHA256 == f.SHA256 {
			return "carved as sent by the other side (is_orig wrong)", e.String()
		}
	}
	var where []string
	fl := flows[tuple{f.client, f.server}]
	if fl == nil {
		where = append(where, "connection not in flows.jsonl")
	} else {
		where = append(where, fmt.Sprintf("connection in flows.jsonl with orig_bytes %d resp_bytes %d", fl.OrigBytes, fl.RespBytes))
	}
	if len(side) > 0 {
		where = append(where, fmt.Sprintf("%d other unmatched entries on this side: %s", len(side), side[0]))
	}
	if f.Proto == "ftp" && f.ControlConn != nil {
		ctl := t.Conns[*f.ControlConn]
		for _, l := range ftpLines[tuple{ctl.client, ctl.server}] {
			if l.Command == f.Command && l.Arg == f.Name {
				s := fmt.Sprintf("ftp.jsonl: %s %s reply %d", l.Command, l.Arg, l.Reply)
				if l.Data != nil {
					s += fmt.Sprintf(", data endpoint %s->%s", l.Data.OrigH, ap(l.Data.RespH, l.Data.RespP))
				}
				if l.Note != "" {
					s += fmt.Sprintf(", note %q", l.Note)
				}
				where = append(where, s)
				break
			}
		}
		if a := f.client.Addr(); a != ctl.client.Addr() && a != ctl.server.Addr() {
			where = append(where, fmt.Sprintf("control connection %s->%s", ctl.Client, ctl.Server))
			return "not carved: FTP data connection opened from another host than the control connection's client " +
				"(streamx, like Zeek and Suricata, expects a passive data connection from the control connection's hosts; " +
				"a generator artefact, real servers refuse such connections)", strings.Join(where, "; ")
		}
	}
	return "not carved", strings.Join(where, "; ")
}

func sameName(f *tFile, e *mEntry) bool {
	return e.ServerPath == f.Name || e.Filename == f.Name || strings.HasSuffix(e.ServerPath, "/"+f.Name)
}

// transcriptIndex finds the transcript files of a connection: from
// flows.jsonl's transcript field (path of the .txt), else by the
// "_<orig>-<resp>" suffix streamx gives the names (uid prefix ignored).
type transcriptIndex struct {
	out   string
	bySfx map[tuple]string // base path (no extension)
}

func tag(a netip.AddrPort) string {
	return strings.ReplaceAll(a.Addr().String(), ":", "_") + "." + fmt.Sprint(a.Port())
}

func newTranscriptIndex(dir string, conns []*tConn) (*transcriptIndex, error) {
	x := &transcriptIndex{out: filepath.Dir(dir), bySfx: map[tuple]string{}}
	want := map[string]tuple{}
	for _, c := range conns {
		want[tag(c.client)+"-"+tag(c.server)] = tuple{c.client, c.server}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, de := range ents {
		name := de.Name()
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, ".txt"), ".orig"), ".resp")
		for i := 0; i < len(base); i++ {
			if base[i] != '_' {
				continue
			}
			if k, ok := want[base[i+1:]]; ok {
				x.bySfx[k] = filepath.Join(dir, base)
				break
			}
		}
	}
	return x, nil
}

// check checks the .orig and .resp transcripts of c; "" when right.
func (x *transcriptIndex) check(c *tConn, fl *flow) string {
	base := ""
	if fl.Transcript != "" {
		base = filepath.Join(x.out, filepath.FromSlash(strings.TrimSuffix(fl.Transcript, ".txt")))
	} else {
		base = x.bySfx[tuple{c.client, c.server}]
	}
	if base == "" {
		return "no transcript"
	}
	for _, side := range []struct {
		ext        string
		want       int64
		fromClient bool
	}{{".orig", c.ClientBytes, true}, {".resp", c.ServerBytes, false}} {
		path := base + side.ext
		st, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist) && side.want == 0:
			continue
		case err != nil:
			return "transcript " + side.ext + ": " + err.Error()
		case st.Size() != side.want:
			return fmt.Sprintf("transcript %s: %d bytes, want %d (%s)", side.ext, st.Size(), side.want, filepath.Base(path))
		}
		if err := checkContent(c, path, side.fromClient); err != nil {
			return fmt.Sprintf("transcript %s content: %v (%s)", side.ext, err, filepath.Base(path))
		}
	}
	return ""
}

// checkContent checks one side's transcript against what the truth knows
// of its content.
func checkContent(c *tConn, path string, fromClient bool) error {
	switch c.Proto {
	case "ftp-data":
		var want *tFile
		for _, f := range c.files {
			if f.fromClient == fromClient {
				want = f
			}
		}
		if want == nil {
			return nil // size 0 already checked
		}
		n, sum, err := hashFile(path)
		if err != nil {
			return err
		}
		if n != want.WireSize || sum != want.WireSHA256 {
			return fmt.Errorf("%d bytes sha256 %.16s, want the file %s", n, sum, want)
		}
		return nil
	case "http":
		return checkHTTP(c, path, fromClient)
	}
	return nil // FTP control: byte counts only
}

// checkHTTP parses one side of an HTTP/1.1 connection and checks every
// message body against the truth (wire_sha256: de-chunked, still encoded).
// The truth has a file per response of a GET connection, and one per
// request and one per response of a POST connection, by request index.
func checkHTTP(c *tConn, path string, fromClient bool) error {
	n := 0
	bodies := map[int]*tFile{}
	method := "GET"
	for _, f := range c.files {
		n = max(n, f.Index+1)
		method = f.Command
		if f.fromClient == fromClient {
			bodies[f.Index] = f
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 64<<10)
	h := sha256.New()
	for i := 0; ; i++ {
		if _, err := br.Peek(1); err == io.EOF {
			if i != n {
				return fmt.Errorf("%d messages, want %d", i, n)
			}
			return nil
		}
		if i >= n {
			return fmt.Errorf("more than %d messages", n)
		}
		var body io.ReadCloser
		if fromClient {
			req, err := http.ReadRequest(br)
			if err != nil {
				return fmt.Errorf("request %d: %v", i, err)
			}
			body = req.Body
		} else {
			resp, err := http.ReadResponse(br, &http.Request{Method: method})
			if err != nil {
				return fmt.Errorf("response %d: %v", i, err)
			}
			body = resp.Body
		}
		h.Reset()
		size, err := io.Copy(h, body)
		body.Close()
		if err != nil {
			return fmt.Errorf("message %d body: %v", i, err)
		}
		got := hex.EncodeToString(h.Sum(nil))
		if f := bodies[i]; f != nil {
			if size != f.WireSize || got != f.WireSHA256 {
				return fmt.Errorf("message %d body: %d bytes sha256 %.16s, want %s", i, size, got, f)
			}
		} else if size != 0 {
			return fmt.Errorf("message %d: %d body bytes, want none", i, size)
		}
	}
}
