package sink

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"time"

	"golang.org/x/text/cases"

	"github.com/streamx/streamx/manifest"
)

const (
	defaultMaxOpenFiles = 128
	bufSize             = 16 << 10
	sniffLen            = 3072
	// maxLogical caps a file's logical size (offsets stay far from
	// int64 overflow); going past it ends the file as "file-too-large".
	maxLogical = int64(1) << 62
	// maxTries bounds the search for a free name.
	maxTries = 1 << 20
	filesDir = "files"
)

// Reasons the sink itself gives for a truncated file.
const (
	ReasonGap         = "gap"
	ReasonShort       = "short"
	ReasonLong        = "size-mismatch"
	ReasonMaxFileSize = "max-file-size"
	ReasonTooLarge    = "file-too-large"
	ReasonInterrupted = "interrupted"
	ReasonUnspecified = "unspecified"
)

// State is how a file ended.
type State int

const (
	// Complete: the extractor saw the file's end as the protocol defines
	// it. The sink still downgrades it to Truncated if bytes are missing.
	Complete State = iota + 1
	// Truncated: the file ended early (reset, gap, timeout, limit...).
	Truncated
)

// String returns the manifest spelling: "complete" or "truncated".
func (s State) String() string {
	if s == Complete {
		return manifest.StateComplete
	}
	return manifest.StateTruncated
}

// Options configure a Sink.
type Options struct {
	// MaxOpenFiles bounds the file descriptors kept open at once (default
	// 128). When more files are being written, the least recently written
	// one is flushed and closed, and reopened when written again.
	MaxOpenFiles int
	// MaxFileSize caps a file's logical size (holes included); 0 means no
	// cap. A file reaching it is ended as Truncated "max-file-size" and
	// later data for it is dropped and counted in Stats.DroppedBytes.
	MaxFileSize int64
	// Manifest receives one entry per file when the file is closed. May be
	// nil. Several sinks may share one.
	Manifest *manifest.Writer
	// Clock, if set, says which packet the run is at (engine.Config.Shard's
	// clock). A file's FUID is then made from its connection's UID, the
	// packet it was created at and its place among the files that
	// connection created at that packet: the same however the run is
	// spread over workers. Without it, FUIDs follow the sink's own
	// creation order.
	Clock func() uint64
}

// Meta describes a file when it is created. The sink copies it (and the
// Extra map, shallowly); values inside Extra must not change until Close.
type Meta struct {
	UID    string
	Conn   manifest.ConnID
	IsOrig bool
	// Source is the protocol: "FTP_DATA", "HTTP"...
	Source string
	// Subdir is the category folder under DIR/files, a constant chosen by
	// the extractor ("ftp", "http"); only [a-z0-9_-] is accepted.
	Subdir string
	// Name is the file name from the wire, untrusted; SafeName shows what
	// it becomes on disk. May be empty.
	Name         string
	ServerPath   string
	Command      string
	DeclaredMIME string
	// ExpectedSize is the size announced by the protocol, or -1.
	ExpectedSize int64
	// TS is the capture time of the file's start.
	TS    time.Time
	Extra map[string]any
}

// Stats are running totals.
type Stats struct {
	Files     int // files created
	Open      int // created and not yet closed
	Complete  int // closed complete
	Truncated int // closed truncated
	// Bytes counts data bytes written to files.
	Bytes int64
	// MissingBytes counts bytes in the holes of closed files.
	MissingBytes int64
	// DroppedBytes counts data bytes discarded: past MaxFileSize, past the
	// file system's size limit, or after the sink ended the file.
	DroppedBytes int64
}

// Add adds o's totals to s (the totals of several sinks).
func (s *Stats) Add(o Stats) {
	s.Files += o.Files
	s.Open += o.Open
	s.Complete += o.Complete
	s.Truncated += o.Truncated
	s.Bytes += o.Bytes
	s.MissingBytes += o.MissingBytes
	s.DroppedBytes += o.DroppedBytes
}

// Sink writes carved files under DIR/files/<subdir>/ and records them in
// the manifest. It is not safe for concurrent use.
type Sink struct {
	root   *os.Root
	dir    string
	opts   Options
	seq    int
	closed bool

	// FUID keys: files created per connection at the clock's packet
	clockAt  uint64
	clockSeq map[string]int

	dirs  map[string]bool            // subdirs checked or created
	subs  map[string]*os.Root        // and opened
	taken map[string]struct{}        // nameKey of names in use
	next  map[string]int             // next suffix to try, per base name
	live  map[*File]struct{}         // created, not finished
	fold  cases.Caser                // for nameKey
	bufs  [][]byte                   // free write buffers
	lru   struct{ head, tail *File } // open files, most recently written first
	nopen int

	stats Stats
}

