package ui

import (
	"strings"

	"golang.org/x/net/html"
)

// The helpers below read the page's DOM (as html.Parse or a browser's
// --dump-dom gives it); the page's tests and the browser test use them.

// FindID returns the element with the given id under n, or nil.
func FindID(n *html.Node, id string) *html.Node {
	if n.Type == html.ElementNode && Attr(n, "id") == id {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := FindID(c, id); f != nil {
			return f
		}
	}
	return nil
}

// Attr returns n's attribute key, "" when it has none.
func Attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// HasClass reports whether n's class attribute names class.
func HasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(Attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

// ParentProc returns the process node (li.proc) that holds n in the
// tree, or nil at a root.
func ParentProc(n *html.Node) *html.Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == "li" && HasClass(p, "proc") {
			return p
		}
	}
	return nil
}

// Text returns the text under n.
func Text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}
