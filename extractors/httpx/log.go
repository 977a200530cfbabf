package httpx

import (
	"strings"

	"github.com/streamx/streamx/manifest"
)

// record is one line of http.jsonl: one request/response pair, with
// Zeek's http.log field names, then streamx's own.
type record struct {
	TS  manifest.TS `json:"ts"`
	UID string      `json:"uid"`
	manifest.ConnID
	TransDepth      int      `json:"trans_depth"`
	Method          string   `json:"method,omitempty"`
	Host            string   `json:"host,omitempty"`
	URI             string   `json:"uri,omitempty"`
	Referrer        string   `json:"referrer,omitempty"`
	Version         string   `json:"version,omitempty"`
	UserAgent       string   `json:"user_agent,omitempty"`
	Origin          string   `json:"origin,omitempty"`
	RequestBodyLen  int64    `json:"request_body_len"`
	ResponseBodyLen int64    `json:"response_body_len"`
	StatusCode      int      `json:"status_code,omitempty"`
	StatusMsg       string   `json:"status_msg,omitempty"`
	InfoCode        int      `json:"info_code,omitempty"`
	InfoMsg         string   `json:"info_msg,omitempty"`
	Username        string   `json:"username,omitempty"`
	Password        string   `json:"password,omitempty"`
	OrigFUIDs       []string `json:"orig_fuids,omitempty"`
	OrigFilenames   []string `json:"orig_filenames,omitempty"`
	OrigMIMETypes   []string `json:"orig_mime_types,omitempty"`
	RespFUIDs       []string `json:"resp_fuids,omitempty"`
	RespFilenames   []string `json:"resp_filenames,omitempty"`
	RespMIMETypes   []string `json:"resp_mime_types,omitempty"`

	// streamx: declared types and codings, the files' hashes, paths and
	// states (parallel to the fuids), the pair's state and flags.
	RequestContentType       string   `json:"request_content_type,omitempty"`
	ResponseContentType      string   `json:"response_content_type,omitempty"`
	RequestContentEncoding   string   `json:"request_content_encoding,omitempty"`
	ResponseContentEncoding  string   `json:"response_content_encoding,omitempty"`
	ResponseTransferEncoding string   `json:"response_transfer_encoding,omitempty"`
	ContentRange             string   `json:"content_range,omitempty"`
	OrigSHA256               []string `json:"orig_sha256,omitempty"`
	OrigExtracted            []string `json:"orig_extracted,omitempty"`
	OrigStates               []string `json:"orig_file_states,omitempty"`
	RespSHA256               []string `json:"resp_sha256,omitempty"`
	RespExtracted            []string `json:"resp_extracted,omitempty"`
	RespStates               []string `json:"resp_file_states,omitempty"`
	// State: "complete" (both messages ended as framed), "truncated" (one
	// did not), "no-response", "unsolicited", "request-lost" (its head
	// was lost to a gap or a parse error), "response-lost".
	State string   `json:"state"`
	Flags []string `json:"flags,omitempty"`
}

// redacted replaces passwords in the log with --redact-passwords.
const redacted = "<redacted>"

// record builds the log line of t.
func (c *conn) record(t *txn) *record {
	r := &record{UID: c.s.Conn.UID, ConnID: c.id, TransDepth: t.depth}
	if q := t.req; q != nil {
		r.TS.Time = q.ts
		r.Method, r.URI = q.method, q.target
		if q.badLine != "" {
			r.URI = q.badLine
		}
		r.Host = q.header.get("host")
		r.Referrer = q.header.get("referer")
		r.UserAgent = q.header.get("user-agent")
		r.Origin = q.header.get("origin")
		r.Version = strings.TrimPrefix(strings.ToUpper(q.proto), "HTTP/")
		r.RequestBodyLen = q.bodyLen
		r.RequestContentType = q.header.get("content-type")
		r.RequestContentEncoding = strings.Join(q.header.values("content-encoding"), ", ")
		auth := q.header.get("authorization")
		if auth == "" {
			auth = q.header.get("proxy-authorization")
		}
		if u, p, ok := basicAuth(auth); ok {
			r.Username, r.Password = u, p
			if c.env.Options.RedactPasswords && p != "" {
				r.Password = redacted
			}
		}
	}
	if s := t.resp; s != nil {
		if t.req == nil {
			r.TS.Time = s.ts
			r.Version = strings.TrimPrefix(strings.ToUpper(s.proto), "HTTP/")
		}
		r.StatusCode, r.StatusMsg = s.code, s.reason
		r.ResponseBodyLen = s.bodyLen
		r.ResponseContentType = s.header.get("content-type")
		r.ResponseContentEncoding = strings.Join(s.header.values("content-encoding"), ", ")
		r.ResponseTransferEncoding = strings.Join(s.header.values("transfer-encoding"), ", ")
		r.ContentRange = s.header.get("content-range")
	}
	r.InfoCode, r.InfoMsg = t.infoCode, t.infoMsg
	for dir, files := range t.files {
		for _, f := range files {
			if f.asm != nil && f.asm.closed {
				f = f.asm.rec
			}
			if dir == 0 {
				r.OrigFUIDs = append(r.OrigFUIDs, f.fuid)
				r.OrigFilenames = append(r.OrigFilenames, f.name)
				r.OrigMIMETypes = append(r.OrigMIMETypes, f.mime)
				r.OrigSHA256 = append(r.OrigSHA256, f.sha256)
				r.OrigExtracted = append(r.OrigExtracted, f.extracted)
				r.OrigStates = append(r.OrigStates, f.state)
			} else {
				r.RespFUIDs = append(r.RespFUIDs, f.fuid)
				r.RespFilenames = append(r.RespFilenames, f.name)
				r.RespMIMETypes = append(r.RespMIMETypes, f.mime)
				r.RespSHA256 = append(r.RespSHA256, f.sha256)
				r.RespExtracted = append(r.RespExtracted, f.extracted)
				r.RespStates = append(r.RespStates, f.state)
			}
		}
	}
	r.State = t.state()
	r.Flags = append(r.Flags, t.flags...)
	for _, m := range []*message{t.req, t.resp} {
		if m == nil {
			continue
		}
		for _, f := range m.flags {
			if !contains(r.Flags, f) {
				r.Flags = append(r.Flags, f)
			}
		}
	}
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