// New returns a Sink writing below dir, which must exist. Nothing is
// created until the first file.
func New(dir string, opts Options) (*Sink, error) {
	if opts.MaxOpenFiles <= 0 {
		opts.MaxOpenFiles = defaultMaxOpenFiles
	}
	if opts.MaxFileSize < 0 {
		opts.MaxFileSize = 0
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("sink: open %s: %w", dir, err)
	}
	s := &Sink{
		root:  root,
		dir:   dir,
		opts:  opts,
		dirs:  make(map[string]bool),
		subs:  make(map[string]*os.Root),
		taken: make(map[string]struct{}),
		next:  make(map[string]int),
		live:  make(map[*File]struct{}),
		fold:  cases.Fold(),
	}
	// Refuse early an output tree whose "files" is a symlink.
	if fi, err := root.Lstat(filesDir); err == nil && !isRealDir(fi) {
		root.Close()
		return nil, fmt.Errorf("sink: %s: exists and is not a directory (symlink?)", path.Join(dir, filesDir))
	}
	return s, nil
}

func isRealDir(fi fs.FileInfo) bool {
	return fi.Mode().Type() == fs.ModeDir
}

func validSubdir(sub string) bool {
	if sub == "" || len(sub) > 64 {
		return false
	}
	for i := 0; i < len(sub); i++ {
		c := sub[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ensureDir creates DIR/files and DIR/files/sub, or checks that they are
// real directories (not symlinks), once per subdir.
func (s *Sink) ensureDir(sub string) error {
	if s.dirs[sub] {
		return nil
	}
	for _, d := range []string{filesDir, filesDir + "/" + sub} {
		err := s.root.Mkdir(d, 0o755)
		if err == nil {
			continue
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("sink: mkdir %s: %w", s.path(d), err)
		}
		fi, err := s.root.Lstat(d)
		if err != nil {
			return fmt.Errorf("sink: stat %s: %w", s.path(d), err)
		}
		if !isRealDir(fi) {
			return fmt.Errorf("sink: %s: exists and is not a directory (symlink?)", s.path(d))
		}
	}
	// Names already there (an earlier run) are taken in their folded
	// form too, so the tree stays collision-free when copied to a
	// case-insensitive file system.
	folder := filesDir + "/" + sub
	d, err := s.root.OpenFile(folder, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return fmt.Errorf("sink: open %s: %w", s.path(folder), err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("sink: read %s: %w", s.path(folder), err)
	}
	for _, name := range names {
		s.taken[s.nameKey(folder, name)] = struct{}{}
	}
	r, err := s.root.OpenRoot(folder)
	if err != nil {
		return fmt.Errorf("sink: open %s: %w", s.path(folder), err)
	}
	s.subs[sub] = r
	s.dirs[sub] = true
	return nil
}

// path is rel (slash-separated, relative to the root) as an OS path, for
// error messages.
func (s *Sink) path(rel string) string {
	return s.dir + string(os.PathSeparator) + rel
}

// nameKey is the identity of a name on a case-insensitive, normalising
// file system: case folded and NFC, so "Report.PDF" and "report.pdf", or
// the NFC and NFD spellings of "café", are the same key.
func (s *Sink) nameKey(folder, name string) string {
	return folder + "/" + nfc(s.fold.String(nfc(name)))
}

// Create starts a new file. Its bytes go to a temporary
// DIR/files/<subdir>/<name>.part, created exclusively, until Close.
func (s *Sink) Create(m Meta) (*File, error) {
	if s.closed {
		return nil, errors.New("sink: Create after Close")
	}
	if !validSubdir(m.Subdir) {
		return nil, fmt.Errorf("sink: invalid subdir %q (want [a-z0-9_-]+)", m.Subdir)
	}
	if err := s.ensureDir(m.Subdir); err != nil {
		return nil, err
	}
	s.seq++
	f := &File{
		s:        s,
		meta:     m,
		id:       s.seq,
		fuid:     s.newFUID(m.UID),
		folder:   filesDir + "/" + m.Subdir,
		hashLive: true,
		sha:      sha256.New(),
		md5:      md5.New(),
	}
	f.meta.Extra = maps.Clone(m.Extra)
	if safe := SafeName(m.Name); safe == "" {
		f.generated = true
		f.stem = f.fuid
	} else {
		f.stem, f.ext = splitExt(safe)
		f.hasExt = lastDot(safe) > 0
	}
	// Names start with the connection's UID: two connections never
	// compete for a name, so a name does not depend on which connection
	// got there first (nor on how the run was spread over workers).
	if validUID(m.UID) {
		f.stem = m.UID + "-" + f.stem
	}

	if err := s.makeRoom(); err != nil {
		return nil, err
	}
	base := "part\x00" + s.nameKey(f.folder, f.stem+f.ext)
	for n := s.next[base]; ; n++ {
		if n >= s.next[base]+maxTries {
			return nil, fmt.Errorf("sink: no free name for %s in %s", f.stem+f.ext, s.path(f.folder))
		}
		name := candidate(f.stem, f.ext, n) + partSuffix
		key := s.nameKey(f.folder, name)
		if _, ok := s.taken[key]; ok {
			continue
		}
		rel := f.folder + "/" + name
		fd, err := s.subs[m.Subdir].OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue // a leftover .part, a planted symlink...
		}
		if err != nil {
			return nil, fmt.Errorf("sink: create %s: %w", s.path(rel), err)
		}
		fi, err := fd.Stat()
		if err != nil {
			fd.Close()
			return nil, fmt.Errorf("sink: stat %s: %w", s.path(rel), err)
		}
		s.next[base] = n + 1
		s.taken[key] = struct{}{}
		f.tmp, f.tmpBase, f.dir, f.tmpKey, f.ident, f.fd = rel, name, s.subs[m.Subdir], key, fi, fd
		break
	}
	f.buf = s.getBuf()
	s.pushFront(f)
	s.nopen++
	s.live[f] = struct{}{}
	s.stats.Files++
	s.stats.Open++
	return f, nil
}

// Close ends every file still open as Truncated "interrupted", in creation
// order, writing their manifest entries, then releases the output
// directory. Files already closed are not touched. Errors are joined.
func (s *Sink) Close() error {
	if s.closed {
		return nil
	}
	files := slices.SortedFunc(maps.Keys(s.live), func(a, b *File) int {
		return a.id - b.id
	})
	var errs []error
	for _, f := range files {
		if _, err := f.finish(Truncated, ReasonInterrupted); err != nil {
			errs = append(errs, err)
		}
	}
	s.closed = true
	for _, r := range s.subs {
		r.Close()
	}
	if err := s.root.Close(); err != nil {
		errs = append(errs, fmt.Errorf("sink: close %s: %w", s.dir, err))
	}
	return errors.Join(errs...)
}

// newFUID returns the next file's FUID (see Options.Clock).
func (s *Sink) newFUID(uid string) string {
	if s.opts.Clock == nil {
		return fmt.Sprintf("F%06d", s.seq)
	}
	var key [16]byte
	var h uint64
	{
		at := s.opts.Clock()
		if s.clockSeq == nil || at != s.clockAt {
			s.clockAt = at
			clear(s.clockSeq)
			if s.clockSeq == nil {
				s.clockSeq = map[string]int{}
			}
		}
		n := s.clockSeq[uid]
		s.clockSeq[uid] = n + 1
		binary.BigEndian.PutUint64(key[0:], at)
		binary.BigEndian.PutUint64(key[8:], uint64(n))
		fh := fnv.New64a()
		fh.Write([]byte(uid))
		fh.Write(key[:16])
		h = fh.Sum64()
	}
	binary.BigEndian.PutUint64(key[:8], h)
	return "F" + fuidEnc.EncodeToString(key[:8])
}

var fuidEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// validUID accepts the flow table's UIDs ("C" and digits) as a name prefix.
func validUID(uid string) bool {
	if len(uid) < 2 || len(uid) > 24 || uid[0] != 'C' {
		return false
	}
	for i := 1; i < len(uid); i++ {
		if uid[i] < '0' || uid[i] > '9' {
			return false
		}
	}
	return true
}

// Stats returns the running totals.
func (s *Sink) Stats() Stats {
	return s.stats
}

// --- open-file pool ---

func (s *Sink) getBuf() []byte {
	if n := len(s.bufs); n > 0 {
		b := s.bufs[n-1]
		s.bufs = s.bufs[:n-1]
		return b
	}
	return make([]byte, 0, bufSize)
}

func (s *Sink) putBuf(b []byte) {
	if b != nil {
		s.bufs = append(s.bufs, b[:0])
	}
}

func (s *Sink) pushFront(f *File) {
	f.prev, f.next = nil, s.lru.head
	if s.lru.head != nil {
		s.lru.head.prev = f
	}
	s.lru.head = f
	if s.lru.tail == nil {
		s.lru.tail = f
	}
}

func (s *Sink) unlink(f *File) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		s.lru.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		s.lru.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

func (s *Sink) touch(f *File) {
	if s.lru.head != f {
		s.unlink(f)
		s.pushFront(f)
	}
}

// makeRoom closes least recently written files until one more may open.
func (s *Sink) makeRoom() error {
	for s.nopen >= s.opts.MaxOpenFiles && s.lru.tail != nil {
		if err := s.lru.tail.release(); err != nil {
			return err
		}
	}
	return nil
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}
