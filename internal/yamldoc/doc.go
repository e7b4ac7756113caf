// Package yamldoc reads YAML documents strictly and keeps the position of
// every value, for vigil's policy files (package policy) and vigil run's
// policy files (package runpolicy).
//
// Documents are decoded into gopkg.in/yaml.v3 nodes rather than into
// structs, so that every problem can name its file:line:col and the path
// of the offending field ("rules[2].match.path[0]"). A Walker checks the
// nodes a caller asks about (mappings and their keys, strings, booleans,
// numbers); what the fields mean is left to the caller. Each caller words
// the Walker's messages itself (Words), so that both policy languages keep
// their own vocabulary.
//
// Error contract: a Walker never stops at the first problem. It adds an
// *Error (position, field path, message) to its List and goes on, and the
// caller joins the List with errors.Join when it is done, so that a user
// sees every problem at once. Errors recovers the *Error values from a
// joined error.
package yamldoc
