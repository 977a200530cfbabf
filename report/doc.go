// Package report renders an output folder written by `streamx extract` as
// one self-contained HTML page (DIR/report.html): a summary with the
// findings first, the connections with their conversations, the carved
// files, the protocol logs, hosts and services, and charts.
//
// It owns the page only. It reads what the other stages wrote (flows.jsonl,
// manifest.jsonl, summary.json, the transcripts and every other *.jsonl log)
// and never writes anything into the folder but the report itself. A log it
// does not know is shown as a generic table of its keys, so new logs appear
// without a change here.
//
// # Safety
//
// Everything in the folder came from the capture and is hostile: names,
// URLs, headers and payloads may hold markup, script, `javascript:` URLs or
// bidi controls. The page is built with html/template (contextual escaping);
// data for the script is JSON inside <script type="application/json">
// (escaped by html/template too) and the script builds the DOM with
// textContent only. Links to files are relative paths inside the folder,
// checked to exist there (symlinks resolved), each segment percent-encoded
// and prefixed with "./". Invisible and direction-changing characters in
// payloads are shown as escapes. The page loads nothing from the network:
// CSS, script and charts (SVG drawn here) are inline.
//
// # Size
//
// The page stays usable on large folders: the first Options.Rows
// connections are plain HTML rows (the page works with JavaScript off), all
// of them are in an embedded JSON array the script pages, sorts and filters.
// Conversations are inlined up to Options.MaxTranscript payload bytes each
// and Options.MaxTotal in all; what is cut says so and links to the raw
// files.
//
// # Conversations
//
// A conversation is rebuilt from the raw per-direction files (.orig, .resp)
// and the block headers of the combined .txt transcript (direction, time,
// stream offset; gap and end markers). The headers are checked against the
// raw files (endpoints, offsets in order and inside the files, each block's
// first line equal to the raw bytes at its offset) because a payload can
// hold a line that looks like a header; when the check fails the two sides
// are shown one after the other instead of interleaved, and the page says so.
package report
