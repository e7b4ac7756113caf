package policy

import (
	"errors"
	"fmt"
	"sort"
)

// Error is one problem in a policy, at a position. Load and Plan join
// every Error they find with errors.Join.
type Error struct {
	Pos
	// Field is the path of the offending field, such as
	// "rules[2].match.path_prefix[0]"; empty for a file-level problem.
	Field string
	// Msg says what is wrong and what was expected.
	Msg string
}

// Error formats e as "file:line:col: field: message".
func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Col, e.Field, e.Msg)
}

// Errors returns the *Error values joined in err, in file order; an err
// that holds none gives nil.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		var pe *Error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		} else if errors.As(err, &pe) {
			out = append(out, pe)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// errList collects errors while walking a policy.
type errList []error

func (l *errList) add(p Pos, field, format string, args ...any) {
	*l = append(*l, &Error{Pos: p, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// join sorts the errors by position, so that the report reads in file
// order whatever the order of the checks, and joins them. Files keep the
// order they were loaded in.
func (l errList) join() error {
	fileRank := map[string]int{}
	key := func(e error) (int, int, int) {
		pe, ok := e.(*Error)
		if !ok {
			return len(l), 0, 0
		}
		if _, seen := fileRank[pe.File]; !seen {
			fileRank[pe.File] = len(fileRank)
		}
		return fileRank[pe.File], pe.Line, pe.Col
	}
	for _, e := range l {
		key(e)
	}
	sort.SliceStable(l, func(i, j int) bool {
		fi, li, ci := key(l[i])
		fj, lj, cj := key(l[j])
		if fi != fj {
			return fi < fj
		}
		if li != lj {
			return li < lj
		}
		return ci < cj
	})
	return errors.Join(l...)
}
