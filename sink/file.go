package sink

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"

	"github.com/streamx/streamx/manifest"
)

// ErrClosed is returned when a File is written or gapped after its
// caller closed it.
var ErrClosed = errors.New("sink: file already closed")

// errTooLarge marks a write the file system refused for the file's size
// (EFBIG): a hostile offset, not a failure of the tool.
var errTooLarge = errors.New("file too large")

// File is one file being carved. Its methods must be called from the
// Sink's goroutine.
type File struct {
	s      *Sink
	meta   Meta
	id     int
	fuid   string
	folder string // "files/<subdir>", slash-separated, relative to the root

	stem, ext string // from SafeName; stem is the fuid for generated names
	hasExt    bool   // the wire name had an extension
	generated bool

	tmp     string      // "files/<subdir>/<name>.part"
	tmpBase string      // "<name>.part", in dir
	dir     *os.Root    // the folder, opened once per sink (one openat per call, not one per path component)
	tmpKey  string      // its nameKey
	ident   fs.FileInfo // the .part as last closed, checked on every reopen

	// Open state: fd and buf are set together, while the file is in the
	// Sink's LRU list.
	fd         *os.File
	buf        []byte // pending bytes for [bufOff, bufOff+len(buf))
	bufOff     int64
	prev, next *File

	off  int64 // cursor for Write and Gap
	size int64 // logical size: end of the furthest write or gap
	phys int64 // end of the furthest byte handed to the OS
	cov  coverage

	head     []byte // bytes [0, len(head)) for sniffing, until sniffed
	mime     string
	mimeExt  string // the sniffed type's usual extension, "" if none
	sniffed  bool
	hashLive bool // every byte so far arrived in order from 0
	hashed   int64
	sha, md5 hash.Hash

	lastTS   time.Time
	tooLarge bool // the file system refused a size (EFBIG)

	finished     bool // ended by the caller or by the sink
	callerClosed bool
	entry        manifest.Entry
	err          error // sticky output error
}

// FUID returns the file's ID ("F000001"), as it will appear in the
// manifest.
func (f *File) FUID() string { return f.fuid }

// Size returns the logical size: the end of the furthest byte written or
// gapped.
func (f *File) Size() int64 { return f.size }

// SetExtra adds or replaces one extractor-specific field of the manifest
// entry (e.g. that a body did not decode, learned after the file was
// created). v must not change until Close.
func (f *File) SetExtra(k string, v any) {
	if f.meta.Extra == nil {
		f.meta.Extra = map[string]any{}
	}
	f.meta.Extra[k] = v
}

// SetLastTS records the capture time of the latest data; the manifest
// duration is the span from Meta.TS to it. Optional.
func (f *File) SetLastTS(ts time.Time) {
	if ts.After(f.lastTS) {
		f.lastTS = ts
	}
}

// Write appends p at the cursor and advances it. p is not retained. It
// returns len(p) unless the output failed; bytes dropped because the file
// hit MaxFileSize, or was ended by the sink, count as written (see
// Stats.DroppedBytes).
func (f *File) Write(p []byte) (int, error) {
	if err := f.data(p, f.off); err != nil {
		return 0, err
	}
	f.off += int64(len(p))
	return len(p), nil
}

// WriteAt writes p at offset off, for pieces that arrive out of order
// (FTP REST, HTTP 206 ranges). It does not move the cursor. p is not
// retained. Overlapping writes overwrite; coverage is tracked per byte
// range, so a file is complete only if [0, Size) is fully covered.
func (f *File) WriteAt(p []byte, off int64) error {
	if off < 0 {
		return fmt.Errorf("sink: %s: WriteAt negative offset %d", f.fuid, off)
	}
	return f.data(p, off)
}

