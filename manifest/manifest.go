package manifest

import (
	"net/netip"
)

// ConnID is the connection 4-tuple, with Zeek's conn.log field names.
type ConnID struct {
	OrigH netip.Addr `json:"id.orig_h"`
	OrigP uint16     `json:"id.orig_p"`
	RespH netip.Addr `json:"id.resp_h"`
	RespP uint16     `json:"id.resp_p"`
}

// Hole is a byte range of a file that was never seen on the wire. The
// extracted file keeps true offsets: a hole reads back as zeros (it is a
// sparse region on disk), and the data after it sits at its real offset.
type Hole struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// States of a carved file (Entry.State).
const (
	StateComplete  = "complete"
	StateTruncated = "truncated"
)

// Entry is one carved file: one JSON line of the manifest.
//
// Md5 and Sha256 are set only when State is "complete", which implies the
// file has no holes and every byte of [0, SeenBytes) was seen: a file with
// a hole never carries a hash that could pass for the real file's.
type Entry struct {
	// TS is the capture time of the file's first byte (or of the request
	// that announced it).
	TS TS `json:"ts"`
	// FUID is the file ID given by the sink: made from the connection, the
	// packet and the place among that packet's files (sink.Options.Clock),
	// or F000001... in creation order without a clock.
	FUID string `json:"fuid"`
	// UID is the connection ID given by the caller.
	UID string `json:"uid"`
	ConnID
	// Source is the protocol that carried the file: "FTP_DATA", "HTTP"...
	Source string `json:"source"`
	// IsOrig is true when the connection's originator sent the file.
	IsOrig bool `json:"is_orig"`
	// Filename is the name as seen on the wire, verbatim (may be empty).
	Filename string `json:"filename"`
	// FilenameHex is the wire name's raw bytes in hex, set only when the
	// name is not valid UTF-8 (Filename then shows U+FFFD for those bytes).
	FilenameHex string `json:"filename_hex,omitempty"`
	// ServerPath is the full path or URL on the server, if known.
	ServerPath string `json:"server_path,omitempty"`
	// Command is the request that moved the file: RETR, STOR, GET, POST...
	Command string `json:"command,omitempty"`
	// MIMEType is sniffed from the file's first bytes.
	MIMEType string `json:"mime_type,omitempty"`
	// DeclaredMIMEType is what the protocol claimed (e.g. Content-Type).
	DeclaredMIMEType string `json:"declared_mime_type,omitempty"`
	// Extracted is the file's path relative to the output directory,
	// always with forward slashes.
	Extracted string `json:"extracted"`
	// SeenBytes counts the distinct bytes seen on the wire.
	SeenBytes int64 `json:"seen_bytes"`
	// TotalBytes is the expected size, when the protocol announced one.
	TotalBytes *int64 `json:"total_bytes,omitempty"`
	// MissingBytes is the sum of Holes' lengths.
	MissingBytes int64 `json:"missing_bytes"`
	// Holes lists the ranges never seen, in offset order.
	Holes []Hole `json:"holes,omitempty"`
	// State is StateComplete or StateTruncated.
	State string `json:"state"`
	// Reason says why a file is truncated: "gap", "connection reset",
	// "max-file-size", "interrupted", "short"...
	Reason string `json:"reason,omitempty"`
	MD5    string `json:"md5,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Duration is the capture time from the first to the last byte.
	Duration Duration `json:"duration,omitempty"`
	// Extra holds extractor-specific fields.
	Extra map[string]any `json:"extra,omitempty"`
}
