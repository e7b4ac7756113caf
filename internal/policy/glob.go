package policy

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// checkPathGlob checks a path_glob pattern: absolute, and valid for
// path.Match, whose '*' does not cross '/'.
func checkPathGlob(s string) string {
	if !strings.HasPrefix(s, "/") {
		return fmt.Sprintf("%q is not absolute; resolved paths always start with /", s)
	}
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Sprintf("bad glob %q: %v (use *, ?, [a-z] and \\ to escape)", s, err)
	}
	return ""
}

// globPathAny reports whether p matches any of the path_glob patterns.
// A pattern's literal start (up to its first special character) is
// compared first: most paths differ there, and path.Match is far slower
// than a prefix test (the open rules of builtin:detect see every open).
func globPathAny(p string, globs []string) bool {
	for _, g := range globs {
		if !literalPrefixMatches(g, p) {
			continue
		}
		if ok, _ := path.Match(g, p); ok {
			return true
		}
	}
	return false
}

// literalPrefixMatches reports whether p starts with the literal part of
// pattern g (up to its first special character), byte by byte.
func literalPrefixMatches(g, p string) bool {
	for i := 0; i < len(g); i++ {
		switch g[i] {
		case '*', '?', '[', '\\':
			return true
		}
		if i >= len(p) || p[i] != g[i] {
			return false
		}
	}
	return len(p) == len(g)
}

// checkArgGlob checks an args_glob pattern.
func checkArgGlob(s string) string {
	if s == "" {
		return "empty pattern: it matches only an empty argument; write \"\" only if you mean that, with a wildcard otherwise"
	}
	if strings.Trim(s, "*") == "" {
		return fmt.Sprintf("%q matches every argument; use a narrower pattern", s)
	}
	return ""
}

// wildMatch reports whether s matches pattern, where '*' stands for any
// run of bytes (including '/') and '?' for any one byte; every other
// byte stands for itself.
func wildMatch(pattern, s string) bool {
	// Iterative matching with one backtrack point: the last '*' seen.
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			pi++
			si++
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// argsGlobAny reports whether any of args[1:] matches any of globs.
func argsGlobAny(args, globs []string) bool {
	if len(args) < 2 {
		return false
	}
	for _, a := range args[1:] {
		for _, g := range globs {
			if wildMatch(g, a) {
				return true
			}
		}
	}
	return false
}

// otherProcess reports whether p is a path below /proc/PID/ where PID is
// neither pid nor tid: a file of another process (its environ, mem,
// maps). /proc/self and /proc/thread-self resolve to the actor's own ids.
func otherProcess(p string, pid, tid uint32) bool {
	rest, ok := strings.CutPrefix(p, "/proc/")
	if !ok {
		return false
	}
	num, _, _ := strings.Cut(rest, "/")
	n, err := strconv.ParseUint(num, 10, 32)
	return err == nil && uint32(n) != pid && uint32(n) != tid
}
