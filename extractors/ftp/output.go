package ftp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// Log is one line of ftp.jsonl: a command and its reply, in the spirit of
// Zeek's ftp.log (same field names where Zeek has one). Lines that are not
// a command/reply pair say so in Command: "<greeting>", "<unsolicited>".
type Log struct {
	TS  manifest.TS `json:"ts"`
	UID string      `json:"uid"`
	manifest.ConnID
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	Command  string `json:"command"`
	// Arg is the argument; for commands that name a file or directory it
	// is the full server path (resolved against the working directory),
	// and RawArg is the argument as sent.
	Arg       string `json:"arg,omitempty"`
	RawArg    string `json:"raw_arg,omitempty"`
	ReplyCode int    `json:"reply_code,omitempty"`
	ReplyMsg  string `json:"reply_msg,omitempty"`
	// Login is "success" or "failure" on the line whose reply decided a
	// login attempt (USER, PASS or ACCT).
	Login       string       `json:"login,omitempty"`
	DataChannel *DataChannel `json:"data_channel,omitempty"`
	// Transfer fields (RETR, STOR, APPE, STOU, LIST, NLST, MLSD).
	Direction    string `json:"direction,omitempty"`     // "download" (server to client) or "upload"
	TransferType string `json:"transfer_type,omitempty"` // "ascii" or "binary"
	Rest         int64  `json:"rest,omitempty"`          // REST offset the piece starts at
	ExpectedSize *int64 `json:"expected_size,omitempty"` // from SIZE or "150 ... (N bytes)"
	FileSize     *int64 `json:"file_size,omitempty"`     // bytes seen on the data connection
	MIMEType     string `json:"mime_type,omitempty"`
	FUID         string `json:"fuid,omitempty"`
	Extracted    string `json:"extracted,omitempty"`
	State        string `json:"state,omitempty"`
	Reason       string `json:"reason,omitempty"`
	SHA256       string `json:"sha256,omitempty"`
	DataUID      string `json:"data_uid,omitempty"`
	Entries      *int   `json:"listing_entries,omitempty"`
	// Note explains anything unusual: "unmatched", "encrypted",
	// "unsupported", "no reply", "malformed"...
	Note string `json:"note,omitempty"`
}

// DataChannel is the data connection a command announced or used, as in
// Zeek's ftp.log: passive or not, who connects (orig_h) to where
// (resp_h:resp_p).
type DataChannel struct {
	Passive bool       `json:"passive"`
	OrigH   netip.Addr `json:"orig_h"`
	RespH   netip.Addr `json:"resp_h"`
	RespP   uint16     `json:"resp_p"`
}

// Redacted replaces passwords when Options.RedactPasswords is set.
const Redacted = "<redacted>"

// fileOut is what the extractor needs of a carved file (*sink.File).
type fileOut interface {
	Write(p []byte) (int, error)
	Gap(n int64)
	SetLastTS(ts time.Time)
	Size() int64
	Close(state sink.State, reason string) (manifest.Entry, error)
}

// outputs is where a control session's results go: the JSON-lines log,
// the file sink, the expectations table. envOutputs is the real one; tests
// and the fuzz target use memory.
type outputs interface {
	Log(v *Log) error
	Create(m sink.Meta) (fileOut, error)
	Expect(x *extractors.Expectation)
}

type envOutputs struct{ env *extractors.Env }

func (o envOutputs) Log(v *Log) error {
	if o.env.Logs == nil {
		return nil
	}
	return o.env.Logs.Write("ftp", v)
}

func (o envOutputs) Create(m sink.Meta) (fileOut, error) {
	if o.env.Sink == nil {
		return nil, fmt.Errorf("ftp: no file sink")
	}
	f, err := o.env.Sink.Create(m)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (o envOutputs) Expect(x *extractors.Expectation) {
	if o.env.Expect != nil {
		o.env.Expect.Add(x)
	}
}

// printable escapes a wire string for the session transcript: printable
// UTF-8 stays, anything else becomes \xNN (\t, \r, \n spelled out).
func printable(s string) string {
	ok := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			ok = false
			break
		}
		i += n
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// stamp formats a capture time for the session transcript.
func stamp(ts time.Time) string {
	if ts.IsZero() {
		return "-"
	}
	return ts.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// groupDigits writes n as "409 112".
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
