package fdpool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Many files written in turn through a pool of 3 descriptors come out
// whole, holes included, and nothing is left as .part.
func TestPoolBoundsDescriptors(t *testing.T) {
	dir := t.TempDir()
	p := New(3)
	var files []*File
	want := make([]bytes.Buffer, 10)
	for i := range 10 {
		f, err := p.Create(filepath.Join(dir, fmt.Sprintf("f%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for round := range 20 {
		for i, f := range files {
			if round == 7 && i%2 == 0 {
				if err := f.Skip(100); err != nil {
					t.Fatal(err)
				}
				want[i].Write(make([]byte, 100))
				continue
			}
			line := fmt.Sprintf("file %d round %d\n", i, round)
			if _, err := f.WriteString(line); err != nil {
				t.Fatal(err)
			}
			want[i].WriteString(line)
			if p.open > p.Max {
				t.Fatalf("%d open, max %d", p.open, p.Max)
			}
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range files {
		got, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[i].Bytes()) {
			t.Errorf("file %d: %d bytes, want %d", i, len(got), want[i].Len())
		}
	}
	if p.Reopens == 0 {
		t.Error("no file was ever closed and reopened: the bound was not exercised")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.part")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
}

func TestNeverOverwritesNorFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(outside, []byte("keep"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "x.part"))
	p := New(2)
	if _, err := p.Create(filepath.Join(dir, "x")); err == nil {
		t.Error("created through a symlink")
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Error("symlink target changed")
	}
}

func TestAbandonLeavesPart(t *testing.T) {
	dir := t.TempDir()
	p := New(2)
	f, _ := p.Create(filepath.Join(dir, "y"))
	f.WriteString("half")
	p.Abandon()
	if _, err := os.Stat(filepath.Join(dir, "y")); err == nil {
		t.Error("an unfinished file got its final name")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "y.part")); string(b) != "half" {
		t.Errorf(".part holds %q", b)
	}
}
