package report

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options bound what the page holds. Zero values take the defaults.
type Options struct {
	// MaxTranscript is how many payload bytes of one conversation are
	// inlined (default 64 KiB); the rest is linked.
	MaxTranscript int64
	// MaxTotal bounds the text of all inlined conversations (default
	// 16 MiB; a byte shown as hex costs about 5); conversations after it are
	// linked only.
	MaxTotal int64
	// Rows is how many connections are plain HTML rows, with their
	// conversations as HTML (default 500); the script pages over all.
	Rows int
	// MaxLogRows is how many lines of each log and of the manifest are
	// shown (default 5000).
	MaxLogRows int
	// Title heads the page (default: the capture file names).
	Title string
}

// Defaults.
const (
	DefaultMaxTranscript = 64 << 10
	DefaultMaxTotal      = 16 << 20
	DefaultRows          = 500
	DefaultMaxLogRows    = 5000
)

func (o Options) withDefaults() Options {
	if o.MaxTranscript <= 0 {
		o.MaxTranscript = DefaultMaxTranscript
	}
	if o.MaxTotal <= 0 {
		o.MaxTotal = DefaultMaxTotal
	}
	if o.Rows <= 0 {
		o.Rows = DefaultRows
	}
	if o.MaxLogRows <= 0 {
		o.MaxLogRows = DefaultMaxLogRows
	}
	return o
}

//go:embed assets/report.html assets/report.css assets/report.js
var assets embed.FS

var tmpl = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"odd":   func(i int) bool { return i%2 == 1 },
	"human": human,
	"num":   func(n int64) string { return strconv.FormatInt(n, 10) },
}).ParseFS(assets, "assets/report.html"))

// WriteFile writes the report of folder dir to out (DIR/report.html when
// out is ""): under a temporary name first, renamed when complete. An
// existing out is replaced only with overwrite.
func WriteFile(dir, out string, overwrite bool, opts Options) error {
	if out == "" {
		out = filepath.Join(dir, "report.html")
	}
	if !overwrite {
		if _, err := os.Lstat(out); err == nil {
			return fmt.Errorf("%s exists; not overwritten (streamx report %s rebuilds it)", out, dir)
		}
	}
	f, err := Load(dir, filepath.Dir(out), opts)
	if err != nil {
		return err
	}
	tmp := out + ".part"
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(fh, 256<<10)
	err = f.Render(bw, opts)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if !overwrite {
		// Link instead of rename, so a file that appeared meanwhile is
		// still not replaced.
		if err := os.Link(tmp, out); err != nil {
			os.Remove(tmp)
			return err
		}
		return os.Remove(tmp)
	}
	return os.Rename(tmp, out)
}

// Render writes the page. It is written in parts so that no part holds
// every connection: the top (summary, charts, the first Options.Rows
// connections as HTML), every connection as JSON for the script, the
// conversations one by one, then the rest.
func (fo *Folder) Render(w io.Writer, opts Options) error {
	opts = opts.withDefaults()
	p, err := fo.page(opts)
	if err != nil {
		return err
	}
	ew := &errWriter{w: w}
	if err := tmpl.ExecuteTemplate(ew, "top", p); err != nil {
		return err
	}
	// The connections for the script, as JSON in a data block. encoding/json
	// escapes <, > and & (and U+2028/U+2029), so nothing in it can end the
	// element; html/template does the same for JSON it writes there.
	io.WriteString(ew, `<script type="application/json" id="conn-data">[`)
	enc := json.NewEncoder(ew)
	err = fo.eachFlow(0, fo.Conns(), func(i int, f *Flow) error {
		if i > 0 {
			io.WriteString(ew, ",")
		}
		r := fo.connRow(f)
		conv := 0
		if r.Conv {
			conv = 1
		}
		return enc.Encode([]any{r.UID, r.Time, r.Orig, r.Resp, r.Service, r.State, r.ConnState, r.History,
			r.OrigBytes, r.RespBytes, r.Missed, conv, r.TxtHref})
	})
	if err != nil {
		return err
	}
	io.WriteString(ew, "]</script>\n")
	if err := tmpl.ExecuteTemplate(ew, "mid", p); err != nil {
		return err
	}
	// The conversations: as HTML for the rows on the page, as JSON data
	// blocks (opened by the script) for the others.
	v := p.Conns
	total := opts.MaxTotal
	err = fo.eachFlowIf(0, fo.Conns(), true, func(i int, f *Flow) error {
		c := fo.loadConversation(f, min(opts.MaxTranscript, total))
		total -= c.cost // what the page spends: a hex dump costs about 5 bytes a byte
		v.Inlined += c.Shown
		if c.Shown == 0 && c.Total > 0 {
			v.NotShown++
		}
		if i < opts.Rows {
			return tmpl.ExecuteTemplate(ew, "conv", c)
		}
		if c.Shown == 0 && len(c.Blocks) == 0 {
			return nil // nothing to show but the links, which the row has
		}
		v.Lazy++
		io.WriteString(ew, `<script type="application/json" class="lazy-conv" id="t-`)
		io.WriteString(ew, template.HTMLEscapeString(c.UID))
		io.WriteString(ew, `">`)
		if err := enc.Encode(c); err != nil {
			return err
		}
		_, err := io.WriteString(ew, "</script>\n")
		return err
	})
	if err != nil {
		return err
	}
	if err := tmpl.ExecuteTemplate(ew, "bottom", p); err != nil {
		return err
	}
	return ew.err
}