// Gap records that n bytes are missing at the cursor and advances it, so
// later data keeps its true offset. Nothing is written for the gap: the
// region stays sparse and reads back as zeros, and the manifest lists it as
// a hole. The gap counts towards MaxFileSize. An output error met while
// ending the file at the size cap is returned by the next call or Close.
func (f *File) Gap(n int64) {
	if f.finished || f.err != nil || n <= 0 {
		return
	}
	limit := f.s.opts.MaxFileSize
	switch {
	case limit > 0 && n > limit-f.off:
		f.off = max(f.off, limit)
		f.size = max(f.size, f.off)
		f.end(ReasonMaxFileSize)
	case n > maxLogical-f.off:
		f.end(ReasonTooLarge)
	default:
		f.off += n
		f.size = max(f.size, f.off)
	}
}

// end finishes the file on the sink's own initiative; an error is kept
// for the caller's next call.
func (f *File) end(reason string) {
	if _, err := f.finish(Truncated, reason); err != nil && f.err == nil {
		f.err = err
	}
}

// data is Write and WriteAt: p at pos.
func (f *File) data(p []byte, pos int64) error {
	if f.callerClosed {
		return ErrClosed
	}
	if f.err != nil {
		return f.err
	}
	if f.finished {
		f.s.stats.DroppedBytes += int64(len(p))
		return nil
	}
	if len(p) == 0 {
		return nil
	}
	keep, reason := p, ""
	if limit := f.s.opts.MaxFileSize; limit > 0 && int64(len(p)) > limit-pos {
		keep, reason = p[:max(0, min(int64(len(p)), limit-pos))], ReasonMaxFileSize
	} else if int64(len(p)) > maxLogical-pos {
		keep, reason = nil, ReasonTooLarge
	}
	f.s.stats.DroppedBytes += int64(len(p) - len(keep))
	if len(keep) > 0 {
		f.observe(keep, pos)
		f.size = max(f.size, pos+int64(len(keep)))
		f.s.stats.Bytes += int64(len(keep))
		if err := f.put(keep, pos); err != nil && !errors.Is(err, errTooLarge) {
			return f.fail(err)
		}
		if f.tooLarge {
			reason = ReasonTooLarge
		}
	}
	if reason != "" {
		if _, err := f.finish(Truncated, reason); err != nil {
			return err
		}
	}
	return nil
}

// observe feeds the sniffing buffer and the running hashes.
func (f *File) observe(p []byte, pos int64) {
	if !f.sniffed && pos <= int64(len(f.head)) && pos+int64(len(p)) > int64(len(f.head)) {
		from := int64(len(f.head)) - pos
		n := min(int64(len(p))-from, sniffLen-int64(len(f.head)))
		f.head = append(f.head, p[from:from+n]...)
		if len(f.head) == sniffLen {
			f.sniff(f.head)
		}
	}
	if f.hashLive {
		if pos != f.hashed {
			f.hashLive = false
			f.sha, f.md5 = nil, nil
			return
		}
		f.sha.Write(p)
		f.md5.Write(p)
		f.hashed += int64(len(p))
	}
}

func (f *File) sniff(b []byte) {
	f.sniffed = true
	f.head = nil
	if len(b) > 0 {
		m := mimetype.Detect(b)
		f.mime, f.mimeExt = m.String(), m.Extension()
	}
}

// put hands p, destined for pos, to the write buffer or the OS.
func (f *File) put(p []byte, pos int64) error {
	if err := f.open(); err != nil {
		return err
	}
	f.s.touch(f)
	if len(f.buf) > 0 && (pos != f.bufOff+int64(len(f.buf)) || len(f.buf)+len(p) > cap(f.buf)) {
		// errTooLarge: those bytes are dropped and counted; p still goes.
		if err := f.flush(); err != nil && !errors.Is(err, errTooLarge) {
			return err
		}
	}
	if len(p) >= cap(f.buf) {
		return f.pwrite(p, pos)
	}
	if len(f.buf) == 0 {
		f.bufOff = pos
	}
	f.buf = append(f.buf, p...)
	return nil
}

