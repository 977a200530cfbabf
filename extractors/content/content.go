package content

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/streamx/streamx/analysis"
	"github.com/streamx/streamx/manifest"
)

// Notes of content findings (the "note" field of notices.jsonl).
const (
	NoteDisguised        = "Disguised_Executable"
	NoteExecutable       = "Executable_In_Clear"
	NoteArchiveWithExec  = "Archive_Holds_Executable"
	NoteScript           = "Script_In_Clear"
	headSize             = 64 << 10
	maxZipSize           = 512 << 20 // zips larger than this are not opened
	maxZipEntries        = 10000     // central directory entries read at most
	maxListedZipEntries  = 20
	msiRootCLSIDOffset   = 0x50
	oleDirEntrySize      = 128
	oleMinSectorShift    = 7
	oleMaxSectorShift    = 16
	oleHeaderSectorShift = 0x1e
	oleFirstDirSector    = 0x30
)

// Kind is what a file's content is.
type Kind struct {
	Class string // "executable", "script", "archive" or ""
	Name  string // "PE", "ELF", "Mach-O", "Mach-O fat", "MSI", "shell script", "PowerShell", "JScript", "VBScript", "zip"
	// Entries are the zip entries that are executables or scripts.
	Entries []string
}

var (
	oleMagic = []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}
	// {000C1084-0000-0000-C000-000000000046}, as stored (little-endian fields).
	msiCLSID = []byte{0x84, 0x10, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}
)

// Sniff classifies content from its first bytes (head) and, for OLE and
// zip, the file itself (r, size; r may be nil).
func Sniff(head []byte, r io.ReaderAt, size int64) Kind {
	switch {
	case isPE(head):
		return Kind{Class: "executable", Name: "PE"}
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return Kind{Class: "executable", Name: "ELF"}
	case len(head) >= 4 && slices.Contains([]uint32{0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe}, binary.BigEndian.Uint32(head)):
		return Kind{Class: "executable", Name: "Mach-O"}
	case len(head) >= 8 && (bytes.HasPrefix(head, []byte{0xca, 0xfe, 0xba, 0xbe}) || bytes.HasPrefix(head, []byte{0xca, 0xfe, 0xba, 0xbf})) &&
		binary.BigEndian.Uint32(head[4:]) > 0 && binary.BigEndian.Uint32(head[4:]) < 20:
		// A Java class file shares the magic; its next word is its
		// version (major >= 45), a fat binary's its architecture count.
		return Kind{Class: "executable", Name: "Mach-O fat"}
	case bytes.HasPrefix(head, oleMagic) && r != nil && isMSI(r, size):
		return Kind{Class: "executable", Name: "MSI"}
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) && r != nil:
		if ents := zipExecutables(r, size); len(ents) > 0 {
			return Kind{Class: "archive", Name: "zip", Entries: ents}
		}
	case bytes.HasPrefix(head, []byte("#!/")) || bytes.HasPrefix(head, []byte("#! /")):
		return Kind{Class: "script", Name: "shell script"}
	}
	if name := scriptByKeywords(head); name != "" {
		return Kind{Class: "script", Name: name}
	}
	return Kind{}
}

// isPE: "MZ", then e_lfanew (offset 0x3c) pointing at "PE\0\0".
func isPE(b []byte) bool {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return false
	}
	off := int(binary.LittleEndian.Uint32(b[0x3c:]))
	return off >= 0x40 && off+4 <= len(b) && string(b[off:off+4]) == "PE\x00\x00"
}

// isMSI reads the compound file's root directory entry: an MSI's CLSID is
// {000C1084-0000-0000-C000-000000000046}.
func isMSI(r io.ReaderAt, size int64) bool {
	var h [512]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return false
	}
	shift := binary.LittleEndian.Uint16(h[oleHeaderSectorShift:])
	if shift < oleMinSectorShift || shift > oleMaxSectorShift {
		return false
	}
	sect := int64(binary.LittleEndian.Uint32(h[oleFirstDirSector:]))
	off := (sect+1)<<shift + msiRootCLSIDOffset
	if off+16 > size {
		return false
	}
	var id [16]byte
	if _, err := r.ReadAt(id[:], off); err != nil {
		return false
	}
	return bytes.Equal(id[:], msiCLSID)
}

var execExts = []string{".exe", ".dll", ".scr", ".com", ".cpl", ".sys", ".ocx", ".msi", ".js", ".jse", ".vbs", ".vbe",
	".wsf", ".hta", ".ps1", ".bat", ".cmd", ".lnk", ".jar", ".elf", ".sh", ".pif"}

