//go:build unix

package sink

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestHugeGapIsSparse(t *testing.T) {
	e := newEnv(t, Options{})
	f := e.create(t, meta("sparse.bin"))
	f.Write([]byte("head"))
	f.Gap(1 << 40)
	f.Write([]byte("tail"))
	f.Gap(1 << 40) // trailing
	en, err := f.Close(Complete, "")
	if err != nil {
		t.Fatal(err)
	}
	want := int64(8 + 2<<40)
	fi, err := os.Stat(filepath.Join(e.dir, filepath.FromSlash(en.Extracted)))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != want {
		t.Errorf("size %d, want %d", fi.Size(), want)
	}
	if blocks := fi.Sys().(*syscall.Stat_t).Blocks; blocks > 1024 {
		t.Errorf("%d blocks allocated: the gap was written", blocks)
	}
	if en.State != "truncated" || en.MissingBytes != 2<<40 || len(en.Holes) != 2 || en.SHA256 != "" {
		t.Errorf("entry %+v", en)
	}
	if st := e.sink.Stats(); st.Bytes != 8 || st.MissingBytes != 2<<40 {
		t.Errorf("stats %+v", st)
	}
}

// TestHostileOffset: an offset no file system takes (or past the sink's
// own cap) ends the file as "file-too-large"; it is never a Go error.
func TestHostileOffset(t *testing.T) {
	for _, off := range []int64{1 << 61, 1<<63 - 10} {
		e := newEnv(t, Options{MaxOpenFiles: 1})
		f := e.create(t, meta("far.bin"))
		f.Write([]byte("head"))
		if err := f.WriteAt([]byte("far away"), off); err != nil {
			t.Fatalf("WriteAt(%d): %v", off, err)
		}
		en, err := f.Close(Complete, "")
		if err != nil {
			t.Fatal(err)
		}
		st := e.sink.Stats()
		if en.Reason == ReasonTooLarge {
			if st.DroppedBytes != 8 || en.SeenBytes != 4 || en.SHA256 != "" {
				t.Errorf("offset %d: entry %+v stats %+v", off, en, st)
			}
			continue
		}
		// A file system that took it: a sparse file with one hole.
		if off == 1<<63-10 || en.Reason != ReasonGap || en.SeenBytes != 12 {
			t.Errorf("offset %d: entry %+v", off, en)
		}
	}
}

func TestOutputErrorWrapped(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores permissions")
	}
	e := newEnv(t, Options{})
	ftp := filepath.Join(e.dir, "files", "ftp")
	os.MkdirAll(ftp, 0o755)
	os.Chmod(ftp, 0o555)
	defer os.Chmod(ftp, 0o755)
	_, err := e.sink.Create(meta("x"))
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), ftp) {
		t.Errorf("Create in a read-only folder: %v", err)
	}
}
