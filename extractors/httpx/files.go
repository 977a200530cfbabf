package httpx

import (
	"io"
	"time"

	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// fileSink is the part of *sink.Sink the extractor uses, declared here by
// its consumer so that tests can use an in-memory one.
type fileSink interface {
	Create(m sink.Meta) (file, error)
}

// file is the part of *sink.File the extractor uses.
type file interface {
	io.Writer
	WriteAt(p []byte, off int64) error
	Gap(n int64)
	SetLastTS(ts time.Time)
	FUID() string
	Close(st sink.State, reason string) (manifest.Entry, error)
}

// realSink adapts *sink.Sink.
type realSink struct{ s *sink.Sink }

func (r realSink) Create(m sink.Meta) (file, error) {
	f, err := r.s.Create(m)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// fileRec is what the log says about one carved file.
type fileRec struct {
	fuid, name, mime, sha256, extracted, state string
	asm                                        *assembly // a 206 assembly, possibly still open
}

func fileRecOf(e manifest.Entry) fileRec {
	return fileRec{fuid: e.FUID, name: e.Filename, mime: e.MIMEType, sha256: e.SHA256,
		extracted: e.Extracted, state: e.State}
}
