// Package ftp is the FTP extractor (stub: being written).
package ftp

import (
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
)

// Protocol is the FTP extractor.
type Protocol struct{}

// New returns the FTP extractor.
func New() *Protocol { return &Protocol{} }

// Service implements extractors.Protocol.
func (*Protocol) Service() string { return "ftp" }

// New implements extractors.Protocol.
func (*Protocol) New(s *engine.Session, env *extractors.Env) engine.Handler { return nil }
