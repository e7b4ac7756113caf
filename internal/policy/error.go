package policy

import "github.com/vigil-sec/vigil/internal/yamldoc"

// Error is one problem in a policy, at a position: file:line:col, the
// field path and what is wrong. Load and Plan join every Error they find
// with errors.Join, in file order; yamldoc.Errors takes them apart.
type Error = yamldoc.Error

// Pos is a position in a policy file. Lines and columns count from 1.
type Pos = yamldoc.Pos

// joinSorted joins errs in file order, whatever the order of the checks
// that found them. Files keep the order they were loaded in.
func joinSorted(errs yamldoc.List) error {
	errs.Sort()
	return errs.Join()
}
