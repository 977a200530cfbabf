package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/streamx/streamx/internal/pcapgen"
)

func TestCases(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	if err := run([]string{"-cases", dir}, &log); err != nil {
		t.Fatal(err, log.String())
	}
	for _, c := range pcapgen.Cases() {
		for _, f := range []string{"capture.pcap", "README.md"} {
			if _, err := os.Stat(filepath.Join(dir, c.Name, f)); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Error(err)
	}
}

func TestBench(t *testing.T) {
	dir := t.TempDir()
	pcap, truth := filepath.Join(dir, "b.pcap"), filepath.Join(dir, "b.json")
	var log bytes.Buffer
	if err := run([]string{"-bench", pcap, "-size", "2M", "-seed", "5", "-truth", truth}, &log); err != nil {
		t.Fatal(err, log.String())
	}
	st, err := os.Stat(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < 1<<20 || st.Size() > 4<<20 {
		t.Errorf("capture is %d bytes for -size 2M", st.Size())
	}
	data, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	var tr pcapgen.Truth
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Bytes != st.Size() || len(tr.Files) == 0 || tr.Seed != 5 {
		t.Errorf("truth: %d bytes, %d files, seed %d", tr.Bytes, len(tr.Files), tr.Seed)
	}
}

func TestUsage(t *testing.T) {
	var log bytes.Buffer
	if err := run(nil, &log); err == nil {
		t.Error("no arguments accepted")
	}
	if err := run([]string{"-bench", filepath.Join(t.TempDir(), "x"), "-size", "lots"}, &log); err == nil {
		t.Error("bad size accepted")
	}
	if err := run([]string{"-cases", t.TempDir(), "-case", "nope"}, &log); err == nil {
		t.Error("unknown case accepted")
	}
}