// zipExecutables lists the central directory entries named like
// executables or scripts (bounded).
func zipExecutables(r io.ReaderAt, size int64) []string {
	if size > maxZipSize {
		return nil
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil
	}
	var out []string
	for i, f := range zr.File {
		if i >= maxZipEntries || len(out) >= maxListedZipEntries {
			break
		}
		if slices.Contains(execExts, strings.ToLower(path.Ext(f.Name))) {
			out = append(out, f.Name)
		}
	}
	return out
}

var (
	psWords = []string{"invoke-expression", "iex(", "iex (", "new-object net.webclient", "downloadstring(", "downloadfile(",
		"-encodedcommand", "frombase64string(", "set-executionpolicy", "start-process", "invoke-webrequest",
		"[system.reflection.assembly]::load", "-windowstyle hidden", "add-type", "$env:"}
	jsWords = []string{"wscript.shell", "activexobject(", "wscript.createobject(", "scripting.filesystemobject",
		"adodb.stream", "shell.application", "wscript.scriptfullname"}
	vbWords = []string{"createobject(", "wscript.", "dim ", "end sub", "on error resume next", "set objshell"}
)

// expectedExts are the names an executable of each kind may carry.
var expectedExts = map[string][]string{
	"PE":           {".exe", ".dll", ".scr", ".com", ".cpl", ".sys", ".ocx", ".efi", ".drv", ".bin", ".dat", ".tmp", ".mui", ".pif"},
	"ELF":          {".so", ".o", ".elf", ".bin", ".ko", ".out", ".axf", ".prx", ".run"},
	"Mach-O":       {".dylib", ".bundle", ".o", ".bin", ".so"},
	"Mach-O fat":   {".dylib", ".bundle", ".o", ".bin", ".so"},
	"MSI":          {".msi", ".msp", ".msm"},
	"shell script": {".sh", ".bash", ".py", ".pl", ".rb", ".cgi", ".zsh", ".ksh", ".run", ".txt"},
	"PowerShell":   {".ps1", ".psm1", ".psd1", ".txt"},
	"JScript":      {".js", ".jse", ".wsf", ".hta", ".txt"},
	"VBScript":     {".vbs", ".vbe", ".wsf", ".hta", ".txt"},
	"zip":          {".zip", ".jar", ".apk", ".docx", ".xlsx", ".pptx", ".odt", ".epub", ".nupkg", ".whl", ".xpi", ".crx"},
}

// plainTypes are declared types that say "some bytes", which any content
// may carry.
func plainType(t string) bool {
	t = strings.ToLower(strings.TrimSpace(strings.SplitN(t, ";", 2)[0]))
	switch {
	case t == "", t == "application/octet-stream", t == "binary/octet-stream", t == "application/download",
		t == "application/force-download", t == "application/x-download", t == "application/unknown":
		return true
	}
	return false
}

// typeFits says whether a declared type fits the kind found.
func typeFits(kind Kind, declared string) bool {
	if plainType(declared) {
		return true
	}
	t := strings.ToLower(strings.TrimSpace(strings.SplitN(declared, ";", 2)[0]))
	for _, w := range []string{"image/", "audio/", "video/", "font/", "application/pdf", "text/css", "text/html", "application/json", "application/xml", "text/xml", "application/msword", "application/rtf"} {
		if strings.HasPrefix(t, w) {
			return false
		}
	}
	if kind.Class == "archive" && strings.HasPrefix(t, "text/") {
		return false
	}
	return !(kind.Class == "executable" && strings.HasPrefix(t, "text/"))
}

// nameFits says whether a file name fits the kind found: no extension, or
// one the kind may carry.
func nameFits(kind Kind, name string) bool {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/")))
	if ext == "" || len(ext) > 6 {
		return true
	}
	if kind.Class == "script" && slices.Contains([]string{".php", ".asp", ".aspx", ".jsp", ".cgi", ".pl", ".py"}, ext) {
		return true // a server-side script name; its output is anything
	}
	return slices.Contains(expectedExts[kind.Name], ext)
}

// Finding is what Check found in one file.
type Finding struct {
	Kind      Kind
	Note      string
	Reason    string
	Magic     []byte
	Disguised bool
}

// Check classifies one manifest entry's file (its first bytes head, the
// file f of size bytes). nil: nothing to report.
func Check(e *manifest.Entry, head []byte, f io.ReaderAt, size int64) *Finding {
	k := Sniff(head, f, size)
	if k.Class == "" {
		return nil
	}
	fd := &Finding{Kind: k, Magic: head[:min(len(head), 16)]}
	what := k.Name
	switch k.Class {
	case "executable":
		fd.Note, what = NoteExecutable, k.Name+" executable"
	case "script":
		fd.Note = NoteScript
	case "archive":
		fd.Note, what = NoteArchiveWithExec, fmt.Sprintf("%s archive holding %s", k.Name, strings.Join(k.Entries, ", "))
	}
	var why []string
	if !nameFits(k, e.Filename) {
		why = append(why, fmt.Sprintf("named %q", e.Filename))
	}
	if !typeFits(k, e.DeclaredMIMEType) {
		why = append(why, fmt.Sprintf("declared as %s", e.DeclaredMIMEType))
	}
	if len(why) > 0 {
		fd.Note, fd.Disguised = NoteDisguised, true
		fd.Reason = fmt.Sprintf("%s %s", what, strings.Join(why, " and "))
	} else {
		fd.Reason = what + " carried in clear"
	}
	return fd
}

