package yamldoc

import (
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Words are the messages a Walker gives for the problems it finds
// itself. A message may hold placeholders: {got} stands for Describe of
// the offending node, {value} for its text, quoted, and {known} for the
// keys a mapping may have, joined by ", ".
type Words struct {
	// NotMapping is said of a node that should be a mapping.
	NotMapping string
	// KeyNotString is said of a mapping key that is not a string. When it
	// is empty, any key is taken by its text.
	KeyNotString string
	// UnknownKey is said of a key that is not among the known keys a
	// caller gave Mapping.
	UnknownKey string
	// DuplicateKey is said of the second and later uses of a key.
	DuplicateKey string
	// NotString is said of a value that should be a string (Str) or a
	// scalar (Scalar).
	NotString string
	// NotBool is said of a value that should be true or false.
	NotBool string
	// NotInt is said of a value that should be an integer; IntRange of
	// one that is written as an integer but does not fit in an int64.
	NotInt, IntRange string
}

// Walker checks the nodes of one YAML document and collects what is wrong
// with them in Errs, each problem at File:line:col with its field path.
// Its methods report a problem and return false (or nil) rather than
// stop, so that one walk finds every problem.
type Walker struct {
	// File names the document in messages.
	File string
	// Errs collects the problems found; the caller joins them.
	Errs *List
	// Words are the messages for the problems the Walker finds itself.
	Words Words
}

// Pos returns the position of n in the document.
func (w *Walker) Pos(n *yaml.Node) Pos {
	return Pos{w.File, n.Line, n.Column}
}

// Errorf reports a problem with field at n.
func (w *Walker) Errorf(n *yaml.Node, field, format string, args ...any) {
	w.Errs.Add(w.Pos(n), field, format, args...)
}

// say reports problem msg with field at n, filling in msg's placeholders.
func (w *Walker) say(n *yaml.Node, field, msg string, known []string) {
	r := strings.NewReplacer("{got}", Describe(n), "{value}", strconv.Quote(n.Value), "{known}", strings.Join(known, ", "))
	w.Errs.Add(w.Pos(n), field, "%s", r.Replace(msg))
}

// Entry is one key and its value in a mapping.
type Entry struct {
	Key     string
	KeyNode *yaml.Node
	Value   *yaml.Node
}

// Entries are the entries of a mapping, in document order.
type Entries []Entry

// Get returns the value of key, or nil when the mapping does not have it.
func (es Entries) Get(key string) *yaml.Node {
	for _, e := range es {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

// Mapping returns the entries of mapping node n, whose field path is
// field. It reports a node that is not a mapping (and returns no
// entries), keys that are not strings (when Words.KeyNotString is set),
// keys outside known (when known is not nil) and keys given twice; the
// entries it returns hold none of these.
func (w *Walker) Mapping(n *yaml.Node, field string, known []string) Entries {
	if n.Kind != yaml.MappingNode {
		w.say(n, field, w.Words.NotMapping, known)
		return nil
	}
	var out Entries
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if w.Words.KeyNotString != "" && (k.Kind != yaml.ScalarNode || k.Tag != "!!str") {
			w.say(k, field, w.Words.KeyNotString, known)
			continue
		}
		kf := Field(field, k.Value)
		if known != nil && !slices.Contains(known, k.Value) {
			w.say(k, kf, w.Words.UnknownKey, known)
			continue
		}
		if seen[k.Value] {
			w.say(k, kf, w.Words.DuplicateKey, known)
			continue
		}
		seen[k.Value] = true
		out = append(out, Entry{k.Value, k, v})
	}
	return out
}

// Str returns the string n holds. Only a string is taken: a number or a
// boolean written bare is a problem (write it quoted).
func (w *Walker) Str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		w.say(n, field, w.Words.NotString, nil)
		return "", false
	}
	return n.Value, true
}

// Scalar returns the text of scalar n, whatever its type ("13" for the
// number 13); only null and non-scalars are problems.
func (w *Walker) Scalar(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		w.say(n, field, w.Words.NotString, nil)
		return "", false
	}
	return n.Value, true
}

// Bool returns the boolean n holds.
func (w *Walker) Bool(n *yaml.Node, field string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		w.say(n, field, w.Words.NotBool, nil)
		return false, false
	}
	return n.Value == "true", true
}

// Int returns the integer n holds, written in any base YAML allows
// (0x10, 0o20).
func (w *Walker) Int(n *yaml.Node, field string) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		w.say(n, field, w.Words.NotInt, nil)
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		w.say(n, field, w.Words.IntRange, nil)
		return 0, false
	}
	return v, true
}
