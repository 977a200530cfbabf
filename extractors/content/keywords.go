package content

import (
	"bytes"
	"math/bits"
	"slices"
	"strings"
	"sync"
)

// The script keywords are looked for in one pass over the head with an
// Aho-Corasick automaton over ASCII-lowercased bytes, instead of one
// strings.Contains per keyword over a lowercased copy.
//
// strings.ToLower also folds two non-ASCII letters into ASCII: U+0130 'İ'
// (C4 B0) to 'i' and U+212A KELVIN SIGN (E2 84 AA) to 'k' (no other rune
// lowers to ASCII). A head holding either takes the old path, so findings
// are exactly those of strings.Contains(strings.ToLower(head), word). Every
// other byte above 0x7f, like the runes strings.ToLower makes of it, is in
// no keyword and so only breaks a match.

// scriptWords are psWords, jsWords and vbWords in that order; bit i of a
// found set is scriptWords[i].
var scriptWords = slices.Concat(psWords, jsWords, vbWords)

var (
	psMask = uint32(1)<<len(psWords) - 1
	jsMask = (uint32(1)<<len(jsWords) - 1) << len(psWords)
	vbMask = (uint32(1)<<len(vbWords) - 1) << (len(psWords) + len(jsWords))
	// the VBScript rule also wants "createobject(" itself
	createObjectBit = uint32(1) << slices.Index(scriptWords, "createobject(")
)

// acSize bounds the automaton (states times symbol classes): every
// state+class is a uint16, so the tables are read with no bounds checks.
const acSize = 1 << 16

// automaton is a dense Aho-Corasick DFA. A state is the offset of its row
// (id times the number of classes), so a step is one load:
// next = delta[state+class[byte]]; out[state] is the set of keywords ending
// there (its own and along its failure links).
type automaton struct {
	class   [256]uint16
	delta   [acSize]uint16
	out     [acSize]uint32
	longest int
}

var keywords = sync.OnceValue(func() *automaton { return newAutomaton(scriptWords) })

func newAutomaton(words []string) *automaton {
	if len(words) > 32 {
		panic("content: more than 32 keywords")
	}
	a := &automaton{}
	// classes: one per distinct (lowercase) keyword byte, 0 for the rest
	var cl [256]int
	n := 1
	for _, w := range words {
		a.longest = max(a.longest, len(w))
		for i := 0; i < len(w); i++ {
			if c := w[i]; cl[c] == 0 {
				if c >= 'A' && c <= 'Z' || c >= 0x80 {
					panic("content: keyword " + w + " is not lowercase ASCII")
				}
				cl[c] = n
				n++
			}
		}
	}
	for c := range 256 {
		l := c
		if c >= 'A' && c <= 'Z' {
			l = c + 'a' - 'A'
		}
		a.class[c] = uint16(cl[l])
	}
	// trie
	type node struct {
		next []int
		fail int
		out  uint32
	}
	nodes := []node{{next: make([]int, n)}}
	for wi, w := range words {
		s := 0
		for i := 0; i < len(w); i++ {
			c := cl[w[i]]
			if nodes[s].next[c] == 0 {
				nodes = append(nodes, node{next: make([]int, n)})
				nodes[s].next[c] = len(nodes) - 1
			}
			s = nodes[s].next[c]
		}
		nodes[s].out |= 1 << wi
	}
	// failure links, breadth first, completing the goto function into a DFA
	var queue []int
	for c := range n {
		if s := nodes[0].next[c]; s != 0 {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		nodes[s].out |= nodes[nodes[s].fail].out
		for c := range n {
			if t := nodes[s].next[c]; t != 0 {
				nodes[t].fail = nodes[nodes[s].fail].next[c]
				queue = append(queue, t)
			} else {
				nodes[s].next[c] = nodes[nodes[s].fail].next[c]
			}
		}
	}
	if len(nodes)*n > acSize {
		panic("content: keyword automaton too large")
	}
	for s, nd := range nodes {
		for c, t := range nd.next {
			a.delta[s*n+c] = uint16(t * n)
		}
		a.out[s*n] = nd.out
	}
	return a
}

// find returns the set of words in b (case-folded as ASCII). Two halves of
// b (the first extended by the longest word less one byte, so a word
// starting in it is seen whole) are run side by side: each step waits on
// the last, and two independent chains keep the CPU busy.
func (a *automaton) find(b []byte) uint32 {
	half := len(b) / 2
	p, q := b[:min(len(b), half+a.longest-1)], b[half:]
	n := min(len(p), len(q))
	p0, q0 := p[:n:n], q[:n:n]
	var found uint32
	var s, t uint16
	for i := range n {
		s = a.delta[s+a.class[p0[i]]]
		t = a.delta[t+a.class[q0[i]]]
		found |= a.out[s] | a.out[t]
	}
	for _, c := range p[n:] {
		s = a.delta[s+a.class[c]]
		found |= a.out[s]
	}
	for _, c := range q[n:] {
		t = a.delta[t+a.class[c]]
		found |= a.out[t]
	}
	return found
}

// findLowered is find by the definition: strings.Contains per keyword on
// strings.ToLower of b.
func findLowered(b []byte) uint32 {
	s := strings.ToLower(string(b))
	var found uint32
	for i, w := range scriptWords {
		if strings.Contains(s, w) {
			found |= 1 << i
		}
	}
	return found
}

// scriptByKeywords: at least two distinctive PowerShell or Windows Script
// Host words in the first bytes. Browser JavaScript has none of them.
func scriptByKeywords(head []byte) string {
	if bytes.IndexByte(head, 0) >= 0 {
		return ""
	}
	var found uint32
	if bytes.Contains(head, []byte("\u0130")) || bytes.Contains(head, []byte("\u212a")) {
		found = findLowered(head)
	} else {
		found = keywords().find(head)
	}
	switch {
	case bits.OnesCount32(found&psMask) >= 2:
		return "PowerShell"
	case bits.OnesCount32(found&jsMask) >= 2: // a lone ActiveXObject( is browser feature detection
		return "JScript"
	case bits.OnesCount32(found&vbMask) >= 3 && found&createObjectBit != 0:
		return "VBScript"
	}
	return ""
}
