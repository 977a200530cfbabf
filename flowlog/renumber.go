package flowlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// RenumberStreams rewrites the "stream" field of every line of a
// flows.jsonl as tshark's tcp.stream: the connection's place in the order
// of first packets, counted over the whole file. A flow table numbers its
// own connections that way, but with several workers each table sees only
// its share; the first packet's number ("first_packet") is run-wide, so
// the file can be numbered as one table would have. The file is replaced
// atomically, and only if a number changes. A missing file is not an error.
func RenumberStreams(path string) error {
	var firsts []uint64
	err := eachLine(path, func(line []byte) error {
		if v, _, _, ok := field(line, keyFirst); ok {
			firsts = append(firsts, v)
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	slices.Sort(firsts)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".flows-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 256<<10)
	changed := false
	err = eachLine(path, func(line []byte) error {
		first, _, _, ok1 := field(line, keyFirst)
		old, a, b, ok2 := field(line, keyStream)
		rank, _ := slices.BinarySearch(firsts, first)
		if !ok1 || !ok2 || uint64(rank) == old {
			_, err := w.Write(line)
			return err
		}
		changed = true
		w.Write(line[:a])
		w.WriteString(strconv.Itoa(rank))
		_, err := w.Write(line[b:])
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && changed { // one worker: nothing changes, the file stays
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("flowlog: renumber %s: %w", path, err)
	}
	return nil
}

// eachLine calls fn with every line of path (with its newline).
func eachLine(path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// a line longer than the buffer: read the rest of it
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			if ferr := fn(line); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var (
	keyFirst  = []byte(`,"first_packet":`)
	keyStream = []byte(`,"stream":`)
)

// field finds the first key in line and returns its unsigned value and
// where the digits are. The fields read here come before any text taken
// from the wire, so the first match is the field.
func field(line, key []byte) (v uint64, a, b int, ok bool) {
	i := bytes.Index(line, key)
	if i < 0 {
		return 0, 0, 0, false
	}
	a = i + len(key)
	b = a
	for b < len(line) && line[b] >= '0' && line[b] <= '9' {
		b++
	}
	v, err := strconv.ParseUint(string(line[a:b]), 10, 64)
	return v, a, b, err == nil
}
