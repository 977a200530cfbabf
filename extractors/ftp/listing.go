package ftp

import (
	"strings"
)

// listing reads the bytes of a LIST, NLST or MLSD reply as they pass to
// the sink, counting entries and keeping the first lines for the session
// transcript. It holds at most one line (lineReader) and listingSample
// lines of at most 300 bytes.
//
//	-rw-r--r--    1 ftp      ftp        409112 Mar 01 12:00 report.pdf
//	03-01-24  12:00PM               409112 report.pdf
//	type=file;size=409112;modify=20240301120000; report.pdf
//	report.pdf
type listing struct {
	lr      lineReader
	entries int
	sample  []string
}

func (l *listing) feed(p []byte) { l.lr.feed(p, l.line) }

func (l *listing) gap() { l.lr.gap() }

func (l *listing) end() { l.lr.end(l.line) }

func (l *listing) line(b []byte, fl lineFlags) {
	s := strings.TrimRight(string(b), " \t")
	if s == "" || isTotalLine(s) || isMLSDDirSelf(s) {
		return
	}
	l.entries++
	if len(l.sample) < listingSample {
		l.sample = append(l.sample, clip(s, 300))
	}
}

// isTotalLine: "total 24", the first line of ls -l.
func isTotalLine(s string) bool {
	rest, ok := strings.CutPrefix(s, "total ")
	if !ok || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if !isDigit(rest[i]) {
			return false
		}
	}
	return true
}

// isMLSDDirSelf: the "type=cdir" and "type=pdir" facts of MLSD name the
// listed directory and its parent, not entries.
func isMLSDDirSelf(s string) bool {
	facts, _, ok := strings.Cut(s, " ")
	if !ok || !strings.Contains(facts, "=") {
		return false
	}
	low := strings.ToLower(facts)
	return strings.Contains(low, "type=cdir;") || strings.Contains(low, "type=pdir;")
}