// errWriter keeps the first write error and drops later writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

// page is what the template gets.
type page struct {
	Title      string
	StyleHash  string // for the Content-Security-Policy: only this style and script run
	ScriptHash string
	CSS        template.CSS
	JS         template.JS
	Dir        string
	Summary    *summaryView
	Findings   *logView
	Charts     []*Chart
	Conns      *connsView
	Files      *filesView
	FTP        *ftpView
	HTTP       *logView
	TLS        *logView
	Hosts      *hostsView
	Others     []*logView
	Warnings   []string
	Opts       Options
}

type stat struct {
	K, V string
	Warn bool
}

type summaryView struct {
	Captures []captureRow
	Span     string
	Stats    []stat
	Faults   []string
	Notes    []stat // finding counts by kind
}

type captureRow struct {
	Name, Format, Err string
	Packets           int64
}

func (fo *Folder) page(opts Options) (*page, error) {
	css, err := assets.ReadFile("assets/report.css")
	if err != nil {
		return nil, err
	}
	js, err := assets.ReadFile("assets/report.js")
	if err != nil {
		return nil, err
	}
	var warns []string
	for _, w := range fo.Warnings {
		warns = append(warns, visible(w))
	}
	p := &page{CSS: template.CSS(css), JS: template.JS(js), Dir: visible(fo.Dir), Warnings: warns, Opts: opts,
		StyleHash: sha256b64(css), ScriptHash: sha256b64(js)}
	p.Title = opts.Title
	p.Summary = fo.summary()
	if p.Title == "" {
		var names []string
		for _, c := range p.Summary.Captures {
			names = append(names, filepath.Base(c.Name)) // already visible()
		}
		p.Title = "streamx report: " + strings.Join(names, ", ")
		if len(names) == 0 {
			p.Title = "streamx report: " + visible(filepath.Base(fo.Dir))
		}
	}
	if lg := fo.Logs["notices.jsonl"]; lg != nil {
		p.Findings = fo.logTable(lg, "Findings", "findings", noticeSpec, opts)
		counts := map[string]int64{}
		for _, r := range lg.Records {
			n := r.Str("note")
			if n == "" {
				n = r.Str("kind")
			}
			if n == "" {
				n = "(unnamed)"
			}
			counts[n]++
		}
		for _, c := range topN(counts, 50) {
			p.Summary.Notes = append(p.Summary.Notes, stat{K: visible(c.K), V: strconv.FormatInt(c.V, 10), Warn: true})
		}
	}
	p.Charts = charts(fo.agg)
	p.Conns, err = fo.conns(opts)
	if err != nil {
		return nil, err
	}
	p.Files = fo.files(opts)
	if lg := fo.Logs["ftp.jsonl"]; lg != nil {
		p.FTP = fo.ftp(lg)
	}
	if lg := fo.Logs["http.jsonl"]; lg != nil {
		p.HTTP = fo.logTable(lg, "HTTP requests", "http", httpSpec, opts)
	}
	if lg := fo.Logs["tls.jsonl"]; lg != nil {
		p.TLS = fo.logTable(lg, "TLS servers and certificates", "tls", tlsSpec, opts)
	}
	p.Hosts = hosts(fo.agg)
	var names []string
	for n := range fo.Logs {
		switch n {
		case "notices.jsonl", "ftp.jsonl", "http.jsonl", "tls.jsonl":
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		p.Others = append(p.Others, fo.logTable(fo.Logs[n], n, "log-"+strconv.Itoa(i), nil, opts))
	}
	return p, nil
}

func (fo *Folder) summary() *summaryView {
	v := &summaryView{}
	s := fo.Summary
	a := fo.agg
	if s != nil {
		for _, c := range s.Files {
			v.Captures = append(v.Captures, captureRow{visible(c.Name), visible(c.Format) + map[bool]string{true: ", gzip"}[c.Gzip], visible(c.Err), c.Packets})
		}
		if !s.First.IsZero() {
			v.Span = fmt.Sprintf("%s to %s UTC (%s)", s.First.UTC().Format("2006-01-02 15:04:05.000000"),
				s.Last.UTC().Format("2006-01-02 15:04:05.000000"), s.Last.Sub(s.First.Time).Round(time.Microsecond))
		}
		v.Stats = append(v.Stats,
			stat{K: "packets", V: fmt.Sprintf("%d (%s)", s.Packets, human(s.Bytes))},
			stat{K: "decoded", V: fmt.Sprintf("%d TCP, %d UDP, %d ICMP, %d other IP", s.TCP, s.UDP, s.ICMP, s.Other)},
			stat{K: "TCP connections", V: strconv.FormatInt(s.Conns, 10)})
		if s.Filtered > 0 {
			v.Stats = append(v.Stats, stat{K: "filtered out", V: strconv.FormatInt(s.Filtered, 10)})
		}
		v.Stats = append(v.Stats, stat{K: "gaps", V: fmt.Sprintf("%d (%d bytes missing)", s.Gaps, s.GapBytes), Warn: s.Gaps > 0})
		if s.Midstream > 0 {
			v.Stats = append(v.Stats, stat{K: "picked up mid-stream", V: fmt.Sprintf("%d directions", s.Midstream)})
		}
		if s.Evicted > 0 {
			v.Stats = append(v.Stats, stat{K: "evicted at --max-conns", V: strconv.FormatInt(s.Evicted, 10), Warn: true})
		}
		if s.Interrupted {
			v.Stats = append(v.Stats, stat{K: "interrupted", V: "yes: open connections were finished as they stood", Warn: true})
		}
		for _, f := range s.Faults {
			v.Faults = append(v.Faults, visible(f))
		}
	}
	v.Stats = append(v.Stats, stat{K: "connections in flows.jsonl", V: strconv.Itoa(a.n)},
		stat{K: "payload", V: fmt.Sprintf("%s originator → responder, %s back", human(a.ob), human(a.rb))})
	if a.missed > 0 {
		v.Stats = append(v.Stats, stat{K: "bytes missing in connections", V: strconv.FormatInt(a.missed, 10), Warn: true})
	}
	var l []string
	for k := range a.services {
		if k != "" {
			l = append(l, k)
		}
	}
	if len(l) > 0 {
		sort.Strings(l)
		v.Stats = append(v.Stats, stat{K: "services", V: visible(strings.Join(l, ", "))})
	}
	v.Stats = append(v.Stats, stat{K: "carved files", V: fmt.Sprintf("%d (%d not complete)", fo.FilesTotal, fo.FilesIncomplete), Warn: fo.FilesIncomplete > 0})
	if fo.BadFlows+fo.BadFiles > 0 {
		v.Stats = append(v.Stats, stat{K: "unreadable lines", V: fmt.Sprintf("%d in flows.jsonl, %d in manifest.jsonl", fo.BadFlows, fo.BadFiles), Warn: true})
	}
	return v
}

// connsView is the connections table and the conversations.
type connsView struct {
	Rows      []connRow // the first Options.Rows, as HTML
	Total     int
	FlowsHref string
	Services  []string
	// filled in while the page is written
	Inlined  int64 // payload bytes inlined
	NotShown int   // conversations with payload not inlined (budget)
	Lazy     int   // conversations as JSON for the script
}

type connRow struct {
	UID, Time, Orig, Resp, Service, State, ConnState, History string
	OrigBytes, RespBytes, Missed                              int64
	Conv                                                      bool // it has payload (its conversation may be on the page)
	TxtHref                                                   string
}

func fmtTS(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000")
}

func (fo *Folder) connRow(f *Flow) connRow {
	return connRow{UID: visible(f.UID), Time: fmtTS(f.TS.Time), Orig: visible(f.Orig()), Resp: visible(f.Resp()), Service: visible(f.Service),
		State: visible(f.State), ConnState: visible(f.ConnState), History: visible(f.History),
		OrigBytes: f.OrigBytes, RespBytes: f.RespBytes, Missed: f.MissedBytes, TxtHref: fo.links.href(f.Transcript),
		Conv: f.Transcript != "" && f.OrigBytes+f.RespBytes > 0}
}

func (fo *Folder) conns(opts Options) (*connsView, error) {
	v := &connsView{Total: fo.Conns(), FlowsHref: fo.links.href("flows.jsonl")}
	err := fo.eachFlow(0, opts.Rows, func(i int, f *Flow) error {
		v.Rows = append(v.Rows, fo.connRow(f))
		return nil
	})
	for k := range fo.agg.services {
		if k != "" {
			v.Services = append(v.Services, visible(k))
		}
	}
	sort.Strings(v.Services)
	return v, err
}

// filesView is the carved files table.
type filesView struct {
	Rows     []fileRow
	Total    int
	Href     string
	Previews int
}

type fileRow struct {
	FUID, UID, Name, Source, Command, URL, MIME, Declared, SHA256, State, Reason, Href string
	Size, Total, Missing                                                               int64
	Image                                                                              bool
	Active                                                                             bool     // HTML, SVG, script: runs if opened
	Text                                                                               []string // preview runs
	TextCut                                                                            bool
}

const (
	maxPreviews     = 300
	previewBytes    = 2048
	maxImagePreview = 1000
)

func (fo *Folder) files(opts Options) *filesView {
	v := &filesView{Total: fo.FilesTotal, Href: fo.links.href("manifest.jsonl")}
	images := 0
	for i := range fo.Files {
		if i >= opts.MaxLogRows {
			break
		}
		f := &fo.Files[i]
		r := fileRow{FUID: visible(f.FUID), UID: visible(f.UID), Name: visible(f.Filename), Source: visible(f.Source), Command: visible(f.Command), URL: visible(f.ServerPath),
			MIME: visible(f.MIME), Declared: visible(f.DeclaredMIME), SHA256: visible(f.SHA256), State: visible(f.State), Reason: visible(f.Reason),
			Size: f.SeenBytes, Total: f.TotalBytes, Missing: f.MissingBytes, Href: fo.links.href(f.Extracted)}
		mt := strings.ToLower(strings.TrimSpace(strings.SplitN(f.MIME, ";", 2)[0]))
		switch mt {
		case "text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml", "application/javascript", "text/javascript":
			r.Active = true
		}
		if r.Href != "" {
			switch mt {
			case "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/x-icon", "image/vnd.microsoft.icon":
				if images < maxImagePreview {
					r.Image = true
					images++
				}
			default:
				if (strings.HasPrefix(mt, "text/") || mt == "application/json") && v.Previews < maxPreviews {
					if p, ok := fo.links.clean(f.Extracted); ok {
						if b, cut, err := readHead(p, previewBytes); err == nil {
							r.Text, r.TextCut = textRuns(b), cut
							v.Previews++
						}
					}
				}
			}
		}
		v.Rows = append(v.Rows, r)
	}
	return v
}

func readHead(path string, n int) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	b := make([]byte, n+1)
	m, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	if m > n {
		return b[:n], true, nil
	}
	return b[:m], false, nil
}

