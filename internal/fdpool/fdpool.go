// Package fdpool writes many output files at once with a bounded number of
// open descriptors: when more than Max are open, the least recently written
// is flushed and closed, and reopened (appending) when written again, as
// tcpflow's -f does. Each file is written under a temporary name (final
// name + ".part") and renamed when it is closed, so a file that looks
// complete is complete.
//
// Call order: New; Create per file; Write any number of times; Close per
// file (renames); Pool.Close at the end closes what is left (renaming it
// too, unless Abandon was asked, in which case .part files stay).
package fdpool

import (
	"bufio"
	"fmt"
	"os"
	"syscall"
)

// Pool bounds the open files.
type Pool struct {
	Max     int // open descriptors at most (default 128)
	BufSize int // write buffer per open file (default 16 KiB)

	head, tail *File
	open       int
	all        map[*File]struct{}
	free       []*bufio.Writer // buffers of closed files, for the next ones (at most Max)
	Reopens    uint64
}

// File is one output file.
type File struct {
	Path string // final name
	Size int64

	p          *Pool
	f          *os.File
	w          *bufio.Writer
	prev, next *File
	closed     bool
}

// New returns a pool with at most max open files.
func New(max int) *Pool {
	if max <= 0 {
		max = 128
	}
	return &Pool{Max: max, BufSize: 16 << 10, all: map[*File]struct{}{}}
}

const createFlags = os.O_WRONLY | os.O_APPEND | os.O_CREATE | os.O_EXCL | syscall.O_NOFOLLOW

// Create makes path+".part" (never an existing file, never through a
// symlink) and returns the File.
func (p *Pool) Create(path string) (*File, error) {
	fl := &File{Path: path, p: p}
	f, err := os.OpenFile(path+".part", createFlags, 0o644)
	if err != nil {
		return nil, err
	}
	fl.f = f
	p.all[fl] = struct{}{}
	p.attach(fl)
	return fl, nil
}

func (p *Pool) attach(fl *File) {
	switch {
	case fl.w != nil:
		fl.w.Reset(fl.f)
	case len(p.free) > 0:
		fl.w = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		fl.w.Reset(fl.f)
	default:
		fl.w = bufio.NewWriterSize(fl.f, p.BufSize)
	}
	p.open++
	p.pushFront(fl)
	for p.open > p.Max && p.tail != nil && p.tail != fl {
		p.evict(p.tail)
	}
}

func (p *Pool) pushFront(fl *File) {
	fl.prev, fl.next = nil, p.head
	if p.head != nil {
		p.head.prev = fl
	}
	p.head = fl
	if p.tail == nil {
		p.tail = fl
	}
}

func (p *Pool) unlink(fl *File) {
	if fl.prev != nil {
		fl.prev.next = fl.next
	} else if p.head == fl {
		p.head = fl.next
	}
	if fl.next != nil {
		fl.next.prev = fl.prev
	} else if p.tail == fl {
		p.tail = fl.prev
	}
	fl.prev, fl.next = nil, nil
}

func (p *Pool) evict(fl *File) error {
	p.unlink(fl)
	p.open--
	err := fl.w.Flush()
	if cerr := fl.f.Close(); err == nil {
		err = cerr
	}
	fl.f = nil
	// keep the buffer only while open (memory stays bounded by Max); the
	// next file to open takes it
	if err == nil {
		fl.w.Reset(nil)
		p.free = append(p.free, fl.w)
	}
	fl.w = nil
	return err
}

// Write appends b.
func (fl *File) Write(b []byte) (int, error) {
	if fl.closed {
		return 0, fmt.Errorf("write %s: file already closed", fl.Path)
	}
	p := fl.p
	if fl.f == nil {
		f, err := os.OpenFile(fl.Path+".part", os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return 0, err
		}
		fl.f = f
		p.Reopens++
		p.attach(fl)
	} else if p.head != fl {
		p.unlink(fl)
		p.pushFront(fl)
	}
	n, err := fl.w.Write(b)
	fl.Size += int64(n)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", fl.Path, err)
	}
	return n, nil
}

// WriteString appends s.
func (fl *File) WriteString(s string) (int, error) {
	return fl.Write([]byte(s))
}

// Close flushes, closes and renames the file to its final name.
func (fl *File) Close() error {
	return fl.close(true)
}

func (fl *File) close(rename bool) error {
	if fl.closed {
		return nil
	}
	fl.closed = true
	p := fl.p
	delete(p.all, fl)
	var err error
	if fl.f != nil {
		err = p.evict(fl)
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", fl.Path, err)
	}
	if rename {
		if err := os.Rename(fl.Path+".part", fl.Path); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every file still open, renaming them.
func (p *Pool) Close() error {
	var first error
	for fl := range p.all {
		if err := fl.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Abandon closes every file still open without renaming: they stay as
// .part files, visibly unfinished.
func (p *Pool) Abandon() {
	for fl := range p.all {
		fl.close(false)
	}
}

// Skip leaves n bytes of zeros (a hole) at the end of the file, without
// writing them: the file system keeps it sparse.
func (fl *File) Skip(n int64) error {
	if n <= 0 {
		return nil
	}
	if _, err := fl.Write(nil); err != nil { // make sure it is open
		return err
	}
	if err := fl.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", fl.Path, err)
	}
	fl.Size += n
	if err := fl.f.Truncate(fl.Size); err != nil {
		return fmt.Errorf("write %s: %w", fl.Path, err)
	}
	return nil
}
