// Package analysis answers an analyst's questions about a capture from the
// same pass that reassembles and carves it: what talked to what and how
// much (hosts and conversations counted as tshark's -z endpoints and -z
// conv do), which services ran on which ports, how healthy TCP was, what
// was encrypted, which TLS servers were seen, and the findings — plaintext
// credentials, failed and brute-forced logins, denied access, HTTP errors,
// services on unexpected ports, plaintext where encryption is usual, hosts
// that never answer, refused connections, scans, transfers cut short. It
// also builds and compares baselines (who talks to whom on which service,
// how much).
//
// It owns:
//   - the Collector, fed by the engine's hooks (Packet, Closed) and by the
//     extractors it attaches to (TLS records, plain-text logins), then by
//     the FTP and HTTP logs read back after the run (ReadLog: their JSON
//     field names are the contract, not their Go types);
//   - the rules that turn those into notices (findings.go), each with its
//     evidence and reason, reported once per finding however often it
//     happened; the thresholds are Thresholds, documented there and in the
//     README;
//   - the Report (stats, text and JSON), notices.jsonl's Notice, the
//     Baseline and its Diff.
//
// It does not own parsing any protocol (extractors, detect), the flow
// record (flowlog), or writing files (the caller writes notices.jsonl
// through extractors.Logs).
//
// Call order:
//  1. New(Options), then Collector.Attach(mux) before the run, for every
//     worker's Mux when the engine runs several;
//  2. the run: engine.Config.Packet = Collector.Packet, Config.Closed (or
//     each worker's Hooks.Closed) calls Collector.Closed (Opened and
//     NewHandler stay the Mux's);
//  3. ReadLog("ftp", …), ReadLog("http", …) with the logs the run wrote;
//  4. Finish (the Report) and/or Baseline.
//
// Timestamps are capture time throughout; the same capture always gives
// the same report, however many workers the engine ran and in whatever
// order they finished their connections: Packet comes from the reading
// goroutine in capture order, the rest (Closed, the TLS records, the
// logins) from any worker at any time, and everything the findings and
// tables draw from is put in a deterministic order (capture time, then
// connection) before it is used (Collector documents the contract).
// Memory: running totals for every connection; kept per connection only
// what a finding still needs after the run (failed attempts, for scans;
// HTTP and FTP connections, for the log findings; connections on unusual
// ports); with Options.Tables, hosts, UDP conversations and the top TCP
// conversations.
package analysis
