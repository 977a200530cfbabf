package manifest

import (
	"bufio"
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// sortRun is how many bytes of lines are sorted in memory at once; a larger
// file is sorted in runs merged from temporary files (memory stays bounded
// however large the log).
var sortRun = 32 << 20

// SortFile sorts the JSON lines of path in place: by the number after a
// leading {"ts": (capture time), then by the whole line, so that a log
// written in an order that depended on timing (several workers) comes out
// the same every time. Lines without a leading ts sort last. The sorted
// file replaces path atomically (a crash leaves the unsorted file whole).
// A missing file is not an error.
func SortFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	dir := filepath.Dir(path)
	var runs []string
	defer func() {
		for _, r := range runs {
			os.Remove(r)
		}
	}()
	br := bufio.NewReaderSize(f, 256<<10)
	var lines [][]byte
	size := 0
	flushRun := func() error {
		if len(lines) == 0 {
			return nil
		}
		sortLines(lines)
		t, err := os.CreateTemp(dir, ".sort-*")
		if err != nil {
			return err
		}
		runs = append(runs, t.Name())
		bw := bufio.NewWriterSize(t, 256<<10)
		for _, l := range lines {
			bw.Write(l)
		}
		if err := bw.Flush(); err != nil {
			t.Close()
			return err
		}
		lines, size = lines[:0], 0
		return t.Close()
	}
	sorted := true
	var prev []byte
	for {
		l, err := br.ReadBytes('\n')
		if len(l) > 0 {
			if l[len(l)-1] != '\n' {
				l = append(l, '\n')
			}
			if prev != nil && compareLines(prev, l) > 0 {
				sorted = false
			}
			prev = l
			lines = append(lines, l)
			size += len(l)
			if size >= sortRun {
				if err := flushRun(); err != nil {
					return fmt.Errorf("manifest: sort %s: %w", path, err)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("manifest: sort %s: %w", path, err)
		}
	}
	if sorted {
		return nil
	}
	out, err := os.CreateTemp(dir, ".sorted-*")
	if err != nil {
		return fmt.Errorf("manifest: sort %s: %w", path, err)
	}
	tmp := out.Name()
	defer os.Remove(tmp)
	bw := bufio.NewWriterSize(out, 256<<10)
	if len(runs) == 0 {
		sortLines(lines)
		for _, l := range lines {
			bw.Write(l)
		}
	} else {
		if err := flushRun(); err != nil {
			out.Close()
			return fmt.Errorf("manifest: sort %s: %w", path, err)
		}
		if err := mergeRuns(bw, runs); err != nil {
			out.Close()
			return fmt.Errorf("manifest: sort %s: %w", path, err)
		}
	}
	if err := bw.Flush(); err != nil {
		out.Close()
		return fmt.Errorf("manifest: sort %s: %w", path, err)
	}
	if err := out.Chmod(0o644); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("manifest: sort %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("manifest: sort %s: %w", path, err)
	}
	return nil
}

func sortLines(lines [][]byte) { slices.SortStableFunc(lines, compareLines) }

var tsPrefix = []byte(`{"ts":`)

// lineTS is the number after a leading {"ts":, and whether there is one.
func lineTS(l []byte) (float64, bool) {
	if !bytes.HasPrefix(l, tsPrefix) {
		return 0, false
	}
	rest := l[len(tsPrefix):]
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(bytes.Trim(rest[:end], `"`)), 64)
	return v, err == nil
}

func compareLines(a, b []byte) int {
	ta, oka := lineTS(a)
	tb, okb := lineTS(b)
	switch {
	case oka && !okb:
		return -1
	case !oka && okb:
		return 1
	case oka && ta != tb:
		if ta < tb {
			return -1
		}
		return 1
	}
	return bytes.Compare(a, b)
}

type runReader struct {
	br   *bufio.Reader
	f    *os.File
	line []byte
}

type runHeap []*runReader

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return compareLines(h[i].line, h[j].line) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeRuns writes the k-way merge of the sorted run files to w.
func mergeRuns(w io.Writer, runs []string) error {
	var h runHeap
	defer func() {
		for _, r := range h {
			r.f.Close()
		}
	}()
	for _, name := range runs {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		r := &runReader{br: bufio.NewReaderSize(f, 64<<10), f: f}
		if r.line, err = r.br.ReadBytes('\n'); err != nil && err != io.EOF {
			f.Close()
			return err
		}
		if len(r.line) == 0 {
			f.Close()
			continue
		}
		h = append(h, r)
	}
	heap.Init(&h)
	for h.Len() > 0 {
		r := h[0]
		if _, err := w.Write(r.line); err != nil {
			return err
		}
		var err error
		r.line, err = r.br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return err
		}
		if len(r.line) == 0 {
			r.f.Close()
			heap.Pop(&h)
			continue
		}
		heap.Fix(&h, 0)
	}
	return nil
}
