// Package httpx is the HTTP extractor (stub: being written).
package httpx

import (
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
)

// Protocol is the HTTP extractor.
type Protocol struct{}

// New returns the HTTP extractor.
func New() *Protocol { return &Protocol{} }

// Service implements extractors.Protocol.
func (*Protocol) Service() string { return "http" }

// New implements extractors.Protocol.
func (*Protocol) New(s *engine.Session, env *extractors.Env) engine.Handler { return nil }
