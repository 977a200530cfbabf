package manifest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestSortFile(t *testing.T) {
	for _, run := range []int{1 << 20, 200} { // in memory; in runs merged from temporary files
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			defer func(old int) { sortRun = old }(sortRun)
			sortRun = run
			dir := t.TempDir()
			var want []string
			for i := 0; i < 300; i++ {
				// 9- and 10-digit times: a byte sort would get them wrong
				ts := fmt.Sprintf("%d.%06d", 999999990+i/3, i%7)
				want = append(want, fmt.Sprintf(`{"ts":%s,"uid":"C%06d","x":%d}`, ts, 300-i, i%3))
			}
			sort.SliceStable(want, func(i, j int) bool {
				var a, b float64
				fmt.Sscanf(want[i], `{"ts":%f`, &a)
				fmt.Sscanf(want[j], `{"ts":%f`, &b)
				if a != b {
					return a < b
				}
				return want[i] < want[j]
			})
			want = append(want, `{"no":"ts"}`, `{"no":"ts2"}`)
			shuffled := append([]string(nil), want...)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			p := filepath.Join(dir, "x.jsonl")
			if err := os.WriteFile(p, []byte(strings.Join(shuffled, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := SortFile(p); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(p)
			if string(got) != strings.Join(want, "\n")+"\n" {
				t.Fatalf("not sorted:\n%s", got)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("temporary files left: %v", ents)
			}
			if err := SortFile(filepath.Join(dir, "missing.jsonl")); err != nil {
				t.Errorf("missing file: %v", err)
			}
		})
	}
}
