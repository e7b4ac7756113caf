package cli

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ui"
)

// requireChromium returns the path of Debian's chromium, or skips: the
// browser test needs a real browser (apt-get install chromium).
func requireChromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium): the browser test needs it")
	}
	return p
}

// artifactDir is where the test keeps its screenshot: $VIGIL_ARTIFACTS
// when set, else the test's artifact directory (kept under the output
// directory with go test -artifacts -outputdir DIR, removed otherwise).
func artifactDir(t *testing.T) string {
	if d := os.Getenv("VIGIL_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.ArtifactDir()
}

var uiAddrRE = regexp.MustCompile(`msg="serving the ui" addr=(\S+)`)

// TestUIBrowser runs vigil monitor --ui with a log rule, spawns a shell
// whose child triggers it, and loads the view in headless Chromium: the
// child must appear under the shell, marked, and the alert be listed
// with its chain. vigil tree --from must mark the child too.
func TestUIBrowser(t *testing.T) {
	chromium := requireChromium(t)
	pol := writePolicy(t, "rules:\n  - name: ui-browser-log\n    event: exec\n    match:\n      comm: [vigiluiprobe]\n    action: log\n")
	a := startAgent(t, "--events", "exec,fork,exit", "--ui", "127.0.0.1:0", "--policy", pol)
	m := uiAddrRE.FindStringSubmatch(a.err.String())
	if m == nil {
		t.Fatalf("no ui address in the log:\n%s", a.err.String())
	}
	url := "http://" + m[1] + "/"

	probe := filepath.Join(t.TempDir(), "vigiluiprobe")
	copyFile(t, "/bin/sleep", probe)
	// The trailing ":" keeps sh from exec'ing the probe in its own place.
	sh := exec.Command("sh", "-c", probe+" 60; :")
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-sh.Process.Pid, syscall.SIGKILL); _ = sh.Wait() })
	ev := a.waitEvent(t, "probe exec", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Verdict != nil && e.Process.Ppid == uint32(sh.Process.Pid)
	})
	child := ev.Process.Pid
	if len(ev.Process.Ancestors) == 0 || ev.Process.Ancestors[0].Pid != uint32(sh.Process.Pid) {
		t.Errorf("the alert's ancestors %+v do not start with the shell %d", ev.Process.Ancestors, sh.Process.Pid)
	}

	dom := chromiumRun(t, chromium, "--dump-dom", url)
	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	n := ui.FindID(doc, "p"+strconv.Itoa(int(child)))
	switch {
	case n == nil:
		t.Errorf("the probe %d is not in the page's tree", child)
	case !ui.HasClass(n, "alerted") || !strings.Contains(ui.Text(n), "ui-browser-log"):
		t.Errorf("the probe's node is not marked with the rule: class %q, text %q", ui.Attr(n, "class"), ui.Text(n))
	default:
		if p := ui.ParentProc(n); p == nil || ui.Attr(p, "id") != "p"+strconv.Itoa(sh.Process.Pid) {
			t.Errorf("the probe's node is not under the shell %d", sh.Process.Pid)
		}
	}
	alerts := ui.FindID(doc, "alerts")
	wantChain := "sh (" + strconv.Itoa(sh.Process.Pid) + ") › vigiluiprobe (" + strconv.Itoa(int(child)) + ")"
	if alerts == nil || !strings.Contains(ui.Text(alerts), "ui-browser-log") || !strings.Contains(ui.Text(alerts), wantChain) {
		t.Errorf("the alerts list does not show the rule with the chain %q", wantChain)
	}

	shot := filepath.Join(artifactDir(t), "ui.png")
	chromiumRun(t, chromium, "--hide-scrollbars", "--window-size=1400,900", "--screenshot="+shot, url)
	if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
		t.Errorf("no screenshot at %s: %v", shot, err)
	} else {
		t.Logf("screenshot: %s", shot)
	}

	code, out, errOut := run(t, "tree", "--from", m[1], "--pid", strconv.Itoa(int(child)))
	if code != 0 || !strings.Contains(out, strconv.Itoa(int(child))+" vigiluiprobe") || !strings.Contains(out, "!! ui-browser-log (log)") {
		t.Errorf("vigil tree --from: code %d, output:\n%s%s", code, out, errOut)
	}
}

// chromiumRun runs headless chromium with args and returns its standard
// output. The page is rendered on the server, so the DOM is complete at
// load: no --virtual-time-budget, which never runs out while the page's
// event stream is open.
func chromiumRun(t *testing.T, chromium string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var errOut syncBuffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return string(out)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
