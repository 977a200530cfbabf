// Package manifest holds the record of every carved file and writes it as
// JSON lines, in the spirit of Zeek's files.log (Zeek field names where Zeek
// has one: ts, fuid, uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p,
// is_orig, mime_type, seen_bytes, total_bytes, missing_bytes, md5, sha256,
// duration, extracted).
//
// It owns:
//   - the shared types ConnID, Hole, Entry, and the time types TS and
//     Duration (JSON numbers in seconds with microsecond precision);
//   - Writer, an append-only JSON-lines file.
//
// It does not own deciding what goes into an Entry: package sink fills
// entries (fuid, state, holes, hashes, mime type) and is the normal caller
// of Writer.Write. It imports nothing from the rest of streamx, so any
// package may use its types in signatures.
//
// Writer lifecycle:
//  1. NewWriter(path) creates the file (O_EXCL|O_NOFOLLOW: an existing file
//     or a planted symlink is an error, never overwritten or followed).
//  2. Write(v) marshals v and appends it as one line with a single write
//     system call, so the line reaches the OS before Write returns and a
//     crash later keeps every earlier line whole. Write may be called from
//     several goroutines. v is not retained.
//  3. Close() closes the file; later Writes return an error.
//
// Note on names: Entry.Filename is the wire name verbatim. JSON strings
// cannot carry invalid UTF-8 (encoding/json writes U+FFFD instead), so when
// the wire name is not valid UTF-8 the raw bytes are also given in hex in
// Entry.FilenameHex.
package manifest
