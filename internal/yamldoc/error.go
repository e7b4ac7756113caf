package yamldoc

import (
	"errors"
	"fmt"
	"sort"
)

// Pos is a position in a YAML file. Lines and columns count from 1.
type Pos struct {
	File string
	Line int
	Col  int
}

// Error is one problem in a YAML file, at a position.
type Error struct {
	Pos
	// Field is the path of the offending field, such as
	// "rules[2].match.path_prefix[0]"; empty for a file-level problem.
	Field string
	// Msg says what is wrong and what was expected.
	Msg string
}

// Error formats e as "file:line:col: field: message", or
// "file:line:col: message" when e has no field.
func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Col, e.Field, e.Msg)
}

// Errors returns the *Error values joined in err, in the order they were
// joined; an err that holds none gives nil.
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

// List collects the problems found in a walk. It may also hold errors
// that are not *Error, such as a file that could not be read.
type List []error

// Add appends an *Error at p for field, its message made with
// fmt.Sprintf(format, args...).
func (l *List) Add(p Pos, field, format string, args ...any) {
	*l = append(*l, &Error{Pos: p, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Sort orders l by position, so that a report reads in file order
// whatever the order of the checks: files in the order they first appear
// in l, then by line and column. Errors without a position go last. The
// sort is stable: problems at one position keep the order they were found
// in.
func (l List) Sort() {
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
}

// Join joins l with errors.Join, in l's order; an empty List gives nil.
func (l List) Join() error {
	return errors.Join(l...)
}
