package ftp

import (
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
)

// Protocol is the FTP extractor. It has no state of its own: each control
// connection gets its own handler, and what they share (sink, logs,
// expectations, options) comes from the extractors.Env.
type Protocol struct{}

// New returns the FTP extractor.
func New() *Protocol { return &Protocol{} }

// Service implements extractors.Protocol.
func (*Protocol) Service() string { return "ftp" }

// New implements extractors.Protocol: the handler of a control connection.
func (*Protocol) New(s *engine.Session, env *extractors.Env) engine.Handler {
	return newControl(s, envOutputs{env: env}, env.Options.RedactPasswords)
}
