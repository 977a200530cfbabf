package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// What -same ignores: report.html entirely, and the value of summary.json's
// top-level elapsed_seconds.
const (
	ignoredFile    = "report.html"
	summaryFile    = "summary.json"
	ignoredSummary = "elapsed_seconds"
)

// sameMode compares output folders a and b file by file.
func sameMode(a, b string, maxShown int) int {
	fa, err := listFiles(a)
	if err == nil {
		var fb map[string]int64
		fb, err = listFiles(b)
		if err == nil {
			return compareTrees(a, b, fa, fb, maxShown)
		}
	}
	fmt.Fprintln(os.Stderr, "verify -same:", err)
	return 2
}

// listFiles returns every regular file under dir (relative, slash
// separated) with its size; anything else that is not a directory is
// listed with size -1 so that it is reported.
func listFiles(dir string) (map[string]int64, error) {
	files := map[string]int64{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ignoredFile {
			return nil
		}
		size := int64(-1)
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			size = info.Size()
		}
		files[rel] = size
		return nil
	})
	return files, err
}

func compareTrees(a, b string, fa, fb map[string]int64, maxShown int) int {
	var diffs []string
	var common []string
	var total int64
	for rel := range fa {
		if _, ok := fb[rel]; ok {
			common = append(common, rel)
			total += max(fa[rel], 0)
		} else {
			diffs = append(diffs, fmt.Sprintf("%s: only in %s", rel, a))
		}
	}
	for rel := range fb {
		if _, ok := fa[rel]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: only in %s", rel, b))
		}
	}
	sort.Strings(common)
	res := make([]string, len(common))
	parallel(len(common), func(i int) {
		rel := common[i]
		pa, pb := filepath.Join(a, filepath.FromSlash(rel)), filepath.Join(b, filepath.FromSlash(rel))
		var err error
		switch {
		case fa[rel] < 0 || fb[rel] < 0:
			res[i] = "not a regular file"
		case rel == summaryFile:
			res[i], err = compareSummary(pa, pb)
		default:
			res[i], err = compareFiles(pa, pb, fa[rel], fb[rel], isText(rel))
		}
		if err != nil {
			res[i] = err.Error()
		}
	})
	for i, r := range res {
		if r != "" {
			diffs = append(diffs, common[i]+": "+r)
		}
	}
	if len(diffs) == 0 {
		fmt.Printf("verify -same: IDENTICAL: %d files, %.0f MB (ignoring %s and %s's %s)\n",
			len(common), float64(total)/1e6, ignoredFile, summaryFile, ignoredSummary)
		return 0
	}
	sort.Strings(diffs)
	fmt.Printf("verify -same: DIFFERENT: %d differences between %s and %s (of %d+%d files)\n", len(diffs), a, b, len(fa), len(fb))
	for i, d := range diffs {
		if i == maxShown {
			fmt.Printf("  ... and %d more\n", len(diffs)-maxShown)
			break
		}
		fmt.Printf("  %s\n", strings.ReplaceAll(d, "\n", "\n    "))
	}
	return 1
}

func isText(rel string) bool {
	for _, ext := range []string{".jsonl", ".json", ".txt", ".log", ".csv", ".html"} {
		if strings.HasSuffix(rel, ext) {
			return true
		}
	}
	return false
}

// compareFiles returns "" when the files are equal, else where they first
// differ (offset, and for text files the line and both lines).
func compareFiles(pa, pb string, sa, sb int64, text bool) (string, error) {
	ra, err := os.Open(pa)
	if err != nil {
		return "", err
	}
	defer ra.Close()
	rb, err := os.Open(pb)
	if err != nil {
		return "", err
	}
	defer rb.Close()
	const chunk = 1 << 20
	ba, bb := make([]byte, chunk), make([]byte, chunk)
	var off int64
	lines := 1
	for {
		na, ea := io.ReadFull(ra, ba)
		nb, eb := io.ReadFull(rb, bb)
		if ea != nil && !errors.Is(ea, io.EOF) && !errors.Is(ea, io.ErrUnexpectedEOF) {
			return "", ea
		}
		if eb != nil && !errors.Is(eb, io.EOF) && !errors.Is(eb, io.ErrUnexpectedEOF) {
			return "", eb
		}
		n := min(na, nb)
		if !bytes.Equal(ba[:n], bb[:n]) || na != nb {
			i := 0
			for i < n && ba[i] == bb[i] {
				i++
			}
			where := fmt.Sprintf("differ at byte %d (sizes %d and %d)", off+int64(i), sa, sb)
			if text {
				lines += bytes.Count(ba[:i], []byte("\n"))
				where += fmt.Sprintf(", line %d:\n- %s\n+ %s", lines, lineAt(ba[:na], i), lineAt(bb[:nb], i))
			}
			return where, nil
		}
		if na < chunk {
			return "", nil
		}
		if text {
			lines += bytes.Count(ba[:n], []byte("\n"))
		}
		off += int64(n)
	}
}

