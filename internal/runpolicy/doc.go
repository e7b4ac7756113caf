// Package runpolicy builds the rules of vigil run from its flags, from
// copycat's COPYCAT environment variable and from a policy file (YAML,
// documented in docs/run.md). It is pure Go: the rules it returns are
// carried out by package seccomp.
//
// Errors: every problem found is reported at once (errors.Join); problems
// in a policy file are *yamldoc.Error values that carry its file:line:col
// and the field path, in the order they were found.
package runpolicy
