package ftp

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/assembler"
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/flowtable"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// result is what one in-process extract run wrote.
type result struct {
	dir      string
	manifest []manifest.Entry
	logs     []Log
	rawLogs  []map[string]any
	sum      *engine.Summary
	env      *extractors.Env
}

// runExtract runs the real pipeline (engine, Mux, this extractor, a real
// sink) over the captures, the way `streamx extract` wires it, minus the
// transcripts and the other protocols, into a fresh temporary folder.
func runExtract(t testing.TB, opts extractors.Options, captures ...string) *result {
	t.Helper()
	dir := t.TempDir()
	man, err := manifest.NewWriter(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sk, err := sink.New(dir, sink.Options{MaxOpenFiles: 64, Manifest: man})
	if err != nil {
		t.Fatal(err)
	}
	logs := extractors.NewLogs(dir)
	if opts.MaxExpectations == 0 {
		opts.MaxExpectations = 4096
	}
	env := &extractors.Env{Sink: sk, Logs: logs, Expect: &extractors.Expectations{Max: opts.MaxExpectations}, Options: opts}
	mux := extractors.NewMux(env, New())
	cfg := engine.Config{
		Inputs:     captures,
		Flow:       flowtable.Options{IdleTimeout: 10 * time.Minute, MaxConns: 1 << 20, Linger: time.Minute},
		Asm:        assembler.Options{ReorderWindow: 30 * time.Second},
		NewHandler: mux.NewHandler,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := engine.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("engine.Run: %v", err)
	}
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
	if err := logs.Close(); err != nil {
		t.Fatal(err)
	}
	if err := man.Close(); err != nil {
		t.Fatal(err)
	}
	r := &result{dir: dir, sum: sum, env: env}
	readJSONL(t, filepath.Join(dir, "manifest.jsonl"), func(b []byte) {
		var e manifest.Entry
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("manifest line %s: %v", b, err)
		}
		r.manifest = append(r.manifest, e)
	})
	readJSONL(t, filepath.Join(dir, "ftp.jsonl"), func(b []byte) {
		var l Log
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("ftp.jsonl line %s: %v", b, err)
		}
		r.logs = append(r.logs, l)
		var m map[string]any
		json.Unmarshal(b, &m)
		r.rawLogs = append(r.rawLogs, m)
	})
	// Nothing is left unfinished.
	filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".part") {
			t.Errorf("left over: %s", p)
		}
		return nil
	})
	return r
}

func readJSONL(t testing.TB, path string, each func([]byte)) {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		each(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// files are the carved data files (not the session transcripts).
func (r *result) files() []manifest.Entry {
	var out []manifest.Entry
	for _, e := range r.manifest {
		if e.Source == "FTP_DATA" {
			out = append(out, e)
		}
	}
	return out
}

func (r *result) sessions() []manifest.Entry {
	var out []manifest.Entry
	for _, e := range r.manifest {
		if e.Source == "FTP_SESSION" {
			out = append(out, e)
		}
	}
	return out
}

// hashFile is the SHA-256 of an extracted file as it is on disk
// (holes read as zeros), and its size.
func (r *result) hashFile(t testing.TB, e manifest.Entry) (string, int64) {
	t.Helper()
	f, err := os.Open(filepath.Join(r.dir, filepath.FromSlash(e.Extracted)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

func (r *result) read(t testing.TB, e manifest.Entry) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(e.Extracted)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func extraString(e manifest.Entry, k string) string {
	s, _ := e.Extra[k].(string)
	return s
}