// lineAt returns the line of buf holding offset i, shortened around i.
func lineAt(buf []byte, i int) string {
	start := bytes.LastIndexByte(buf[:min(i, len(buf))], '\n') + 1
	end := len(buf)
	if i < len(buf) {
		if j := bytes.IndexByte(buf[i:], '\n'); j >= 0 {
			end = i + j
		}
	}
	line := buf[start:end]
	const keep = 240
	if len(line) > keep {
		from := max(0, min(i-start-keep/2, len(line)-keep))
		s := string(line[from : from+keep])
		if from > 0 {
			s = "..." + s
		}
		if from+keep < len(line) {
			s += "..."
		}
		return s
	}
	if i >= len(buf) && start == end {
		return "<end of file>"
	}
	return string(line)
}

// compareSummary compares two summary.json files byte for byte except the
// value of the top-level elapsed_seconds (which both must have).
func compareSummary(pa, pb string) (string, error) {
	da, err := os.ReadFile(pa)
	if err != nil {
		return "", err
	}
	db, err := os.ReadFile(pb)
	if err != nil {
		return "", err
	}
	na, oka, err := blankTopLevel(da, ignoredSummary)
	if err != nil {
		return "", fmt.Errorf("%s: %v", pa, err)
	}
	nb, okb, err := blankTopLevel(db, ignoredSummary)
	if err != nil {
		return "", fmt.Errorf("%s: %v", pb, err)
	}
	if !oka || !okb {
		return fmt.Sprintf("%s missing (in first: %v, second: %v)", ignoredSummary, oka, okb), nil
	}
	if bytes.Equal(na, nb) {
		return "", nil
	}
	i := 0
	for i < len(na) && i < len(nb) && na[i] == nb[i] {
		i++
	}
	line := 1 + bytes.Count(na[:i], []byte("\n"))
	return fmt.Sprintf("differ (besides %s) at line %d:\n- %s\n+ %s", ignoredSummary, line, lineAt(na, i), lineAt(nb, i)), nil
}

// blankTopLevel returns data with the value of the top-level object's key
// replaced by a fixed placeholder (the ": value" between the key and the
// next token), and whether the key was there. The rest is kept byte for
// byte.
func blankTopLevel(data []byte, key string) ([]byte, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct{ obj, wantKey bool }
	var stack []frame
	var out []byte
	last, found := 0, false
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if n := len(stack); n > 0 && stack[n-1].obj {
					stack[n-1].wantKey = false
				}
				stack = append(stack, frame{obj: d == '{', wantKey: d == '{'})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		}
		n := len(stack)
		if n > 0 && stack[n-1].obj && stack[n-1].wantKey {
			stack[n-1].wantKey = false
			if n == 1 && tok == key {
				start := dec.InputOffset()
				// Skip the value, whatever it is.
				depth := 0
				for {
					v, err := dec.Token()
					if err != nil {
						return nil, false, err
					}
					if d, ok := v.(json.Delim); ok {
						if d == '{' || d == '[' {
							depth++
						} else {
							depth--
						}
					}
					if depth == 0 {
						break
					}
				}
				out = append(out, data[last:start]...)
				out = append(out, ": <ignored>"...)
				last = int(dec.InputOffset())
				found = true
				valueDone()
			}
			continue
		}
		valueDone() // a scalar value
	}
	out = append(out, data[last:]...)
	return out, found, nil
}
