package flowlog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenumberStreams(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "flows.jsonl")
	// two workers each numbered their own share from 0
	firsts := []int{5, 1, 900, 17, 3}
	local := []int{2, 0, 1, 1, 0}
	var lines, want []string
	rank := map[int]int{1: 0, 3: 1, 5: 2, 17: 3, 900: 4}
	for i, f := range firsts {
		lines = append(lines, fmt.Sprintf(`{"ts":1.0,"uid":"C%06d","service":"http","stream":%d,"state":"CLOSED","first_packet":%d,"transcript":"t/C%06d_x"}`, f, local[i], f, f))
		want = append(want, fmt.Sprintf(`{"ts":1.0,"uid":"C%06d","service":"http","stream":%d,"state":"CLOSED","first_packet":%d,"transcript":"t/C%06d_x"}`, f, rank[f], f, f))
	}
	os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	if err := RenumberStreams(p); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != strings.Join(want, "\n")+"\n" {
		t.Fatalf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	st1, _ := os.Stat(p)
	if err := RenumberStreams(p); err != nil { // already right: untouched
		t.Fatal(err)
	}
	st2, _ := os.Stat(p)
	if !os.SameFile(st1, st2) {
		t.Error("a file already numbered was rewritten")
	}
	if err := RenumberStreams(filepath.Join(dir, "none.jsonl")); err != nil {
		t.Error(err)
	}
}
