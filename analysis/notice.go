package analysis

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/streamx/streamx/manifest"
)

// Notes: the kinds of findings (the "note" field of notices.jsonl).
const (
	NotePlaintextCredentials = "Plaintext_Credentials"
	NoteFailedLogin          = "Failed_Login"
	NoteBruteForce           = "Brute_Force"
	NoteAccessDenied         = "Access_Denied"
	NoteHTTPError            = "HTTP_Error"
	NoteNonstandardPort      = "Service_Nonstandard_Port"
	NotePlaintextUsual       = "Plaintext_Where_Encryption_Usual"
	NoteNoAnswer             = "Host_No_Answer"
	NoteRejected             = "Connection_Rejected"
	NoteScan                 = "Scan"
	NoteResetMidTransfer     = "Reset_Mid_Transfer"
	NoteTruncatedTransfer    = "Truncated_Transfer"
)

// Notes lists every note, in the order the README documents them.
var Notes = []string{
	NotePlaintextCredentials, NoteFailedLogin, NoteBruteForce, NoteAccessDenied, NoteHTTPError,
	NoteNonstandardPort, NotePlaintextUsual, NoteNoAnswer, NoteRejected, NoteScan,
	NoteResetMidTransfer, NoteTruncatedTransfer,
}

// maxUIDs bounds the connection IDs a notice lists; N counts them all.
const maxUIDs = 50

// Notice is one finding: one line of notices.jsonl, with the field names of
// Zeek's notice.log (ts, uid, id.*, proto, note, msg, sub, src, dst, p, n),
// then streamx's own. A finding that happened several times (the same
// credentials sent on three connections, the same 404 asked for twice) is
// one notice: TS and UID are the first occurrence, LastTS the last, N the
// count, UIDs every connection involved (up to 50).
type Notice struct {
	TS    manifest.TS `json:"ts"`
	UID   string      `json:"uid,omitempty"`
	OrigH netip.Addr  `json:"id.orig_h,omitzero"`
	OrigP uint16      `json:"id.orig_p,omitempty"`
	RespH netip.Addr  `json:"id.resp_h,omitzero"`
	RespP uint16      `json:"id.resp_p,omitempty"`
	Proto string      `json:"proto,omitempty"`
	Note  string      `json:"note"`
	// Msg says what was found and why it matters, in one sentence.
	Msg string `json:"msg"`
	// Sub is the detail that tells two notices of the same note apart.
	Sub string     `json:"sub,omitempty"`
	Src netip.Addr `json:"src,omitzero"`
	Dst netip.Addr `json:"dst,omitzero"`
	P   uint16     `json:"p,omitempty"`
	N   int        `json:"n"`

	// streamx
	Service string      `json:"service,omitempty"`
	LastTS  manifest.TS `json:"last_ts,omitzero"`
	UIDs    []string    `json:"uids,omitempty"`
	// Log names the log holding the lines this notice is drawn from
	// ("flows", "ftp", "http", "tls", "smtp"...); Evidence holds the exact
	// fields, copied from those lines.
	Log      string         `json:"log"`
	Evidence map[string]any `json:"evidence,omitempty"`

	key string
}

// noticeSet collects notices, one per key.
type noticeSet struct {
	byKey map[string]*Notice
}

func newNoticeSet() *noticeSet { return &noticeSet{byKey: map[string]*Notice{}} }

// add records an occurrence of the finding key at ts on connection uid.
// The first occurrence makes the notice (make is called then); later ones
// count, extend the time span and the UID list, and may update the
// notice through merge (nil: nothing more).
func (s *noticeSet) add(key string, ts time.Time, uid string, make func() *Notice, merge func(n *Notice)) *Notice {
	n := s.byKey[key]
	if n == nil {
		n = make()
		n.key = key
		n.TS.Time, n.LastTS.Time, n.UID = ts, ts, uid
		s.byKey[key] = n
	} else {
		if ts.Before(n.TS.Time) {
			n.TS.Time = ts
			if uid != "" {
				n.UID = uid
			}
		}
		if ts.After(n.LastTS.Time) {
			n.LastTS.Time = ts
		}
		if merge != nil {
			merge(n)
		}
	}
	n.N++
	n.addUID(uid)
	return n
}

func (n *Notice) addUID(uid string) {
	if uid == "" || slices.Contains(n.UIDs, uid) || len(n.UIDs) >= maxUIDs {
		return
	}
	n.UIDs = append(n.UIDs, uid)
}

// list returns the notices in a stable order: by time, then note, then
// key. UIDs are sorted (by number: in first-seen order).
func (s *noticeSet) list() []Notice {
	out := make([]Notice, 0, len(s.byKey))
	for _, n := range s.byKey {
		slices.SortFunc(n.UIDs, compareUID)
		if n.LastTS.Equal(n.TS.Time) {
			n.LastTS.Time = time.Time{}
		}
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b Notice) int {
		if c := a.TS.Compare(b.TS.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.Note, b.Note); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	return out
}

// appendUnique appends s to list unless it is there or the list has max
// entries.
func appendUnique[T comparable](list []T, v T, max int) []T {
	if slices.Contains(list, v) || len(list) >= max {
		return list
	}
	return append(list, v)
}
