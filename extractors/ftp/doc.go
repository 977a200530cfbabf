// Package ftp is the FTP extractor: it rebuilds every FTP session of a
// capture (who logged in with what, what was listed, downloaded and
// uploaded) and carves every file its data connections carried, in the
// spirit of Zeek's ftp.log and file analysis and of Suricata's FTP
// expectations.
//
// It owns:
//   - the control-channel parser, a push parser fed in chunks that may split
//     anywhere (lineReader: lines bounded at 8 KiB, longer ones cut and
//     flagged; replyReader: multi-line replies with net/textproto's
//     ReadResponse semantics, bounded); after a gap it drops the partial
//     line and resynchronises at the next line, which is accepted only if it
//     looks like a command (known verb) or a reply;
//   - the session state of each control connection (control): commands
//     paired with replies in order (a FIFO, as net/http's Transport pairs
//     responses with requests; 1xx replies are preliminary and do not pop
//     it), login attempts and their outcome (230 vs 530 and friends), the
//     working directory (CWD/CDUP replies, 257 to PWD), TYPE, REST, SIZE and
//     MDTM answers, "150 ... (N bytes)", AUTH TLS (after 234 the channel is
//     encrypted: said so, not parsed further), LPRT/LPSV (reported as
//     unsupported);
//   - the data endpoints a session announces (channel): 227 and 229 replies,
//     PORT and EPRT commands, IPv4 and IPv6; each becomes an
//     extractors.Expectation, expiring 2 minutes (capture time) after the
//     announcement, with the control connection's two hosts as Peers so a
//     server that announces another address (NAT) is still matched;
//   - the transfers (transfer) and the handlers of their data connections
//     (dataConn): which direction carries the file, the file's name and
//     server path, its final state and the reason;
//   - ftp.jsonl (type Log): one line per command/reply pair; one per
//     announced endpoint that no connection reached ("unmatched"), listed
//     when the control connection closes; one per data connection no
//     transfer command claimed. A line is written when its pair is complete,
//     a transfer's when the transfer finishes (below), so the file is not
//     sorted by ts;
//   - the session transcript of each control connection.
//
// It does not own writing files (the sink names, hashes, sniffs and records
// them, and decides "truncated" for holes and wrong sizes), matching
// connections against expectations (the Mux, at a connection's first
// segment), nor telling FTP from other protocols (package detect).
//
// # Call order
//
// For a control connection (the Mux calls Protocol.New when detect names
// it "ftp"):
//  1. Data / Gap / End per direction (0: client to server): lines are
//     parsed as they complete; a command is queued, a reply pairs with the
//     oldest queued command. Announcing an endpoint registers an
//     expectation at once: the data connection's SYN usually follows the 227
//     reply or the PORT command, before the transfer command is sent.
//  2. A transfer command (RETR, STOR, APPE, STOU, LIST, NLST, MLSD) becomes a
//     transfer bound to the latest endpoint announced before it and not yet
//     used (or, when pipelined, to the next one announced).
//  3. Close: commands without a reply are logged "no reply"; endpoints no
//     connection reached are logged "unmatched"; transfers whose data
//     connection is closed or absent are finished.
//
// For a data connection (made by the expectation's New at its first
// segment):
//  1. Data / Gap: while no transfer command has claimed the connection
//     (its bytes may come before the command is parsed, e.g. when the
//     control channel waits on a retransmission), events are held, up to
//     maxHold (256 KiB) per connection; past it they go to a file the sink
//     names generically. Once claimed, they go to the transfer's file,
//     created at the first byte (so the 150 reply and its size are usually
//     known by then), and at the REST offset when there was one.
//  2. Close: the transfer is finished as soon as its final reply is known
//     too. A connection no command ever claimed is saved and logged when a
//     later announcement supersedes its endpoint or the session closes.
//
// A transfer therefore finishes when both its final reply (or the end of
// the control connection) and its data connection's Close have been seen,
// whichever comes last. Its file state: truncated when ABOR was sent before
// the final reply (unless the server still said 2xx and the announced size
// matches), when the final reply is 3xx-5xx (426, 451, 552... given as the
// reason), when there is no final reply and the sender did not close the
// data connection with a FIN ("connection reset", "end-of-input"...), when
// the transfer restarted at a REST offset (the bytes before it are a hole),
// when MODE B/C or STRU R/P was in force (the bytes are framed, kept as
// sent, not decoded),
// or when the size differs from the one announced (SIZE or "150 (N bytes)",
// binary mode only: ASCII mode changes line ends); complete otherwise, which
// the sink still downgrades if bytes are missing.
//
// Direction: the file flows server to client for RETR and listings, client
// to server for STOR, APPE and STOU. The data connection's originator is the
// client in passive mode and the server in active mode, so the file is
// direction 1 (responder to originator) of a passive download and direction
// 0 of an active one. The manifest's is_orig says which; Extra carries
// "direction" (download/upload), "data_channel" (passive/active), "user",
// "control_uid", "transfer_type", "rest".
//
// Names: a file gets the last element of the command's argument as the
// client sent it ("RETR ../../etc/passwd" gives "passwd"; the sink
// sanitises it further and never writes outside the output folder), STOU
// the name the server chose ("150 FILE: name"), listings
// "listing-<control uid>-<n>.txt". ServerPath is the argument resolved
// against the working directory; while the working directory is not known
// (no PWD reply, no absolute CWD), a relative argument stays relative: it
// is relative to the login directory.
//
// Session transcript: there is no output folder in extractors.Env, so the
// transcript goes through the sink as files/ftp-sessions/<uid>-session.txt
// with Source "FTP_SESSION" (it appears in the manifest; consumers counting
// carved files filter on Source "FTP_DATA"). It holds every command and
// reply line with its capture time (PASS masked with RedactPasswords),
// gaps, login outcomes, announcements, and one annotation per transfer
// ("** RETR /pub/report.pdf → 409 112 bytes, complete, sha256 …"), written
// when the transfer finishes, i.e. when its data connection is finished by
// the flow table (after its linger, or at the end of input), so annotations
// may follow later lines. It is closed when the control connection and all
// its transfers are finished.
//
// Bounds: a line 8 KiB; a multi-line reply 256 lines / 64 KiB kept; 128
// commands waiting for replies (past it the oldest is logged "no reply");
// 64 announced endpoints waiting for a connection per session; 16 transfer
// commands waiting for an announcement; 32 SIZE/MDTM answers; 256 KiB held
// per unclaimed data connection; 50 listing lines kept for the transcript.
// There is no package-level state.
//
// Buffer ownership: the slices given to Data are copied when held and
// otherwise handed straight to the sink, which copies them.
package ftp
