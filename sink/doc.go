// Package sink is the one protocol-independent place where carved files are
// written, hashed, sniffed and recorded, after Zeek's file-analysis layer:
// extractors (FTP, HTTP...) only find where a file starts, what its bytes
// are, where bytes are missing and how it ends; the sink does the rest.
//
// It owns:
//   - the output tree DIR/files/<subdir>/<name>: it creates files/ and the
//     subdirs itself and refuses to use any that is a symlink or not a
//     directory; every open goes through an os.Root on DIR with
//     O_NOFOLLOW, so nothing is ever written outside DIR;
//   - names: SafeName turns a hostile wire name into one harmless path
//     element; names are made unique ("report.pdf", "report-1.pdf"...)
//     case-insensitively and after NFC normalisation, in memory and on
//     disk; an existing file or symlink is never overwritten or followed;
//   - the file IDs (fuid "F000001", in creation order, stable for a given
//     capture);
//   - coverage and holes: offsets stay true across gaps (sparse regions,
//     never gigabytes of zeros), and the manifest lists every hole;
//   - the file's final state: a file with any missing byte, or whose size
//     differs from the announced one, is truncated and gets no MD5/SHA-256,
//     whatever the extractor claims;
//   - MIME sniffing (mimetype, first 3072 bytes) and hashing;
//   - the bound on open descriptors (an LRU pool, like tcpflow -f: the
//     least recently written file is flushed and closed, and reopened
//     without O_TRUNC when written again; every write is a pwrite at the
//     byte's true offset, so nothing depends on a seek position) and on
//     file size.
//
// It does not own protocol parsing, deciding where a file ends, or the
// manifest file (the caller opens and closes the manifest.Writer).
//
// Call order for one file:
//  1. Sink.Create(meta): reserves a name and creates
//     DIR/files/<subdir>/<name>.part exclusively.
//  2. Any sequence of File.Write (at the cursor), File.WriteAt (anywhere,
//     cursor unchanged) and File.Gap (n bytes missing at the cursor), and
//     optionally File.SetLastTS (capture time of the latest data, for the
//     manifest duration).
//  3. File.Close(state, reason): flushes, decides the final state, sniffs,
//     hashes (re-reading the file if it was not written in order), links
//     the .part to its final name without replacing anything, removes the
//     .part, and writes the manifest entry. A half-written file therefore
//     never looks complete: if the run dies, only .part files remain.
//
// The sink may end a file itself: at MaxFileSize (reason "max-file-size";
// later data is dropped and counted) and in Sink.Close, which ends every
// file still open as truncated "interrupted". File.Close on such a file
// returns the entry already written.
//
// Buffer ownership: Write and WriteAt copy p (into a per-file 32 KiB write
// buffer, or straight to the OS) before returning; the caller may reuse p
// at once. Meta is copied at Create (Extra shallowly).
//
// Errors: only output failures (ENOSPC, EACCES, read-only file system, a
// .part replaced behind the sink's back) are Go errors, wrapped with the
// path; the file concerned is left as a .part without a manifest entry and
// the caller is expected to stop the run. Hostile input (names, offsets,
// sizes) is never an error.
//
// A Sink and its Files are used from one goroutine.
package sink
