package ui

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// The page is rendered on the server, tree and alerts included, so that
// it is complete without script (and for a browser's --dump-dom); the
// script (static/app.js) then streams events into it and refreshes the
// tree from /fragment/tree.

var funcs = template.FuncMap{
	"join": func(args []string) string { return strings.Join(args, " ") },
	// oldest returns the ancestors root first, as the chain reads.
	"oldest": func(as []Ancestor) []Ancestor {
		out := slices.Clone(as)
		slices.Reverse(out)
		return out
	},
	"rfc":   func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"clock": func(t time.Time) string { return t.Local().Format("15:04:05.000") },
	"rules": func(ms []Mark) string {
		names := make([]string, len(ms))
		for i, m := range ms {
			names[i] = m.Rule
		}
		return strings.Join(names, " ")
	},
}

type pageData struct {
	Time   time.Time
	Count  int
	Roots  []*node
	Alerts []Alert
	Rules  []string
	Types  []event.Type
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	t := s.tree(0)
	al := s.alerts.list()
	var rules []string
	for _, a := range al {
		if !slices.Contains(rules, a.Rule) {
			rules = append(rules, a.Rule)
		}
	}
	slices.Sort(rules)
	s.render(w, "index.html", pageData{Time: t.Time, Count: len(t.Processes), Roots: forest(t.Processes),
		Alerts: al, Rules: rules, Types: event.KernelTypes})
}

func (s *Server) serveTreeFragment(w http.ResponseWriter, r *http.Request) {
	t := s.tree(0)
	s.render(w, "tree", pageData{Time: t.Time, Count: len(t.Processes), Roots: forest(t.Processes)})
}

// render executes a template into a buffer first, so that an error is
// an error page rather than half a page.
func (s *Server) render(w http.ResponseWriter, name string, data pageData) {
	var b bytes.Buffer
	if err := s.page.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "rendering page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}
