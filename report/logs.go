package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// colSpec is a column of a known log: its key, its heading and how its
// value is shown.
type colSpec struct {
	Key, Head string
	Kind      string // "" text, ts, uid, files (paths in the folder), hash, list
}

// logSpec is how a known log is shown: its columns in order, and keys not
// shown at all (they repeat what other columns say).
type logSpec struct {
	cols []colSpec
	hide []string
}

var idKeys = []string{"id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"}

var (
	noticeSpec = &logSpec{cols: []colSpec{{"ts", "time", "ts"}, {"note", "finding", ""}, {"msg", "what", ""},
		{"uids", "connections", "uid"}, {"uid", "connection", "uid"}, {"src", "source", ""}, {"dst", "destination", ""},
		{"p", "port", ""}, {"n", "times", ""}, {"severity", "severity", ""}, {"evidence", "evidence", ""}},
		hide: append([]string{"sub", "last_ts", "service", "log"}, idKeys...)}
	httpSpec = &logSpec{cols: []colSpec{{"ts", "time", "ts"}, {"uid", "connection", "uid"}, {"id.orig_h", "client", ""}, {"method", "method", ""}, {"host", "host", ""},
		{"uri", "URI", ""}, {"status_code", "status", ""}, {"status_msg", "", ""}, {"user_agent", "user agent", ""},
		{"request_body_len", "sent", ""}, {"response_body_len", "received", ""}, {"resp_mime_types", "type", "list"},
		{"orig_extracted", "uploaded", "files"}, {"resp_extracted", "files", "files"}, {"state", "state", ""}},
		hide: idKeys}
	tlsSpec = &logSpec{cols: []colSpec{{"ts", "time", "ts"}, {"uid", "connection", "uid"}, {"id.orig_h", "client", ""}, {"id.resp_h", "server", ""}, {"id.resp_p", "port", ""},
		{"server_name", "SNI", ""}, {"version", "version", ""}, {"cipher", "cipher", ""}, {"curve", "curve", ""}, {"next_protocol", "ALPN", ""},
		{"alpn", "ALPN", "list"}, {"established", "established", ""}, {"resumed", "resumed", ""}, {"encrypted", "encrypted", ""},
		{"subject", "subject", ""}, {"issuer", "issuer", ""},
		{"not_valid_before", "valid from", ""}, {"not_valid_after", "valid until", ""},
		{"cert_sha256", "certificate SHA-256", "hash"}, {"fingerprint", "fingerprint", "hash"}},
		hide: idKeys}
)

// cell is one table cell.
type cell struct {
	Long  bool // long text: may break anywhere
	Text  string
	Links []Link // uid and file links
	Title string
	Mono  bool
}

type logView struct {
	Title, ID, Name, Href string
	Lines, Bad            int
	Heads                 []string
	Rows                  [][]cell
	More                  bool // a trailing column holds the keys without a column
}

// maxCell bounds the text of one cell.
const maxCell = 1000

