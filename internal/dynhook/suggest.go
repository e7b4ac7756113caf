package dynhook

import (
	"fmt"
	"sort"
	"strings"
)

// closest returns up to three of names nearest to name by edit distance,
// nearest first, among those close enough to be a likely misspelling.
func closest(name string, names []string) []string {
	limit := max(2, len(name)/3)
	type cand struct {
		s string
		d int
	}
	var cs []cand
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] || abs(len(n)-len(name)) > limit {
			continue
		}
		seen[n] = true
		if d := distance(name, n, limit); d <= limit {
			cs = append(cs, cand{n, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].s < cs[j].s
	})
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].s)
	}
	return out
}

// didYouMean formats closest's answer for a message: "" when there is none.
func didYouMean(name string, names []string) string {
	c := closest(name, names)
	if len(c) == 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", strings.Join(c, ", "))
}

// distance is the Levenshtein distance between a and b, or limit+1 once
// it is sure to exceed limit.
func distance(a, b string, limit int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		low := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			low = min(low, cur[j])
		}
		if low > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