func (f *File) flush() error {
	if len(f.buf) == 0 {
		return nil
	}
	err := f.pwrite(f.buf, f.bufOff)
	f.buf = f.buf[:0]
	return err
}

func (f *File) pwrite(p []byte, pos int64) error {
	_, err := f.fd.WriteAt(p, pos)
	if errors.Is(err, syscall.EFBIG) {
		f.tooLarge = true
		f.s.stats.Bytes -= int64(len(p))
		f.s.stats.DroppedBytes += int64(len(p))
		return errTooLarge
	}
	if err != nil {
		return fmt.Errorf("sink: write %s: %w", f.s.path(f.tmp), err)
	}
	f.cov.add(pos, pos+int64(len(p)))
	f.phys = max(f.phys, pos+int64(len(p)))
	return nil
}

// open makes sure the file has a descriptor and a write buffer, closing
// the least recently written file if the pool is full.
func (f *File) open() error {
	if f.fd != nil {
		return nil
	}
	s := f.s
	if err := s.makeRoom(); err != nil {
		return err
	}
	fd, err := f.reopen(os.O_WRONLY)
	if err != nil {
		return err
	}
	f.fd, f.buf = fd, s.getBuf()
	s.pushFront(f)
	s.nopen++
	return nil
}

// reopen opens the .part again (never creating, never truncating, never
// through a symlink) and checks it is still the file the sink created.
func (f *File) reopen(flag int) (*os.File, error) {
	fd, err := f.dir.OpenFile(f.tmpBase, flag|oNoFollow, 0)
	if err != nil {
		return nil, fmt.Errorf("sink: reopen %s: %w", f.s.path(f.tmp), err)
	}
	fi, err := fd.Stat()
	if err == nil && (!os.SameFile(fi, f.ident) || fi.Size() != f.ident.Size() || !fi.ModTime().Equal(f.ident.ModTime())) {
		err = errors.New("replaced behind the sink's back")
	}
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("sink: reopen %s: %w", f.s.path(f.tmp), err)
	}
	return fd, nil
}

// release flushes and closes the descriptor, returning the file to the
// closed-but-live state.
func (f *File) release() error {
	if f.fd == nil {
		return nil
	}
	err := f.flush()
	if errors.Is(err, errTooLarge) {
		// The bytes are counted dropped and left out of the coverage;
		// the file ends truncated when it is closed.
		err = nil
	}
	if fi, serr := f.fd.Stat(); serr == nil {
		f.ident = fi // size and mtime as the sink left them
	} else if err == nil {
		err = fmt.Errorf("sink: stat %s: %w", f.s.path(f.tmp), serr)
	}
	if cerr := f.fd.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("sink: close %s: %w", f.s.path(f.tmp), cerr)
	}
	f.s.unlink(f)
	f.s.nopen--
	f.s.putBuf(f.buf)
	f.fd, f.buf = nil, nil
	if err != nil && f.err == nil {
		f.err = err
	}
	return err
}

// fail records an output error: the file is abandoned as a .part (it
// never looks complete) and gets no manifest entry.
func (f *File) fail(err error) error {
	if f.err == nil {
		f.err = err
	}
	if f.fd != nil {
		f.fd.Close()
		f.s.unlink(f)
		f.s.nopen--
		f.s.putBuf(f.buf)
		f.fd, f.buf = nil, nil
	}
	if !f.finished {
		f.finished = true
		delete(f.s.live, f)
		f.s.stats.Open--
	}
	return f.err
}

// Close ends the file and returns its manifest entry, also written to the
// manifest. The state is the caller's claim (Truncated with an empty reason
// gets "unspecified"); the sink makes it Truncated, with no hashes, when
// bytes are missing:
//   - a hole in [0, Size): reason "gap" unless the caller gave one;
//   - Meta.ExpectedSize >= 0 and Size differs: reason "short" (or
//     "size-mismatch" when longer) unless the caller gave one;
//   - the file system refused the file's size (EFBIG): reason
//     "file-too-large", the file ending where the file on disk ends.
//
// Then the .part is linked to its final name (never replacing an existing
// file) and removed. Closing again returns the same entry. If the sink
// already ended the file (MaxFileSize, Sink.Close), Close returns that
// entry. After an output error, Close returns the error and no entry; the
// .part stays.
func (f *File) Close(state State, reason string) (manifest.Entry, error) {
	if f.callerClosed || f.finished {
		f.callerClosed = true
		return f.entry, f.err
	}
	f.callerClosed = true
	return f.finish(state, reason)
}

