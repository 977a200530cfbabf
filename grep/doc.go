// Package grep is a streaming pattern matcher for reassembled byte streams.
//
// It owns the search of one byte stream at a time, fed in pieces of any
// size: regular expressions (Go's RE2: linear time, safe on hostile input),
// fixed strings and hex byte patterns. It does not own where the bytes come
// from (TCP reassembly, carved files) or how matches are printed.
//
// # Window and maximum match length
//
// A Stream keeps a sliding window: the bytes of the last Write plus the
// last MaxMatch+max(Before,1)+After bytes before them, so memory stays
// bounded (at most Chunk+MaxMatch+Before+After+1 bytes, whatever the size
// of one Write) and a match that straddles two Writes (two TCP segments) is
// found. A match is reported once the window holds MaxMatch+After bytes
// past its start (or at Flush), so each match is decided with the same
// bytes as a search of the whole stream at once would see: the results
// equal regexp.FindAllIndex on the whole stream (empty matches left out)
// for every match no longer than MaxMatch. A longer match is cut at the
// window or missed: MaxMatch is the documented limit (default 4096).
//
// # Semantics
//
//   - Regular expressions are compiled with (?m): ^ and $ match at line
//     starts and ends; \A is the start of the stream.
//   - Matches of regular expressions and fixed strings do not overlap
//     (leftmost-first, like FindAll); several patterns are tried as one
//     alternation, the first listed wins at a given offset.
//   - Hex patterns match exact bytes (any value 0x00-0xff), each on its own,
//     non-overlapping per pattern; -i does not apply to them.
//   - Empty matches are never reported.
//
// # Call order
//
//  1. New(patterns, options) compiles once; NewStream per stream.
//  2. Write(data) any number of times; data is copied as needed and may be
//     reused by the caller after Write returns.
//  3. Flush() at the end of the stream, or before a hole: matches never
//     span a hole. Reset(off) then continues at stream offset off.
//
// Match slices passed to the callback are only valid during the call.
package grep