// logTable shows a log: the known columns that occur in it, then (for an
// unknown log) every key, or (for a known one) the other keys together in
// a last column.
func (fo *Folder) logTable(lg *Log, title, id string, spec *logSpec, opts Options) *logView {
	v := &logView{Title: visible(title), ID: id, Name: visible(lg.Name), Href: lg.Href, Lines: lg.Lines, Bad: lg.Bad}
	present := map[string]bool{}
	for _, k := range lg.Keys {
		present[k] = true
	}
	var cols []colSpec
	used := map[string]bool{}
	if spec != nil {
		for _, k := range spec.hide {
			used[k] = true
		}
		for _, c := range spec.cols {
			if c.Key == "uid" && present["uids"] {
				used["uid"] = true // the list says it
				continue
			}
			if present[c.Key] {
				cols = append(cols, c)
				used[c.Key] = true
			}
		}
	}
	if spec == nil {
		for _, k := range lg.Keys {
			if len(cols) >= 40 {
				break
			}
			kind := ""
			switch {
			case k == "ts" || strings.HasSuffix(k, "_ts"):
				kind = "ts"
			case k == "uid" || k == "uids" || strings.HasSuffix(k, "_uid"):
				kind = "uid"
			case k == "extracted" || strings.HasSuffix(k, "_extracted"):
				kind = "files"
			}
			cols = append(cols, colSpec{k, k, kind})
			used[k] = true
		}
	}
	for _, k := range lg.Keys {
		if !used[k] {
			v.More = true
			break
		}
	}
	for _, c := range cols {
		h := c.Head
		if h == "" {
			h = c.Key
		}
		if c.Key == "status_msg" {
			h = ""
		}
		v.Heads = append(v.Heads, visible(h))
	}
	if v.More {
		v.Heads = append(v.Heads, "other fields")
	}
	for _, r := range lg.Records {
		row := make([]cell, 0, len(cols)+1)
		for _, c := range cols {
			row = append(row, fo.cellOf(r, c))
		}
		if v.More {
			var b strings.Builder
			for _, k := range r.Keys {
				if used[k] {
					continue
				}
				if b.Len() > 0 {
					b.WriteString("; ")
				}
				b.WriteString(k)
				b.WriteString("=")
				b.WriteString(compact(r.Values[k]))
			}
			row = append(row, clip(b.String()))
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

func clip(s string) cell {
	s = visible(s)
	if r := []rune(s); len(r) > maxCell {
		return cell{Long: true, Text: string(r[:maxCell]) + "…", Title: "cut at " + strconv.Itoa(maxCell) + " characters; the whole line is in the log file"}
	}
	return cell{Text: s, Long: len(s) > 40}
}

// compact is a JSON value as text: strings unquoted, the rest compact JSON.
func compact(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, v) == nil {
		return b.String()
	}
	return string(v)
}

func (fo *Folder) cellOf(r Record, c colSpec) cell {
	raw, ok := r.Values[c.Key]
	if !ok || string(raw) == "null" {
		return cell{}
	}
	switch c.Kind {
	case "ts":
		if t, ok := parseTS(raw); ok {
			return cell{Text: fmtTS(t), Mono: true}
		}
	case "uid":
		var out cell
		for _, u := range r.Strs(c.Key) {
			out.Links = append(out.Links, Link{Label: visible(u), Href: "#c-" + visible(u)})
		}
		if out.Links != nil {
			return out
		}
	case "files":
		var out cell
		for _, p := range r.Strs(c.Key) {
			out.Links = append(out.Links, Link{Label: visible(p), Href: fo.links.href(p)})
		}
		if out.Links != nil {
			return out
		}
	case "hash":
		s := r.Str(c.Key)
		return cell{Text: visible(s), Mono: true}
	case "list":
		if l := r.Strs(c.Key); l != nil {
			return clip(strings.Join(l, ", "))
		}
	}
	if len(raw) > 0 && raw[0] == '{' {
		// an object, e.g. a finding's evidence: k=v; k=v
		if rec, err := parseRecord(raw); err == nil {
			var b strings.Builder
			for i, k := range rec.Keys {
				if i > 0 {
					b.WriteString("; ")
				}
				b.WriteString(k + "=" + compact(rec.Values[k]))
			}
			return clip(b.String())
		}
	}
	return clip(compact(raw))
}

// parseTS reads an epoch-seconds number as written by manifest.TS.
func parseTS(raw json.RawMessage) (time.Time, bool) {
	s := string(raw)
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	us := int64(0)
	if frac != "" {
		frac = (frac + "000000")[:6]
		u, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		us = u
	}
	return time.Unix(n, us*1000).UTC(), true
}

// ftpView is the FTP sessions: each control connection's commands and
// replies, in order.
type ftpView struct {
	Name, Href string
	Lines, Bad int
	Sessions   []ftpSession
}

type ftpSession struct {
	UID, Client, Server, User string
	Lines                     []ftpLine
}

type ftpLine struct {
	Time, Command, Arg, Code, Msg, Extra string
	Fail                                 bool
}

func (fo *Folder) ftp(lg *Log) *ftpView {
	v := &ftpView{Name: visible(lg.Name), Href: lg.Href, Lines: lg.Lines, Bad: lg.Bad}
	idx := map[string]int{}
	known := map[string]bool{"ts": true, "uid": true, "id.orig_h": true, "id.orig_p": true, "id.resp_h": true, "id.resp_p": true,
		"user": true, "password": true, "command": true, "arg": true, "reply_code": true, "reply_msg": true}
	for _, r := range lg.Records {
		uid := r.Str("uid")
		i, ok := idx[uid]
		if !ok {
			i = len(v.Sessions)
			idx[uid] = i
			op, _ := strconv.Atoi(r.Str("id.orig_p"))
			rp, _ := strconv.Atoi(r.Str("id.resp_p"))
			v.Sessions = append(v.Sessions, ftpSession{UID: visible(uid), Client: visible(hostPort(r.Str("id.orig_h"), op)), Server: visible(hostPort(r.Str("id.resp_h"), rp))})
		}
		s := &v.Sessions[i]
		if u := r.Str("user"); u != "" && s.User == "" {
			s.User = visible(u)
		}
		l := ftpLine{Command: visible(r.Str("command")), Arg: visible(r.Str("arg")), Code: visible(r.Str("reply_code")), Msg: visible(r.Str("reply_msg"))}
		if t, ok := parseTS(r.Values["ts"]); ok {
			l.Time = t.Format("15:04:05.000000")
		}
		if c, err := strconv.Atoi(r.Str("reply_code")); err == nil && c >= 400 {
			l.Fail = true
		}
		var extra []string
		for _, k := range r.Keys {
			if !known[k] {
				extra = append(extra, k+"="+compact(r.Values[k]))
			}
		}
		l.Extra = clip(strings.Join(extra, "; ")).Text
		s.Lines = append(s.Lines, l)
	}
	sort.SliceStable(v.Sessions, func(i, j int) bool { return v.Sessions[i].UID < v.Sessions[j].UID })
	return v
}

// String is for debugging.
func (c cell) String() string { return fmt.Sprint(c.Text, c.Links) }
