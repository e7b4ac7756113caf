package ui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proc"
)

// testTable holds init (1) -> sshd (10) -> bash (20) -> cat (30), and
// cron (11) under init.
func testTable(t testing.TB) *proc.Table {
	tb := proc.NewTable(proc.FS(t.TempDir()), 0)
	tb.Exec(1, 0, 0, "init", "/sbin/init", []string{"/sbin/init"})
	tb.Exec(10, 1, 0, "sshd", "/usr/sbin/sshd", []string{"sshd", "-D"})
	tb.Exec(11, 1, 0, "cron", "/usr/sbin/cron", nil)
	tb.Exec(20, 10, 1000, "bash", "/bin/bash", []string{"-bash"})
	tb.Exec(30, 20, 1000, "cat", "/bin/cat", []string{"cat", "/etc/shadow"})
	return tb
}

func alertEvent(tb *proc.Table) *event.Event {
	ev := &event.Event{Type: event.TypeExec, Time: time.Now(),
		Process: event.Process{Pid: 30, Tid: 30, Ppid: 20, Uid: 1000, Comm: "cat", Exe: "/bin/cat"},
		Exec:    &event.Exec{Path: "/bin/cat", Args: []string{"cat", "/etc/shadow"}},
		Verdict: &event.Verdict{Rule: "read-shadow", Action: "log"}}
	ev.Process.Ancestors = tb.AppendAncestors(nil, 30, event.MaxAncestors)
	return ev
}

func serve(t *testing.T, queue int) (*Server, *proc.Table, string) {
	t.Helper()
	tb := testTable(t)
	s, err := Serve(Config{Addr: "127.0.0.1:0", Table: tb, Queue: queue})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, tb, "http://" + s.Addr().String()
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v: %s", url, resp.Status, err, b)
	}
	return string(b)
}

func TestTreeMarksAlerts(t *testing.T) {
	s, tb, url := serve(t, 0)
	if err := s.Emit(alertEvent(tb)); err != nil {
		t.Fatal(err)
	}
	_ = s.Emit(alertEvent(tb))
	var tree Tree
	if err := json.Unmarshal([]byte(get(t, url+"/api/tree?pid=20")), &tree); err != nil {
		t.Fatal(err)
	}
	var pids []uint32
	var cat Process
	for _, p := range tree.Processes {
		pids = append(pids, p.Pid)
		if p.Pid == 30 {
			cat = p
		}
	}
	if want := []uint32{1, 10, 20, 30}; !equal(pids, want) {
		t.Errorf("branch of 20 = %v, want %v (cron left out)", pids, want)
	}
	if len(cat.Alerts) != 1 || cat.Alerts[0] != (Mark{Rule: "read-shadow", Action: "log", Count: 2}) {
		t.Errorf("cat's marks = %+v, want read-shadow log x2", cat.Alerts)
	}
	var al []Alert
	if err := json.Unmarshal([]byte(get(t, url+"/api/alerts")), &al); err != nil {
		t.Fatal(err)
	}
	if len(al) != 2 || len(al[0].Ancestors) != 3 || al[0].Ancestors[0].Comm != "bash" || al[0].Ancestors[2].Pid != 1 {
		t.Errorf("alerts = %+v, want two with the chain bash, sshd, init", al)
	}
}

func equal(a, b []uint32) bool {
	return strings.Trim(strings.Join(strings.Fields(fmtU(a)), ","), "[]") == strings.Trim(strings.Join(strings.Fields(fmtU(b)), ","), "[]")
}

func fmtU(v []uint32) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestPage: the page, rendered on the server, has cat under bash under
// sshd, marked, and the alert with its chain.
func TestPage(t *testing.T) {
	s, tb, url := serve(t, 0)
	_ = s.Emit(alertEvent(tb))
	doc, err := html.Parse(strings.NewReader(get(t, url+"/")))
	if err != nil {
		t.Fatal(err)
	}
	cat := FindID(doc, "p30")
	if cat == nil || !HasClass(cat, "alerted") {
		t.Fatalf("no alerted li#p30 on the page")
	}
	if p := ParentProc(cat); p == nil || Attr(p, "id") != "p20" {
		t.Errorf("cat's parent node is %v, want li#p20", p)
	}
	alerts := FindID(doc, "alerts")
	if alerts == nil || !strings.Contains(Text(alerts), "read-shadow") || !strings.Contains(Text(alerts), "init (1) › sshd (10) › bash (20) › cat (30)") {
		t.Errorf("alerts list %q lacks the rule and its chain", Text(alerts))
	}
	for _, asset := range []string{"/static/app.js", "/static/style.css"} {
		if get(t, url+asset) == "" {
			t.Errorf("%s is empty", asset)
		}
	}
}

