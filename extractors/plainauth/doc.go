// Package plainauth watches plaintext login dialogues that no other
// extractor reads: SMTP AUTH (PLAIN, LOGIN), POP3 USER/PASS and AUTH, IMAP
// LOGIN and AUTHENTICATE (PLAIN, LOGIN), and the telnet login prompt. It
// reports each attempt, with the credentials as sent (SASL responses
// decoded from base64) and the server's verdict, and each switch to TLS
// (SMTP and IMAP STARTTLS, POP3 STLS), to a callback: the traffic analysis
// turns them into Plaintext_Credentials and Failed_Login findings and
// marks the connection encrypted from the switch on. FTP and HTTP logins
// are read from ftp.jsonl and http.jsonl instead (packages ftp and httpx).
//
// It owns the minimal line protocol of each service: lines bounded at 4
// KiB (longer ones dropped whole), SMTP DATA and BDAT bodies skipped, IMAP
// literals (kept up to 1 KiB when they are command arguments, skipped
// otherwise), telnet IAC sequences stripped and keystrokes assembled into
// lines. It does not own detecting the service (package detect), writing
// logs, or judging what is a finding.
//
// Call order, per connection, as the engine drives it through the Mux:
//  1. Protocol.New(session, env) when detect names the service.
//  2. Data per direction: client lines may start a login (the credentials
//     are held as pending); the next decisive server reply settles it
//     (SMTP 235 / 4xx-5xx, POP3 +OK / -ERR, IMAP tagged OK / NO / BAD,
//     telnet "Login incorrect" or a shell prompt) and the event is
//     reported. A new attempt while one is pending reports the old one with
//     outcome unknown. After an accepted STARTTLS nothing more is read.
//     Gap: partial lines and SASL state are dropped; reading resumes at the
//     next line.
//  3. Close: a pending attempt is reported with outcome unknown.
//
// Passwords are masked (Redacted) when extractors.Options.RedactPasswords
// is set. There is no package-level state; Data's slices are not retained.
package plainauth