// hostsView lists hosts and services.
type hostsView struct {
	Hosts      []hostRow
	HostsTotal int
	Pruned     bool
	Services   []serviceRow
	SvcTotal   int
}

type hostRow struct {
	Host                          string
	AsOrig, AsResp, Sent, Receivd int64
	Services                      string
}

type serviceRow struct {
	Service, Port, Servers, Clients string
	Conns, Bytes                    int64
}

func hosts(a *aggregate) *hostsView {
	v := &hostsView{HostsTotal: len(a.hosts), SvcTotal: len(a.svc), Pruned: a.hostsPruned}
	for h, x := range a.hosts {
		var l []string
		for s := range x.svc {
			l = append(l, visible(s))
		}
		sort.Strings(l)
		if len(l) > 8 {
			l = append(l[:8], fmt.Sprintf("and %d more", len(l)-8))
		}
		v.Hosts = append(v.Hosts, hostRow{Host: visible(h), AsOrig: x.asOrig, AsResp: x.asResp, Sent: x.sent, Receivd: x.recv, Services: strings.Join(l, ", ")})
	}
	sort.Slice(v.Hosts, func(i, j int) bool {
		a, b := v.Hosts[i], v.Hosts[j]
		if a.Sent+a.Receivd != b.Sent+b.Receivd {
			return a.Sent+a.Receivd > b.Sent+b.Receivd
		}
		if a.AsOrig+a.AsResp != b.AsOrig+b.AsResp {
			return a.AsOrig+a.AsResp > b.AsOrig+b.AsResp
		}
		return a.Host < b.Host
	})
	if len(v.Hosts) > 200 {
		v.Hosts = v.Hosts[:200]
	}
	for k, x := range a.svc {
		v.Services = append(v.Services, serviceRow{Service: visible(k.svc), Port: strconv.Itoa(k.port), Conns: x.conns, Bytes: x.bytes,
			Servers: distinct(len(x.servers)), Clients: distinct(len(x.clients))})
	}
	sort.Slice(v.Services, func(i, j int) bool {
		a, b := v.Services[i], v.Services[j]
		if a.Conns != b.Conns {
			return a.Conns > b.Conns
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Port < b.Port
	})
	if len(v.Services) > 200 {
		v.Services = v.Services[:200]
	}
	return v
}

func distinct(n int) string {
	if n >= maxDistinct {
		return strconv.Itoa(n) + "+"
	}
	return strconv.Itoa(n)
}

func sha256b64(b []byte) string {
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:])
}