func TestReadOnly(t *testing.T) {
	_, _, url := serve(t, 0)
	for _, path := range []string{"/", "/api/tree", "/api/events"} {
		resp, err := http.Post(url+path, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %s, want 405", path, resp.Status)
		}
	}
}

// TestLoopbackHost: a view on loopback refuses a request naming another
// host (DNS rebinding) and answers one naming localhost.
func TestLoopbackHost(t *testing.T) {
	_, _, url := serve(t, 0)
	for host, want := range map[string]int{"attacker.example:80": http.StatusMisdirectedRequest, "localhost": http.StatusOK} {
		req, err := http.NewRequest(http.MethodGet, url+"/api/stats", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: %s, want %d", host, resp.Status, want)
		}
	}
}

// TestEventStream: a client gets the events it asked for as SSE.
func TestEventStream(t *testing.T) {
	s, tb, url := serve(t, 0)
	resp, err := http.Get(url + "/api/events?alerts=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	waitClients(t, s, 1)
	plain := &event.Event{Type: event.TypeExit, Time: time.Now(), Process: event.Process{Pid: 11}, Exit: &event.Exit{}}
	_ = s.Emit(plain)
	_ = s.Emit(alertEvent(tb))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev event.Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Verdict == nil || ev.Verdict.Rule != "read-shadow" || len(ev.Process.Ancestors) != 3 {
			t.Fatalf("first event streamed = %s, want the alert with its ancestors (the exit is filtered out)", data)
		}
		return
	}
	t.Fatalf("stream ended: %v", sc.Err())
}

// TestSlowClient: a client that does not read loses events, counted;
// Emit does not wait for it.
func TestSlowClient(t *testing.T) {
	s, tb, _ := serve(t, 0)
	size := len(alertEvent(tb).AppendJSON(nil)) + len("data: \n\n")
	c := newClient(4*size + size/2)
	s.addClient(c)
	defer s.removeClient(c)
	start := time.Now()
	for range 10 {
		_ = s.Emit(alertEvent(tb))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("10 emits took %v", d)
	}
	if st := s.Stats(); st.Sent != 4 || st.Dropped != 6 || c.dropped.Load() != 6 {
		t.Errorf("stats %+v, client dropped %d; want 4 sent, 6 dropped", st, c.dropped.Load())
	}
	if got := strings.Count(string(c.take(nil)), "data: {"); got != 4 {
		t.Errorf("%d events queued, want 4", got)
	}
}

// BenchmarkEmit: the view's share of each event, with nobody connected
// and with one client (its queue emptied as a stream would).
func BenchmarkEmit(b *testing.B) {
	for _, clients := range []int{0, 1} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			tb := testTable(b)
			s := &Server{cfg: Config{Queue: DefaultQueue}, clients: map[*client]struct{}{}}
			var c *client
			if clients > 0 {
				c = newClient(DefaultQueue)
				s.addClient(c)
			}
			ev := alertEvent(tb)
			ev.Verdict = nil
			spare := make([]byte, 0, DefaultQueue)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				_ = s.Emit(ev)
				if c != nil && i%256 == 0 {
					spare = c.take(spare)[:0]
				}
			}
		})
	}
}

func waitClients(t *testing.T, s *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); s.Stats().Clients != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients, want %d", s.Stats().Clients, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTreeContainer: a process that an event placed in a container shows
// it in the tree, and so does its child forked afterwards.
func TestTreeContainer(t *testing.T) {
	tb := testTable(t)
	id := strings.Repeat("ab", 32)
	tb.SetContainer(20, &event.Container{ID: id, Runtime: event.RuntimeDocker})
	tb.Fork(20, 40, time.Time{})
	var b strings.Builder
	if err := WriteText(&b, processes(tb.Snapshot(), &users{m: map[uint32]string{0: "root", 1000: "alice"}}, nil)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"20 bash alice [abababababab] /bin/bash: -bash", "40 bash alice [abababababab]", "30 cat alice cat /etc/shadow"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("tree lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "30 cat alice [") {
		t.Errorf("a host process shows a container:\n%s", b.String())
	}
}

func TestWriteText(t *testing.T) {
	ps := processes(testTable(t).Snapshot(), &users{m: map[uint32]string{0: "root", 1000: "alice"}},
		map[uint32][]Mark{30: {{Rule: "read-shadow", Action: "log", Count: 2}}})
	var b strings.Builder
	if err := WriteText(&b, ps); err != nil {
		t.Fatal(err)
	}
	const want = `1 init root /sbin/init
├─ 10 sshd root sshd -D
│  └─ 20 bash alice /bin/bash: -bash
│     └─ 30 cat alice cat /etc/shadow  !! read-shadow (log) x2
└─ 11 cron root /usr/sbin/cron
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
