package yamldoc

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Field appends a field name to a field path: Field("rules[0]", "match")
// is "rules[0].match", Field("", "rules") is "rules".
func Field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Index appends a list index to a field path: Index("rules", 2) is
// "rules[2]".
func Index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// Describe names what a node holds, for "expected X, got Y" messages:
// "a mapping", "a list", "nothing", "the string \"x\"", "the number 3"...
func Describe(n *yaml.Node) string {
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

// FindAlias returns the first alias node under n, or nil. A caller that
// refuses aliases keeps a document from expanding exponentially and gives
// every value exactly one position.
func FindAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n
	}
	for _, c := range n.Content {
		if a := FindAlias(c); a != nil {
			return a
		}
	}
	return nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Syntax splits a syntax error from gopkg.in/yaml.v3 ("yaml: line 3:
// mapping values are not allowed in this context") into its line and its
// message without the "yaml: " prefix. An error that names no line is
// placed on line 1.
func Syntax(err error) (line int, msg string) {
	msg = err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		return line, m[2]
	}
	return 1, strings.TrimPrefix(msg, "yaml: ")
}