func (f *File) finish(state State, reason string) (manifest.Entry, error) {
	if f.finished {
		return f.entry, f.err
	}
	if f.err != nil {
		return manifest.Entry{}, f.fail(f.err)
	}
	s := f.s

	// 1. Final bytes on disk: flush, extend over a trailing gap (the
	// extension is sparse).
	if err := f.flush(); err != nil && !errors.Is(err, errTooLarge) {
		return manifest.Entry{}, f.fail(err)
	}
	if f.size > f.phys {
		if err := f.open(); err != nil {
			return manifest.Entry{}, f.fail(err)
		}
		err := f.fd.Truncate(f.size)
		if errors.Is(err, syscall.EFBIG) || errors.Is(err, syscall.EINVAL) {
			f.tooLarge = true
		} else if err != nil {
			return manifest.Entry{}, f.fail(fmt.Errorf("sink: truncate %s: %w", s.path(f.tmp), err))
		} else {
			f.phys = f.size
		}
	}
	if err := f.release(); err != nil {
		return manifest.Entry{}, f.fail(err)
	}

	// 2. State. A file the file system would not hold at its size ends
	// where the file on disk ends; what lay beyond was dropped.
	if f.tooLarge {
		f.size = min(f.size, f.phys)
		state, reason = Truncated, ReasonTooLarge
	}
	holes := f.cov.holes(f.size)
	var missing int64
	for _, h := range holes {
		missing += h.Length
	}
	if state != Complete {
		state = Truncated
		if reason == "" {
			reason = ReasonUnspecified
		}
	}
	if len(holes) > 0 && state == Complete {
		state, reason = Truncated, ReasonGap
	}
	if want := f.meta.ExpectedSize; want >= 0 && f.size != want && state == Complete {
		state, reason = Truncated, ReasonShort
		if f.size > want {
			reason = ReasonLong
		}
	}
	if state == Complete {
		reason = ""
	}

	// 3. Sniff and hash, re-reading the file when the bytes did not all
	// arrive in order.
	var md5sum, shasum string
	needSniff := !f.sniffed && int64(len(f.head)) < min(sniffLen, f.cov.prefix())
	needHash := state == Complete && !(f.hashLive && f.hashed == f.size)
	if needSniff || needHash {
		if err := f.reread(needSniff, needHash); err != nil {
			return manifest.Entry{}, f.fail(err)
		}
	}
	if !f.sniffed {
		f.sniff(f.head)
	}
	if state == Complete {
		md5sum = hex.EncodeToString(f.md5.Sum(nil))
		shasum = hex.EncodeToString(f.sha.Sum(nil))
	}

	// 4. Final name.
	final, err := f.link()
	if err != nil {
		return manifest.Entry{}, f.fail(err)
	}

	// 5. Manifest.
	e := manifest.Entry{
		TS:               manifest.TS{Time: f.meta.TS},
		FUID:             f.fuid,
		UID:              f.meta.UID,
		ConnID:           f.meta.Conn,
		Source:           f.meta.Source,
		IsOrig:           f.meta.IsOrig,
		Filename:         f.meta.Name,
		ServerPath:       f.meta.ServerPath,
		Command:          f.meta.Command,
		MIMEType:         f.mime,
		DeclaredMIMEType: f.meta.DeclaredMIME,
		Extracted:        path.Join(f.folder, final),
		SeenBytes:        f.cov.total(),
		MissingBytes:     missing,
		Holes:            holes,
		State:            state.String(),
		Reason:           reason,
		MD5:              md5sum,
		SHA256:           shasum,
		Extra:            f.meta.Extra,
	}
	if !utf8.ValidString(f.meta.Name) {
		e.FilenameHex = hex.EncodeToString([]byte(f.meta.Name))
	}
	if f.meta.ExpectedSize >= 0 {
		e.TotalBytes = new(f.meta.ExpectedSize)
	}
	if !f.meta.TS.IsZero() && f.lastTS.After(f.meta.TS) {
		e.Duration = manifest.Duration(f.lastTS.Sub(f.meta.TS))
	}
	f.entry = e
	f.finished = true
	delete(s.live, f)
	s.stats.Open--
	if state == Complete {
		s.stats.Complete++
	} else {
		s.stats.Truncated++
	}
	s.stats.MissingBytes += missing
	f.head, f.sha, f.md5 = nil, nil, nil
	if s.opts.Manifest != nil {
		if err := s.opts.Manifest.Write(e); err != nil {
			f.err = err
			return e, err
		}
	}
	return e, nil
}

