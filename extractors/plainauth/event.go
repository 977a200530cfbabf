package plainauth

import (
	"time"

	"github.com/streamx/streamx/manifest"
)

// Kinds of events.
const (
	KindLogin    = "login"    // credentials sent, with the outcome when the reply was seen
	KindStartTLS = "starttls" // the session switched to TLS: the rest is encrypted
)

// Outcomes of a login.
const (
	Success = "success"
	Failure = "failure"
	Unknown = "" // no reply seen (the connection ended first)
)

// Event is one login attempt or one switch to TLS seen on a plaintext
// session. Password is as sent (decoded from base64 for SASL PLAIN and
// LOGIN), masked when the extractor's RedactPasswords is set.
type Event struct {
	TS  time.Time
	UID string
	manifest.ConnID
	Service   string // "smtp", "pop3", "imap", "telnet"
	Kind      string // KindLogin or KindStartTLS
	Mechanism string // "USER/PASS", "LOGIN", "AUTH PLAIN", "AUTH LOGIN", "login prompt", "STARTTLS"...
	User      string
	Password  string
	Outcome   string // Success, Failure or Unknown
	// Reply is the server's line that decided the outcome ("535 5.7.8
	// Authentication credentials invalid"), cut at 200 bytes.
	Reply string
}