// Scan reads dir/manifest.jsonl and checks every carved file it lists.
func Scan(dir string) ([]analysis.Notice, error) {
	mf, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	var out []analysis.Notice
	sc := bufio.NewScanner(mf)
	sc.Buffer(nil, 16<<20)
	head := make([]byte, headSize)
	for sc.Scan() {
		var e manifest.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return out, fmt.Errorf("%s: %w", mf.Name(), err)
		}
		if strings.HasSuffix(e.Source, "_SESSION") || e.Extracted == "" {
			continue // the extractor's own documents (FTP session logs)
		}
		n, err := checkFile(dir, &e, head)
		if err != nil {
			return out, err
		}
		if n != nil {
			out = append(out, *n)
		}
	}
	return out, sc.Err()
}

func checkFile(dir string, e *manifest.Entry, head []byte) (*analysis.Notice, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(e.Extracted)))
	if os.IsNotExist(err) {
		return nil, nil // an unfinished .part file
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	n, err := readHead(f, head)
	if err != nil {
		return nil, err
	}
	fd := Check(e, head[:n], f, st.Size())
	if fd == nil {
		return nil, nil
	}
	return notice(e, fd, st.Size()), nil
}

// headProbe is how much readHead reads first.
const headProbe = 4 << 10

// readHead reads what Sniff looks at into head (headSize bytes): all of it,
// or only the first headProbe bytes when the rest cannot change Sniff's
// answer, as for most binary files: a NUL there rules out a script by
// keywords, and past the first 16 bytes only a PE header (at e_lfanew, of a
// file starting "MZ") is looked for.
func readHead(r io.Reader, head []byte) (int, error) {
	n, err := io.ReadFull(r, head[:headProbe])
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return n, nil // the whole file
	}
	if err != nil {
		return n, err
	}
	if bytes.IndexByte(head[:n], 0) >= 0 && !bytes.HasPrefix(head[:n], []byte("MZ")) {
		return n, nil
	}
	m, err := io.ReadFull(r, head[n:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return n + m, err
	}
	return n + m, nil
}

func notice(e *manifest.Entry, fd *Finding, size int64) *analysis.Notice {
	svc := strings.ToLower(e.Source)
	if i := strings.IndexAny(svc, "_-"); i >= 0 {
		svc = svc[:i]
	}
	n := &analysis.Notice{TS: e.TS, UID: e.UID, OrigH: e.OrigH, OrigP: e.OrigP, RespH: e.RespH, RespP: e.RespP,
		Proto: "tcp", Note: fd.Note, Sub: e.FUID + " " + e.Extracted, Src: e.RespH, Dst: e.OrigH, P: e.RespP, N: 1,
		Service: svc, UIDs: []string{e.UID}, Log: "manifest"}
	if e.IsOrig {
		n.Src, n.Dst = e.OrigH, e.RespH
	}
	n.Msg = fmt.Sprintf("%s file %s (%s): %s", e.Source, e.Extracted, e.FUID, fd.Reason)
	ev := map[string]any{"fuid": e.FUID, "extracted": e.Extracted, "filename": e.Filename, "source": e.Source,
		"declared_mime_type": e.DeclaredMIMEType, "mime_type": e.MIMEType, "kind": fd.Kind.Name, "class": fd.Kind.Class,
		"magic": hex.EncodeToString(fd.Magic), "size": size, "reason": fd.Reason, "is_orig": e.IsOrig, "state": e.State}
	if e.SHA256 != "" {
		ev["sha256"] = e.SHA256
	}
	if e.ServerPath != "" {
		ev["server_path"] = e.ServerPath
	}
	if e.Command != "" {
		ev["command"] = e.Command
	}
	if len(fd.Kind.Entries) > 0 {
		ev["archive_entries"] = fd.Kind.Entries
	}
	n.Evidence = ev
	return n
}

// Logs is where WriteNotices writes (extractors.Logs).
type Logs interface {
	Write(name string, v any) error
}

// WriteNotices scans dir and appends each finding to the "notices" log.
// It returns how many it wrote.
func WriteNotices(dir string, logs Logs) (int, error) {
	ns, err := Scan(dir)
	for i := range ns {
		if werr := logs.Write("notices", &ns[i]); werr != nil {
			return i, werr
		}
	}
	return len(ns), err
}
