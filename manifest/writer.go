package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
)

// Writer appends JSON lines to a file. It is safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	path string
	buf  bytes.Buffer
	enc  *json.Encoder
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("manifest: writer closed")

// NewWriter creates path (which must not exist; a symlink there is refused,
// never followed) and returns a Writer appending to it.
func NewWriter(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND|oNoFollow, 0o644)
	if err != nil {
		return nil, fmt.Errorf("manifest: create %s: %w", path, err)
	}
	w := &Writer{f: f, path: path}
	w.enc = json.NewEncoder(&w.buf)
	w.enc.SetEscapeHTML(false)
	return w, nil
}

// Write marshals v as one JSON line and hands it to the OS with a single
// write before returning. v is not retained. A marshalling error writes
// nothing.
func (w *Writer) Write(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return ErrClosed
	}
	w.buf.Reset()
	if err := w.enc.Encode(v); err != nil { // Encode appends the '\n'
		return fmt.Errorf("manifest: encode: %w", err)
	}
	if _, err := w.f.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("manifest: write %s: %w", w.path, err)
	}
	return nil
}

// Close closes the file. It is safe to call more than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("manifest: close %s: %w", w.path, err)
	}
	return nil
}