// reread reads the closed .part back for the sniffing buffer and/or the
// hashes.
func (f *File) reread(sniff, hashes bool) error {
	fd, err := f.reopen(os.O_RDONLY)
	if err != nil {
		return err
	}
	defer fd.Close()
	buf := f.s.getBuf()
	defer f.s.putBuf(buf)
	buf = buf[:cap(buf)]
	if sniff {
		n := min(sniffLen, f.cov.prefix())
		head := make([]byte, n)
		if _, err := fd.ReadAt(head, 0); err != nil {
			return fmt.Errorf("sink: read %s: %w", f.s.path(f.tmp), err)
		}
		f.sniff(head)
	}
	if hashes {
		f.sha, f.md5 = sha256.New(), md5.New()
		w := io.MultiWriter(f.sha, f.md5)
		r := io.NewSectionReader(fd, 0, f.size)
		if _, err := io.CopyBuffer(w, r, buf); err != nil {
			return fmt.Errorf("sink: read %s: %w", f.s.path(f.tmp), err)
		}
	}
	return nil
}

// link gives the .part its final name, never replacing anything: the n-th
// free candidate of "<stem>[-n]<ext>" for which link(2) succeeds (a name
// that exists in any form, including a planted symlink, is skipped). The
// .part is then removed.
func (f *File) link() (string, error) {
	s := f.s
	ext := f.ext
	if f.generated || !f.hasExt {
		if f.mimeExt != "" {
			ext = f.mimeExt
		} else if f.generated {
			ext = ".bin"
		}
	}
	base := "final\x00" + s.nameKey(f.folder, f.stem+ext)
	for n := s.next[base]; n < s.next[base]+maxTries; n++ {
		name := candidate(f.stem, ext, n)
		key := s.nameKey(f.folder, name)
		if _, ok := s.taken[key]; ok {
			continue
		}
		rel := f.folder + "/" + name
		err := f.dir.Link(f.tmpBase, name)
		if err != nil && linkUnsupported(err) {
			err = f.renameNoReplace(name)
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("sink: link %s: %w", s.path(rel), err)
		}
		s.next[base] = n + 1
		s.taken[key] = struct{}{}
		if err := f.dir.Remove(f.tmpBase); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("sink: remove %s: %w", s.path(f.tmp), err)
		}
		delete(s.taken, f.tmpKey)
		return name, nil
	}
	return "", fmt.Errorf("sink: no free name for %s in %s", f.stem+ext, s.path(f.folder))
}

// renameNoReplace is the fallback for file systems without hard links: it
// renames only if nothing is at rel (checked just before, so not atomic).
func (f *File) renameNoReplace(name string) error {
	if _, err := f.dir.Lstat(name); err == nil {
		return fs.ErrExist
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return f.dir.Rename(f.tmpBase, name)
}

func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS)
}
