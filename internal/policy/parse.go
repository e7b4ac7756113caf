package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/event"
)

// parser walks one YAML document, collecting errors with positions.
type parser struct {
	file string
	errs *errList
}

func (p *parser) pos(n *yaml.Node) Pos { return Pos{p.file, n.Line, n.Column} }

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	p.errs.add(p.pos(n), field, format, args...)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseFile parses one policy document into rules. Rules with errors are
// still returned (so that duplicate names are found), but any error makes
// compile fail.
func parseFile(s source, errs *errList) []*Rule {
	p := &parser{file: s.name, errs: errs}
	dec := yaml.NewDecoder(bytes.NewReader(s.data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.add(Pos{s.name, 1, 1}, "", "empty policy: expected a mapping with a rules list")
			return nil
		}
		p.syntaxError(err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "", "more than one YAML document; a policy file holds one")
	} else if !errors.Is(err, io.EOF) {
		p.syntaxError(err)
	}
	if len(doc.Content) == 0 {
		errs.add(Pos{s.name, 1, 1}, "", "empty policy: expected a mapping with a rules list")
		return nil
	}
	if bad := findAlias(&doc); bad != nil {
		p.errorf(bad, "", "YAML aliases are not supported in policies; write the value out")
		return nil
	}
	root := doc.Content[0]
	var rules []*Rule
	sawRules := false
	for _, kv := range p.mapping(root, "") {
		switch kv.key {
		case "version":
			if v, ok := p.integer(kv.val, "version"); ok && v != 1 {
				p.errorf(kv.val, "version", "unsupported policy version %d (expected 1)", v)
			}
		case "rules":
			sawRules = true
			if kv.val.Kind != yaml.SequenceNode {
				p.errorf(kv.val, "rules", "expected a list of rules, got %s", describe(kv.val))
				continue
			}
			if len(kv.val.Content) == 0 {
				p.errorf(kv.val, "rules", "empty list: a policy file needs at least one rule")
			}
			for i, n := range kv.val.Content {
				rules = append(rules, p.rule(n, i))
			}
		default:
			p.errorf(kv.keyNode, kv.key, "unknown field %q (expected rules or version)", kv.key)
		}
	}
	if !sawRules && root.Kind == yaml.MappingNode {
		p.errorf(root, "", "missing rules: expected a mapping with a rules list")
	}
	return rules
}

func (p *parser) syntaxError(err error) {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.errs.add(Pos{p.file, line, 1}, "", "invalid YAML: %s", msg)
}

// findAlias returns the first alias node under n, or nil. Aliases are
// refused so that a policy cannot expand exponentially and every value has
// exactly one position.
func findAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c); a != nil {
			return a
		}
	}
	return nil
}

// keyVal is one entry of a mapping.
type keyVal struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

// mapping returns the entries of mapping node n, reporting a node that is
// not a mapping, keys that are not strings and duplicate keys.
func (p *parser) mapping(n *yaml.Node, field string) []keyVal {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "expected a mapping, got %s", describe(n))
		return nil
	}
	var out []keyVal
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			p.errorf(k, field, "expected a field name, got %s", describe(k))
			continue
		}
		if seen[k.Value] {
			p.errorf(k, join(field, k.Value), "field given twice")
			continue
		}
		seen[k.Value] = true
		out = append(out, keyVal{k.Value, k, v})
	}
	return out
}

// join appends a field name to a field path.
func join(field, name string) string {
	if field == "" {
		return name
	}
	return field + "." + name
}

// describe names what a node holds, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!int":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!float":
			return "the number " + n.Value
		}
		return fmt.Sprintf("%s %q", n.Tag, n.Value)
	}
	return "something else"
}

func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.errorf(n, field, "expected a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) boolean(n *yaml.Node, field string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.errorf(n, field, "expected true or false, got %s", describe(n))
		return false, false
	}
	return n.Value == "true", true
}

func (p *parser) integer(n *yaml.Node, field string) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.errorf(n, field, "expected a number, got %s", describe(n))
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		p.errorf(n, field, "expected a number, got %q", n.Value)
		return 0, false
	}
	return v, true
}

// list returns the elements of a list value; a single scalar stands for a
// one-element list. An empty list is an error: it could never match.
func (p *parser) list(n *yaml.Node, field string) ([]*yaml.Node, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			p.errorf(n, field, "expected a list, got nothing")
			return nil, false
		}
		return []*yaml.Node{n}, true
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			p.errorf(n, field, "empty list: a matcher with no values can never match")
			return nil, false
		}
		return n.Content, true
	}
	p.errorf(n, field, "expected a list, got %s", describe(n))
	return nil, false
}

// strList returns a list of strings, checking each with check (which
// returns "" or a message).
func (p *parser) strList(n *yaml.Node, field string, check func(string) string) ([]string, bool) {
	elems, ok := p.list(n, field)
	if !ok {
		return nil, false
	}
	var out []string
	for i, e := range elems {
		f := field
		if n.Kind == yaml.SequenceNode {
			f = fmt.Sprintf("%s[%d]", field, i)
		}
		s, sok := p.str(e, f)
		if !sok {
			ok = false
			continue
		}
		if check != nil {
			if msg := check(s); msg != "" {
				p.errorf(e, f, "%s", msg)
				ok = false
				continue
			}
		}
		out = append(out, s)
	}
	return out, ok
}

// eventNames is the list of event types for messages.
func eventNames(ts []event.Type) string {
	var s []string
	for _, t := range ts {
		s = append(s, string(t))
	}
	return strings.Join(s, ", ")
}
