package report

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Chart is an SVG drawing made of rectangles, lines and text, laid out
// here so the page needs no script to show it.
type Chart struct {
	ID     string
	Title  string
	Desc   string // what it shows, for screen readers and the caption
	W, H   int
	Rects  []Rect
	Lines  []Line
	Texts  []Text
	Legend []Legend
}

// Rect is a bar; Tip is its tooltip (<title>).
type Rect struct {
	X, Y, W, H string
	Class      string
	Tip        string
}

// Line is an axis or grid line.
type Line struct{ X1, Y1, X2, Y2, Class string }

// Text is a label.
type Text struct {
	X, Y   string
	Anchor string
	Class  string
	S      string
}

// Legend is a colour key.
type Legend struct{ Class, Label string }

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

// timeChart draws bytes over time, each connection's bytes spread evenly
// over its life, originator and responder stacked.
func timeChart(pts []point) *Chart {
	if len(pts) == 0 {
		return nil
	}
	lo, hi := pts[0].ts, pts[0].last
	for _, p := range pts {
		lo = min(lo, p.ts)
		hi = max(hi, p.last, p.ts)
	}
	first, last := time.UnixMicro(lo).UTC(), time.UnixMicro(hi).UTC()
	const buckets = 60
	span := last.Sub(first)
	if span <= 0 {
		span = time.Millisecond
	}
	width := span / buckets
	if width <= 0 {
		width = 1
	}
	var orig, resp [buckets]float64
	for _, p := range pts {
		a := time.Duration(p.ts-lo) * time.Microsecond
		b := time.Duration(p.last-lo) * time.Microsecond
		if b < a {
			b = a
		}
		ia, ib := min(int(a/width), buckets-1), min(int(b/width), buckets-1)
		n := float64(ib - ia + 1)
		for k := ia; k <= ib; k++ {
			orig[k] += float64(p.ob) / n
			resp[k] += float64(p.rb) / n
		}
	}
	maxv := 0.0
	for k := range buckets {
		maxv = math.Max(maxv, orig[k]+resp[k])
	}
	c := &Chart{ID: "chart-time", Title: "Traffic over time", W: 720, H: 240,
		Desc:   fmt.Sprintf("Payload bytes per %s from %s to %s (UTC), each connection spread over its duration.", fmtDur(width), first.UTC().Format("2006-01-02 15:04:05.000"), last.UTC().Format("15:04:05.000")),
		Legend: []Legend{{"orig", "originator → responder"}, {"resp", "responder → originator"}}}
	left, top, plotW, plotH := 64.0, 10.0, 640.0, 190.0
	c.Lines = append(c.Lines, Line{f1(left), f1(top + plotH), f1(left + plotW), f1(top + plotH), "axis"}, Line{f1(left), f1(top), f1(left), f1(top + plotH), "axis"})
	if maxv <= 0 {
		maxv = 1
	}
	for _, q := range []float64{0.5, 1} {
		y := top + plotH - q*plotH
		c.Lines = append(c.Lines, Line{f1(left), f1(y), f1(left + plotW), f1(y), "grid"})
		c.Texts = append(c.Texts, Text{X: f1(left - 4), Y: f1(y + 4), Anchor: "end", Class: "tick", S: human(int64(q * maxv))})
	}
	bw := plotW / buckets
	for k := range buckets {
		x := left + float64(k)*bw
		ho := orig[k] / maxv * plotH
		hr := resp[k] / maxv * plotH
		t0 := first.Add(time.Duration(k) * width).UTC().Format("15:04:05.000")
		if hr > 0 {
			c.Rects = append(c.Rects, Rect{f1(x + 0.5), f1(top + plotH - hr), f1(bw - 1), f1(hr), "resp", fmt.Sprintf("%s: %s responder → originator", t0, human(int64(resp[k])))})
		}
		if ho > 0 {
			c.Rects = append(c.Rects, Rect{f1(x + 0.5), f1(top + plotH - hr - ho), f1(bw - 1), f1(ho), "orig", fmt.Sprintf("%s: %s originator → responder", t0, human(int64(orig[k])))})
		}
	}
	for _, k := range []int{0, buckets / 2, buckets} {
		x := left + float64(k)*bw
		anchor := "middle"
		if k == 0 {
			anchor = "start"
		} else if k == buckets {
			anchor = "end"
		}
		c.Texts = append(c.Texts, Text{X: f1(x), Y: f1(top + plotH + 18), Anchor: anchor, Class: "tick", S: first.Add(time.Duration(k) * width).UTC().Format("15:04:05.000")})
	}
	return c
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// kv is a label and a value for the bar charts.
type kv struct {
	K string
	V int64
}

func topN(m map[string]int64, n int) []kv {
	l := make([]kv, 0, len(m))
	for k, v := range m {
		l = append(l, kv{k, v})
	}
	sortKV(l)
	if len(l) > n {
		l = l[:n]
	}
	return l
}

// sortKV sorts largest value first, then by label.
func sortKV(l []kv) {
	sort.Slice(l, func(i, j int) bool {
		if l[i].V != l[j].V {
			return l[i].V > l[j].V
		}
		return l[i].K < l[j].K
	})
}

// barChart draws horizontal bars, one per item, largest first.
func barChart(id, title, desc string, items []kv, format func(int64) string, class string) *Chart {
	if len(items) == 0 {
		return nil
	}
	rowH := 22.0
	left, plotW := 190.0, 420.0
	c := &Chart{ID: id, Title: title, Desc: desc, W: 720, H: int(rowH*float64(len(items))) + 12}
	maxv := items[0].V
	if maxv <= 0 {
		maxv = 1
	}
	for i, it := range items {
		y := 6 + float64(i)*rowH
		w := math.Max(1, float64(it.V)/float64(maxv)*plotW)
		label := visible(it.K)
		if r := []rune(label); len(r) > 28 {
			label = string(r[:27]) + "…"
		}
		c.Texts = append(c.Texts, Text{X: f1(left - 8), Y: f1(y + 15), Anchor: "end", Class: "label", S: label})
		c.Rects = append(c.Rects, Rect{f1(left), f1(y + 3), f1(w), f1(rowH - 6), class, visible(it.K) + ": " + format(it.V)})
		c.Texts = append(c.Texts, Text{X: f1(left + w + 6), Y: f1(y + 15), Anchor: "start", Class: "value", S: format(it.V)})
	}
	return c
}

func count(n int64) string { return fmt.Sprintf("%d", n) }

// charts draws the page's pictures from the connections' totals.
func charts(a *aggregate) []*Chart {
	var out []*Chart
	if c := timeChart(a.points); c != nil {
		out = append(out, c)
	}
	talk := map[string]int64{}
	for h, x := range a.hosts {
		talk[h] = x.sent + x.recv
	}
	svc := map[string]int64{}
	for k, v := range a.services {
		if k == "" {
			k = "unknown"
		}
		svc[k] += v
	}
	states := map[string]int64{}
	for k, v := range a.states {
		if k == "" {
			k = "?"
		}
		states[k] += v
	}
	if c := barChart("chart-talkers", "Top talkers", "Hosts by payload bytes sent and received, top 10.", topN(talk, 10), human, "bar"); c != nil {
		out = append(out, c)
	}
	if c := barChart("chart-services", "Services", "Connections per service detected from content.", topN(svc, 12), count, "bar2"); c != nil {
		out = append(out, c)
	}
	if c := barChart("chart-states", "Connection states", "Connections per Zeek conn_state (SF normal, S0 unanswered, REJ rejected, RSTO/RSTR reset…).", topN(states, 12), count, "bar3"); c != nil {
		out = append(out, c)
	}
	return out
}
